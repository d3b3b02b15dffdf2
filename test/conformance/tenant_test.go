package conformance

import (
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/grpc/codes"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// hostileTenant is the hostile identity of the threat model: another tenant
// of the same SeaweedFS, not an admin, allowed every S3 action on buckets
// named like the ones the COSI controller asks for (bucket-*). It can create
// such buckets before the driver does, tag them with whatever it reads or
// guesses, and write data into them. Each pass's SeaweedFS gets its own.
type hostileTenant struct {
	once   sync.Once
	tenant *s3check.Tenant
	err    error
}

func (e *environment) tenant(t *testing.T) *s3check.Tenant {
	t.Helper()
	h := &e.hostile
	h.once.Do(func() {
		h.tenant, h.err = s3check.NewTenant(ctx(t), e.iam, e.stack.Seaweed.Endpoint, e.stack.Seaweed.Region,
			"tenant-conformance", "bucket-*")
	})
	if h.err != nil {
		t.Fatal(h.err)
	}
	return h.tenant
}

// tenantBucket creates a bucket as the tenant, tagged with tags, holding one
// object of the tenant's; it is removed when the test ends.
func (e *environment) tenantBucket(t *testing.T, name string, tags map[string]string) {
	t.Helper()
	tn := e.tenant(t)
	if err := tn.CreateBucket(ctx(t), name, tags); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.emptyBucket(t, name)
		_, _ = e.s3.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(name)})
	})
	if err := s3check.Put(ctx(t), tn.S3, name, "tenant.txt", "the tenant's"); err != nil {
		t.Fatalf("tenant PutObject: %v", err)
	}
}

// requireTenantData fails unless the tenant's object is still in the bucket.
func (e *environment) requireTenantData(t *testing.T, name string) {
	t.Helper()
	if body, err := e.objectBody(t, name, "tenant.txt"); err != nil || body != "the tenant's" {
		t.Fatalf("the tenant's object in %s: %q, %v", name, body, err)
	}
}

func TestOwnershipAgainstAHostileTenant(t *testing.T) {
	e := mustEnv(t)

	t.Run("A bucket a tenant created first and tagged with the driver's owner id is never taken: Create is ALREADY_EXISTS, nothing is granted on it, no record stays", func(t *testing.T) {
		name := bucketName()
		// The owner id and a made-up marker: the tags alone must prove nothing.
		e.tenantBucket(t, name, map[string]string{names.OwnerTagKey: e.ownerID, names.MarkerTagKey: randomHex(32)})
		for range 2 { // the second call is the sidecar's retry
			_, err := e.createBucket(t, name, map[string]string{"purge": "true"})
			requireCode(t, err, codes.AlreadyExists, name)
		}
		_, err := e.grant(t, &cosi.DriverGrantBucketAccessRequest{BucketId: name, Name: accessName(),
			AuthenticationType: cosi.AuthenticationType_Key})
		requireCode(t, err, codes.NotFound)
		stack.Eventually(t, repairWithin, func() error {
			if e.bucketRecordExists(t, names.BucketRecord(name)) {
				return errors.New("the bucket record is still there")
			}
			return nil
		})
		e.requireTenantData(t, name)
	})

	t.Run("A bucket a tenant creates while the driver's create was interrupted is never adopted, and deleting with purge keeps the tenant's data", func(t *testing.T) {
		name := bucketName()
		// The tenant is faster than the restarted driver.
		e.tenantBucket(t, name, nil)
		params := map[string]string{"purge": "true"}
		e.interruptedCreate(t, name, params)
		// The sidecar's retry of the interrupted call.
		_, err := e.createBucket(t, name, params)
		requireCode(t, err, codes.AlreadyExists, name)
		stack.Eventually(t, repairWithin, func() error {
			if e.bucketRecordExists(t, names.BucketRecord(name)) {
				return errors.New("the bucket record is still there")
			}
			return nil
		})
		requireOK(t, e.deleteBucket(t, name), "DriverDeleteBucket")
		if !e.bucketExists(t, name) {
			t.Fatal("the tenant's bucket was deleted")
		}
		e.requireTenantData(t, name)
		if got := e.owner(t, name); got != "" {
			t.Errorf("the tenant's bucket now carries owner tag %q", got)
		}
	})

	t.Run("An empty bucket a tenant tagged with the driver's owner id is never garbage-collected", func(t *testing.T) {
		name := bucketName()
		e.tenantBucket(t, name, map[string]string{names.OwnerTagKey: e.ownerID})
		e.emptyBucket(t, name)
		// Long enough for two resync passes to have looked at it.
		time.Sleep(2*resyncPeriod + time.Second)
		if !e.bucketExists(t, name) {
			t.Fatal("the tenant's bucket was collected as an orphan")
		}
	})

	// SeaweedFS answers BucketAlreadyOwnedByYou to everybody for a bucket
	// that records no creator, and an identity allowed s3:PutObject makes
	// one by uploading into a missing bucket, both ways below.
	for _, way := range ownerlessWays {
		t.Run("A bucket a tenant makes by "+way.name+" while the driver's create was interrupted is never adopted, granted on or purged", func(t *testing.T) {
			name := bucketName()
			// The tenant is faster than the restarted driver (the record is
			// written second: a driver that sees it first creates the bucket).
			e.ownerlessBucket(t, name, way)
			params := map[string]string{"purge": "true"}
			e.interruptedCreate(t, name, params)
			for range 2 { // the second call is the sidecar's retry
				_, err := e.createBucket(t, name, params)
				requireCode(t, err, codes.AlreadyExists, name)
			}
			_, err := e.grant(t, &cosi.DriverGrantBucketAccessRequest{BucketId: name, Name: accessName(),
				AuthenticationType: cosi.AuthenticationType_Key})
			requireCode(t, err, codes.NotFound)
			requireOK(t, e.deleteBucket(t, name), "DriverDeleteBucket")
			if !e.bucketExists(t, name) {
				t.Fatal("the tenant's bucket was deleted")
			}
			if got := e.owner(t, name); got != "" {
				t.Errorf("the tenant's bucket now carries owner tag %q", got)
			}
			way.requireData(t, e, name)
		})
	}
	t.Run("An empty bucket a tenant made by an upload, without a creator, and tagged with the driver's owner id is never garbage-collected", func(t *testing.T) {
		name := bucketName()
		way := ownerlessWays[0]
		e.ownerlessBucket(t, name, way)
		if err := e.tenant(t).Tag(ctx(t), name, map[string]string{names.OwnerTagKey: e.ownerID, names.MarkerTagKey: randomHex(32)}); err != nil {
			t.Fatal(err)
		}
		e.emptyBucket(t, name)
		// Long enough for two resync passes to have looked at it.
		time.Sleep(2*resyncPeriod + time.Second)
		if !e.bucketExists(t, name) {
			t.Fatal("the tenant's bucket was collected as an orphan")
		}
	})
}

