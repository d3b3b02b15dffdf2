package plan

import (
	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// The bucket planner: what CreateBucket and DeleteBucket do, decided from
// what was observed, without any I/O. bucketEngine runs the plans over a
// bucketBackend; SeaweedFS and the Fake are two backends of one engine, so
// the decisions below are tested once (bucketplan_test.go) and hold for both.

// BucketObserved is one read of a bucket's tags.
type BucketObserved struct {
	Exists bool
	// Marks are the owner and marker tags; "" where the bucket has none.
	Marks s3admin.MarkedBucket
	// ObjectLock: the bucket was created with object lock. Read only where
	// it decides (a delete with purge of the record's bucket).
	ObjectLock bool
}

// BucketStep is one backend action of a plan. Every step is idempotent: a
// plan cut short (an error, a crash) is planned and run again from a fresh
// observation.
type BucketStep string

const (
	// StepClaim asks SeaweedFS to create the bucket. Its answer says who
	// created an existing bucket (see createAnswer); a bucket another
	// identity created ends the plan with ErrNotOwned.
	StepClaim BucketStep = "Claim"
	// StepMark writes own's tags, keeping the bucket's other tags, and reads
	// them back.
	StepMark BucketStep = "Mark"
	// StepRequireEmpty ends the plan with ErrNotEmpty if the bucket holds
	// objects, versions, delete markers or unfinished uploads.
	StepRequireEmpty BucketStep = "RequireEmpty"
	// StepAbortUploads aborts every unfinished multipart upload.
	StepAbortUploads BucketStep = "AbortUploads"
	// StepFence denies every write to the bucket, the admin's included, and
	// waits until the denial is in force (see engine.Buckets.Fence).
	StepFence BucketStep = "Fence"
	// StepPurge deletes every object version and delete marker.
	StepPurge BucketStep = "Purge"
	// StepRemoveFolders deletes the empty folder entries SeaweedFS keeps for
	// a while after nested keys are deleted.
	StepRemoveFolders BucketStep = "RemoveFolders"
	// StepDelete deletes the bucket. It ends the plan, unless SeaweedFS
	// refuses it as not empty (a server run with
	// -s3.allowDeleteBucketNotEmpty=false) and steps follow: they deal with
	// what is left, and a later stepDelete tries again. A bucket already gone
	// is deleted.
	StepDelete BucketStep = "Delete"
)

// BucketPlan is what to do for one bucket: the steps in order, or a
// refusal made before any of them.
type BucketPlan struct {
	Steps []BucketStep
	// Refuse is the kind of error (ErrNotOwned) that ends the call before
	// any step, with Reason saying why; nil: run Steps.
	Refuse error
	Reason string
}

// adoptable reports whether a bucket's marks leave room for own: none, or
// only the same owner without a marker (a bucket from before markers).
func adoptable(marks s3admin.MarkedBucket, own s3admin.Ownership) bool {
	return (marks.Owner == "" || marks.Owner == own.Owner) && (marks.Marker == "" || marks.Marker == own.Marker)
}

// planCreateBucket decides what CreateBucket does with what one read of the
// bucket's tags showed.
func CreateBucket(obs BucketObserved, own s3admin.Ownership) BucketPlan {
	switch {
	case own.Imported:
		// An imported bucket is somebody else's that accesses may be granted
		// on: never created or marked by the driver.
		return BucketPlan{Refuse: s3admin.ErrNotOwned, Reason: "is imported, not the driver's"}
	case obs.Exists && !adoptable(obs.Marks, own):
		// Somebody else's marks: another installation's bucket, or another
		// record's of ours. Never changed, whoever created it.
		return BucketPlan{Refuse: s3admin.ErrNotOwned, Reason: "is marked for another owner or record"}
	case obs.Exists && obs.Marks.Owns(own):
		// Carries the record's marks already, but marks can be copied by
		// anybody allowed to tag the bucket: only SeaweedFS's answer to a
		// create request proves that the driver's identity created it.
		return BucketPlan{Steps: []BucketStep{StepClaim}}
	default:
		// Missing (created now), or existing without anybody else's marks:
		// adopted only if SeaweedFS says the driver's identity created it (a
		// create interrupted before marking), then marked.
		return BucketPlan{Steps: []BucketStep{StepClaim, StepMark}}
	}
}

// planDeleteBucket decides what DeleteBucket does with what one read of the
// bucket's tags showed.
//
// SeaweedFS deletes a non-empty bucket with all its data unless the server
// runs with -s3.allowDeleteBucketNotEmpty=false, so without purge the
// emptiness is checked here. The check and the delete are two requests; the
// bucket is fenced against writes in between (see engine.Buckets.Fence), and
// checked again behind the fence, so what was written before the fence is
// seen.
//
// The fence does not stop browser-form uploads: SeaweedFS's POST Object
// handler checks the form's signature and the identity's own actions, never
// the bucket policy, and nothing else the driver can set on a bucket
// through S3 or IAM (policy, ACL, object lock, tags) makes it refuse one.
// (A read-only location in the filer's configuration would; but the driver
// reaches the filer only on the filer path, and that file is the
// operator's.) Nor can the driver make SeaweedFS's DeleteBucket refuse a
// bucket that holds data: it removes the bucket's directory with whatever
// it holds, then the bucket's collection (the volumes holding its data).
// So the check behind the fence lists the keys last, right before the
// delete (a form upload writes a plain key): a form upload stored before
// that listing answers is kept, the delete ends with ErrNotEmpty and is
// retried, refused again for as long as the object is there.
//
// What remains is a form upload in flight while the delete runs: one that
// SeaweedFS completes after the last listing has answered, having written
// its data before the DeleteBucket handler removed the collection, is lost
// (SeaweedFS writes an upload's data, then its entry): an entry that lands
// before the removal goes with the directory; one that lands after it
// makes the directory again, but its data went with the collection. For a
// small upload that is the one round trip between the listing and the
// removal. An upload that starts after the delete is kept, in a bucket made
// again without marks. A server run with
// -s3.allowDeleteBucketNotEmpty=false checks the directory itself inside
// the delete request, which leaves only its own listing and removal.
func DeleteBucket(obs BucketObserved, own s3admin.Ownership, purge bool) BucketPlan {
	switch {
	case own.Imported:
		// Checked before anything else, a missing bucket included: deleting
		// an imported bucket is never the driver's to do.
		return BucketPlan{Refuse: s3admin.ErrNotOwned, Reason: "is imported, not the driver's"}
	case !obs.Exists:
		// Gone already: deleting is done.
		return BucketPlan{}
	case !obs.Marks.Owns(own):
		return BucketPlan{Refuse: s3admin.ErrNotOwned, Reason: "does not carry this record's marks"}
	case purge && !obs.ObjectLock:
		// Unfinished uploads go before the fence, which denies listing and
		// aborting them too. Then the contents go only if the server refuses
		// to delete a non-empty bucket itself.
		return BucketPlan{Steps: []BucketStep{
			StepClaim, StepAbortUploads, StepFence, StepDelete, StepPurge, StepDelete, StepRemoveFolders, StepDelete,
		}}
	default:
		// An object-lock bucket is not purged even when purge is asked:
		// SeaweedFS refuses to delete a version under retention (a
		// COMPLIANCE lock even to the admin), so a purge would delete every
		// other version and then stop, leaving a half-emptied, fenced bucket
		// that no retry can finish before the retention ends. Such a bucket
		// is deleted only once it is empty; until then ErrNotEmpty, and it
		// stays writable.
		//
		// The marks can be copied; the claim proves the creator before
		// anything changes. Not fenced while it visibly holds data: a bucket
		// that stays blocked on its data should not also become read-only.
		// Checked again behind the fence: what was written before it, and any
		// form upload up to the last listing (see above), is all there is.
		return BucketPlan{Steps: []BucketStep{
			StepClaim, StepRequireEmpty, StepFence, StepRequireEmpty, StepDelete, StepRemoveFolders, StepDelete,
		}}
	}
}

// CreateAnswer is SeaweedFS's answer to a create request. It records the
// identity that created each bucket and answers BucketAlreadyOwnedByYou only
// to that identity, BucketAlreadyExists to everybody else.
type CreateAnswer int

const (
	// AnswerCreated: the request made the bucket.
	AnswerCreated CreateAnswer = iota
	// AnswerOwnedByYou: the bucket exists and the driver's identity created
	// it.
	AnswerOwnedByYou
	// AnswerExistsForAnother: the bucket exists and another identity created
	// it.
	AnswerExistsForAnother
)

// Claim is what stepClaim learned about a bucket: SeaweedFS's answer to the
// create request and what decides whether that answer can be believed.
type Claim struct {
	Answer CreateAnswer
	// CreatorKnown: the backend read who SeaweedFS recorded as the bucket's
	// creator (the bucket entry's s3-identity-id attribute, through the
	// filer); false where only the S3 API is reachable, which never shows it.
	CreatorKnown bool
	// Creator is that identity; "" for a bucket that records none.
	Creator string
	// Absent: the bucket was read as missing right before the request.
	Absent bool
	// Marked: the bucket carries the record's marks.
	Marked bool
	// Unrecorded: no record asks for the bucket (garbage collection).
	Unrecorded bool
	// Empty: the bucket holds nothing; read only where it decides (an
	// unmarked bucket whose creator cannot be read).
	Empty bool
}

// ClaimAgain decides whether a claim answered first must be asked again,
// and with which options: SeaweedFS answers BucketAlreadyExists to the
// bucket's own creator too when the request's object-lock setting differs
// from the existing bucket's (objectLock, read only when known). Asked
// again with the bucket's own setting, it answers who created it. Any
// other answer, or a bucket whose setting is the one asked already, is
// final.
func ClaimAgain(first CreateAnswer, sent s3admin.CreateOptions, objectLock, known bool) (s3admin.CreateOptions, bool) {
	if first != AnswerExistsForAnother || !known || objectLock == sent.ObjectLock {
		return s3admin.CreateOptions{}, false
	}
	again := sent
	again.ObjectLock = objectLock
	return again, true
}

// NeedsCreator reports whether the claim's verdict depends on the bucket's
// recorded creator: only BucketAlreadyOwnedByYou is ambiguous.
func (c Claim) NeedsCreator() bool { return c.Answer == AnswerOwnedByYou }

// NeedsEmptiness reports whether the verdict depends on the bucket's
// content (see Claimed).
func (c Claim) NeedsEmptiness() bool {
	return c.Answer == AnswerOwnedByYou && !c.CreatorKnown && !c.Absent && !c.Marked && !c.Unrecorded
}

// Claimed is the outcome of stepClaim: nil when the bucket is the driver's
// identity's (created now or before), ErrNotOwned and the reason otherwise.
//
// SeaweedFS answers BucketAlreadyOwnedByYou to every identity for a bucket
// that records no creator, and an identity allowed only s3:PutObject makes
// such a bucket: a directory-marker PUT ("<name>/dir/") or a browser-form
// POST into a missing bucket creates it without an owner. So that answer
// proves the driver's creation only together with the creator SeaweedFS
// recorded; where the creator cannot be read (the S3 API alone), only what
// the driver saw itself counts:
//   - a bucket read as missing right before the request was made by somebody
//     else in between: the driver's request did not create it;
//   - garbage collection, which has no record to go by, never believes it;
//   - a bucket carrying the record's marks (a marker the record chose before
//     any bucket could carry it) is the record's;
//   - an unmarked one is a create of the driver's interrupted before marking
//     only if it is empty, as such a create leaves it: the ownerless buckets
//     other identities can make hold the object whose upload made them.
//     (Left open on this path: one emptied again by its maker, created in the
//     instant between the driver's read and its interrupted request.)
func Claimed(c Claim) (reason string, kind error) {
	switch {
	case c.Answer == AnswerCreated:
		return "", nil
	case c.Answer == AnswerExistsForAnother:
		return "was created by another SeaweedFS identity", s3admin.ErrNotOwned
	case c.CreatorKnown && c.Creator == "":
		return "records no creator (made by an upload into a missing bucket), so SeaweedFS's answer proves nothing", s3admin.ErrNotOwned
	case c.CreatorKnown:
		// SeaweedFS compared the recorded creator with the driver's identity.
		return "", nil
	case c.Absent:
		return "appeared between the driver's read and its create request without recording a creator", s3admin.ErrNotOwned
	case c.Unrecorded:
		return "has no record, and its creator cannot be read without the filer", s3admin.ErrNotOwned
	case c.Marked:
		return "", nil
	case !c.Empty:
		return "holds data without the driver's marks, and its creator cannot be read without the filer", s3admin.ErrNotOwned
	default:
		return "", nil
	}
}

// MarkedTags is the tag set stepMark writes: own's marks, and every other
// tag the bucket carries (PutBucketTagging replaces the whole set).
func MarkedTags(existing map[string]string, own s3admin.Ownership) map[string]string {
	tags := map[string]string{names.OwnerTagKey: own.Owner}
	if own.Marker != "" {
		tags[names.MarkerTagKey] = own.Marker
	}
	for k, v := range existing {
		if k != names.OwnerTagKey && k != names.MarkerTagKey {
			tags[k] = v
		}
	}
	return tags
}

// MarksOf reads the owner and marker out of a bucket's tags.
func MarksOf(name string, tags map[string]string) s3admin.MarkedBucket {
	return s3admin.MarkedBucket{Name: name, Owner: tags[names.OwnerTagKey], Marker: tags[names.MarkerTagKey]}
}

// ContentObserved is what the emptiness listings of a bucket showed, each
// read only while the earlier ones found nothing: the versions, the uploads,
// then the keys (see engine.Buckets.empty for why the keys go last).
type ContentObserved struct {
	Versions bool // ListObjectVersions found a version or delete marker
	Uploads  bool // ListMultipartUploads found an unfinished upload
	Objects  bool // ListObjectsV2 found a key
	// UploadsDenied: listing the uploads was refused, and Fenced says
	// whether the bucket carries the driver's fence.
	UploadsDenied bool
	Fenced        bool
}

// ContentVerdict judges a bucket's emptiness; denied is true when the
// refused upload listing must be reported as it is.
func ContentVerdict(c ContentObserved) (empty, denied bool) {
	switch {
	case c.Objects, c.Versions:
		return false, false
	case c.UploadsDenied:
		// SeaweedFS counts listing uploads as part of s3:PutObject, which
		// the driver's fence denies. Behind the fence no upload can be
		// completed any more: an unfinished one is no data to keep. A
		// refusal without the fence is somebody else's policy.
		return c.Fenced, !c.Fenced
	default:
		return !c.Uploads, false
	}
}
