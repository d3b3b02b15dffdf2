// Package crashpoint names the durable steps of the driver at which the
// resilience suite (test/resilience) ends the process as SIGKILL would: each
// write to the Kubernetes API that records state, and each change to
// SeaweedFS. A step is marked by a call to Hit with one of the names below.
//
// Only a binary built with the build tag "crashpoints" acts on the calls
// (crashpoint_on.go); in every other build Hit is an empty function that the
// compiler removes, so the production binary carries no fault-injection
// checks.
package crashpoint

import "slices"

// Points of the state store (the records in the driver's namespace). Each
// has a ".before" and an ".after" point: a crash before a write loses the
// write, a crash after it loses everything the process meant to do next.
const (
	StoreCreateBucket        = "store.createBucket"
	StoreMarkCreateAttempted = "store.markCreateAttempted"
	StoreSetBucketStatus     = "store.setBucketStatus"
	StoreDeleteBucket        = "store.deleteBucket"
	StoreReleaseBucket       = "store.releaseBucket"
	// StoreCreateAccess records the generated credentials; ".after" is the
	// moment between recording credentials and applying them.
	StoreCreateAccess    = "store.createAccess"
	StoreSetAccessStatus = "store.setAccessStatus"
	StoreDeleteAccess    = "store.deleteAccess"
	StoreReleaseAccess   = "store.releaseAccess"
)

// Backend points are named by the SeaweedFS operation that changes state,
// "backend.<Operation>", again with ".before" and ".after".
const backendPrefix = "backend."

// Backend returns the point name of a mutating SeaweedFS operation.
func Backend(op string) string { return backendPrefix + op }

// Before and After name the two sides of a step.
func Before(step string) string { return step + ".before" }

// After names the point right after a step's write was acknowledged.
func After(step string) string { return step + ".after" }

// steps are the durable steps a workload of creates, grants, revokes and
// deletes (buckets with and without accesses, one of them purged of its
// objects) passes through; the suite fails when one of their points is never
// reached. Only these are armed: the other mutations (drift repair of foreign
// changes, the anonymous probe's object) pass their points unarmed.
var steps = []string{
	StoreCreateBucket, StoreMarkCreateAttempted, StoreSetBucketStatus, StoreDeleteBucket, StoreReleaseBucket,
	StoreCreateAccess, StoreSetAccessStatus, StoreDeleteAccess, StoreReleaseAccess,
	// Buckets: claim, mark, fence before deleting, delete.
	Backend("CreateBucket"), Backend("PutBucketTagging"), Backend("PutBucketPolicy"), Backend("DeleteBucket"),
	// A purge empties the bucket first.
	Backend("DeleteObjects"),
	// Accesses: the user, its policy and its key; a revoke removes the
	// policy, then the user with its keys.
	Backend("CreateUser"), Backend("PutUserPolicy"), Backend("CreateAccessKey"),
	Backend("DeleteUserPolicy"), Backend("DeleteUser"),
}

// Names returns every point name, sorted.
func Names() []string {
	var names []string
	for _, s := range steps {
		names = append(names, Before(s), After(s))
	}
	slices.Sort(names)
	return names
}

// Environment variables read by a binary built with the tag "crashpoints".
const (
	// EnvCrashAt is "<point>:<n>": the process kills itself on the n-th hit
	// of the point (n ≥ 1).
	EnvCrashAt = "COSI_CRASH_AT"
	// EnvRecord is a file each point is appended to ("<point>\n") the first
	// time the process reaches it, so that a test sees which points a run
	// passed through.
	EnvRecord = "COSI_CRASH_RECORD"
)
