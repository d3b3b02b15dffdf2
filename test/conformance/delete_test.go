package conformance

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/grpcapi"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

func TestDeleteBucket(t *testing.T) {
	e := mustEnv(t)

	t.Run("Delete of an unknown bucket_id returns OK and touches nothing", func(t *testing.T) {
		beforeB, beforeR := e.backend(t), e.records(t)
		requireOK(t, e.deleteBucket(t, bucketName()), "DriverDeleteBucket")
		if d := cmp.Diff(beforeB, e.backend(t)); d != "" {
			t.Errorf("SeaweedFS changed (-before +after):\n%s", d)
		}
		if d := cmp.Diff(beforeR, e.records(t)); d != "" {
			t.Errorf("records changed (-before +after):\n%s", d)
		}
	})

	t.Run("Delete of a bucket the driver did not create returns OK and leaves the bucket and its data", func(t *testing.T) {
		name := "foreign-" + randomHex(12)
		e.foreignBucket(t, name)
		beforeR := e.records(t)
		requireOK(t, e.deleteBucket(t, name), "DriverDeleteBucket")
		if !e.bucketExists(t, name) {
			t.Fatalf("foreign bucket %s was deleted", name)
		}
		if body, err := e.objectBody(t, name, "foreign.txt"); err != nil || body != "not the driver's" {
			t.Errorf("the foreign bucket's object: %q, %v", body, err)
		}
		if d := cmp.Diff(beforeR, e.records(t)); d != "" {
			t.Errorf("records changed (-before +after):\n%s", d)
		}
	})

	t.Run("Delete revokes every access of the bucket, deletes the bucket and removes every record", func(t *testing.T) {
		id := e.mustCreateBucket(t, bucketName(), nil)
		rw := e.mustGrant(t, id, nil)
		ro := e.mustGrant(t, id, map[string]string{grpcapi.ParamMode: "read-only"})
		for _, a := range []access{rw, ro} {
			if _, err := s3check.List(ctx(t), a.s3(), id); err != nil {
				t.Fatalf("list with %s before the delete: %v", a.account, err)
			}
		}
		requireOK(t, e.deleteBucket(t, id), "DriverDeleteBucket")
		if e.bucketExists(t, id) {
			t.Errorf("bucket %s still exists", id)
		}
		for _, a := range []access{rw, ro} {
			if e.userExists(t, a.account) {
				t.Errorf("user %s still exists", a.account)
			}
			requireKeyRejected(t, a, id)
			if rec := accessRecordOf(a); e.accessRecordExists(t, rec) {
				t.Errorf("access record %s still exists", rec)
			}
		}
		if rec := names.BucketRecord(id); e.bucketRecordExists(t, rec) {
			t.Errorf("bucket record %s still exists", rec)
		}
		t.Run("A second Delete returns OK", func(t *testing.T) {
			beforeB := e.backend(t)
			requireOK(t, e.deleteBucket(t, id), "second DriverDeleteBucket")
			if d := cmp.Diff(beforeB, e.backend(t)); d != "" {
				t.Errorf("SeaweedFS changed (-before +after):\n%s", d)
			}
		})
	})

	t.Run("Delete of a non-empty bucket returns FAILED_PRECONDITION, revokes its accesses and keeps its data", func(t *testing.T) {
		id := e.mustCreateBucket(t, bucketName(), nil)
		rw := e.mustGrant(t, id, nil)
		if err := s3check.Put(ctx(t), rw.s3(), id, "keep.txt", "data"); err != nil {
			t.Fatalf("put with granted credentials: %v", err)
		}
		for range 2 { // the second call is the sidecar's retry
			err := e.deleteBucket(t, id)
			requireCode(t, err, codes.FailedPrecondition, "not empty", grpcapi.ParamPurge)
		}
		if body, err := e.objectBody(t, id, "keep.txt"); err != nil || body != "data" {
			t.Fatalf("object after the refused delete: %q, %v", body, err)
		}
		if e.userExists(t, rw.account) {
			t.Errorf("user %s of the bucket still exists: writes could race the emptiness check", rw.account)
		}
		requireKeyRejected(t, rw, id)

		t.Run("A bucket whose deletion is pending is rechecked without rewriting its record continuously", func(t *testing.T) {
			// The blocked record is checked again every resync period; more
			// writes than that would load the API server and SeaweedFS for
			// as long as nobody empties the bucket.
			rec := names.BucketRecord(id)
			w, err := e.kube.CoreV1().ConfigMaps(driverNamespace).Watch(ctx(t), metav1.ListOptions{FieldSelector: "metadata.name=" + rec})
			if err != nil {
				t.Fatalf("watch bucket record: %v", err)
			}
			defer w.Stop()
			const window = 2 * resyncPeriod
			updates := 0
			deadline := time.After(window)
		watching:
			for {
				select {
				case ev, ok := <-w.ResultChan():
					if !ok {
						t.Fatal("the watch of the bucket record ended")
					}
					if ev.Type == watch.Modified {
						updates++
					}
				case <-deadline:
					break watching
				}
			}
			t.Logf("bucket record rewritten %d times in %s", updates, window)
			// Each period brings the resync's requeue and the blocked retry; a
			// third check per period leaves room for timing at the edges.
			if limit := 3*int(window/resyncPeriod) + 1; updates > limit {
				t.Errorf("bucket record rewritten %d times in %s, want at most %d", updates, window, limit)
			}
		})

		t.Run("A bucket whose deletion is pending accepts no new grant", func(t *testing.T) {
			_, err := e.grant(t, grantRequest(id, accessName(), nil))
			requireCode(t, err, codes.NotFound, id)
		})

		t.Run("Once the bucket is emptied a repeated Delete returns OK and the bucket is gone", func(t *testing.T) {
			e.emptyBucket(t, id)
			requireOK(t, e.deleteBucket(t, id), "DriverDeleteBucket of the emptied bucket")
			if e.bucketExists(t, id) {
				t.Errorf("bucket %s still exists", id)
			}
			if rec := names.BucketRecord(id); e.bucketRecordExists(t, rec) {
				t.Errorf("bucket record %s still exists", rec)
			}
		})
	})

	t.Run(`Delete of a non-empty bucket whose BucketClass set purge: "true" deletes it with its objects`, func(t *testing.T) {
		id := e.mustCreateBucket(t, bucketName(), map[string]string{grpcapi.ParamPurge: "true"})
		rw := e.mustGrant(t, id, nil)
		for i := range 3 {
			if err := s3check.Put(ctx(t), rw.s3(), id, fmt.Sprintf("dir/obj-%d", i), "data"); err != nil {
				t.Fatalf("put with granted credentials: %v", err)
			}
		}
		requireOK(t, e.deleteBucket(t, id), "DriverDeleteBucket")
		if e.bucketExists(t, id) {
			t.Errorf("bucket %s still exists", id)
		}
		if e.userExists(t, rw.account) {
			t.Errorf("user %s still exists", rw.account)
		}
		requireOK(t, e.deleteBucket(t, id), "second DriverDeleteBucket")
	})
}

// accessRecordOf names the access record behind an account: the account is
// the user prefix followed by the record's id.
func accessRecordOf(a access) string {
	return "access-" + a.account[len(userPrefix):]
}
