package s3admin

import (
	"crypto/sha256"
	"encoding/hex"
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
	Write bool // PutObject (only probed where the driver may write)
}

// Any reports whether anonymous requests may do anything at all.
func (a AnonymousAccess) Any() bool { return a.Read || a.List || a.Write }

func (a AnonymousAccess) String() string {
	var ops []string
	for op, ok := range map[string]bool{"read": a.Read, "list": a.List, "write": a.Write} {
		if ok {
			ops = append(ops, op)
		}
	}
	if len(ops) == 0 {
		return "nothing"
	}
	return strings.Join(ops, ",")
}

// ProbeMarker is the marker of the probe bucket (see ProbeBucketName): a
// bucket of the driver's that no record stands for and garbage collection
// leaves alone.
const ProbeMarker = "anonymous-probe"

// ProbeBucketName is the name of the installation's probe bucket: the driver
// creates it (and nothing else lives in it) to check what anonymous
// requests may do in a bucket of the driver's.
func ProbeBucketName(ownerID string) string {
	sum := sha256.Sum256([]byte(ownerID))
	return "cosi-probe-" + hex.EncodeToString(sum[:])[:20]
}
