package seaweedfs

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/calls"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/engine"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// s3Buckets is the bucketBackend of SeaweedFS: one S3 request of the
// driver's identity per method, under the client's per-call timeout, with
// every write counted and between its crash points (see SeaweedFS.write).
type s3Buckets struct{ c *SeaweedFS }

var _ engine.BucketBackend = s3Buckets{}

// bucketEngine is the engine of the bucket methods over this client's S3
// requests.
func (c *SeaweedFS) bucketEngine() *engine.Buckets {
	return &engine.Buckets{Be: s3Buckets{c}, Locks: &c.buckets, Settle: engine.SeaweedSettling}
}

// CreateBucket implements Admin.
func (c *SeaweedFS) CreateBucket(ctx context.Context, name string, own s3admin.Ownership, opts s3admin.CreateOptions) error {
	return c.bucketEngine().CreateBucket(ctx, name, own, opts)
}

// ObserveBucketFeatures implements Admin.
func (c *SeaweedFS) ObserveBucketFeatures(ctx context.Context, name string, f s3admin.BucketFeatures) (s3admin.BucketFeatureState, error) {
	return c.bucketEngine().ObserveBucketFeatures(ctx, name, f)
}

// EnsureBucketFeatures implements Admin.
func (c *SeaweedFS) EnsureBucketFeatures(ctx context.Context, name string, own s3admin.Ownership, f s3admin.BucketFeatures) (bool, error) {
	return c.bucketEngine().EnsureBucketFeatures(ctx, name, own, f)
}

// RemoveBucketPlacement implements Admin.
func (c *SeaweedFS) RemoveBucketPlacement(ctx context.Context, name string, own s3admin.Ownership) error {
	return c.bucketEngine().RemoveBucketPlacement(ctx, name, own)
}

// ObserveBucket implements Admin.
func (c *SeaweedFS) ObserveBucket(ctx context.Context, name string, own s3admin.Ownership) (s3admin.BucketState, error) {
	return c.bucketEngine().ObserveBucket(ctx, name, own)
}

// DeleteBucket implements Admin.
func (c *SeaweedFS) DeleteBucket(ctx context.Context, name string, own s3admin.Ownership, purge bool) error {
	return c.bucketEngine().DeleteBucket(ctx, name, own, purge)
}

// ListMarkedBuckets implements Admin.
func (c *SeaweedFS) ListMarkedBuckets(ctx context.Context) ([]s3admin.MarkedBucket, error) {
	return c.bucketEngine().ListMarkedBuckets(ctx)
}

// fence puts the delete fence on the bucket (see engine.Buckets.Fence).
func (c *SeaweedFS) fence(ctx context.Context, name string) error {
	return c.bucketEngine().Fence(ctx, name)
}

// CreateBucket is one CreateBucket request. No SDK retry: the reconciler
// retries with its own backoff. Only a create that made the bucket counts as
// a write (and passes its "after" crash point): the other answers change
// nothing.
//
// Object lock goes with the request when asked (x-amz-bucket-object-lock-
// enabled): SeaweedFS, like S3, turns it on only in the request that
// creates the bucket, and ignores it on an existing one.
func (b s3Buckets) CreateBucket(ctx context.Context, name string, opts s3admin.CreateOptions) (plan.CreateAnswer, error) {
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if opts.ObjectLock {
		in.ObjectLockEnabledForBucket = aws.Bool(true)
	}
	err := calls.Mutation("CreateBucket", func() error {
		return b.c.Call(ctx, "CreateBucket", func(ctx context.Context) error {
			_, err := b.c.s3.CreateBucket(ctx, in,
				func(o *s3.Options) { o.RetryMaxAttempts = 1 })
			return err
		})
	})
	switch {
	case err == nil:
		b.c.WriteCount.Add(1)
		return plan.AnswerCreated, nil
	case calls.IsCode(err, "BucketAlreadyOwnedByYou"):
		return plan.AnswerOwnedByYou, nil
	case calls.IsCode(err, "BucketAlreadyExists"):
		return plan.AnswerExistsForAnother, nil
	}
	return 0, err
}

func (b s3Buckets) Tags(ctx context.Context, name string) (map[string]string, bool, error) {
	out, err := calls.Read(ctx, b.c, "GetBucketTagging", func(ctx context.Context) (*s3.GetBucketTaggingOutput, error) {
		return b.c.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(name)})
	})
	switch {
	case calls.IsCode(err, "NoSuchTagSet"):
		// SeaweedFS (like AWS) answers a bucket without tags with
		// NoSuchTagSet, a 404 that must not read as "no such bucket".
		return nil, true, nil
	case errors.Is(err, s3admin.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	tags := make(map[string]string, len(out.TagSet))
	for _, t := range out.TagSet {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, true, nil
}

func (b s3Buckets) PutTags(ctx context.Context, name string, tags map[string]string) error {
	return b.c.Write(ctx, "PutBucketTagging", func(ctx context.Context) error {
		_, err := b.c.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{
			Bucket:  aws.String(name),
			Tagging: &s3types.Tagging{TagSet: tagSet(tags)},
		})
		return err
	})
}

// tagSet is tags as S3 carries them, sorted by key.
func tagSet(tags map[string]string) []s3types.Tag {
	if tags == nil {
		return nil
	}
	set := make([]s3types.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return set
}

func (b s3Buckets) ListBuckets(ctx context.Context) ([]string, error) {
	var names []string
	var token *string
	for {
		out, err := calls.Read(ctx, b.c, "ListBuckets", func(ctx context.Context) (*s3.ListBucketsOutput, error) {
			return b.c.s3.ListBuckets(ctx, &s3.ListBucketsInput{ContinuationToken: token})
		})
		if err != nil {
			return nil, err
		}
		for _, bk := range out.Buckets {
			names = append(names, aws.ToString(bk.Name))
		}
		if aws.ToString(out.ContinuationToken) == "" || aws.ToString(out.ContinuationToken) == aws.ToString(token) {
			return names, nil
		}
		token = out.ContinuationToken
	}
}
