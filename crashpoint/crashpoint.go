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

// storeAndBucketSteps are the durable steps both ways of writing users
// share: the records, and the buckets (claim, mark, fence before deleting,
// a purge's emptying, delete).
var storeAndBucketSteps = []string{
	StoreCreateBucket, StoreMarkCreateAttempted, StoreSetBucketStatus, StoreDeleteBucket, StoreReleaseBucket,
	StoreCreateAccess, StoreSetAccessStatus, StoreDeleteAccess, StoreReleaseAccess,
	Backend("CreateBucket"), Backend("PutBucketTagging"), Backend("PutBucketPolicy"), Backend("DeleteObjects"),
	Backend("DeleteBucket"),
}

// queryAPISteps are the user steps through the IAM query API: the user, its
// inline policy and its key; a revoke removes the policy, then the user with
// its keys.
var queryAPISteps = []string{
	Backend("CreateUser"), Backend("PutUserPolicy"), Backend("CreateAccessKey"),
	Backend("DeleteUserPolicy"), Backend("DeleteUser"),
}

// filerSteps are the user steps through the filer's IAM gRPC service
// (--filer-grpc-address): the access's managed policy, then the user with
// its key naming it; a revoke deletes the policy, then the user. (An update
// of an existing user, IAMUpdateUser, repairs drift or moves an access, which
// a workload of grants and revokes does not do: it passes its points
// unarmed.)
var filerSteps = []string{
	Backend("IAMPutPolicy"), Backend("IAMCreateUser"), Backend("IAMDeletePolicy"), Backend("IAMDeleteUser"),
}

// QueryAPINames returns the points a workload of creates, grants, revokes and
// deletes (buckets with and without accesses, one of them purged of its
// objects) passes through when users are written through the IAM query API,
// sorted; the suite fails when one of them is never reached. Only the points
// of QueryAPINames and FilerNames are armed: the other mutations (drift
// repair of foreign changes, the anonymous probe's object) pass their points
// unarmed.
func QueryAPINames() []string { return pointsOf(storeAndBucketSteps, queryAPISteps) }

// FilerNames is QueryAPINames for users written through the filer's IAM
// gRPC service.
func FilerNames() []string { return pointsOf(storeAndBucketSteps, filerSteps) }

// Names returns every armable point, sorted.
func Names() []string { return pointsOf(storeAndBucketSteps, queryAPISteps, filerSteps) }

func pointsOf(lists ...[]string) []string {
	var names []string
	for _, l := range lists {
		for _, s := range l {
			names = append(names, Before(s), After(s))
		}
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
