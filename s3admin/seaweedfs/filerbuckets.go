package seaweedfs

import (
	"context"
)

// AllBucketTags reads the tags of every bucket from the filer, when the
// client has one (Config.FilerGRPCAddress): one GetBucketTagging per bucket
// would make a resync cost a request per bucket of the whole store. The
// listing says where to look, never what is owned: ownership is still
// decided by the creator's answer to a create request (see createAnswer).
func (b s3Buckets) AllBucketTags(ctx context.Context) (map[string]map[string]string, bool, error) {
	if b.c.filer == nil {
		return nil, false, nil
	}
	tags, err := b.c.filer.BucketTags(ctx, b.c.cfg.CallTimeout)
	return tags, err == nil, err
}

// Creator reads the bucket's recorded creator from the filer, when the
// client has one; the S3 API never shows it (see plan.Claimed for what the
// driver goes by without it).
func (b s3Buckets) Creator(ctx context.Context, name string) (string, bool, error) {
	if b.c.filer == nil {
		return "", false, nil
	}
	creator, err := b.c.filer.BucketCreator(ctx, b.c.cfg.CallTimeout, name)
	return creator, err == nil, err
}
