package conformance

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/grpcapi"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/driver"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

func TestIdentity(t *testing.T) {
	e := mustEnv(t)
	t.Run("DriverGetInfo returns the configured driver name", func(t *testing.T) {
		info, err := e.driver.Identity().DriverGetInfo(ctx(t), &cosi.DriverGetInfoRequest{})
		requireOK(t, err, "DriverGetInfo")
		if info.GetName() != driverName {
			t.Errorf("name = %q, want %q", info.GetName(), driverName)
		}
	})
	t.Run("The driver holds the leader Lease with nothing but its Role", func(t *testing.T) {
		stack.Eventually(t, repairWithin, func() error {
			if h := e.leaseHolder(t); h == "" {
				return fmt.Errorf("no Lease in %s is held", driverNamespace)
			}
			return nil
		})
	})
}

func TestCreateBucket(t *testing.T) {
	e := mustEnv(t)

	t.Run("Create with a legal S3 name returns that name as bucket_id and creates the bucket", func(t *testing.T) {
		name := bucketName()
		resp, err := e.createBucket(t, name, nil)
		requireOK(t, err, "DriverCreateBucket")
		t.Cleanup(func() { e.cleanupBucket(t, resp.GetBucketId()) })
		if resp.GetBucketId() != name {
			t.Errorf("bucket_id = %q, want the request name %q", resp.GetBucketId(), name)
		}
		s3info := resp.GetBucketInfo().GetS3()
		if s3info == nil || s3info.GetRegion() != e.stack.Seaweed.Region || s3info.GetSignatureVersion() != cosi.S3SignatureVersion_S3V4 {
			t.Errorf("bucket_info = %v, want S3 in region %q with signature v4", resp.GetBucketInfo(), e.stack.Seaweed.Region)
		}
		if !e.bucketExists(t, name) {
			t.Fatalf("bucket %s does not exist in SeaweedFS", name)
		}
		// SeaweedFS serves bucket tags from a cache refreshed asynchronously:
		// a late event can show the untagged bucket for a moment after the
		// driver saw its tag.
		stack.Eventually(t, 2*time.Second, func() error {
			if got := e.owner(t, name); got != e.ownerID {
				return fmt.Errorf("owner tag = %q, want %q", got, e.ownerID)
			}
			return nil
		})
		cm, err := e.kube.CoreV1().ConfigMaps(driverNamespace).Get(ctx(t), names.BucketRecord(name), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("bucket record: %v", err)
		}
		if !strings.HasPrefix(cm.Name, "bucket-") || cm.Labels[labelManagedBy] != managedBy || !slices.Contains(cm.Finalizers, finalizer) {
			t.Errorf("bucket record %s: labels %v, finalizers %v; want bucket-<hash>, %s=%s and %s",
				cm.Name, cm.Labels, cm.Finalizers, labelManagedBy, managedBy, finalizer)
		}
	})

	t.Run("Create with a name that is not a legal S3 name returns a deterministic legal bucket_id", func(t *testing.T) {
		for _, name := range []string{
			// What COSI controllers before v0.2 produced: <class name><claim UID>.
			"conformance-bucket-class-with-a-long-name" + uid(),
			"Bucket-" + strings.ToUpper(uid()),
		} {
			first, err := e.createBucket(t, name, nil)
			requireOK(t, err, "DriverCreateBucket("+name+")")
			id := first.GetBucketId()
			t.Cleanup(func() { e.cleanupBucket(t, id) })
			if err := s3admin.ValidateBucketName(id); err != nil || id == name {
				t.Errorf("%s: bucket_id %q, want a legal S3 name different from the request name (%v)", name, id, err)
			}
			if want := names.BucketID(name); id != want {
				t.Errorf("%s: bucket_id %q, want the documented mapping %q", name, id, want)
			}
			again, err := e.createBucket(t, name, nil)
			requireOK(t, err, "repeated DriverCreateBucket("+name+")")
			if again.GetBucketId() != id {
				t.Errorf("%s: repeat returned bucket_id %q, first %q", name, again.GetBucketId(), id)
			}
			if !e.bucketExists(t, id) {
				t.Errorf("bucket %s does not exist in SeaweedFS", id)
			}
		}
	})

	t.Run("Create with the same name and parameters returns OK with the identical response, and one bucket and one record", func(t *testing.T) {
		name := bucketName()
		params := map[string]string{grpcapi.ParamPurge: "false"}
		beforeB, beforeR := e.backend(t), e.records(t)
		first, err := e.createBucket(t, name, params)
		requireOK(t, err, "DriverCreateBucket")
		t.Cleanup(func() { e.cleanupBucket(t, first.GetBucketId()) })
		for i := range 10 {
			resp, err := e.createBucket(t, name, map[string]string{grpcapi.ParamPurge: "false"})
			requireOK(t, err, fmt.Sprintf("repeat %d", i+1))
			if !bytes.Equal(driver.Wire(t, resp), driver.Wire(t, first)) {
				t.Fatalf("repeat %d returned %v, first call %v", i+1, resp, first)
			}
		}
		afterB, afterR := e.backend(t), e.records(t)
		if d := cmp.Diff([]string{name}, added(beforeB.Buckets, afterB.Buckets)); d != "" {
			t.Errorf("buckets added to SeaweedFS (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{names.BucketRecord(name)}, added(beforeR.Buckets, afterR.Buckets)); d != "" {
			t.Errorf("bucket records added (-want +got):\n%s", d)
		}
		if d := cmp.Diff(beforeR.Accesses, afterR.Accesses); d != "" {
			t.Errorf("access records changed (-before +after):\n%s", d)
		}
	})

	t.Run("Create with the same name and different parameters returns ALREADY_EXISTS and changes nothing", func(t *testing.T) {
		name := bucketName()
		id := e.mustCreateBucket(t, name, nil)
		_, err := e.createBucket(t, name, map[string]string{grpcapi.ParamPurge: "true"})
		requireCode(t, err, codes.AlreadyExists)
		rec, err := store.New(e.kube, driverNamespace).GetBucket(ctx(t), names.BucketRecord(id))
		if err != nil {
			t.Fatalf("bucket record: %v", err)
		}
		if rec.Spec.Purge || len(rec.Spec.Parameters) != 0 || rec.Deleting {
			t.Errorf("bucket record changed by the conflicting call: %+v", rec)
		}
		if !e.bucketExists(t, id) {
			t.Errorf("bucket %s is gone", id)
		}
	})

	t.Run("Create of a bucket that exists in SeaweedFS but not by the driver returns ALREADY_EXISTS, never adopts it and leaves no record", func(t *testing.T) {
		name := bucketName()
		e.foreignBucket(t, name)
		for i := range 2 { // the second call is the sidecar's retry
			_, err := e.createBucket(t, name, nil)
			requireCode(t, err, codes.AlreadyExists, name)
			if i == 0 {
				t.Cleanup(func() { _ = e.deleteBucket(t, name) }) // must be a no-op
			}
		}
		if got := e.owner(t, name); got != "" {
			t.Errorf("the foreign bucket now carries owner tag %q", got)
		}
		if body, err := e.objectBody(t, name, "foreign.txt"); err != nil || body != "not the driver's" {
			t.Errorf("the foreign bucket's object: %q, %v", body, err)
		}
		stack.Eventually(t, repairWithin, func() error {
			if e.bucketRecordExists(t, names.BucketRecord(name)) {
				return fmt.Errorf("bucket record %s still exists", names.BucketRecord(name))
			}
			return nil
		})
	})
}
