// Package plan holds the pure planners: from what was observed of one bucket
// or one user, the steps that make it what the caller wants (CreateBucket,
// DeleteBucket, Access, DeleteUser). Nothing here reads or writes a store;
// the engine runs the steps through a backend, so the real store and the
// fake share one set of rules and one order, and the rules are tested with
// tables.
package plan