// ownerlessWay is one way an identity allowed only s3:PutObject makes a
// bucket that records no creator: an upload into the missing bucket.
type ownerlessWay struct {
	name   string
	upload func(t *testing.T, e *environment, bucket string) error
	// requireData fails unless what the upload wrote is still there.
	requireData func(t *testing.T, e *environment, bucket string)
}

var ownerlessWays = []ownerlessWay{
	{
		name: "a directory-marker PUT",
		upload: func(t *testing.T, e *environment, bucket string) error {
			return e.tenant(t).MarkerPut(ctx(t), bucket, "tenant-dir/")
		},
		requireData: func(t *testing.T, e *environment, bucket string) {
			keys, err := s3check.List(ctx(t), e.s3, bucket)
			if err != nil || !slices.Contains(keys, "tenant-dir/") {
				t.Fatalf("the tenant's directory marker in %s: keys %v, %v", bucket, keys, err)
			}
		},
	},
	{
		name: "a browser-form POST",
		upload: func(t *testing.T, e *environment, bucket string) error {
			return e.tenant(t).FormPost(ctx(t), bucket, "tenant.txt", "the tenant's")
		},
		requireData: func(t *testing.T, e *environment, bucket string) { e.requireTenantData(t, bucket) },
	},
}

// ownerlessBucket makes bucket the given way as the tenant; it is removed
// when the test ends.
func (e *environment) ownerlessBucket(t *testing.T, bucket string, way ownerlessWay) {
	t.Helper()
	if err := way.upload(t, e, bucket); err != nil {
		t.Fatalf("make an ownerless bucket by %s: %v", way.name, err)
	}
	if err := e.tenant(t).AwaitBucket(ctx(t), bucket); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.emptyBucket(t, bucket)
		_, _ = e.s3.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	})
}

// interruptedCreate writes what a crash between recording a create attempt
// and SeaweedFS's answer leaves: a record with the attempt and its marks,
// and no bucket.
func (e *environment) interruptedCreate(t *testing.T, name string, params map[string]string) {
	t.Helper()
	spec, _ := json.Marshal(store.BucketSpec{Name: name, BucketID: name, Parameters: params, Purge: params["purge"] == "true"})
	status, _ := json.Marshal(store.Status{CreateAttempted: true, Creations: 1, Owner: e.ownerID, Marker: randomHex(32),
		Message: "creating the bucket", LastTransition: time.Now().UTC()})
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: names.BucketRecord(name), Namespace: driverNamespace, Finalizers: []string{store.Finalizer},
			Labels: map[string]string{store.LabelManagedBy: store.ManagedBy, store.LabelKind: store.KindBucket},
		},
		Data: map[string]string{"spec": string(spec), "status": string(status)},
	}
	if _, err := e.kube.CoreV1().ConfigMaps(driverNamespace).Create(ctx(t), cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("write the interrupted record: %v", err)
	}
}
