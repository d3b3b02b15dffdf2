package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// bucketEngine implements the bucket half of Admin for SeaweedFS and the
// Fake alike: it observes through a bucketBackend, asks the planner
// (bucketplan.go) what to do, and runs the plan's steps.
type Buckets struct {
	Be BucketBackend
	// Locks serialize observe-then-write per bucket so that two reconciles
	// of the same bucket never act on each other's stale reads.
	Locks *KeyedMutex
	// Settle is how reads that lag behind writes are waited out.
	Settle Settling
}

// Settling is how long the engine waits for a store to show its own writes.
type Settling struct {
	// Tags: reads of a bucket that does not carry the caller's marks are
	// repeated at this pace before that answer is believed (see marks).
	Tags Pace
	// Fence: writes are tried at this pace before a new fence is reported
	// as not in force yet (see fence).
	Fence Pace
}

// SeaweedSettling is what SeaweedFS needs: its S3 gateway answers from
// caches that its filer subscription refreshes asynchronously.
var SeaweedSettling = Settling{
	Tags:  Pace{Tries: 10, First: 100 * time.Millisecond},
	Fence: Pace{Tries: 20, First: 100 * time.Millisecond},
}

// marks reads the bucket's tags for a decision about it.
//
// SeaweedFS answers GetBucketTagging from a bucket cache that its filer
// subscription refreshes asynchronously, and a late event (typically the
// bucket's creation, arriving after the tags were written) can put an older,
// untagged copy back for a moment. Our marks once seen are trusted; a bucket
// that reads as not carrying own's marks is read again for a while before
// that answer is believed, so that a lagging cache never makes the driver's
// own bucket look foreign. (A missing bucket is reliable: deleting and
// creating a bucket update the cache before they answer.)
func (e *Buckets) marks(ctx context.Context, name string, own s3admin.Ownership) (obs plan.BucketObserved, tags map[string]string, err error) {
	return e.marksAt(ctx, name, own, e.Settle.Tags)
}

// firstMarks is the read a call starts from: marks, except for a record
// whose create was interrupted before marking (Ownership.Interrupted), which
// believes its first read.
func (e *Buckets) firstMarks(ctx context.Context, name string, own s3admin.Ownership) (plan.BucketObserved, map[string]string, error) {
	if own.Interrupted {
		return e.marksAt(ctx, name, own, Pace{Tries: 1})
	}
	return e.marks(ctx, name, own)
}

func (e *Buckets) marksAt(ctx context.Context, name string, own s3admin.Ownership, pace Pace) (obs plan.BucketObserved, tags map[string]string, err error) {
	_, waitErr := Settle(ctx, "GetBucketTagging", pace, func() (bool, error) {
		obs, tags, err = e.readMarks(ctx, name)
		return err != nil || !obs.Exists || obs.Marks.Owns(own), nil
	})
	if waitErr != nil {
		return plan.BucketObserved{}, nil, waitErr
	}
	return obs, tags, err
}

// readMarks is one read of the bucket's tags, for listings where a bucket
// that reads as not ours for a moment is simply left out (see marks).
func (e *Buckets) readMarks(ctx context.Context, name string) (plan.BucketObserved, map[string]string, error) {
	tags, exists, err := e.Be.Tags(ctx, name)
	if err != nil || !exists {
		return plan.BucketObserved{Marks: s3admin.MarkedBucket{Name: name}}, nil, err
	}
	return plan.BucketObserved{Exists: true, Marks: plan.MarksOf(name, tags)}, tags, nil
}

// CreateBucket implements Admin.
func (e *Buckets) CreateBucket(ctx context.Context, name string, own s3admin.Ownership, opts s3admin.CreateOptions) error {
	if err := s3admin.ValidateBucketName(name); err != nil {
		return err
	}
	if own.Imported {
		// Defense in depth (the planner refuses it too): an imported bucket
		// is never created or marked by the driver.
		return s3admin.NewError("CreateBucket", s3admin.ErrNotOwned, "bucket %q is imported, not the driver's", name)
	}
	if own.Owner == "" {
		return s3admin.NewError("CreateBucket", s3admin.ErrInvalid, "an owner id is required to mark bucket %q", name)
	}
	unlock, err := e.Locks.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	obs, tags, err := e.firstMarks(ctx, name, own)
	if err != nil {
		return err
	}
	return e.run(ctx, "CreateBucket", name, own, opts, obs, plan.CreateBucket(obs, own), tags)
}

