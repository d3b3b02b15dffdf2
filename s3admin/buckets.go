package s3admin

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/crashpoint"
)

// bucketMarks reads the owner and marker tags for a decision about the
// bucket. exists is false for a missing bucket; the marks are "" for a bucket
// without them.
//
// SeaweedFS answers GetBucketTagging from a bucket cache that its filer
// subscription refreshes asynchronously, and a late event (typically the
// bucket's creation, arriving after the tags were written) can put an older,
// untagged copy back for a moment. Our marks once seen are trusted; a bucket
// that reads as not carrying own's marks is read again for up to about a
// second before that answer is believed, so that a lagging cache never makes
// the driver's own bucket look foreign. (A missing bucket is reliable:
// deleting and creating a bucket update the cache before they answer.)
func (c *SeaweedFS) bucketMarks(ctx context.Context, bucket string, own Ownership) (exists bool, marks MarkedBucket, tags []s3types.Tag, err error) {
	_, waitErr := settle(ctx, "GetBucketTagging", tagReadAttempts, tagReadInterval, func() (bool, error) {
		exists, marks, tags, err = c.readBucketMarks(ctx, bucket)
		return err != nil || !exists || marks.Owns(own), nil
	})
	if waitErr != nil {
		return false, MarkedBucket{}, nil, waitErr
	}
	return exists, marks, tags, err
}

// settle calls try up to attempts times, interval apart, until it reports
// done, and says whether it did. SeaweedFS refreshes what several calls read
// asynchronously after a write (see bucketMarks, keyAccepted); a wait cut
// short by ctx is a transient error of op, as is an error from try.
func settle(ctx context.Context, op string, attempts int, interval time.Duration, try func() (done bool, err error)) (bool, error) {
	for attempt := 1; ; attempt++ {
		done, err := try()
		if err != nil || done {
			return done, err
		}
		if attempt == attempts {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, &Error{Op: op, Kind: ErrTransient, Err: ctx.Err()}
		case <-time.After(interval):
		}
	}
}

// A bucket that reads as not ours is read up to tagReadAttempts times, a
// tagReadInterval apart (see bucketMarks).
const (
	tagReadAttempts = 10
	tagReadInterval = 100 * time.Millisecond
)

// readBucketMarks is one read of the bucket's tags, for listings where a
// bucket that reads as not ours for a moment is simply left out (see
// bucketMarks).
func (c *SeaweedFS) readBucketMarks(ctx context.Context, bucket string) (exists bool, marks MarkedBucket, tags []s3types.Tag, err error) {
	marks.Name = bucket
	var out *s3.GetBucketTaggingOutput
	out, err = read(ctx, c, "GetBucketTagging", func(ctx context.Context) (*s3.GetBucketTaggingOutput, error) {
		return c.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	})
	switch {
	case isCode(err, "NoSuchTagSet"):
		// SeaweedFS (like AWS) answers a bucket without tags with
		// NoSuchTagSet, a 404 that must not read as "no such bucket".
		return true, marks, nil, nil
	case errors.Is(err, ErrNotFound):
		return false, marks, nil, nil
	case err != nil:
		return false, marks, nil, err
	}
	for _, t := range out.TagSet {
		switch aws.ToString(t.Key) {
		case OwnerTagKey:
			marks.Owner = aws.ToString(t.Value)
		case MarkerTagKey:
			marks.Marker = aws.ToString(t.Value)
		}
	}
	return true, marks, out.TagSet, nil
}

// claimBucket asks SeaweedFS to create the bucket, which is also how the
// driver learns who created an existing one: SeaweedFS answers
// BucketAlreadyOwnedByYou only to the identity that created the bucket (it
// records the creator with the bucket), and BucketAlreadyExists to every
// other identity. Both "created now" and "created by us before" are nil; a
// bucket created by anybody else is ErrNotOwned. No SDK retry: the
// reconciler retries with its own backoff.
func (c *SeaweedFS) claimBucket(ctx context.Context, name string) error {
	crashpoint.Hit(crashpoint.Before(crashpoint.Backend("CreateBucket")))
	err := c.call(ctx, "CreateBucket", func(ctx context.Context) error {
		_, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)},
			func(o *s3.Options) { o.RetryMaxAttempts = 1 })
		return err
	})
	switch {
	case err == nil:
		// Only a create that made the bucket counts as a write: the other
		// answers change nothing.
		c.writes.Add(1)
		crashpoint.Hit(crashpoint.After(crashpoint.Backend("CreateBucket")))
		return nil
	case isCode(err, "BucketAlreadyOwnedByYou"):
		return nil
	case isCode(err, "BucketAlreadyExists"):
		return newError("CreateBucket", ErrNotOwned, "bucket %q was created by another SeaweedFS identity", name)
	}
	return err
}

// CreateBucket implements Admin.
func (c *SeaweedFS) CreateBucket(ctx context.Context, name string, own Ownership) error {
	if err := ValidateBucketName(name); err != nil {
		return err
	}
	if own.Owner == "" {
		return newError("CreateBucket", ErrInvalid, "an owner id is required to mark bucket %q", name)
	}
	unlock, err := c.buckets.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()

	exists, marks, tags, err := c.bucketMarks(ctx, name, own)
	switch {
	case err != nil:
		return err
	case exists && !adoptable(marks, own):
		return newError("CreateBucket", ErrNotOwned,
			"bucket %q is marked for another owner or record (owner %q)", name, marks.Owner)
	}
	// Missing, or existing without marks of anybody else's, or with the
	// record's own marks (which can be copied): SeaweedFS decides whether the
	// driver's identity created it.
	if err := c.claimBucket(ctx, name); err != nil {
		return err
	}
	if exists && marks.Owns(own) {
		return nil
	}
	return c.putMarks(ctx, name, own, tags)
}

