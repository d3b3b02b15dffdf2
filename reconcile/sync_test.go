package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	s3fake "github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/fake"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store/storetest"
)

// newTestReconciler is a Reconciler on a fake API server and a fake
// SeaweedFS, with a context bounded for one test.
func newTestReconciler(t *testing.T) (context.Context, *Reconciler, *s3fake.Fake) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	admin := s3fake.New("cosi-")
	r := &Reconciler{Store: store.New(storetest.FinalizingClientset(), "cosi"), Admin: admin,
		Cfg: Config{UserPrefix: "cosi-", OwnerID: "owner", BlockedInterval: time.Second, UnfinishedInterval: time.Millisecond}}
	return ctx, r, admin
}

// readyAccess records bucket-one and an access ba-one to it, reconciles
// both, and returns the access record and its key.
func readyAccess(ctx context.Context, t *testing.T, r *Reconciler) (*store.Access, Key) {
	t.Helper()
	a, key := recordAccess(ctx, t, r)
	if _, err := r.Reconcile(ctx, key); err != nil {
		t.Fatal(err)
	}
	return a, key
}

// recordAccess records bucket-one, reconciles it, and records an access
// ba-one to it without reconciling it.
func recordAccess(ctx context.Context, t *testing.T, r *Reconciler) (*store.Access, Key) {
	t.Helper()
	b, _, err := r.Store.CreateBucket(ctx, store.BucketSpec{Name: "bucket-one", BucketID: "bucket-one"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(ctx, Key{Kind: store.KindBucket, Name: b.RecordName}); err != nil {
		t.Fatal(err)
	}
	id, secret, err := s3admin.GenerateCredentials()
	if err != nil {
		t.Fatal(err)
	}
	spec := store.AccessSpec{Name: "ba-one", BucketID: "bucket-one", Mode: "read-write", User: "cosi-" + names.AccessID("ba-one")}
	a, _, err := r.Store.CreateAccess(ctx, spec, id, secret)
	if err != nil {
		t.Fatal(err)
	}
	return a, Key{Kind: store.KindAccess, Name: a.RecordName}
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
	obs, err := admin.ObserveBucket(ctx, "bucket-one", Ownership(got, "owner"))
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
	spec := store.AccessSpec{Name: "ba-one", BucketID: "bucket-one", Mode: "read-write", User: "cosi-" + names.AccessID("ba-one")}
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
	bucket, err := st.GetBucket(ctx, b.RecordName)
	if err != nil {
		t.Fatal(err)
	}
	if obs, err := admin.ObserveBucket(ctx, "bucket-one", Ownership(bucket, "owner")); err != nil || !obs.Owned {
		t.Fatalf("bucket after repair: %+v, %v; want it created again and owned", obs, err)
	}
	if admin.InForce(spec.User) {
		t.Fatal("the fake did not take the access away with the bucket")
	}
	rec, err := st.GetAccess(ctx, a.RecordName)
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
	if plan := PlanResync([]*store.Bucket{bucket}, []*store.Access{rec}, Snapshot{Buckets: []s3admin.MarkedBucket{{Name: "bucket-one", Owner: "owner", Marker: bucket.Status.Marker}}, Users: []s3admin.UserState{user}}, "cosi-", "owner"); len(plan.Requeue) != 1 || plan.Requeue[0] != accessKey {
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

// A tenant that creates the bucket first, and tags it with the installation's
// owner id, never gets its bucket taken for the record's.
func TestReconcileNeverTakesAForgedBucket(t *testing.T) {
	ctx, r, admin := newTestReconciler(t)
	admin.AddBucketBy("tenant", "bucket-one", map[string]string{names.OwnerTagKey: "owner"})
	rec, _, err := r.Store.CreateBucket(ctx, store.BucketSpec{Name: "bucket-one", BucketID: "bucket-one"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(ctx, Key{Kind: store.KindBucket, Name: rec.RecordName}); err != nil {
		t.Fatal(err)
	}
	got, err := r.Store.GetBucket(ctx, rec.RecordName)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != store.PhaseFailed || got.Status.Reason != store.ReasonBucketNotOwned {
		t.Fatalf("status %+v, want Failed BucketNotOwned", got.Status)
	}
}

// A tenant that creates the bucket while the record's create is interrupted
// (recorded, not yet answered) does not get it adopted, and deleting the
// record with purge leaves the tenant's data alone.
func TestReconcileInterruptedCreateNeverAdoptsATenantsBucket(t *testing.T) {
	ctx, r, admin := newTestReconciler(t)
	rec, _, err := r.Store.CreateBucket(ctx, store.BucketSpec{Name: "bucket-one", BucketID: "bucket-one", Purge: true})
	if err != nil {
		t.Fatal(err)
	}
	key := Key{Kind: store.KindBucket, Name: rec.RecordName}
	// The create is interrupted after the attempt was recorded.
	admin.SetHook(func(op string) error {
		if op == "CreateBucket" {
			return s3admin.ErrTransient
		}
		return nil
	})
	if _, err := r.Reconcile(ctx, key); !errors.Is(err, s3admin.ErrTransient) {
		t.Fatalf("first reconcile: %v, want the injected error", err)
	}
	admin.SetHook(nil)
	admin.AddBucketBy("tenant", "bucket-one", nil)
	if err := admin.PutObject("bucket-one", "tenant-data"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(ctx, key); err != nil {
		t.Fatalf("second reconcile: %v", err)
	}
	got, err := r.Store.GetBucket(ctx, rec.RecordName)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != store.PhaseFailed {
		t.Fatalf("status %+v, want Failed: the bucket is the tenant's", got.Status)
	}
	if err := r.Store.DeleteBucket(ctx, rec.RecordName); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Store.GetBucket(ctx, rec.RecordName); err != nil || !got.Deleting {
		t.Fatalf("record after Delete: %+v, %v; want it kept by its finalizer, deleting", got, err)
	}
	if _, err := r.Reconcile(ctx, key); err != nil {
		t.Fatalf("reconcile of the deletion: %v", err)
	}
	if _, err := r.Store.GetBucket(ctx, rec.RecordName); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("record after deletion: %v, want it released", err)
	}
	obs, err := admin.ObserveBucket(ctx, "bucket-one", s3admin.Ownership{})
	if err != nil || !obs.Exists || obs.Empty {
		t.Fatalf("the tenant's bucket after the purge: %+v, %v; want it untouched with its data", obs, err)
	}
}

// An access granted before the configured user prefix changed is still
// converged and revoked: the driver acts on the user its record names.
func TestReconcileAccessKeepsItsRecordedUserAfterAPrefixChange(t *testing.T) {
	ctx, r, admin := newTestReconciler(t)
	reconcile := func(k Key) {
		t.Helper()
		if _, err := r.Reconcile(ctx, k); err != nil {
			t.Fatalf("reconcile %s: %v", k, err)
		}
	}
	a, key := readyAccess(ctx, t, r)
	spec := a.Spec

	r.Cfg.UserPrefix = "renamed-"
	admin.RemoveUser(spec.User) // drift: repaired under the recorded name
	reconcile(key)
	if !admin.InForce(spec.User) {
		t.Fatal("the access was not repaired under its recorded user after the prefix changed")
	}
	if err := r.Store.DeleteAccess(ctx, a.RecordName); err != nil {
		t.Fatal(err)
	}
	reconcile(key)
	if u, err := admin.ObserveUser(ctx, spec.User); err != nil || u.Exists {
		t.Fatalf("user after revoke: %+v, %v; want it deleted", u, err)
	}
	if _, err := r.Store.GetAccess(ctx, a.RecordName); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("access record after revoke: %v, want it released", err)
	}
}

// A user holding many keys it minted itself is cleaned a bounded number of
// keys per reconcile, each pass answered with a short requeue, not an error.
func TestReconcileRemovesUnissuedKeysInBoundedPasses(t *testing.T) {
	ctx, r, admin := newTestReconciler(t)
	a, key := readyAccess(ctx, t, r)
	spec, id := a.Spec, a.AccessKeyID
	const minted = 2*s3admin.MaxUnissuedKeyRemovals + 1
	for i := range minted {
		if err := admin.AddUserKey(spec.User, fmt.Sprintf("MINTED%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	passes := 0
	for ; passes < 10; passes++ {
		res, err := r.Reconcile(ctx, key)
		if err != nil {
			t.Fatalf("pass %d: %v", passes+1, err)
		}
		if res.RequeueAfter == 0 {
			break
		}
	}
	// Three passes remove 8, 8 and 1 keys; the fourth finds the user converged.
	if passes != 3 {
		t.Fatalf("converged after %d requeued passes, want 3", passes)
	}
	u, err := admin.ObserveUser(ctx, spec.User)
	if err != nil || len(u.AccessKeyIDs) != 1 || u.AccessKeyIDs[0] != id {
		t.Fatalf("user after the passes: %+v, %v; want only the issued key", u, err)
	}
}

// A written access whose key SeaweedFS does not accept yet is recorded as
// KeyPending and polled: no error (no backoff), nothing written again, and
// Ready only once the key is seen accepted.
func TestReconcilePollsAKeyNotYetAccepted(t *testing.T) {
	ctx, r, admin := newTestReconciler(t)
	r.Cfg.KeyPollInterval, r.Cfg.KeyPendingPatience = 5*time.Millisecond, time.Minute
	const lag = 12 // more probes than the Fake's EnsureAccess makes in its wait
	admin.SetKeyLag(lag)
	a, key := recordAccess(ctx, t, r)

	res, err := r.Reconcile(ctx, key)
	if err != nil || res.RequeueAfter != r.Cfg.KeyPollInterval {
		t.Fatalf("first pass: %+v, %v; want a poll after %s and no error", res, err, r.Cfg.KeyPollInterval)
	}
	got, err := r.Store.GetAccess(ctx, a.RecordName)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != store.PhasePending || got.Status.Reason != store.ReasonKeyPending || got.Status.BucketCreations != 1 {
		t.Fatalf("status after the write: %+v; want pending, KeyPending, written for creation 1", got.Status)
	}
	writes := admin.Writes()
	polls := 0
	for ; polls < 2*lag; polls++ {
		res, err = r.Reconcile(ctx, key)
		if err != nil {
			t.Fatalf("poll %d: %v", polls+1, err)
		}
		if res.RequeueAfter == 0 {
			break
		}
		if res.RequeueAfter != r.Cfg.KeyPollInterval {
			t.Fatalf("poll %d: requeue after %s, want %s", polls+1, res.RequeueAfter, r.Cfg.KeyPollInterval)
		}
	}
	if polls == 0 || polls >= 2*lag {
		t.Fatalf("ready after %d polls; want at least one and fewer than %d", polls, 2*lag)
	}
	if w := admin.Writes(); w != writes {
		t.Fatalf("polling wrote to SeaweedFS: %d writes, want %d", w, writes)
	}
	if got, err = r.Store.GetAccess(ctx, a.RecordName); err != nil || got.Status.Phase != store.PhaseReady {
		t.Fatalf("status after the key was accepted: %+v, %v; want Ready", got.Status, err)
	}
}

// A key that stays unaccepted past the patience is reported and retried
// with backoff, and its record never turns Ready on the strength of the
// written user alone.
func TestReconcileReportsAKeyPendingPastItsPatience(t *testing.T) {
	ctx, r, admin := newTestReconciler(t)
	r.Cfg.KeyPollInterval, r.Cfg.KeyPendingPatience = 5*time.Millisecond, 0
	admin.SetKeyLag(1000)
	a, key := recordAccess(ctx, t, r)
	// The first pass writes and starts the wait: polled, whatever the
	// patience, since the key only now became pending.
	if res, err := r.Reconcile(ctx, key); err != nil || res.RequeueAfter == 0 {
		t.Fatalf("first pass: %+v, %v; want a poll", res, err)
	}
	for pass := range 3 {
		if _, err := r.Reconcile(ctx, key); !errors.Is(err, s3admin.ErrKeyPending) {
			t.Fatalf("pass %d past the patience: %v, want ErrKeyPending", pass+2, err)
		}
		got, err := r.Store.GetAccess(ctx, a.RecordName)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase == store.PhaseReady || got.Status.Reason != store.ReasonKeyPending {
			t.Fatalf("status past the patience: %+v; want still KeyPending", got.Status)
		}
	}
}

// A record written by a newer driver (seen after a rollback) is left exactly
// as it is: nothing is created in SeaweedFS for it, and the error is terminal
// because no retry makes it readable.
func TestReconcileLeavesARecordOfANewerFormatAlone(t *testing.T) {
	ctx, r, admin := newTestReconciler(t)
	client := storetest.FinalizingClientset()
	r.Store = store.New(client, "cosi")
	rec, _, err := r.Store.CreateBucket(ctx, store.BucketSpec{Name: "bucket-one", BucketID: "bucket-one"})
	if err != nil {
		t.Fatal(err)
	}
	cm, err := client.CoreV1().ConfigMaps("cosi").Get(ctx, rec.RecordName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Annotations[store.AnnotationFormat] = strconv.Itoa(store.Format + 1)
	if _, err := client.CoreV1().ConfigMaps("cosi").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = r.Reconcile(ctx, Key{Kind: store.KindBucket, Name: rec.RecordName})
	var fe *store.FormatError
	if !IsTerminal(err) || !errors.As(err, &fe) {
		t.Fatalf("reconcile: %v, want a terminal FormatError", err)
	}
	if obs, err := admin.ObserveBucket(ctx, "bucket-one", s3admin.Ownership{}); err != nil || obs.Exists {
		t.Fatalf("SeaweedFS: %+v, %v; want no bucket made for a record this driver cannot read", obs, err)
	}
}

// A revoked access whose key SeaweedFS still accepts once its user is
// deleted keeps its record (which holds the key) as RevocationPending and
// is polled: no error, nothing written again, and the record released only
// once the key is refused.
func TestReconcileReleasesARevokedAccessOnlyOnceItsKeyIsRefused(t *testing.T) {
	ctx, r, admin := newTestReconciler(t)
	r.Cfg.KeyPollInterval, r.Cfg.KeyPendingPatience = 5*time.Millisecond, time.Minute
	a, key := recordAccess(ctx, t, r)
	if _, err := r.Reconcile(ctx, key); err != nil {
		t.Fatal(err)
	}
	const lag = 3
	admin.SetRevokeLag(lag)
	if err := r.Store.DeleteAccess(ctx, a.RecordName); err != nil {
		t.Fatal(err)
	}
	var writes int64
	polls := 0
	for ; polls <= 2*lag; polls++ {
		res, err := r.Reconcile(ctx, key)
		if err != nil {
			t.Fatalf("pass %d: %v", polls+1, err)
		}
		if polls == 0 {
			writes = admin.Writes() // the user's deletion
		}
		if res.RequeueAfter == 0 {
			break
		}
		if res.RequeueAfter != r.Cfg.KeyPollInterval {
			t.Fatalf("pass %d: requeue after %s, want %s", polls+1, res.RequeueAfter, r.Cfg.KeyPollInterval)
		}
		got, err := r.Store.GetAccess(ctx, a.RecordName)
		if err != nil {
			t.Fatalf("pass %d: the record went while its key was still accepted: %v", polls+1, err)
		}
		if got.Status.Reason != store.ReasonRevocationPending {
			t.Fatalf("pass %d: status %+v, want RevocationPending", polls+1, got.Status)
		}
	}
	if polls != lag {
		t.Fatalf("released after %d polls, want %d", polls, lag)
	}
	if w := admin.Writes() - writes; w != 0 {
		t.Fatalf("polling wrote %d times to SeaweedFS, want none", w)
	}
	if _, err := r.Store.GetAccess(ctx, a.RecordName); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("record after the key was refused: %v, want it released", err)
	}
}
