package reconcile

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

func bucketRec(mut func(*store.Bucket)) *store.Bucket {
	b := &store.Bucket{RecordName: "bucket-1", Spec: store.BucketSpec{Name: "b", BucketID: "b"}}
	if mut != nil {
		mut(b)
	}
	return b
}

func st(phase store.Phase, reason string, attempted bool) *store.Status {
	return &store.Status{Phase: phase, Reason: reason, CreateAttempted: attempted}
}

func TestPlanBucket(t *testing.T) {
	// A create attempt records the record's marker.
	attempted := func(b *store.Bucket) { b.Status.CreateAttempted = true; b.Status.Marker = "m1" }
	deleting := func(b *store.Bucket) { b.Deleting = true; attempted(b) }
	ownedEmpty := s3admin.BucketState{Exists: true, Owned: true, Empty: true}
	ownedFull := s3admin.BucketState{Exists: true, Owned: true}
	foreign := s3admin.BucketState{Exists: true, Empty: true}
	// Ready counts at least one creation (records written before creations
	// were counted move from 0 to 1).
	readyOnce := &store.Status{Phase: store.PhaseReady, CreateAttempted: true, Creations: 1}

	tests := []struct {
		name string
		rec  *store.Bucket
		obs  BucketObserved
		want Plan
	}{
		{
			name: "a new record records the attempt, then creates the bucket",
			rec:  bucketRec(nil),
			want: Plan{Steps: []Step{StepMarkCreateAttempted, StepCreateBucket}, Status: readyOnce},
		},
		{
			name: "an existing owned bucket is ready without any write",
			rec:  bucketRec(attempted),
			obs:  BucketObserved{Bucket: ownedEmpty},
			want: Plan{Status: readyOnce},
		},
		{
			name: "a bucket removed out of band is created again, after leaving Ready",
			rec:  bucketRec(func(b *store.Bucket) { b.Status = *st(store.PhaseReady, "", true); b.Status.Marker = "m1" }),
			want: Plan{Steps: []Step{StepMarkCreateAttempted, StepCreateBucket}, Status: readyOnce},
		},
		{
			name: "a ready bucket keeps its count of creations",
			rec: bucketRec(func(b *store.Bucket) {
				b.Status = store.Status{Phase: store.PhaseReady, CreateAttempted: true, Creations: 3, Marker: "m1"}
			}),
			obs:  BucketObserved{Bucket: ownedEmpty},
			want: Plan{Status: &store.Status{Phase: store.PhaseReady, CreateAttempted: true, Creations: 3}},
		},
		{
			name: "a ready bucket that lost its marks is left untouched, never re-adopted",
			rec:  bucketRec(func(b *store.Bucket) { b.Status = *st(store.PhaseReady, "", true); b.Status.Marker = "m1" }),
			obs:  BucketObserved{Bucket: foreign},
			want: Plan{Status: &store.Status{Phase: store.PhaseBlocked, Reason: store.ReasonBucketLostMarker, CreateAttempted: true,
				Message: "the bucket lost this driver's ownership marks (changed or re-created outside the driver); it is left untouched"}},
		},
		{
			name: "deleting a record whose bucket lost its marker never touches the bucket",
			rec: bucketRec(func(b *store.Bucket) {
				deleting(b)
				b.Status = *st(store.PhaseBlocked, store.ReasonBucketLostMarker, true)
			}),
			obs:  BucketObserved{Bucket: foreign},
			want: Plan{Steps: []Step{StepRelease}},
		},
		{
			name: "a foreign bucket with the same name is never adopted",
			rec:  bucketRec(nil),
			obs:  BucketObserved{Bucket: foreign},
			want: Plan{Status: &store.Status{Phase: store.PhaseFailed, Reason: store.ReasonBucketNotOwned,
				Message: "a bucket with this name exists in SeaweedFS and was not created by this driver"}},
		},
		{
			name: "a new record never takes a bucket that carries the owner tag alone (a tag anyone may write)",
			rec:  bucketRec(nil),
			obs:  BucketObserved{Bucket: ownedEmpty},
			want: Plan{Status: &store.Status{Phase: store.PhaseFailed, Reason: store.ReasonBucketNotOwned,
				Message: "a bucket with this name exists in SeaweedFS and was not created by this driver"}},
		},
		{
			name: "a record from before markers that was ready keeps its bucket by the owner tag",
			rec: bucketRec(func(b *store.Bucket) {
				b.Status = store.Status{Phase: store.PhaseReady, CreateAttempted: true, Creations: 2}
			}),
			obs:  BucketObserved{Bucket: ownedEmpty},
			want: Plan{Status: &store.Status{Phase: store.PhaseReady, CreateAttempted: true, Creations: 2}},
		},
		{
			name: "an unmarked bucket after a recorded create attempt is adopted only through SeaweedFS's answer, without counting another creation",
			rec:  bucketRec(attempted),
			obs:  BucketObserved{Bucket: foreign},
			want: Plan{Steps: []Step{StepCreateBucket}, Status: readyOnce},
		},
		{
			name: "an unmarked bucket after a create attempt recorded without a marker records the attempt again for one",
			rec:  bucketRec(func(b *store.Bucket) { b.Status.CreateAttempted = true }),
			obs:  BucketObserved{Bucket: foreign},
			want: Plan{Steps: []Step{StepMarkCreateAttempted, StepCreateBucket}, Status: readyOnce},
		},
		{
			name: "a failed record stays failed, whatever the bucket looks like",
			rec: bucketRec(func(b *store.Bucket) {
				attempted(b)
				b.Status.Phase, b.Status.Reason = store.PhaseFailed, store.ReasonBucketNotOwned
			}),
			obs:  BucketObserved{Bucket: foreign},
			want: Plan{Status: &store.Status{Phase: store.PhaseFailed, Reason: store.ReasonBucketNotOwned, CreateAttempted: true}},
		},
		{
			name: "deleting a failed record never touches the bucket, even after a create attempt",
			rec: bucketRec(func(b *store.Bucket) {
				deleting(b)
				b.Spec.Purge = true
				b.Status.Phase, b.Status.Reason = store.PhaseFailed, store.ReasonBucketNotOwned
			}),
			obs:  BucketObserved{Bucket: foreign},
			want: Plan{Steps: []Step{StepRelease}},
		},
		{
			name: "deleting revokes the remaining accesses first and waits",
			rec:  bucketRec(deleting),
			obs:  BucketObserved{Bucket: ownedFull, Accesses: 2},
			want: Plan{Steps: []Step{StepRevokeAccesses}, Wait: true},
		},
		{
			name: "deleting an empty owned bucket deletes it and releases the record",
			rec:  bucketRec(deleting),
			obs:  BucketObserved{Bucket: ownedEmpty},
			want: Plan{Steps: []Step{StepDeleteBucket, StepRelease}},
		},
		{
			name: "deleting a non-empty bucket without purge is blocked",
			rec:  bucketRec(deleting),
			obs:  BucketObserved{Bucket: ownedFull},
			want: Plan{Status: &store.Status{Phase: store.PhaseBlocked, Reason: store.ReasonBucketNotEmpty, CreateAttempted: true,
				Message: "bucket is not empty and its BucketClass does not set purge"}},
		},
		{
			name: "deleting a non-empty bucket with purge deletes it",
			rec:  bucketRec(func(b *store.Bucket) { deleting(b); b.Spec.Purge = true }),
			obs:  BucketObserved{Bucket: ownedFull},
			want: Plan{Steps: []Step{StepDeleteBucket, StepRelease}},
		},
		{
			name: "deleting when the bucket is already gone only releases the record",
			rec:  bucketRec(deleting),
			want: Plan{Steps: []Step{StepRelease}},
		},
		{
			name: "deleting a record whose bucket was never ours never touches the bucket",
			rec:  bucketRec(func(b *store.Bucket) { b.Deleting = true }),
			obs:  BucketObserved{Bucket: foreign},
			want: Plan{Steps: []Step{StepRelease}},
		},
		{
			name: "deleting an unmarked bucket we recorded creating adopts it (through SeaweedFS's answer) before deleting",
			rec:  bucketRec(deleting),
			obs:  BucketObserved{Bucket: foreign},
			want: Plan{Steps: []Step{StepCreateBucket, StepDeleteBucket, StepRelease}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, PlanBucket(tt.rec, tt.obs)); diff != "" {
				t.Errorf("PlanBucket (-want +got):\n%s", diff)
			}
		})
	}
}