// adoptable reports whether a bucket's marks leave room for own: none, or
// only the same owner without a marker (a bucket from before markers).
func adoptable(marks MarkedBucket, own Ownership) bool {
	return (marks.Owner == "" || marks.Owner == own.Owner) && (marks.Marker == "" || marks.Marker == own.Marker)
}

// putMarks writes own's tags, keeping the bucket's other tags, and reads them
// back.
func (c *SeaweedFS) putMarks(ctx context.Context, name string, own Ownership, existing []s3types.Tag) error {
	tags := []s3types.Tag{{Key: aws.String(OwnerTagKey), Value: aws.String(own.Owner)}}
	if own.Marker != "" {
		tags = append(tags, s3types.Tag{Key: aws.String(MarkerTagKey), Value: aws.String(own.Marker)})
	}
	for _, t := range existing {
		// PutBucketTagging replaces the whole set: keep the other tags.
		if k := aws.ToString(t.Key); k != OwnerTagKey && k != MarkerTagKey {
			tags = append(tags, t)
		}
	}
	err := c.write(ctx, "PutBucketTagging", func(ctx context.Context) error {
		_, err := c.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{
			Bucket:  aws.String(name),
			Tagging: &s3types.Tagging{TagSet: tags},
		})
		return err
	})
	if err != nil {
		return err
	}
	// Read back through bucketMarks, which waits out a lagging cache.
	exists, marks, _, err := c.bucketMarks(ctx, name, own)
	if err != nil {
		return err
	}
	if !exists || !marks.Owns(own) {
		return newError("PutBucketTagging", ErrTransient, "the marks of bucket %q did not persist", name)
	}
	return nil
}

// ObserveBucket implements Admin.
func (c *SeaweedFS) ObserveBucket(ctx context.Context, name string, own Ownership) (BucketState, error) {
	if err := ValidateBucketName(name); err != nil {
		return BucketState{}, err
	}
	exists, marks, _, err := c.bucketMarks(ctx, name, own)
	if err != nil || !exists {
		return BucketState{}, err
	}
	empty, err := c.bucketEmpty(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return BucketState{}, nil
	}
	if err != nil {
		return BucketState{}, err
	}
	return BucketState{Exists: true, Owned: marks.Owns(own), Empty: empty}, nil
}

// bucketEmpty reports whether the bucket has no objects, no versions or
// delete markers, and no unfinished multipart uploads.
func (c *SeaweedFS) bucketEmpty(ctx context.Context, name string) (bool, error) {
	objs, err := read(ctx, c, "ListObjectsV2", func(ctx context.Context) (*s3.ListObjectsV2Output, error) {
		return c.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(name), MaxKeys: aws.Int32(1)})
	})
	if err != nil {
		return false, err
	}
	if len(objs.Contents) > 0 {
		return false, nil
	}
	// Noncurrent versions and delete markers are invisible to ListObjectsV2
	// but are still data. They are listed whatever the versioning status
	// says: SeaweedFS answers GetBucketVersioning from a bucket cache that
	// may lag behind, and a bucket whose versioning was suspended still holds
	// its versions.
	var vers *s3.ListObjectVersionsOutput
	vers, err = read(ctx, c, "ListObjectVersions", func(ctx context.Context) (*s3.ListObjectVersionsOutput, error) {
		return c.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(name), MaxKeys: aws.Int32(1)})
	})
	if err != nil {
		return false, err
	}
	if len(vers.Versions) > 0 || len(vers.DeleteMarkers) > 0 {
		return false, nil
	}
	var ups *s3.ListMultipartUploadsOutput
	ups, err = read(ctx, c, "ListMultipartUploads", func(ctx context.Context) (*s3.ListMultipartUploadsOutput, error) {
		return c.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(name), MaxUploads: aws.Int32(1)})
	})
	if errors.Is(err, ErrAccessDenied) {
		// SeaweedFS counts listing uploads as part of s3:PutObject, which the
		// driver's fence denies (see fence). Behind the fence no upload can
		// be completed any more: an unfinished one is no data to keep.
		fenced, ferr := c.fenced(ctx, name)
		if ferr != nil {
			return false, ferr
		}
		if fenced {
			return true, nil
		}
	}
	if err != nil {
		return false, err
	}
	return len(ups.Uploads) == 0, nil
}

// ListMarkedBuckets implements Admin.
func (c *SeaweedFS) ListMarkedBuckets(ctx context.Context) ([]MarkedBucket, error) {
	var names []string
	var token *string
	for {
		out, err := read(ctx, c, "ListBuckets", func(ctx context.Context) (*s3.ListBucketsOutput, error) {
			return c.s3.ListBuckets(ctx, &s3.ListBucketsInput{ContinuationToken: token})
		})
		if err != nil {
			return nil, err
		}
		for _, b := range out.Buckets {
			names = append(names, aws.ToString(b.Name))
		}
		if aws.ToString(out.ContinuationToken) == "" || aws.ToString(out.ContinuationToken) == aws.ToString(token) {
			break
		}
		token = out.ContinuationToken
	}
	slices.Sort(names)
	var marked []MarkedBucket
	for _, n := range names {
		// One read each: a resync must not wait a second per foreign bucket,
		// and an owned bucket left out for one pass only makes the resync
		// look at its record once more.
		exists, marks, _, err := c.readBucketMarks(ctx, n)
		if err != nil {
			return nil, err
		}
		if exists && marks.Owner != "" {
			marked = append(marked, marks)
		}
	}
	return marked, nil
}
