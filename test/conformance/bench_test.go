package conformance

import (
	"context"
	"testing"

	cosi "sigs.k8s.io/container-object-storage-interface-spec"
)

// BenchmarkLifecycle measures what the sidecar waits for through the driver's
// socket: recording intent, the reconciler converging SeaweedFS, and the
// handler seeing the status. Grant names are not ba-<UID>, so no BucketAccess
// is needed to keep them.
func BenchmarkLifecycle(b *testing.B) {
	e := env
	if e == nil {
		b.Fatalf("set-up failed: %v", setupErr)
	}
	p := e.driver.provisioner()
	must := func(err error, what string) {
		if err != nil {
			b.Fatalf("%s: %v", what, err)
		}
	}
	b.Run("CreateBucket", func(b *testing.B) {
		for b.Loop() {
			name := bucketName()
			_, _, err := retry(b, func(c context.Context) (*cosi.DriverCreateBucketResponse, error) {
				return p.DriverCreateBucket(c, &cosi.DriverCreateBucketRequest{Name: name})
			})
			must(err, "create")
			b.StopTimer()
			must(e.deleteBucket(b, name), "delete")
			b.StartTimer()
		}
	})

	bucket := bucketName()
	_, err := e.createBucket(b, bucket, nil)
	must(err, "create")
	defer func() { must(e.deleteBucket(b, bucket), "delete") }()
	b.Run("GrantNewAccess", func(b *testing.B) {
		for b.Loop() {
			resp, err := e.grant(b, grantRequest(bucket, "bench-"+randomHex(16), nil))
			must(err, "grant")
			b.StopTimer()
			must(e.revoke(b, bucket, resp.GetAccountId()), "revoke")
			b.StartTimer()
		}
	})
	b.Run("GrantRepeat", func(b *testing.B) {
		req := grantRequest(bucket, "bench-"+randomHex(16), nil)
		resp, err := e.grant(b, req)
		must(err, "grant")
		defer func() { must(e.revoke(b, bucket, resp.GetAccountId()), "revoke") }()
		for b.Loop() {
			_, err := e.grant(b, req)
			must(err, "repeat grant")
		}
	})
	b.Run("RevokeAccess", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			resp, err := e.grant(b, grantRequest(bucket, "bench-"+randomHex(16), nil))
			must(err, "grant")
			b.StartTimer()
			must(e.revoke(b, bucket, resp.GetAccountId()), "revoke")
		}
	})
}
