package s3admin

import (
	"strings"
)

// AnonymousAccess is what an unsigned request may do in a bucket.
//
// SeaweedFS refuses unsigned requests to its API as a whole as soon as it
// has one identity, but an identity named "anonymous" (or a bucket policy or
// ACL) can still open objects to everybody. Refusing an unsigned ListBuckets
// proves nothing about that, so the driver asks the bucket itself.
type AnonymousAccess struct {
	Read  bool // GetObject
	List  bool // ListObjectsV2
	Write bool // PutObject of a key reserved to the driver, deleted at once

	// Left names, as bucket/key, the objects unsigned writes of the check
	// made that could not be deleted (a bucket policy denying deletes, say).
	// Each check tries again to delete them first, and names those still
	// left.
	Left []string
}

// Any reports whether anonymous requests may do anything at all.
func (a AnonymousAccess) Any() bool { return a.Read || a.List || a.Write }

// String names the operations allowed, always in the order read, list,
// write, so that a log line or readiness message reads the same each time.
func (a AnonymousAccess) String() string {
	var ops []string
	for _, op := range []struct {
		name string
		ok   bool
	}{{"read", a.Read}, {"list", a.List}, {"write", a.Write}} {
		if op.ok {
			ops = append(ops, op.name)
		}
	}
	if len(ops) == 0 {
		return "nothing"
	}
	return strings.Join(ops, ",")
}
