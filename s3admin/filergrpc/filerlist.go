package filergrpc

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
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

// bucketsDir is the filer's buckets directory
// (GetFilerConfigurationResponse.dir_buckets, field 5).
func (f *Client) bucketsDir(ctx context.Context, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := f.Invoke(ctx, IAMService+"GetFilerConfiguration", nil)
	if err != nil {
		return "", err
	}
	if dir := string(BytesOf(resp, 5)); dir != "" {
		return dir, nil
	}
	return defaultBucketsDir, nil
}

// eachEntry lists up to limit entries of dir after start (all from the
// first if start is empty) and calls fn with each one's name, whether it is
// a directory, and its content. A missing directory has no entries.
func (f *Client) eachEntry(ctx context.Context, dir, start string, limit int, fn func(name string, isDir bool, content []byte)) error {
	const method = IAMService + "ListEntries"
	stream, err := f.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
	if err != nil {
		return s3admin.Classify(method, err)
	}
	// ListEntriesRequest: directory (1), startFromFileName (3), limit (5);
	// inclusiveStartFrom (4) left false, so a page starts after start.
	req := AppendString(nil, 1, dir)
	if start != "" {
		req = AppendString(req, 3, start)
	}
	req = protowire.AppendTag(req, 5, protowire.VarintType)
	req = protowire.AppendVarint(req, uint64(limit))
	if err := stream.SendMsg(&req); err != nil {
		return s3admin.Classify(method, err)
	}
	if err := stream.CloseSend(); err != nil {
		return s3admin.Classify(method, err)
	}
	for {
		var resp []byte
		err := stream.RecvMsg(&resp)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if err = s3admin.Classify(method, err); errors.Is(err, s3admin.ErrNotFound) {
				return nil
			}
			return err
		}
		// ListEntriesResponse.entry (1): Entry.name (1), Entry.is_directory
		// (2), Entry.content (9).
		entry := BytesOf(resp, 1)
		isDir := false
		_ = eachField(entry, func(num protowire.Number, typ protowire.Type, v, _ []byte) error {
			if num == 2 && typ == protowire.VarintType {
				x, _ := protowire.ConsumeVarint(v)
				isDir = x != 0
			}
			return nil
		})
		if name := string(BytesOf(entry, 1)); name != "" {
			fn(name, isDir, BytesOf(entry, 9))
		}
	}
}

// bucketMetadataTags decodes the tags of an s3_pb.BucketMetadata: field 1,
// a map<string, string>, encoded as repeated entries of key (1) and value
// (2). Content that does not decode is no tags, as the gateway reads it.
func bucketMetadataTags(content []byte) map[string]string {
	var tags map[string]string
	err := eachField(content, func(num protowire.Number, typ protowire.Type, v, _ []byte) error {
		if num != 1 || typ != protowire.BytesType {
			return nil
		}
		var key, value string
		if err := eachField(v, func(num protowire.Number, typ protowire.Type, v, _ []byte) error {
			switch {
			case num == 1 && typ == protowire.BytesType:
				key = string(v)
			case num == 2 && typ == protowire.BytesType:
				value = string(v)
			}
			return nil
		}); err != nil {
			return err
		}
		if tags == nil {
			tags = map[string]string{}
		}
		tags[key] = value
		return nil
	})
	if err != nil {
		return nil
	}
	return tags
}
