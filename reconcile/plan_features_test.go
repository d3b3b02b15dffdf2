package reconcile

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/bucketclass"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

func TestPlanBucketFeatures(t *testing.T) {
	params := func(p map[string]string) func(*store.Bucket) {
		return func(b *store.Bucket) { b.Spec.Parameters = p }
	}
	ready := func(mut ...func(*store.Bucket)) *store.Bucket {
		return bucketRec(func(b *store.Bucket) {
			b.Status = store.Status{Phase: store.PhaseReady, CreateAttempted: true, Creations: 1, Marker: "m1", UsedBytes: 10, QuotaBytes: 1 << 20}
			for _, m := range mut {
				m(b)
			}
		})
	}
	deleting := func(b *store.Bucket) { b.Deleting = true }
	quota := params(map[string]string{bucketclass.MaxSize: "1Mi"})
	placement := params(map[string]string{bucketclass.Replication: "000", bucketclass.TTL: "7d"})
	locked := params(map[string]string{bucketclass.ObjectLock: "true"})
	owned := s3admin.BucketState{Exists: true, Owned: true, Empty: true}
	ownedFull := s3admin.BucketState{Exists: true, Owned: true}
	foreign := s3admin.BucketState{Exists: true, Empty: true}
	held := s3admin.BucketFeatureState{QuotaBytes: 1 << 20, UsedBytes: 4096}
	readyQuota := func(used int64) *store.Status {
		return &store.Status{Phase: store.PhaseReady, CreateAttempted: true, Creations: 1, QuotaBytes: 1 << 20, UsedBytes: used}
	}

	tests := []struct {
		name string
		rec  *store.Bucket
		obs  BucketObserved
		want Plan
	}{
		{
			name: "a new bucket with a quota is created, then given its quota",
			rec:  bucketRec(quota),
			want: Plan{Steps: []Step{StepMarkCreateAttempted, StepCreateBucket, StepEnsureFeatures}, Status: readyQuota(0)},
		},
		{
			name: "a bucket holding its quota is ready with the usage observed, without any write",
			rec:  ready(quota),
			obs:  BucketObserved{Bucket: owned, Features: held},
			want: Plan{Status: readyQuota(4096)},
		},
		{
			name: "a usage SeaweedFS could not tell keeps the last one",
			rec:  ready(quota),
			obs:  BucketObserved{Bucket: owned, Features: s3admin.BucketFeatureState{QuotaBytes: 1 << 20, UsedBytes: -1}},
			want: Plan{Status: readyQuota(10)},
		},
		{
			name: "a quota changed behind the driver's back is set back",
			rec:  ready(quota),
			obs:  BucketObserved{Bucket: owned, Features: s3admin.BucketFeatureState{QuotaBytes: 5 << 20, UsedBytes: 4096}},
			want: Plan{Steps: []Step{StepEnsureFeatures}, Status: readyQuota(4096)},
		},
		{
			name: "a quota the driver can no longer set leaves the bucket ready, saying so",
			rec:  ready(quota),
			obs:  BucketObserved{Bucket: owned, FeaturesUnsupported: true},
			want: Plan{Status: &store.Status{Phase: store.PhaseReady, CreateAttempted: true, Creations: 1, QuotaBytes: 1 << 20, UsedBytes: 10,
				Reason: store.ReasonFeaturesUnsupported, Message: featuresUnsupported + "; they are not kept"}},
		},
		{
			name: "a bucket never handed out whose quota cannot be set is blocked, not answered as created",
			rec: bucketRec(func(b *store.Bucket) {
				quota(b)
				b.Status = store.Status{CreateAttempted: true, Creations: 1, Marker: "m1"}
			}),
			obs:  BucketObserved{Bucket: owned, FeaturesUnsupported: true},
			want: Plan{Status: &store.Status{Phase: store.PhaseBlocked, Reason: store.ReasonFeaturesUnsupported, CreateAttempted: true, Message: featuresUnsupported}},
		},
		{
			name: "an interrupted create adopted after a restart gets its features before it is ready",
			rec: bucketRec(func(b *store.Bucket) {
				quota(b)
				b.Status = store.Status{CreateAttempted: true, Creations: 1, Marker: "m1"}
			}),
			obs:  BucketObserved{Bucket: foreign},
			want: Plan{Steps: []Step{StepCreateBucket, StepEnsureFeatures}, Status: readyQuota(0)},
		},
		{
			name: "a bucket that lacks the object lock its class asks for is ready, saying so",
			rec:  ready(locked),
			obs:  BucketObserved{Bucket: owned, Features: s3admin.BucketFeatureState{Versioning: s3admin.VersioningEnabled}},
			want: Plan{Status: &store.Status{Phase: store.PhaseReady, CreateAttempted: true, Creations: 1, Reason: store.ReasonObjectLockMissing,
				Message: "the BucketClass asks for object lock, and the bucket was created without it (SeaweedFS sets it only at creation)"}},
		},
		{
			name: "a class without features never asks for them",
			rec:  ready(),
			obs:  BucketObserved{Bucket: owned},
			want: Plan{Status: &store.Status{Phase: store.PhaseReady, CreateAttempted: true, Creations: 1}},
		},
		{
			name: "deleting a bucket with a placement rule removes the rule after the bucket",
			rec:  ready(placement, deleting),
			obs:  BucketObserved{Bucket: owned},
			want: Plan{Steps: []Step{StepDeleteBucket, StepRemovePlacement, StepRelease}},
		},
		{
			name: "a placement rule is removed when its bucket is gone already",
			rec:  ready(placement, deleting),
			want: Plan{Steps: []Step{StepRemovePlacement, StepRelease}},
		},
		{
			name: "deleting a bucket with a quota removes the read-only rule SeaweedFS's enforcement may have left",
			rec:  ready(quota, deleting),
			obs:  BucketObserved{Bucket: owned},
			want: Plan{Steps: []Step{StepDeleteBucket, StepRemovePlacement, StepRelease}},
		},
		{
			name: "a record that failed on somebody else's name never removes the rule of that name",
			rec: bucketRec(func(b *store.Bucket) {
				placement(b)
				deleting(b)
				b.Status = store.Status{Phase: store.PhaseFailed, Reason: store.ReasonBucketNotOwned, CreateAttempted: true, Creations: 1, Marker: "m1"}
			}),
			want: Plan{Steps: []Step{StepRelease}},
		},
		{
			name: "a record that never attempted a create wrote no rule to remove",
			rec:  bucketRec(func(b *store.Bucket) { placement(b); deleting(b) }),
			want: Plan{Steps: []Step{StepRelease}},
		},
		{
			name: "the rule of a name somebody else's bucket holds is left alone",
			rec:  ready(placement, deleting),
			obs:  BucketObserved{Bucket: foreign},
			want: Plan{Steps: []Step{StepRelease}},
		},
		{
			name: "a non-empty object-lock bucket waits for its retention, naming it",
			rec:  ready(locked, deleting),
			obs:  BucketObserved{Bucket: ownedFull},
			want: Plan{Status: &store.Status{Phase: store.PhaseBlocked, Reason: store.ReasonBucketNotEmpty, CreateAttempted: true,
				Message: "bucket is not empty; it has object lock, so its versions can be deleted only once their retention ends"}},
		},
		{
			name: "an imported bucket that exists is ready, once created for its accesses",
			rec:  bucketRec(func(b *store.Bucket) { b.Spec.Imported = true }),
			obs:  BucketObserved{Bucket: foreign},
			want: Plan{Status: &store.Status{Phase: store.PhaseReady, Creations: 1}},
		},
		{
			name: "an imported bucket that does not exist is blocked, never created",
			rec:  bucketRec(func(b *store.Bucket) { b.Spec.Imported = true }),
			want: Plan{Status: &store.Status{Phase: store.PhaseBlocked, Reason: store.ReasonImportedBucketMissing,
				Message: "the imported bucket does not exist in SeaweedFS"}},
		},
		{
			name: "deleting an imported bucket's record revokes its accesses first",
			rec:  bucketRec(func(b *store.Bucket) { b.Spec.Imported = true; deleting(b) }),
			obs:  BucketObserved{Bucket: foreign, Accesses: 2},
			want: Plan{Steps: []Step{StepRevokeAccesses}, Wait: true},
		},
		{
			name: "deleting an imported bucket's record never deletes, purges or changes the bucket",
			rec: bucketRec(func(b *store.Bucket) {
				b.Spec.Imported, b.Spec.Purge = true, true
				quota(b)
				placement(b)
				deleting(b)
			}),
			obs:  BucketObserved{Bucket: foreign},
			want: Plan{Steps: []Step{StepRelease}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, PlanBucket(tt.rec, tt.obs)); diff != "" {
				t.Fatalf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOwnershipOfAnImportedBucket(t *testing.T) {
	rec := bucketRec(func(b *store.Bucket) { b.Spec.Imported = true; b.Status.Owner, b.Status.Marker = "o", "m" })
	if got := Ownership(rec, "owner"); got != (s3admin.Ownership{Imported: true}) {
		t.Fatalf("Ownership = %+v, want only Imported", got)
	}
}