func accessRec(mut func(*store.Access)) *store.Access {
	a := &store.Access{
		RecordName:  "access-1",
		Spec:        store.AccessSpec{Name: "ba-1", BucketID: "b", Mode: "read-write", User: "cosi-1"},
		AccessKeyID: "KEY1",
	}
	if mut != nil {
		mut(a)
	}
	return a
}

func TestPlanAccess(t *testing.T) {
	readyBucket := bucketRec(func(b *store.Bucket) { b.Status = *st(store.PhaseReady, "", true) })
	converged := s3admin.UserState{Name: "cosi-1", Exists: true, Owned: true, AccessKeyIDs: []string{"KEY1"},
		Bucket: "b", Mode: s3admin.ModeReadWrite, PolicyExact: true}
	ready := &store.Status{Phase: store.PhaseReady}
	createdTwice := bucketRec(func(b *store.Bucket) {
		b.Status = store.Status{Phase: store.PhaseReady, CreateAttempted: true, Creations: 2}
	})

	tests := []struct {
		name string
		rec  *store.Access
		obs  AccessObserved
		want Plan
	}{
		{
			name: "a new access creates the user",
			rec:  accessRec(nil),
			obs:  AccessObserved{Bucket: readyBucket},
			want: Plan{Steps: []Step{StepEnsureAccess}, Status: ready},
		},
		{
			name: "a converged access makes no write",
			rec:  accessRec(nil),
			obs:  AccessObserved{Bucket: readyBucket, User: converged},
			want: Plan{Status: ready},
		},
		{
			name: "an extra key on the user is repaired",
			rec:  accessRec(nil),
			obs: AccessObserved{Bucket: readyBucket, User: func() s3admin.UserState {
				u := converged
				u.AccessKeyIDs = []string{"KEY1", "KEY2"}
				return u
			}()},
			want: Plan{Steps: []Step{StepEnsureAccess}, Status: ready},
		},
		{
			name: "a policy widened out of band is repaired",
			rec:  accessRec(nil),
			obs: AccessObserved{Bucket: readyBucket, User: func() s3admin.UserState {
				u := converged
				u.PolicyExact = false
				return u
			}()},
			want: Plan{Steps: []Step{StepEnsureAccess}, Status: ready},
		},
		{
			name: "a changed mode is repaired",
			rec:  accessRec(func(a *store.Access) { a.Spec.Mode = "read-only" }),
			obs:  AccessObserved{Bucket: readyBucket, User: converged},
			want: Plan{Steps: []Step{StepEnsureAccess}, Status: ready},
		},
		{
			name: "a new access is written for the bucket's current creation",
			rec:  accessRec(nil),
			obs:  AccessObserved{Bucket: createdTwice},
			want: Plan{Steps: []Step{StepRewriteAccess}, Status: &store.Status{Phase: store.PhaseReady, BucketCreations: 2}},
		},
		{
			name: "a converged access written for an earlier creation of its bucket is written again",
			rec:  accessRec(func(a *store.Access) { a.Status = store.Status{Phase: store.PhaseReady, BucketCreations: 1} }),
			obs:  AccessObserved{Bucket: createdTwice, User: converged},
			want: Plan{Steps: []Step{StepRewriteAccess}, Status: &store.Status{Phase: store.PhaseReady, BucketCreations: 2}},
		},
		{
			name: "a converged access written for the current creation makes no write",
			rec:  accessRec(func(a *store.Access) { a.Status = store.Status{Phase: store.PhaseReady, BucketCreations: 2} }),
			obs:  AccessObserved{Bucket: createdTwice, User: converged},
			want: Plan{Status: &store.Status{Phase: store.PhaseReady, BucketCreations: 2}},
		},
		{
			name: "a written access whose key is not accepted yet is only asked about",
			rec: accessRec(func(a *store.Access) {
				a.Status = store.Status{Reason: store.ReasonKeyPending, BucketCreations: 2}
			}),
			obs:  AccessObserved{Bucket: createdTwice, User: converged},
			want: Plan{Steps: []Step{StepConfirmKey}, Status: &store.Status{Phase: store.PhaseReady, BucketCreations: 2}},
		},
		{
			name: "a pending key's user changed out of band is written again",
			rec: accessRec(func(a *store.Access) {
				a.Status = store.Status{Reason: store.ReasonKeyPending, BucketCreations: 2}
			}),
			obs: AccessObserved{Bucket: createdTwice, User: func() s3admin.UserState {
				u := converged
				u.AccessKeyIDs = nil
				return u
			}()},
			want: Plan{Steps: []Step{StepEnsureAccess}, Status: &store.Status{Phase: store.PhaseReady, BucketCreations: 2}},
		},
		{
			name: "a pending key written for an earlier creation of its bucket is written again",
			rec: accessRec(func(a *store.Access) {
				a.Status = store.Status{Reason: store.ReasonKeyPending, BucketCreations: 1}
			}),
			obs:  AccessObserved{Bucket: createdTwice, User: converged},
			want: Plan{Steps: []Step{StepRewriteAccess}, Status: &store.Status{Phase: store.PhaseReady, BucketCreations: 2}},
		},
		{
			name: "an access waits for its bucket to be ready",
			rec:  accessRec(nil),
			obs:  AccessObserved{Bucket: bucketRec(nil)},
			want: Plan{Status: &store.Status{Message: "waiting for the bucket to be ready"}},
		},
		{
			name: "an access waiting for its bucket to be created again keeps the creation it was written for",
			rec:  accessRec(func(a *store.Access) { a.Status = store.Status{Phase: store.PhaseReady, BucketCreations: 1} }),
			obs: AccessObserved{Bucket: bucketRec(func(b *store.Bucket) {
				b.Status = store.Status{Phase: store.PhasePending, CreateAttempted: true, Creations: 2}
			})},
			want: Plan{Status: &store.Status{Message: "waiting for the bucket to be ready", BucketCreations: 1}},
		},
		{
			name: "an access of a bucket being deleted fails",
			rec:  accessRec(nil),
			obs:  AccessObserved{Bucket: bucketRec(func(b *store.Bucket) { b.Deleting = true })},
			want: Plan{Status: &store.Status{Phase: store.PhaseFailed, Reason: store.ReasonBucketGone,
				Message: "the bucket of this access is deleted or being deleted"}},
		},
		{
			name: "an access whose bucket record is gone revokes itself",
			rec:  accessRec(nil),
			want: Plan{Steps: []Step{StepRevokeSelf}, Wait: true},
		},
		{
			name: "revoking an existing user deletes it and releases the record once SeaweedFS refuses the key",
			rec:  accessRec(func(a *store.Access) { a.Deleting = true }),
			obs:  AccessObserved{User: converged},
			want: Plan{Steps: []Step{StepDeleteUser, StepConfirmRevoked, StepRelease}},
		},
		{
			name: "revoking a user that is already gone releases the record once SeaweedFS refuses the key",
			rec:  accessRec(func(a *store.Access) { a.Deleting = true }),
			want: Plan{Steps: []Step{StepConfirmRevoked, StepRelease}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Access(tt.rec, tt.obs)); diff != "" {
				t.Errorf("Access (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanResync(t *testing.T) {
	// A record's marker is "m-" and its bucket id; the installation's owner
	// id is "owner".
	readyB := func(name, id string) *store.Bucket {
		b := &store.Bucket{RecordName: name, Spec: store.BucketSpec{BucketID: id}, Status: *st(store.PhaseReady, "", true)}
		b.Status.Owner, b.Status.Marker = "owner", "m-"+id
		return b
	}
	marked := func(names ...string) []s3admin.MarkedBucket {
		var out []s3admin.MarkedBucket
		for _, n := range names {
			out = append(out, s3admin.MarkedBucket{Name: n, Owner: "owner", Marker: "m-" + n})
		}
		return out
	}
	readyA := func(name, user, bucket, key string) *store.Access {
		return &store.Access{RecordName: name, AccessKeyID: key, Status: store.Status{Phase: store.PhaseReady},
			Spec: store.AccessSpec{User: user, BucketID: bucket, Mode: "read-write"}}
	}
	user := func(name, bucket, key string) s3admin.UserState {
		return s3admin.UserState{Name: name, Exists: true, Owned: true, AccessKeyIDs: []string{key},
			Bucket: bucket, Mode: s3admin.ModeReadWrite, PolicyExact: true}
	}

	tests := []struct {
		name     string
		buckets  []*store.Bucket
		accesses []*store.Access
		snap     Snapshot
		want     ResyncPlan
	}{
		{
			name:     "everything converged: nothing to do",
			buckets:  []*store.Bucket{readyB("bucket-a", "a")},
			accesses: []*store.Access{readyA("access-1", "cosi-1", "a", "K1")},
			snap:     Snapshot{Buckets: marked("a"), Users: []s3admin.UserState{user("cosi-1", "a", "K1")}},
		},
		{
			name:     "a bucket and a user removed out of band are requeued",
			buckets:  []*store.Bucket{readyB("bucket-a", "a")},
			accesses: []*store.Access{readyA("access-1", "cosi-1", "a", "K1")},
			want: ResyncPlan{Requeue: []Key{
				{Kind: store.KindAccess, Name: "access-1"},
				{Kind: store.KindBucket, Name: "bucket-a"},
			}},
		},
		{
			name:     "a user whose key was replaced out of band is requeued",
			buckets:  []*store.Bucket{readyB("bucket-a", "a")},
			accesses: []*store.Access{readyA("access-1", "cosi-1", "a", "K1")},
			snap:     Snapshot{Buckets: marked("a"), Users: []s3admin.UserState{user("cosi-1", "a", "OTHER")}},
			want:     ResyncPlan{Requeue: []Key{{Kind: store.KindAccess, Name: "access-1"}}},
		},
		{
			name: "an access written for an earlier creation of its bucket is requeued",
			buckets: []*store.Bucket{func() *store.Bucket {
				b := readyB("bucket-a", "a")
				b.Status.Creations = 2
				return b
			}()},
			accesses: []*store.Access{func() *store.Access {
				a := readyA("access-1", "cosi-1", "a", "K1")
				a.Status.BucketCreations = 1
				return a
			}()},
			snap: Snapshot{Buckets: marked("a"), Users: []s3admin.UserState{user("cosi-1", "a", "K1")}},
			want: ResyncPlan{Requeue: []Key{{Kind: store.KindAccess, Name: "access-1"}}},
		},
		{
			name:     "an access whose bucket has no record is requeued",
			accesses: []*store.Access{readyA("access-1", "cosi-1", "a", "K1")},
			snap:     Snapshot{Buckets: marked("a"), Users: []s3admin.UserState{user("cosi-1", "a", "K1")}},
			want: ResyncPlan{
				Requeue:       []Key{{Kind: store.KindAccess, Name: "access-1"}},
				OrphanBuckets: marked("a"),
			},
		},
		{
			name:    "owned users and buckets without a record are orphans; a user only sharing the prefix is not",
			buckets: []*store.Bucket{readyB("bucket-a", "a")},
			snap: Snapshot{Buckets: marked("a", "z"), Users: []s3admin.UserState{
				user("cosi-22222222222222222222222222222222", "a", "K2"),
				user("cosi-admin", "a", "K3"),
			}},
			want: ResyncPlan{OrphanUsers: []string{"cosi-22222222222222222222222222222222"}, OrphanBuckets: marked("z")},
		},
		{
			name:     "a user outside this pass's window is neither judged nor missing",
			buckets:  []*store.Bucket{readyB("bucket-a", "a")},
			accesses: []*store.Access{readyA("access-1", "cosi-1", "a", "K1"), readyA("access-2", "cosi-2", "a", "K2")},
			snap:     Snapshot{Buckets: marked("a"), Unobserved: []string{"cosi-1"}},
			want:     ResyncPlan{Requeue: []Key{{Kind: store.KindAccess, Name: "access-2"}}},
		},
		{
			name:    "an owned user without a record is an orphan whether observed or only named",
			buckets: []*store.Bucket{readyB("bucket-a", "a")},
			snap: Snapshot{Buckets: marked("a"),
				Users:      []s3admin.UserState{user("cosi-22222222222222222222222222222222", "a", "K2")},
				Unobserved: []string{"cosi-11111111111111111111111111111111", "cosi-admin"}},
			want: ResyncPlan{OrphanUsers: []string{"cosi-11111111111111111111111111111111", "cosi-22222222222222222222222222222222"}},
		},
		{
			name:    "a ready bucket carrying another record's marker has drifted",
			buckets: []*store.Bucket{readyB("bucket-a", "a")},
			snap:    Snapshot{Buckets: []s3admin.MarkedBucket{{Name: "a", Owner: "owner", Marker: "m-other"}}},
			want:    ResyncPlan{Requeue: []Key{{Kind: store.KindBucket, Name: "bucket-a"}}},
		},
		{
			name: "the probe bucket is never an orphan",
			snap: Snapshot{Buckets: []s3admin.MarkedBucket{{Name: "cosi-probe-x", Owner: "owner", Marker: names.ProbeMarker}}},
		},
		{
			name: "a bucket marked by another installation is never an orphan",
			snap: Snapshot{Buckets: []s3admin.MarkedBucket{{Name: "x", Owner: "another-owner", Marker: "m-x"}}},
		},
		{
			name: "a record keeps the owner id recorded with it when the installation's changes",
			buckets: []*store.Bucket{func() *store.Bucket {
				b := readyB("bucket-a", "a")
				b.Status.Owner = "old-owner"
				return b
			}()},
			snap: Snapshot{Buckets: []s3admin.MarkedBucket{{Name: "a", Owner: "old-owner", Marker: "m-a"}}},
		},
		{
			name: "users outside the prefix are never orphans",
			snap: Snapshot{Users: []s3admin.UserState{user("alice", "a", "K")}},
		},
		{
			name: "unfinished and deleting records are requeued, failed ones are not",
			buckets: []*store.Bucket{
				{RecordName: "bucket-p", Spec: store.BucketSpec{BucketID: "p"}},
				{RecordName: "bucket-f", Spec: store.BucketSpec{BucketID: "f"}, Status: *st(store.PhaseFailed, store.ReasonBucketNotOwned, false)},
				{RecordName: "bucket-d", Spec: store.BucketSpec{BucketID: "d"}, Deleting: true, Status: *st(store.PhaseBlocked, store.ReasonBucketNotEmpty, true)},
			},
			snap: Snapshot{Buckets: marked("d")},
			want: ResyncPlan{Requeue: []Key{
				{Kind: store.KindBucket, Name: "bucket-d"},
				{Kind: store.KindBucket, Name: "bucket-p"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanResync(tt.buckets, tt.accesses, tt.snap, "cosi-", "owner")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PlanResync (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanRevocations(t *testing.T) {
	access := func(record, grant string, deleting bool) *store.Access {
		return &store.Access{RecordName: record, Deleting: deleting, Status: store.Status{Phase: store.PhaseReady},
			Spec: store.AccessSpec{Name: grant, User: "cosi-" + record, BucketID: "a", Mode: "read-write"}}
	}
	accesses := []*store.Access{
		access("access-3", "ba-0f3c7a52-9d61-4c0e-8f7a-2b1d9e6c4a10", false),
		access("access-1", "ba-2a3c7a52-9d61-4c0e-8f7a-2b1d9e6c4a10", false),
		access("access-2", "ba-11111111-2222-4333-8444-555555555555", false),
		access("access-4", "not-a-grant-name", false),
		access("access-5", "ba-33333333-2222-4333-8444-555555555555", true),
	}
	tests := []struct {
		name string
		uids BucketAccessUIDs
		want []string
	}{
		{
			name: "accesses whose BucketAccess is gone are revoked; names that are no grant names and deleting records are not",
			uids: BucketAccessUIDs{"11111111-2222-4333-8444-555555555555": true},
			want: []string{"access-1", "access-3"},
		},
		{
			name: "without a BucketAccess listing nothing is revoked",
		},
		{
			name: "every BucketAccess still there: nothing is revoked",
			uids: BucketAccessUIDs{
				"0f3c7a52-9d61-4c0e-8f7a-2b1d9e6c4a10": true, "2a3c7a52-9d61-4c0e-8f7a-2b1d9e6c4a10": true,
				"11111111-2222-4333-8444-555555555555": true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, PlanRevocations(accesses, tt.uids)); diff != "" {
				t.Errorf("PlanRevocations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUserPrefixOf(t *testing.T) {
	id := names.AccessID("ba-one")
	for _, tt := range []struct {
		user       string
		wantPrefix string
		wantOK     bool
	}{
		{user: "cosi-" + id, wantPrefix: "cosi-", wantOK: true},
		{user: "team-a." + id, wantPrefix: "team-a.", wantOK: true},
		{user: id, wantOK: false},
		{user: "cosi-" + names.AccessID("ba-other"), wantOK: false},
		{user: "cosi-admin", wantOK: false},
	} {
		rec := &store.Access{Spec: store.AccessSpec{Name: "ba-one", User: tt.user}}
		prefix, ok := UserPrefixOf(rec)
		if ok != tt.wantOK || (ok && prefix != tt.wantPrefix) {
			t.Errorf("UserPrefixOf(%q) = %q, %t; want %q, %t", tt.user, prefix, ok, tt.wantPrefix, tt.wantOK)
		}
	}
}
