package seaweedfs

import (
	"context"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

// formUpload stores body under key in bucket the way a browser form does
// (see s3check.FormPost). SeaweedFS serves it with a handler of its own,
// which checks the policy's signature and the identity's actions but never
// the bucket policy.
func formUpload(ctx context.Context, keyID, secret, bucket, key, body string) error {
	return s3check.FormPost(ctx, seaweed.Endpoint, seaweed.Region, keyID, secret, bucket, key, body)
}
