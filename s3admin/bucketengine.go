package s3admin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// bucketEngine implements the bucket half of Admin for SeaweedFS and the
// Fake alike: it observes through a bucketBackend, asks the planner
// (bucketplan.go) what to do, and runs the plan's steps.
type bucketEngine struct {
	be bucketBackend
	// locks serialize observe-then-write per bucket so that two reconciles
	// of the same bucket never act on each other's stale reads.
	locks *keyedMutex
	// settle is how reads that lag behind writes are waited out.
	settle settling
}

// settling is how long the engine waits for a store to show its own writes.
type settling struct {
	// tags: reads of a bucket that does not carry the caller's marks are
	// repeated at this pace before that answer is believed (see marks).
	tags pace
	// fence: writes are tried at this pace before a new fence is reported
	// as not in force yet (see fence).
	fence pace
}

// seaweedSettling is what SeaweedFS needs: its S3 gateway answers from
// caches that its filer subscription refreshes asynchronously.
var seaweedSettling = settling{
	tags:  pace{tries: 10, first: 100 * time.Millisecond},
	fence: pace{tries: 20, first: 100 * time.Millisecond},
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
func (e *bucketEngine) marks(ctx context.Context, name string, own Ownership) (obs bucketObserved, tags map[string]string, err error) {
	_, waitErr := settle(ctx, "GetBucketTagging", e.settle.tags, func() (bool, error) {
		obs, tags, err = e.readMarks(ctx, name)
		return err != nil || !obs.Exists || obs.Marks.Owns(own), nil
	})
	if waitErr != nil {
		return bucketObserved{}, nil, waitErr
	}
	return obs, tags, err
}

// readMarks is one read of the bucket's tags, for listings where a bucket
// that reads as not ours for a moment is simply left out (see marks).
func (e *bucketEngine) readMarks(ctx context.Context, name string) (bucketObserved, map[string]string, error) {
	tags, exists, err := e.be.tags(ctx, name)
	if err != nil || !exists {
		return bucketObserved{Marks: MarkedBucket{Name: name}}, nil, err
	}
	return bucketObserved{Exists: true, Marks: marksOf(name, tags)}, tags, nil
}

// CreateBucket implements Admin.
func (e *bucketEngine) CreateBucket(ctx context.Context, name string, own Ownership) error {
	if err := ValidateBucketName(name); err != nil {
		return err
	}
	if own.Owner == "" {
		return newError("CreateBucket", ErrInvalid, "an owner id is required to mark bucket %q", name)
	}
	unlock, err := e.locks.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	obs, tags, err := e.marks(ctx, name, own)
	if err != nil {
		return err
	}
	return e.run(ctx, "CreateBucket", name, own, planCreateBucket(obs, own), tags)
}

// DeleteBucket implements Admin.
func (e *bucketEngine) DeleteBucket(ctx context.Context, name string, own Ownership, purge bool) error {
	if err := ValidateBucketName(name); err != nil {
		return err
	}
	unlock, err := e.locks.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	obs, tags, err := e.marks(ctx, name, own)
	if err != nil {
		return err
	}
	return e.run(ctx, "DeleteBucket", name, own, planDeleteBucket(obs, own, purge), tags)
}

// run carries out a plan for the bucket; tags are those observed.
func (e *bucketEngine) run(ctx context.Context, op, name string, own Ownership, plan bucketPlan, tags map[string]string) error {
	if plan.Refuse != nil {
		return newError(op, plan.Refuse, "bucket %q %s", name, plan.Reason)
	}
	for i, step := range plan.Steps {
		var err error
		switch step {
		case stepClaim:
			err = e.claim(ctx, name)
		case stepMark:
			err = e.mark(ctx, name, own, tags)
		case stepRequireEmpty:
			err = e.requireEmpty(ctx, name)
		case stepAbortUploads:
			err = e.abortUploads(ctx, name)
		case stepFence:
			err = e.fence(ctx, name)
		case stepPurge:
			err = e.purge(ctx, name)
		case stepRemoveFolders:
			err = e.removeEmptyFolders(ctx, name)
		case stepDelete:
			err = e.be.deleteBucket(ctx, name)
			if errors.Is(err, ErrNotFound) {
				// Gone already, which is what deleting is for.
				return nil
			}
			if err == nil || !errors.Is(err, ErrNotEmpty) || i == len(plan.Steps)-1 {
				return err
			}
			// Refused as not empty: the following steps deal with what is left.
			err = nil
		default:
			err = fmt.Errorf("%w: unknown bucket step %q", ErrInvalid, step)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// claim runs stepClaim: it asks SeaweedFS to create the bucket, which is
// also how the driver learns who created an existing one (see createAnswer).
// Both "created now" and "created by us before" are nil; a bucket created by
// anybody else is ErrNotOwned. (Should a bucket about to be deleted have gone
// in the meantime, this creates an empty one of ours, which the delete
// removes again.)
func (e *bucketEngine) claim(ctx context.Context, name string) error {
	answer, err := e.be.createBucket(ctx, name)
	if err != nil {
		return err
	}
	if kind := claimed(answer); kind != nil {
		return newError("CreateBucket", kind, "bucket %q was created by another SeaweedFS identity", name)
	}
	return nil
}

// mark runs stepMark: own's tags, keeping the bucket's others, read back
// through marks, which waits out a lagging cache.
func (e *bucketEngine) mark(ctx context.Context, name string, own Ownership, tags map[string]string) error {
	if err := e.be.putTags(ctx, name, markedTags(tags, own)); err != nil {
		return err
	}
	obs, _, err := e.marks(ctx, name, own)
	if err != nil {
		return err
	}
	if !obs.Exists || !obs.Marks.Owns(own) {
		return newError("PutBucketTagging", ErrTransient, "the marks of bucket %q did not persist", name)
	}
	return nil
}

// ObserveBucket implements Admin.
func (e *bucketEngine) ObserveBucket(ctx context.Context, name string, own Ownership) (BucketState, error) {
	if err := ValidateBucketName(name); err != nil {
		return BucketState{}, err
	}
	obs, _, err := e.marks(ctx, name, own)
	if err != nil || !obs.Exists {
		return BucketState{}, err
	}
	empty, err := e.empty(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return BucketState{}, nil
	}
	if err != nil {
		return BucketState{}, err
	}
	return BucketState{Exists: true, Owned: obs.Marks.Owns(own), Empty: empty}, nil
}

// empty reads the bucket's content, each listing only while the earlier
// ones found nothing, and judges it (see contentVerdict).
//
// Noncurrent versions and delete markers are invisible to ListObjectsV2 but
// are still data. They are listed whatever the versioning status says:
// SeaweedFS answers GetBucketVersioning from a bucket cache that may lag
// behind, and a bucket whose versioning was suspended still holds its
// versions.
func (e *bucketEngine) empty(ctx context.Context, name string) (bool, error) {
	var c contentObserved
	var err error
	if c.Objects, err = e.be.hasObjects(ctx, name); err != nil || c.Objects {
		return false, err
	}
	if c.Versions, err = e.be.hasVersions(ctx, name); err != nil || c.Versions {
		return false, err
	}
	ups, uerr := e.be.uploads(ctx, name, 1)
	switch {
	case errors.Is(uerr, ErrAccessDenied):
		c.UploadsDenied = true
		if c.Fenced, err = e.be.fenced(ctx, name); err != nil {
			return false, err
		}
	case uerr != nil:
		return false, uerr
	}
	c.Uploads = len(ups) > 0
	empty, denied := contentVerdict(c)
	if denied {
		return false, uerr
	}
	return empty, nil
}

// requireEmpty runs stepRequireEmpty: nil for an empty bucket (or a missing
// one, which the delete then finds gone), ErrNotEmpty otherwise.
func (e *bucketEngine) requireEmpty(ctx context.Context, name string) error {
	empty, err := e.empty(ctx, name)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	case !empty:
		return newError("DeleteBucket", ErrNotEmpty, "bucket %q still holds data", name)
	}
	return nil
}

// ListMarkedBuckets implements Admin.
func (e *bucketEngine) ListMarkedBuckets(ctx context.Context) ([]MarkedBucket, error) {
	if l, ok := e.be.(bucketTagLister); ok {
		all, ok, err := l.allBucketTags(ctx)
		if err != nil {
			return nil, err
		}
		if ok {
			return markedOf(all), nil
		}
	}
	names, err := e.be.listBuckets(ctx)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var marked []MarkedBucket
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
func markedOf(all map[string]map[string]string) []MarkedBucket {
	var marked []MarkedBucket
	for _, n := range slices.Sorted(maps.Keys(all)) {
		if m := marksOf(n, all[n]); m.Owner != "" {
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
func (e *bucketEngine) removeEmptyFolders(ctx context.Context, name string) error {
	var folders []string
	queue := []string{""}
	for len(queue) > 0 {
		prefix := queue[0]
		queue = queue[1:]
		keys, sub, err := e.be.folderLevel(ctx, name, prefix)
		if err != nil {
			return err
		}
		for _, k := range keys {
			// Listing inside a folder shows the folder itself as a key.
			if k != prefix {
				// New data arrived while purging; let the caller retry.
				return newError("DeleteBucket", ErrNotEmpty, "bucket %q received object %q while being purged", name, k)
			}
		}
		folders = append(folders, sub...)
		queue = append(queue, sub...)
	}
	slices.SortStableFunc(folders, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, f := range folders {
		if err := e.be.deleteObject(ctx, name, f); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// purge runs stepPurge: every object version and delete marker is deleted,
// one page at a time. (Unfinished uploads were aborted before the fence,
// which denies listing and aborting them; see abortUploads.)
func (e *bucketEngine) purge(ctx context.Context, name string) error {
	var cursor *versionCursor
	for {
		page, next, err := e.be.versions(ctx, name, cursor)
		if err != nil {
			return err
		}
		if len(page) > 0 {
			if err := e.be.deleteVersions(ctx, name, page); err != nil {
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
func (e *bucketEngine) abortUploads(ctx context.Context, name string) error {
	for {
		ups, err := e.be.uploads(ctx, name, 0)
		if errors.Is(err, ErrAccessDenied) {
			fenced, ferr := e.be.fenced(ctx, name)
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
			if err := e.be.abortUpload(ctx, name, u); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
	}
}
