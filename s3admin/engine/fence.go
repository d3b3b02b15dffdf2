package engine

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// fenceActions are what the fence denies: every way to add data to the
// bucket, and every way to lift the fence or open the bucket up.
var fenceActions = []string{
	"s3:PutObject", "s3:PutObjectAcl", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketAcl",
}

// FencePolicy is a bucket policy denying fenceActions to everybody.
func FencePolicy(bucket string) string {
	doc, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid":       FenceSid,
			"Effect":    "Deny",
			"Principal": "*",
			"Action":    fenceActions,
			"Resource":  []string{"arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*"},
		}},
	})
	return string(doc)
}

// FenceSid names the fence's statement.
const FenceSid = "cosi-seaweedfs-deleting"

// fenceProbeKey is the key the fence is tested with.
const fenceProbeKey = "cosi-seaweedfs-fence-probe"

// Fence runs stepFence. It stops every identity, the admin included, from
// writing to the bucket, before the driver decides whether it is empty.
// Checking emptiness and deleting are two requests, and SeaweedFS deletes a
// non-empty bucket with its data (and even with
// -s3.allowDeleteBucketNotEmpty=false it skips versions and uploads):
// without the fence, an object written in between by anyone allowed to write
// (a tenant, a holder of the admin key) would be deleted with the bucket.
// SeaweedFS lets an explicit Deny of a bucket policy override every grant,
// the admin's too, while reads, deletes of objects and of the bucket stay
// allowed. The bucket is being deleted for good, so the fence is never
// lifted; a bucket that turns out not to be empty stays readable and can be
// emptied.
//
// Browser-form uploads (POST Object) pass the fence: SeaweedFS's handler for
// them never reads the bucket policy. The emptiness check behind the fence
// is what keeps them (see plan.DeleteBucket).
//
// SeaweedFS applies a new bucket policy asynchronously, so the fence is
// proven with a write of the admin's own that must be refused before it is
// trusted.
func (e *Buckets) Fence(ctx context.Context, name string) error {
	err := e.Be.PutFence(ctx, name)
	if errors.Is(err, s3admin.ErrAccessDenied) {
		// Refused: our own fence is already in place (it denies policy
		// changes to everybody), checked below like a new one.
		err = nil
	}
	if err != nil {
		return err
	}
	held, err := Settle(ctx, "PutBucketPolicy", e.Settle.Fence, func() (bool, error) {
		err := e.Be.ProbeWrite(ctx, name, fenceProbeKey)
		switch {
		case errors.Is(err, s3admin.ErrAccessDenied):
			return true, nil
		case err == nil:
			// Not in force yet: remove the probe and try again.
			return false, e.Be.DeleteObject(ctx, name, fenceProbeKey)
		default:
			return false, err
		}
	})
	if err == nil && !held {
		err = s3admin.NewError("PutBucketPolicy", s3admin.ErrTransient, "the write fence of bucket %q is not in force yet", name)
	}
	return err
}
