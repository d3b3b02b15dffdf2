package fake

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/engine"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

func TestFeatureEngine(t *testing.T) {
	ctx := context.Background()
	own := s3admin.Ownership{Owner: "o", Marker: "m"}
	same := func(b engine.BucketBackend) engine.BucketBackend { return b }
	marks := map[string]string{names.OwnerTagKey: "o", names.MarkerTagKey: "m"}
	all := s3admin.BucketFeatures{QuotaBytes: 1 << 20, Replication: "000", DiskType: "hdd", TTL: "7d", Versioning: true}

	t.Run("EnsureBucketFeatures reads only what is asked, and writes only what differs", func(t *testing.T) {
		f, e, ops := engineOn(t, same)
		f.AddBucket("b-1", marks)
		changed, err := e.EnsureBucketFeatures(ctx, "b-1", own, s3admin.BucketFeatures{Versioning: true})
		admintest.MustNil(t, "EnsureBucketFeatures", err)
		if want := []string{"GetBucketTagging", "GetBucketVersioning", "PutBucketVersioning"}; !changed || !cmp.Equal(want, *ops) {
			t.Errorf("changed %v, operations %v, want %v", changed, *ops, want)
		}
		*ops = nil
		changed, err = e.EnsureBucketFeatures(ctx, "b-1", own, all)
		admintest.MustNil(t, "EnsureBucketFeatures", err)
		want := []string{"GetBucketTagging", "LookupBucketEntry", "ReadFilerConf", "GetBucketVersioning", "GetObject",
			"UpdateBucketEntry", "ReadFilerConf", "WriteFilerConf"}
		if !changed || !cmp.Equal(want, *ops) {
			t.Errorf("changed %v, operations %v, want %v", changed, *ops, want)
		}
		*ops = nil
		changed, err = e.EnsureBucketFeatures(ctx, "b-1", own, all)
		admintest.MustNil(t, "EnsureBucketFeatures", err)
		if want := []string{"GetBucketTagging", "LookupBucketEntry", "ReadFilerConf", "GetBucketVersioning", "GetObject"}; changed || !cmp.Equal(want, *ops) {
			t.Errorf("converged: changed %v, operations %v, want %v", changed, *ops, want)
		}
	})
	t.Run("a rule keeps the read-only flag and the fields not asked for", func(t *testing.T) {
		f, e, _ := engineOn(t, same)
		f.AddBucket("b-1", marks)
		f.SetRule("b-1", plan.Placement{Replication: "001", TTL: "1d"}, true)
		_, err := e.EnsureBucketFeatures(ctx, "b-1", own, s3admin.BucketFeatures{Replication: "000"})
		admintest.MustNil(t, "EnsureBucketFeatures", err)
		if p, ro, ok := f.Rule("b-1"); !ok || !ro || p != (plan.Placement{Replication: "000", TTL: "1d"}) {
			t.Errorf("rule %+v read-only %v", p, ro)
		}
	})
	t.Run("without the filer a quota is refused before any request", func(t *testing.T) {
		f, e, ops := engineOn(t, same)
		f.HideCreators()
		f.AddBucket("b-1", marks)
		_, err := e.EnsureBucketFeatures(ctx, "b-1", own, s3admin.BucketFeatures{QuotaBytes: 1})
		admintest.MustIs(t, "EnsureBucketFeatures", err, s3admin.ErrUnsupported)
		admintest.MustNil(t, "RemoveBucketPlacement", e.RemoveBucketPlacement(ctx, "b-2", own))
		if want := []string{"GetBucketTagging"}; !cmp.Equal(want, *ops) {
			t.Errorf("operations %v, want %v", *ops, want)
		}
	})
	t.Run("a claim with another object-lock setting than the bucket's asks again with the bucket's", func(t *testing.T) {
		f, e, ops := engineOn(t, same)
		admintest.MustNil(t, "CreateBucket", e.CreateBucket(ctx, "b-1", own, s3admin.CreateOptions{ObjectLock: true}))
		*ops = nil
		admintest.MustNil(t, "CreateBucket", e.CreateBucket(ctx, "b-1", own, s3admin.CreateOptions{}))
		want := []string{"GetBucketTagging", "CreateBucket", "GetObjectLockConfiguration", "CreateBucket", "LookupBucketEntry"}
		if !cmp.Equal(want, *ops) {
			t.Errorf("operations %v, want %v", *ops, want)
		}
		if f.Writes() != 2 {
			t.Errorf("%d writes, want the creation and the marks", f.Writes())
		}
	})
	t.Run("a tenant's object-lock bucket stays the tenant's", func(t *testing.T) {
		f, e, _ := engineOn(t, same)
		f.AddBucketBy("tenant", "b-1", nil)
		f.mu.Lock()
		f.buckets["b-1"].objectLock = true
		f.mu.Unlock()
		for _, lock := range []bool{false, true} {
			admintest.MustIs(t, "CreateBucket", e.CreateBucket(ctx, "b-1", own, s3admin.CreateOptions{ObjectLock: lock}), s3admin.ErrNotOwned)
		}
	})
}
