// Package engine runs the planners of package plan against a store: it
// observes through a BucketBackend or UserBackend, asks the planner what to
// do, applies the steps one by one, and observes again until nothing is
// left (or a bound is hit). It also holds what every implementation needs
// around that: per-object locks, the pace at which lagging reads are waited
// out, the deletion fence and the key watch.
package engine