// DeleteBucket implements Admin.
func (e *Buckets) DeleteBucket(ctx context.Context, name string, own s3admin.Ownership, purge bool) error {
	if err := s3admin.ValidateBucketName(name); err != nil {
		return err
	}
	if own.Imported {
		// Defense in depth (the planner refuses it too).
		return s3admin.NewError("DeleteBucket", s3admin.ErrNotOwned, "bucket %q is imported, not the driver's", name)
	}
	unlock, err := e.Locks.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	obs, tags, err := e.marks(ctx, name, own)
	if err != nil {
		return err
	}
	if purge && obs.Exists && obs.Marks.Owns(own) {
		// Whether the bucket has object lock decides whether it may be
		// purged at all (see plan.DeleteBucket). A bucket gone meanwhile
		// reads as without it; the plan's delete finds it gone.
		lock, err := e.Be.ObjectLock(ctx, name)
		if err != nil && !errors.Is(err, s3admin.ErrNotFound) {
			return err
		}
		obs.ObjectLock = lock
	}
	// The claim asks with the bucket's object-lock setting where it is
	// known, which spares asking twice (see claim).
	return e.run(ctx, "DeleteBucket", name, own, s3admin.CreateOptions{ObjectLock: obs.ObjectLock}, obs, plan.DeleteBucket(obs, own, purge), tags)
}

