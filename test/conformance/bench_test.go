package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
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
	p := e.driver.Provisioner()
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

// BenchmarkDriftRepair measures how long a workload's key stays broken after
// its user or its bucket is deleted in SeaweedFS behind the driver's back.
// The sidecar never calls again for a ready object, so only the resync sees
// the drift: the design bound is one resync period plus the repair itself.
// periods/op is the measured time in resync periods.
func BenchmarkDriftRepair(b *testing.B) {
	e := env
	if e == nil {
		b.Fatalf("set-up failed: %v", setupErr)
	}
	bucket := e.mustCreateBucket(b, bucketName(), nil)
	resp, err := e.grant(b, grantRequest(bucket, "bench-"+randomHex(16), nil))
	if err != nil {
		b.Fatalf("grant: %v", err)
	}
	a := accessFrom(resp)
	defer func() {
		if err := e.revoke(b, bucket, a.account); err != nil {
			b.Errorf("revoke: %v", err)
		}
	}()
	works := func() error {
		c, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		return s3check.Put(c, a.s3(), bucket, "probe.txt", "probe")
	}
	// untilWorks polls the workload's key; within bounds a broken repair.
	untilWorks := func(b *testing.B) {
		deadline := time.Now().Add(repairWithin)
		for err := works(); err != nil; err = works() {
			if time.Now().After(deadline) {
				b.Fatalf("not repaired within %s: %v", repairWithin, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	perPeriod := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(resyncPeriod), "periods/op")
	}

	b.Run("UserDeleted", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			untilWorks(b)
			e.deleteUserOutOfBand(b, a.account)
			b.StartTimer()
			untilWorks(b)
		}
		perPeriod(b)
	})
	b.Run("BucketDeleted", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			untilWorks(b)
			e.emptyBucket(b, bucket)
			if _, err := e.s3.DeleteBucket(ctx(b), &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
				b.Fatalf("admin DeleteBucket: %v", err)
			}
			b.StartTimer()
			untilWorks(b)
		}
		perPeriod(b)
	})
}
