package seaweedfs

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc/filerpb"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// The contract's feature backdoor on SeaweedFS: the filer's gRPC service
// directly (as weed shell's s3.bucket.quota and fs.configure write), and
// S3 requests of the admin identity.

func (b *seaweedBackdoor) Filer() bool         { return b.admin.filer != nil }
func (b *seaweedBackdoor) EnforcesQuota() bool { return true }

// rawFiler is a filer client of the backdoor's own, whatever path the
// Admin uses.
func (b *seaweedBackdoor) rawFiler(t *testing.T) *filergrpc.Client {
	t.Helper()
	f, err := filergrpc.Dial(seaweed.FilerGRPCAddress(), nil)
	admintest.MustNil(t, "filergrpc.Dial", err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func (b *seaweedBackdoor) SetQuota(t *testing.T, bucket string, quota int64) {
	t.Helper()
	f, ctx := b.rawFiler(t), admintest.Context(t)
	e, err := f.BucketEntry(ctx, bucket)
	admintest.MustNil(t, "BucketEntry", err)
	e.Quota = quota
	admintest.MustNil(t, "UpdateBucketEntry", f.UpdateBucketEntry(ctx, e))
}

func (b *seaweedBackdoor) Quota(t *testing.T, bucket string) int64 {
	t.Helper()
	e, err := b.rawFiler(t).BucketEntry(admintest.Context(t), bucket)
	admintest.MustNil(t, "BucketEntry", err)
	return e.GetQuota()
}

func (b *seaweedBackdoor) SetRule(t *testing.T, bucket string, p plan.Placement, readOnly bool) {
	t.Helper()
	f, ctx := b.rawFiler(t), admintest.Context(t)
	prefix, err := f.BucketPrefix(ctx, bucket)
	admintest.MustNil(t, "BucketPrefix", err)
	conf, entry, err := f.ReadFilerConf(ctx)
	admintest.MustNil(t, "ReadFilerConf", err)
	rule := filergrpc.RuleOf(conf, prefix)
	if rule == nil {
		rule = &filerpb.FilerConf_PathConf{LocationPrefix: prefix}
		conf.Locations = append(conf.Locations, rule)
	}
	rule.Replication, rule.DiskType, rule.Ttl, rule.ReadOnly = p.Replication, p.DiskType, p.TTL, readOnly
	admintest.MustNil(t, "WriteFilerConf", f.WriteFilerConf(ctx, entry, conf, time.Now().Unix()))
}

func (b *seaweedBackdoor) Rule(t *testing.T, bucket string) (plan.Placement, bool, bool) {
	t.Helper()
	f, ctx := b.rawFiler(t), admintest.Context(t)
	prefix, err := f.BucketPrefix(ctx, bucket)
	admintest.MustNil(t, "BucketPrefix", err)
	conf, _, err := f.ReadFilerConf(ctx)
	admintest.MustNil(t, "ReadFilerConf", err)
	rule := filergrpc.RuleOf(conf, prefix)
	return filergrpc.PlacementOf(rule), rule.GetReadOnly(), rule != nil
}

func (b *seaweedBackdoor) SetVersioning(t *testing.T, bucket, status string) {
	t.Helper()
	_, err := b.raw.s3.PutBucketVersioning(admintest.Context(t), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatus(status)},
	})
	admintest.MustNil(t, "raw PutBucketVersioning", err)
}

func (b *seaweedBackdoor) Tags(t *testing.T, bucket string) map[string]string {
	t.Helper()
	out, err := b.raw.s3.GetBucketTagging(admintest.Context(t), &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	admintest.MustNil(t, "raw GetBucketTagging", err)
	tags := map[string]string{}
	for _, tg := range out.TagSet {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return tags
}

func (b *seaweedBackdoor) PutLockedObject(t *testing.T, bucket, key string) {
	t.Helper()
	_, err := b.raw.s3.PutObject(admintest.Context(t), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader([]byte("locked")),
		ObjectLockMode:            s3types.ObjectLockModeCompliance,
		ObjectLockRetainUntilDate: aws.Time(time.Now().Add(24 * time.Hour)),
	})
	admintest.MustNil(t, "raw PutObject with a COMPLIANCE retention", err)
}

func (b *seaweedBackdoor) DeleteObjectVersion(t *testing.T, bucket, key string) error {
	t.Helper()
	ctx := admintest.Context(t)
	out, err := b.raw.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	admintest.MustNil(t, "raw ListObjectVersions", err)
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == key && aws.ToBool(v.IsLatest) {
			_, err := b.raw.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: v.VersionId})
			return s3admin.Classify("DeleteObject", err)
		}
	}
	t.Fatalf("no latest version of %q in bucket %q", key, bucket)
	return nil
}

func (b *seaweedBackdoor) TryPut(ctx context.Context, bucket, key string, size int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := b.raw.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(make([]byte, size))},
		func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	return s3admin.Classify("PutObject", err)
}

func (b *seaweedBackdoor) DeleteObject(t *testing.T, bucket, key string) {
	t.Helper()
	_, err := b.raw.s3.DeleteObject(admintest.Context(t), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil && !errors.Is(s3admin.Classify("DeleteObject", err), s3admin.ErrNotFound) {
		t.Fatalf("raw DeleteObject: %v", err)
	}
}
