package reconcile

import (
	"testing"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/bucketclass"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// A class's features are set after the bucket is created, set back after
// drift, reported in the status, and the placement rule goes with the
// bucket.
func TestReconcileBucketFeatures(t *testing.T) {
	ctx, r, admin := newTestReconciler(t)
	params := map[string]string{bucketclass.MaxSize: "1Mi", bucketclass.Replication: "000", bucketclass.TTL: "7d", bucketclass.Versioning: "true"}
	rec, _, err := r.Store.CreateBucket(ctx, store.BucketSpec{Name: "bucket-q", BucketID: "bucket-q", Parameters: params})
	if err != nil {
		t.Fatal(err)
	}
	key := Key{Kind: store.KindBucket, Name: rec.RecordName}
	reconcileOnce := func() *store.Bucket {
		t.Helper()
		if _, err := r.Reconcile(ctx, key); err != nil {
			t.Fatalf("reconcile: %v", err)
		}
		got, err := r.Store.GetBucket(ctx, rec.RecordName)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	requireFeatures := func(what string) {
		t.Helper()
		if q, err := admin.QuotaOf("bucket-q"); err != nil || q != 1<<20 {
			t.Fatalf("%s: quota %d, %v; want %d", what, q, err, 1<<20)
		}
		if p, _, ok := admin.Rule("bucket-q"); !ok || p != (plan.Placement{Replication: "000", TTL: "7d"}) {
			t.Fatalf("%s: rule %+v (%t), want replication 000, ttl 7d", what, p, ok)
		}
		st, err := admin.ObserveBucketFeatures(ctx, "bucket-q", s3admin.BucketFeatures{Versioning: true})
		if err != nil || st.Versioning != s3admin.VersioningEnabled {
			t.Fatalf("%s: versioning %q, %v", what, st.Versioning, err)
		}
	}

	got := reconcileOnce()
	if got.Status.Phase != store.PhaseReady || got.Status.QuotaBytes != 1<<20 {
		t.Fatalf("status %+v, want Ready with the quota", got.Status)
	}
	requireFeatures("after the create")

	if err := admin.PutObjectSized("bucket-q", "big", 4096); err != nil {
		t.Fatal(err)
	}
	if err := admin.SetQuota("bucket-q", 5<<20); err != nil {
		t.Fatal(err)
	}
	admin.SetRule("bucket-q", plan.Placement{Replication: "001", TTL: "7d"}, true)
	if err := admin.SetVersioning("bucket-q", "Suspended"); err != nil {
		t.Fatal(err)
	}
	got = reconcileOnce()
	requireFeatures("after drift")
	if _, readOnly, _ := admin.Rule("bucket-q"); !readOnly {
		t.Fatal("setting the rule back dropped the read-only flag SeaweedFS's quota enforcement set")
	}
	if got.Status.UsedBytes != 4096 {
		t.Fatalf("usage %d in the status, want 4096", got.Status.UsedBytes)
	}

	if err := r.Store.DeleteBucket(ctx, rec.RecordName); err != nil {
		t.Fatal(err)
	}
	if err := admin.DeleteObjectVersion("bucket-q", "big"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(ctx, key); err != nil {
		t.Fatalf("reconcile the deletion: %v", err)
	}
	if _, _, ok := admin.Rule("bucket-q"); ok {
		t.Fatal("the placement rule outlived its bucket")
	}
}

// Without the filer a bucket whose class has a quota is never answered as
// created; one handed out before the driver lost the filer stays usable,
// and its status says the quota is not kept.
func TestReconcileFeaturesWithoutTheFiler(t *testing.T) {
	for _, tt := range []struct {
		name      string
		readyOnce bool
		want      store.Phase
	}{
		{name: "a new bucket is blocked", want: store.PhaseBlocked},
		{name: "a bucket handed out already stays ready", readyOnce: true, want: store.PhaseReady},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, r, admin := newTestReconciler(t)
			rec, _, err := r.Store.CreateBucket(ctx, store.BucketSpec{Name: "bucket-q", BucketID: "bucket-q",
				Parameters: map[string]string{bucketclass.MaxSize: "1Mi"}})
			if err != nil {
				t.Fatal(err)
			}
			key := Key{Kind: store.KindBucket, Name: rec.RecordName}
			if tt.readyOnce {
				if _, err := r.Reconcile(ctx, key); err != nil {
					t.Fatal(err)
				}
			}
			admin.HideCreators()
			for range 2 {
				if _, err := r.Reconcile(ctx, key); err != nil {
					t.Fatalf("reconcile: %v", err)
				}
				got, err := r.Store.GetBucket(ctx, rec.RecordName)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status.Phase != tt.want || got.Status.Reason != store.ReasonFeaturesUnsupported {
					t.Fatalf("status %+v, want %s saying the features are unsupported", got.Status, tt.want)
				}
			}
		})
	}
}

// An imported bucket is looked at and never changed: no marks, no quota,
// no rule, and deleting its record leaves it with its data.
func TestReconcileNeverChangesAnImportedBucket(t *testing.T) {
	ctx, r, admin := newTestReconciler(t)
	admin.AddBucketBy("tenant", "legacy", map[string]string{"team": "data"})
	if err := admin.PutObject("legacy", "theirs"); err != nil {
		t.Fatal(err)
	}
	rec, _, err := r.Store.CreateBucket(ctx, store.BucketSpec{Name: "legacy", BucketID: "legacy", Imported: true, Purge: true,
		Parameters: map[string]string{bucketclass.MaxSize: "1Mi", bucketclass.Replication: "000"}})
	if err != nil {
		t.Fatal(err)
	}
	key := Key{Kind: store.KindBucket, Name: rec.RecordName}
	before := admin.Writes()
	if _, err := r.Reconcile(ctx, key); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Store.GetBucket(ctx, rec.RecordName); got.Status.Phase != store.PhaseReady {
		t.Fatalf("status %+v, want Ready", got.Status)
	}
	if err := r.Store.DeleteBucket(ctx, rec.RecordName); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(ctx, key); err != nil {
		t.Fatal(err)
	}
	if n := admin.Writes() - before; n != 0 {
		t.Fatalf("%d writes to SeaweedFS for an imported bucket, want 0", n)
	}
	if tags, err := admin.BucketTags("legacy"); err != nil || len(tags) != 1 || tags["team"] != "data" {
		t.Fatalf("the imported bucket's tags: %v, %v", tags, err)
	}
	if st, err := admin.ObserveBucket(ctx, "legacy", s3admin.Ownership{}); err != nil || !st.Exists || st.Empty {
		t.Fatalf("the imported bucket after its record's deletion: %+v, %v", st, err)
	}
	if _, err := r.Store.GetBucket(ctx, rec.RecordName); err == nil {
		t.Fatal("the imported bucket's record was not released")
	}
}
