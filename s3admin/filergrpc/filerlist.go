package filergrpc

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc/filerpb"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc/s3pb"
)

// defaultBucketsDir is where SeaweedFS keeps buckets unless its filer is
// configured otherwise.
const defaultBucketsDir = "/buckets"

// bucketsPage is how many entries one ListEntries request returns.
const bucketsPage = 1024

// BucketTags returns the tags of every bucket by name. SeaweedFS keeps a
// bucket as a directory of the filer's buckets directory, and its tags
// inside that directory's entry: Entry.content is an s3_pb.BucketMetadata
// (weed/pb/s3.proto; the S3 gateway's UpdateBucketTags writes it, and
// GetBucketTagging reads it back). So one listing of the buckets directory
// holds every bucket's tags. Like the gateway, it counts only directories
// whose names do not start with ".", and reads content it cannot decode as
// no tags.
//
// Each request is bounded by timeout, not the whole listing, which grows
// with the number of buckets.
func (f *Client) BucketTags(ctx context.Context, timeout time.Duration) (map[string]map[string]string, error) {
	return f.BucketTagsPaged(ctx, timeout, bucketsPage)
}

// bucketTags is BucketTags reading page entries per request.
func (f *Client) BucketTagsPaged(ctx context.Context, timeout time.Duration, page int) (map[string]map[string]string, error) {
	dir, err := f.bucketsDir(ctx, timeout)
	if err != nil {
		return nil, err
	}
	all := map[string]map[string]string{}
	start := ""
	for {
		n := 0
		pageCtx, cancel := context.WithTimeout(ctx, timeout)
		err := f.eachEntry(pageCtx, dir, start, page, func(name string, isDir bool, content []byte) {
			n++
			start = name
			if isDir && !strings.HasPrefix(name, ".") {
				all[name] = bucketMetadataTags(content)
			}
		})
		cancel()
		if err != nil {
			return nil, err
		}
		if n < page {
			return all, nil
		}
	}
}

// creatorAttribute is the bucket entry's extended attribute in which the S3
// gateway records the identity that created the bucket
// (s3_constants.AmzIdentityId). A bucket made by an upload into a missing
// bucket has none.
const creatorAttribute = "s3-identity-id"

// BucketCreator returns the identity SeaweedFS recorded as the creator of
// bucket ("" for none, and for a missing bucket). It reads the bucket's
// entry from the filer, where the S3 gateway reads it too when it answers a
// create request: the S3 API itself never shows it.
func (f *Client) BucketCreator(ctx context.Context, timeout time.Duration, bucket string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	e, err := f.BucketEntry(ctx, bucket)
	if errors.Is(err, s3admin.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(e.GetExtended()[creatorAttribute]), nil
}

// bucketsDir is the filer's buckets directory
// (GetFilerConfigurationResponse.dir_buckets), asked once per client and
// bounded by timeout.
func (f *Client) bucketsDir(ctx context.Context, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return f.bucketsDirCached(ctx)
}

// eachEntry lists up to limit entries of dir after start (all from the
// first if start is empty) and calls fn with each one's name, whether it is
// a directory, and its content. A missing directory has no entries.
func (f *Client) eachEntry(ctx context.Context, dir, start string, limit int, fn func(name string, isDir bool, content []byte)) error {
	// inclusiveStartFrom left false, so a page starts after start.
	req := &filerpb.ListEntriesRequest{Directory: dir, StartFromFileName: start, Limit: uint32(limit)}
	return f.list(ctx, req, func(e *filerpb.Entry) { fn(e.GetName(), e.GetIsDirectory(), e.GetContent()) })
}

// bucketMetadataTags decodes the tags of an s3_pb.BucketMetadata. Content
// that does not decode is no tags, as the gateway reads it.
func bucketMetadataTags(content []byte) map[string]string {
	var md s3pb.BucketMetadata
	if err := proto.Unmarshal(content, &md); err != nil {
		return nil
	}
	return md.GetTags()
}