// run carries out a plan for the bucket; obs and tags are what was observed.
func (e *Buckets) run(ctx context.Context, op, name string, own s3admin.Ownership, opts s3admin.CreateOptions, obs plan.BucketObserved, todo plan.BucketPlan, tags map[string]string) error {
	if todo.Refuse != nil {
		return s3admin.NewError(op, todo.Refuse, "bucket %q %s", name, todo.Reason)
	}
	for i, step := range todo.Steps {
		var err error
		switch step {
		case plan.StepClaim:
			err = e.claim(ctx, name, own, opts, obs)
		case plan.StepMark:
			err = e.mark(ctx, name, own, tags)
		case plan.StepRequireEmpty:
			err = e.requireEmpty(ctx, name)
		case plan.StepAbortUploads:
			err = e.abortUploads(ctx, name)
		case plan.StepFence:
			err = e.Fence(ctx, name)
		case plan.StepPurge:
			err = e.purge(ctx, name)
		case plan.StepRemoveFolders:
			err = e.removeEmptyFolders(ctx, name)
		case plan.StepDelete:
			err = e.Be.DeleteBucket(ctx, name)
			if errors.Is(err, s3admin.ErrNotFound) {
				// Gone already, which is what deleting is for.
				return nil
			}
			if err == nil || !errors.Is(err, s3admin.ErrNotEmpty) || i == len(todo.Steps)-1 {
				return err
			}
			// Refused as not empty: the following steps deal with what is left.
			err = nil
		default:
			err = fmt.Errorf("%w: unknown bucket step %q", s3admin.ErrInvalid, step)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// claim runs stepClaim: it asks SeaweedFS to create the bucket, which is
// also how the driver learns who created an existing one (see
// plan.Claimed). Both "created now" and "created by us before" are nil; a
// bucket created by anybody else, or by nobody SeaweedFS recorded, is
// ErrNotOwned. (Should a bucket about to be deleted have gone in the
// meantime, this creates an empty one of ours, which the delete removes
// again.)
//
// opts go with every claim, a delete's included: they take effect only when
// the request creates the bucket, and a bucket the claim creates should be
// what CreateBucket was asked for.
func (e *Buckets) claim(ctx context.Context, name string, own s3admin.Ownership, opts s3admin.CreateOptions, obs plan.BucketObserved) error {
	answer, err := e.Be.CreateBucket(ctx, name, opts)
	if err != nil {
		return err
	}
	if answer == plan.AnswerExistsForAnother {
		// SeaweedFS also answers BucketAlreadyExists to the bucket's creator
		// when the request's object-lock setting differs from the bucket's:
		// asked again with the bucket's own setting, it tells who created
		// it. (The setting only ever takes effect on a creation.)
		lock, lerr := e.Be.ObjectLock(ctx, name)
		if lerr != nil && !errors.Is(lerr, s3admin.ErrNotFound) {
			return lerr
		}
		if again, ok := plan.ClaimAgain(answer, opts, lock, lerr == nil); ok {
			if answer, err = e.Be.CreateBucket(ctx, name, again); err != nil {
				return err
			}
		}
	}
	c := plan.Claim{Answer: answer, Absent: !obs.Exists, Marked: obs.Exists && obs.Marks.Owns(own), Unrecorded: own.Unrecorded}
	if c.NeedsCreator() {
		if c.Creator, c.CreatorKnown, err = e.Be.Creator(ctx, name); err != nil {
			return err
		}
	}
	if c.NeedsEmptiness() {
		if c.Empty, err = e.empty(ctx, name); err != nil {
			return err
		}
	}
	if reason, kind := plan.Claimed(c); kind != nil {
		return s3admin.NewError("CreateBucket", kind, "bucket %q %s", name, reason)
	}
	return nil
}

// mark runs stepMark: own's tags, keeping the bucket's others, read back
// through marks, which waits out a lagging cache.
func (e *Buckets) mark(ctx context.Context, name string, own s3admin.Ownership, tags map[string]string) error {
	if err := e.Be.PutTags(ctx, name, plan.MarkedTags(tags, own)); err != nil {
		return err
	}
	obs, _, err := e.marks(ctx, name, own)
	if err != nil {
		return err
	}
	if !obs.Exists || !obs.Marks.Owns(own) {
		return s3admin.NewError("PutBucketTagging", s3admin.ErrTransient, "the marks of bucket %q did not persist", name)
	}
	return nil
}

// ObserveBucket implements Admin.
func (e *Buckets) ObserveBucket(ctx context.Context, name string, own s3admin.Ownership) (s3admin.BucketState, error) {
	if err := s3admin.ValidateBucketName(name); err != nil {
		return s3admin.BucketState{}, err
	}
	obs, _, err := e.firstMarks(ctx, name, own)
	if err != nil || !obs.Exists {
		return s3admin.BucketState{}, err
	}
	empty, err := e.empty(ctx, name)
	if errors.Is(err, s3admin.ErrNotFound) {
		return s3admin.BucketState{}, nil
	}
	if err != nil {
		return s3admin.BucketState{}, err
	}
	return s3admin.BucketState{Exists: true, Owned: obs.Marks.Owns(own), Empty: empty}, nil
}

// empty reads the bucket's content, each listing only while the earlier
// ones found nothing, and judges it (see contentVerdict).
//
// Noncurrent versions and delete markers are invisible to ListObjectsV2 but
// are still data. They are listed whatever the versioning status says:
// SeaweedFS answers GetBucketVersioning from a bucket cache that may lag
// behind, and a bucket whose versioning was suspended still holds its
// versions.
//
// The keys are listed last, so that in DeleteBucket's check behind the
// fence this listing is the request right before the delete: it is the
// last look at what the fence cannot stop. SeaweedFS's POST Object handler
// (browser-form uploads) never consults the bucket policy, and it writes a
// plain key, which this listing shows (see plan.DeleteBucket).
func (e *Buckets) empty(ctx context.Context, name string) (bool, error) {
	var c plan.ContentObserved
	var err error
	if c.Versions, err = e.Be.HasVersions(ctx, name); err != nil || c.Versions {
		return false, err
	}
	ups, uerr := e.Be.Uploads(ctx, name, 1)
	switch {
	case errors.Is(uerr, s3admin.ErrAccessDenied):
		c.UploadsDenied = true
		if c.Fenced, err = e.Be.Fenced(ctx, name); err != nil {
			return false, err
		}
	case uerr != nil:
		return false, uerr
	}
	c.Uploads = len(ups) > 0
	empty, denied := plan.ContentVerdict(c)
	if denied {
		return false, uerr
	}
	if !empty {
		return false, nil
	}
	if c.Objects, err = e.Be.HasObjects(ctx, name); err != nil {
		return false, err
	}
	empty, _ = plan.ContentVerdict(c)
	return empty, nil
}

// requireEmpty runs stepRequireEmpty: nil for an empty bucket (or a missing
// one, which the delete then finds gone), ErrNotEmpty otherwise.
func (e *Buckets) requireEmpty(ctx context.Context, name string) error {
	empty, err := e.empty(ctx, name)
	switch {
	case errors.Is(err, s3admin.ErrNotFound):
		return nil
	case err != nil:
		return err
	case !empty:
		return s3admin.NewError("DeleteBucket", s3admin.ErrNotEmpty, "bucket %q still holds data", name)
	}
	return nil
}

// ListMarkedBuckets implements Admin.
func (e *Buckets) ListMarkedBuckets(ctx context.Context) ([]s3admin.MarkedBucket, error) {
	if l, ok := e.Be.(BucketTagLister); ok {
		all, ok, err := l.AllBucketTags(ctx)
		if err != nil {
			return nil, err
		}
		if ok {
			return markedOf(all), nil
		}
	}
	names, err := e.Be.ListBuckets(ctx)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var marked []s3admin.MarkedBucket
	for _, n := range names {
		// One read each: a resync must not wait a second per foreign bucket,
		// and an owned bucket left out for one pass only makes the resync
		// look at its record once more.
		obs, _, err := e.readMarks(ctx, n)
		if err != nil {
			return nil, err
		}
		if obs.Exists && obs.Marks.Owner != "" {
			marked = append(marked, obs.Marks)
		}
	}
	return marked, nil
}

// markedOf is the buckets of all (tags by bucket name) that carry an owner
// tag, sorted by name.
func markedOf(all map[string]map[string]string) []s3admin.MarkedBucket {
	var marked []s3admin.MarkedBucket
	for _, n := range slices.Sorted(maps.Keys(all)) {
		if m := plan.MarksOf(n, all[n]); m.Owner != "" {
			marked = append(marked, m)
		}
	}
	return marked
}

// removeEmptyFolders runs stepRemoveFolders. SeaweedFS keeps the empty
// folders of deleted nested keys for a few minutes and counts them as
// content, although S3 listings do not show them. They hold no data (the
// emptiness check, or the purge, covered every key), so they are removed
// rather than reported; deepest first, as a folder with a subfolder is not
// deleted.
func (e *Buckets) removeEmptyFolders(ctx context.Context, name string) error {
	var folders []string
	queue := []string{""}
	for len(queue) > 0 {
		prefix := queue[0]
		queue = queue[1:]
		keys, sub, err := e.Be.FolderLevel(ctx, name, prefix)
		if err != nil {
			return err
		}
		for _, k := range keys {
			// Listing inside a folder shows the folder itself as a key.
			if k != prefix {
				// New data arrived while purging; let the caller retry.
				return s3admin.NewError("DeleteBucket", s3admin.ErrNotEmpty, "bucket %q received object %q while being purged", name, k)
			}
		}
		folders = append(folders, sub...)
		queue = append(queue, sub...)
	}
	slices.SortStableFunc(folders, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, f := range folders {
		if err := e.Be.DeleteObject(ctx, name, f); err != nil && !errors.Is(err, s3admin.ErrNotFound) {
			return err
		}
	}
	return nil
}

// purge runs stepPurge: every object version and delete marker is deleted,
// one page at a time. (Unfinished uploads were aborted before the fence,
// which denies listing and aborting them; see abortUploads.)
func (e *Buckets) purge(ctx context.Context, name string) error {
	var cursor *VersionCursor
	for {
		page, next, err := e.Be.Versions(ctx, name, cursor)
		if err != nil {
			return err
		}
		if len(page) > 0 {
			if err := e.Be.DeleteVersions(ctx, name, page); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		cursor = next
	}
}

// abortUploads runs stepAbortUploads. Refused on a bucket that already
// carries our fence, the upload listing is that fence's doing: an earlier
// attempt fenced the bucket and then ended (the driver crashed, a call
// failed). Retrying would be refused forever; no upload can be completed
// behind the fence, so what is left of one is discarded with the bucket, as
// contentVerdict judges too.
func (e *Buckets) abortUploads(ctx context.Context, name string) error {
	for {
		ups, err := e.Be.Uploads(ctx, name, 0)
		if errors.Is(err, s3admin.ErrAccessDenied) {
			fenced, ferr := e.Be.Fenced(ctx, name)
			if ferr != nil {
				return ferr
			}
			if fenced {
				return nil
			}
		}
		if err != nil || len(ups) == 0 {
			return err
		}
		for _, u := range ups {
			if err := e.Be.AbortUpload(ctx, name, u); err != nil && !errors.Is(err, s3admin.ErrNotFound) {
				return err
			}
		}
	}
}
