package reconcile

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// newTestReconciler is a Reconciler on a fake API server and a fake
// SeaweedFS, with a context bounded for one test.
func newTestReconciler(t *testing.T) (context.Context, *Reconciler, *s3admin.Fake) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	admin := s3admin.NewFake("owner", "cosi-")
	r := &Reconciler{Store: store.New(fake.NewClientset(), "cosi"), Admin: admin,
		Cfg: Config{UserPrefix: "cosi-", WaitInterval: time.Millisecond, BlockedInterval: time.Second}}
	return ctx, r, admin
}

// A create interrupted between creating the bucket and marking it ours must
// not make the driver's own bucket look foreign on the next reconcile.
func TestReconcileAdoptsItsOwnBucketAfterAnInterruptedCreate(t *testing.T) {
	ctx, r, admin := newTestReconciler(t)
	st := r.Store

	rec, _, err := st.CreateBucket(ctx, store.BucketSpec{Name: "bucket-one", BucketID: "bucket-one"})
	if err != nil {
		t.Fatal(err)
	}
	timeout := s3admin.ErrTransient
	admin.SetHook(func(op string) error {
		if op == "PutBucketTagging" {
			return timeout
		}
		return nil
	})
	key := Key{Kind: store.KindBucket, Name: rec.RecordName}
	if _, err := r.Reconcile(ctx, key); !errors.Is(err, s3admin.ErrTransient) {
		t.Fatalf("first reconcile: %v, want the injected transient error", err)
	}
	got, err := st.GetBucket(ctx, rec.RecordName)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Status.CreateAttempted {
		t.Fatalf("the recorded create attempt was lost: %+v", got.Status)
	}

	admin.SetHook(nil)
	if _, err := r.Reconcile(ctx, key); err != nil {
		t.Fatalf("second reconcile: %v", err)
	}
	got, err = st.GetBucket(ctx, rec.RecordName)
	if err != nil {
		t.Fatal(err)
	}
	obs, err := admin.ObserveBucket(ctx, "bucket-one")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != store.PhaseReady || !obs.Owned {
		t.Fatalf("after the retry: status %+v, bucket %+v; want Ready and owned", got.Status, obs)
	}
}

// SeaweedFS takes a user's permissions away when the user's bucket is deleted
// and keeps the stored policy. A bucket deleted out of band and created again
// by the driver must bring its accesses back in force, although every access
// still looks converged.
func TestReconcileRewritesAccessesOfABucketCreatedAgain(t *testing.T) {
	ctx, r, admin := newTestReconciler(t)
	st := r.Store
	reconcile := func(k Key) {
		t.Helper()
		if _, err := r.Reconcile(ctx, k); err != nil {
			t.Fatalf("reconcile %s: %v", k, err)
		}
	}

	b, _, err := st.CreateBucket(ctx, store.BucketSpec{Name: "bucket-one", BucketID: "bucket-one"})
	if err != nil {
		t.Fatal(err)
	}
	id, secret, err := s3admin.GenerateCredentials()
	if err != nil {
		t.Fatal(err)
	}
	spec := store.AccessSpec{Name: "ba-one", BucketID: "bucket-one", Mode: "read-write", User: "cosi-" + store.AccessID("ba-one")}
	a, _, err := st.CreateAccess(ctx, spec, id, secret)
	if err != nil {
		t.Fatal(err)
	}
	bucketKey, accessKey := Key{Kind: store.KindBucket, Name: b.RecordName}, Key{Kind: store.KindAccess, Name: a.RecordName}
	reconcile(bucketKey)
	reconcile(accessKey)
	if !admin.InForce(spec.User) {
		t.Fatal("the granted access is not in force")
	}

	admin.RemoveBucket("bucket-one")
	reconcile(bucketKey)
	if obs, err := admin.ObserveBucket(ctx, "bucket-one"); err != nil || !obs.Owned {
		t.Fatalf("bucket after repair: %+v, %v; want it created again and owned", obs, err)
	}
	if admin.InForce(spec.User) {
		t.Fatal("the fake did not take the access away with the bucket")
	}
	rec, err := st.GetAccess(ctx, a.RecordName)
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := st.GetBucket(ctx, b.RecordName)
	if err != nil {
		t.Fatal(err)
	}
	user, err := admin.ObserveUser(ctx, spec.User)
	if err != nil {
		t.Fatal(err)
	}
	if !Converged(rec, user) {
		t.Fatalf("the access no longer looks converged (%+v): this test would prove nothing", user)
	}
	if plan := PlanResync([]*store.Bucket{bucket}, []*store.Access{rec}, Snapshot{Buckets: []string{"bucket-one"}, Users: []s3admin.UserState{user}}, nil, "cosi-"); len(plan.Requeue) != 1 || plan.Requeue[0] != accessKey {
		t.Fatalf("resync requeues %v, want only %s", plan.Requeue, accessKey)
	}
	reconcile(accessKey)
	if !admin.InForce(spec.User) {
		t.Fatal("the access is not back in force after its reconcile")
	}
	writes := admin.Writes()
	reconcile(accessKey)
	if n := admin.Writes() - writes; n != 0 {
		t.Fatalf("a reconcile after the rewrite made %d writes, want none", n)
	}
}
