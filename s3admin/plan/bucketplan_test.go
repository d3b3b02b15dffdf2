package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

var (
	planOwn   = s3admin.Ownership{Owner: "o", Marker: "m"}
	planOld   = s3admin.Ownership{Owner: "o"} // a record from before markers
	planOpts  = cmpopts.EquateErrors()
	unmarked  = BucketObserved{Exists: true, Marks: s3admin.MarkedBucket{Name: "b"}}
	ownMarked = BucketObserved{Exists: true, Marks: s3admin.MarkedBucket{Name: "b", Owner: "o", Marker: "m"}}
)

func marked(owner, marker string) BucketObserved {
	return BucketObserved{Exists: true, Marks: s3admin.MarkedBucket{Name: "b", Owner: owner, Marker: marker}}
}

func TestPlanCreateBucket(t *testing.T) {
	claimAndMark := BucketPlan{Steps: []BucketStep{StepClaim, StepMark}}
	notOwned := BucketPlan{Refuse: s3admin.ErrNotOwned, Reason: "is marked for another owner or record"}
	tests := []struct {
		name string
		obs  BucketObserved
		own  s3admin.Ownership
		want BucketPlan
	}{
		{"a missing bucket is created, then marked", BucketObserved{}, planOwn, claimAndMark},
		{"an unmarked bucket is claimed (adopted only if our identity created it), then marked", unmarked, planOwn, claimAndMark},
		{"a bucket carrying the record's marks is only claimed, since marks can be copied", ownMarked, planOwn, BucketPlan{Steps: []BucketStep{StepClaim}}},
		{"a bucket of the same owner from before markers is claimed and given the record's marker", marked("o", ""), planOwn, claimAndMark},
		{"a bucket with the record's marker and no owner tag is claimed and given the owner tag", marked("", "m"), planOwn, claimAndMark},
		{"a bucket marked for another owner is refused without a request", marked("x", ""), planOwn, notOwned},
		{"a bucket marked for another owner with the record's marker is refused", marked("x", "m"), planOwn, notOwned},
		{"a bucket marked for another record of the same owner is refused", marked("o", "other"), planOwn, notOwned},
		{"a bucket carrying only another record's marker is refused", marked("", "other"), planOwn, notOwned},
		{"a record from before markers claims its owner-tagged bucket without marking it again", marked("o", ""), planOld, BucketPlan{Steps: []BucketStep{StepClaim}}},
		{"a record from before markers refuses a bucket that carries a marker", marked("o", "m"), planOld, notOwned},
		{"an imported bucket is never created, even when missing", BucketObserved{}, s3admin.Ownership{Owner: "o", Imported: true},
			BucketPlan{Refuse: s3admin.ErrNotOwned, Reason: "is imported, not the driver's"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, CreateBucket(tt.obs, tt.own), planOpts); diff != "" {
				t.Errorf("planCreateBucket (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanDeleteBucket(t *testing.T) {
	notOwned := BucketPlan{Refuse: s3admin.ErrNotOwned, Reason: "does not carry this record's marks"}
	checked := BucketPlan{Steps: []BucketStep{
		StepClaim, StepRequireEmpty, StepFence, StepRequireEmpty, StepDelete, StepRemoveFolders, StepDelete,
	}}
	purged := BucketPlan{Steps: []BucketStep{
		StepClaim, StepAbortUploads, StepFence, StepDelete, StepPurge, StepDelete, StepRemoveFolders, StepDelete,
	}}
	tests := []struct {
		name  string
		obs   BucketObserved
		own   s3admin.Ownership
		purge bool
		want  BucketPlan
	}{
		{"a missing bucket is deleted already: nothing to do", BucketObserved{}, planOwn, false, BucketPlan{}},
		{"a missing bucket to purge is deleted already: nothing to do", BucketObserved{}, planOwn, true, BucketPlan{}},
		{"an unmarked bucket is refused, even with purge", unmarked, planOwn, true, notOwned},
		{"a bucket marked for another record is refused", marked("o", "other"), planOwn, false, notOwned},
		{"a bucket of the same owner without the record's marker is refused", marked("o", ""), planOwn, false, notOwned},
		{"a bucket marked for another owner is refused", marked("x", "m"), planOwn, true, notOwned},
		{"an owned bucket is claimed, checked empty, fenced, checked again behind the fence, then deleted", ownMarked, planOwn, false, checked},
		{"an owned bucket to purge is claimed, its uploads aborted before the fence, fenced, then deleted and emptied as needed", ownMarked, planOwn, true, purged},
		{"a record from before markers deletes its owner-tagged bucket", marked("o", ""), planOld, false, checked},
		{"an owned object-lock bucket is not purged: deleted only once empty", BucketObserved{Exists: true, ObjectLock: true, Marks: ownMarked.Marks}, planOwn, true, checked},
		{"an imported bucket is never deleted", ownMarked, s3admin.Ownership{Owner: "o", Marker: "m", Imported: true}, true,
			BucketPlan{Refuse: s3admin.ErrNotOwned, Reason: "is imported, not the driver's"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, DeleteBucket(tt.obs, tt.own, tt.purge), planOpts); diff != "" {
				t.Errorf("planDeleteBucket (-want +got):\n%s", diff)
			}
		})
	}
}

// Every delete plan claims the bucket before its first change, and ends
// with a delete.
func TestDeletePlansClaimFirstAndEndWithTheDelete(t *testing.T) {
	for _, purge := range []bool{false, true} {
		steps := DeleteBucket(ownMarked, planOwn, purge).Steps
		if steps[0] != StepClaim || steps[len(steps)-1] != StepDelete {
			t.Errorf("purge=%t: steps %v", purge, steps)
		}
	}
}

func TestClaimed(t *testing.T) {
	ownedByYou := Claim{Answer: AnswerOwnedByYou}
	with := func(c Claim, f func(*Claim)) Claim { f(&c); return c }
	tests := []struct {
		name  string
		claim Claim
		want  error
	}{
		{"a bucket the request created is the driver's", Claim{Answer: AnswerCreated, Absent: true}, nil},
		{"a bucket another identity created is not the driver's", Claim{Answer: AnswerExistsForAnother, Marked: true}, s3admin.ErrNotOwned},
		{"a bucket recording the driver's identity as its creator is the driver's, marked or not",
			with(ownedByYou, func(c *Claim) { c.CreatorKnown, c.Creator = true, "admin" }), nil},
		{"a bucket recording no creator is not the driver's, even carrying the record's marks",
			with(ownedByYou, func(c *Claim) { c.CreatorKnown, c.Marked, c.Empty = true, true, true }), s3admin.ErrNotOwned},
		{"a bucket recording no creator is not collected", with(ownedByYou, func(c *Claim) { c.CreatorKnown, c.Unrecorded = true, true }), s3admin.ErrNotOwned},
		{"creator unknown: a bucket that appeared between the read and the request is not the driver's",
			with(ownedByYou, func(c *Claim) { c.Absent, c.Empty = true, true }), s3admin.ErrNotOwned},
		{"creator unknown: a bucket without record is never collected",
			with(ownedByYou, func(c *Claim) { c.Unrecorded, c.Marked, c.Empty = true, true, true }), s3admin.ErrNotOwned},
		{"creator unknown: a bucket carrying the record's marks is the record's", with(ownedByYou, func(c *Claim) { c.Marked = true }), nil},
		{"creator unknown: an unmarked bucket holding data is not the driver's", ownedByYou, s3admin.ErrNotOwned},
		{"creator unknown: an unmarked empty bucket is an interrupted create's", with(ownedByYou, func(c *Claim) { c.Empty = true }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, got := Claimed(tt.claim)
			if diff := cmp.Diff(tt.want, got, planOpts); diff != "" {
				t.Errorf("claimed (-want +got):\n%s", diff)
			}
			if (got != nil) != (reason != "") {
				t.Errorf("reason %q for %v", reason, got)
			}
		})
	}
}

func TestClaimNeeds(t *testing.T) {
	if (Claim{Answer: AnswerCreated}).NeedsCreator() || (Claim{Answer: AnswerExistsForAnother}).NeedsCreator() {
		t.Error("a decisive answer needs no creator")
	}
	if !(Claim{Answer: AnswerOwnedByYou}).NeedsEmptiness() {
		t.Error("an unmarked bucket of unknown creator needs its content")
	}
	for _, c := range []Claim{{Answer: AnswerOwnedByYou, CreatorKnown: true}, {Answer: AnswerOwnedByYou, Marked: true},
		{Answer: AnswerOwnedByYou, Absent: true}, {Answer: AnswerOwnedByYou, Unrecorded: true}} {
		if c.NeedsEmptiness() {
			t.Errorf("%+v needs no content", c)
		}
	}
}

func TestMarkedTags(t *testing.T) {
	tests := []struct {
		name     string
		existing map[string]string
		own      s3admin.Ownership
		want     map[string]string
	}{
		{"a bucket without tags gets the owner and the marker", nil, planOwn,
			map[string]string{names.OwnerTagKey: "o", names.MarkerTagKey: "m"}},
		{"the bucket's other tags are kept", map[string]string{"team": "x"}, planOwn,
			map[string]string{names.OwnerTagKey: "o", names.MarkerTagKey: "m", "team": "x"}},
		{"an owner tag without marker is completed with the record's marker", map[string]string{names.OwnerTagKey: "o"}, planOwn,
			map[string]string{names.OwnerTagKey: "o", names.MarkerTagKey: "m"}},
		{"a record from before markers writes no marker", nil, planOld, map[string]string{names.OwnerTagKey: "o"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, MarkedTags(tt.existing, tt.own)); diff != "" {
				t.Errorf("markedTags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestContentVerdict(t *testing.T) {
	type verdict struct{ Empty, Denied bool }
	tests := []struct {
		name string
		c    ContentObserved
		want verdict
	}{
		{"a bucket with no key, version or upload is empty", ContentObserved{}, verdict{Empty: true}},
		{"a key is content", ContentObserved{Objects: true}, verdict{}},
		{"a noncurrent version or delete marker is content", ContentObserved{Versions: true}, verdict{}},
		{"an unfinished upload is content", ContentObserved{Uploads: true}, verdict{}},
		{"uploads the driver's fence keeps from being listed are no content: none can be completed",
			ContentObserved{UploadsDenied: true, Fenced: true}, verdict{Empty: true}},
		{"uploads somebody else's policy keeps from being listed are reported as refused",
			ContentObserved{UploadsDenied: true}, verdict{Denied: true}},
		{"a key is content even behind the fence", ContentObserved{Objects: true, UploadsDenied: true, Fenced: true}, verdict{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got verdict
			got.Empty, got.Denied = ContentVerdict(tt.c)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("contentVerdict (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClaimAgain(t *testing.T) {
	lock := s3admin.CreateOptions{ObjectLock: true}
	tests := []struct {
		name       string
		first      CreateAnswer
		sent       s3admin.CreateOptions
		lock       bool
		known      bool
		want       s3admin.CreateOptions
		wantAsking bool
	}{
		{"created: final", AnswerCreated, lock, false, true, s3admin.CreateOptions{}, false},
		{"owned by you: final", AnswerOwnedByYou, s3admin.CreateOptions{}, true, true, s3admin.CreateOptions{}, false},
		{"exists for another with the same setting: final", AnswerExistsForAnother, lock, true, true, s3admin.CreateOptions{}, false},
		{"exists for another, setting unknown (bucket gone): final", AnswerExistsForAnother, lock, false, false, s3admin.CreateOptions{}, false},
		{"asked with object lock, bucket without: asked again without", AnswerExistsForAnother, lock, false, true, s3admin.CreateOptions{}, true},
		{"asked without object lock, bucket with: asked again with", AnswerExistsForAnother, s3admin.CreateOptions{}, true, true, lock, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, asking := ClaimAgain(tt.first, tt.sent, tt.lock, tt.known)
			if diff := cmp.Diff(tt.want, got); diff != "" || asking != tt.wantAsking {
				t.Errorf("ClaimAgain asking %v, want %v (-want +got):\n%s", asking, tt.wantAsking, diff)
			}
		})
	}
}
