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

// A create interrupted between creating the bucket and marking it ours must
// not make the driver's own bucket look foreign on the next reconcile.
func TestReconcileAdoptsItsOwnBucketAfterAnInterruptedCreate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := store.New(fake.NewClientset(), "cosi")
	admin := s3admin.NewFake("owner", "cosi-")
	r := &Reconciler{Store: st, Admin: admin, Cfg: Config{UserPrefix: "cosi-", WaitInterval: time.Millisecond, BlockedInterval: time.Second}}

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
