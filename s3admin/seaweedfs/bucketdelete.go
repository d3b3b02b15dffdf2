package seaweedfs

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/calls"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/engine"
)

// The S3 requests behind a bucket's emptiness, its fence and its deletion
// (see bucketBackend; what they are used for is decided in bucketplan.go).

func (b s3Buckets) HasObjects(ctx context.Context, name string) (bool, error) {
	out, err := calls.Read(ctx, b.c, "ListObjectsV2", func(ctx context.Context) (*s3.ListObjectsV2Output, error) {
		return b.c.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(name), MaxKeys: aws.Int32(1)})
	})
	if err != nil {
		return false, err
	}
	return len(out.Contents) > 0, nil
}

func (b s3Buckets) HasVersions(ctx context.Context, name string) (bool, error) {
	out, err := calls.Read(ctx, b.c, "ListObjectVersions", func(ctx context.Context) (*s3.ListObjectVersionsOutput, error) {
		return b.c.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(name), MaxKeys: aws.Int32(1)})
	})
	if err != nil {
		return false, err
	}
	return len(out.Versions) > 0 || len(out.DeleteMarkers) > 0, nil
}

func (b s3Buckets) Uploads(ctx context.Context, name string, limit int) ([]engine.Upload, error) {
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(name)}
	if limit > 0 {
		in.MaxUploads = aws.Int32(int32(limit))
	}
	out, err := calls.Read(ctx, b.c, "ListMultipartUploads", func(ctx context.Context) (*s3.ListMultipartUploadsOutput, error) {
		return b.c.s3.ListMultipartUploads(ctx, in)
	})
	if err != nil {
		return nil, err
	}
	ups := make([]engine.Upload, 0, len(out.Uploads))
	for _, u := range out.Uploads {
		ups = append(ups, engine.Upload{Key: aws.ToString(u.Key), ID: aws.ToString(u.UploadId)})
	}
	return ups, nil
}

func (b s3Buckets) AbortUpload(ctx context.Context, name string, u engine.Upload) error {
	return b.c.Write(ctx, "AbortMultipartUpload", func(ctx context.Context) error {
		_, err := b.c.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(name), Key: aws.String(u.Key), UploadId: aws.String(u.ID),
		})
		return err
	})
}

func (b s3Buckets) PutFence(ctx context.Context, name string) error {
	return b.c.Write(ctx, "PutBucketPolicy", func(ctx context.Context) error {
		_, err := b.c.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(engine.FencePolicy(name))})
		return err
	})
}

func (b s3Buckets) Fenced(ctx context.Context, name string) (bool, error) {
	out, err := calls.Read(ctx, b.c, "GetBucketPolicy", func(ctx context.Context) (*s3.GetBucketPolicyOutput, error) {
		return b.c.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(name)})
	})
	if calls.IsCode(err, "NoSuchBucketPolicy") || errors.Is(err, s3admin.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return isFencePolicy(aws.ToString(out.Policy)), nil
}

// isFencePolicy reports whether a bucket policy holds the fence's statement.
func isFencePolicy(policy string) bool {
	var doc struct {
		Statement []struct {
			Sid    string
			Effect string
		}
	}
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return false
	}
	for _, st := range doc.Statement {
		if st.Sid == engine.FenceSid && st.Effect == "Deny" {
			return true
		}
	}
	return false
}

func (b s3Buckets) ProbeWrite(ctx context.Context, name, key string) error {
	return b.c.Call(ctx, "PutObject", func(ctx context.Context) error {
		_, err := b.c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(name), Key: aws.String(key), Body: strings.NewReader("")})
		return err
	})
}

func (b s3Buckets) DeleteObject(ctx context.Context, name, key string) error {
	return b.c.Write(ctx, "DeleteObject", func(ctx context.Context) error {
		_, err := b.c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: aws.String(key)})
		return err
	})
}

func (b s3Buckets) Versions(ctx context.Context, name string, cursor *engine.VersionCursor) ([]engine.ObjectVersion, *engine.VersionCursor, error) {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(name)}
	if cursor != nil {
		in.KeyMarker, in.VersionIdMarker = optional(cursor.Key), optional(cursor.VersionID)
	}
	page, err := calls.Read(ctx, b.c, "ListObjectVersions", func(ctx context.Context) (*s3.ListObjectVersionsOutput, error) {
		return b.c.s3.ListObjectVersions(ctx, in)
	})
	if err != nil {
		return nil, nil, err
	}
	var vs []engine.ObjectVersion
	for _, v := range page.Versions {
		vs = append(vs, engine.ObjectVersion{Key: aws.ToString(v.Key), VersionID: aws.ToString(v.VersionId)})
	}
	for _, m := range page.DeleteMarkers {
		vs = append(vs, engine.ObjectVersion{Key: aws.ToString(m.Key), VersionID: aws.ToString(m.VersionId)})
	}
	if !aws.ToBool(page.IsTruncated) {
		return vs, nil, nil
	}
	return vs, &engine.VersionCursor{Key: aws.ToString(page.NextKeyMarker), VersionID: aws.ToString(page.NextVersionIdMarker)}, nil
}

// optional is s as an optional request field: nil when empty.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func (b s3Buckets) DeleteVersions(ctx context.Context, name string, vs []engine.ObjectVersion) error {
	ids := make([]s3types.ObjectIdentifier, 0, len(vs))
	for _, v := range vs {
		ids = append(ids, s3types.ObjectIdentifier{Key: aws.String(v.Key), VersionId: optional(v.VersionID)})
	}
	var out *s3.DeleteObjectsOutput
	err := b.c.Write(ctx, "DeleteObjects", func(ctx context.Context) error {
		var err error
		out, err = b.c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(name),
			Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		return err
	})
	if err != nil {
		return err
	}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		return s3admin.NewError("DeleteObjects", s3admin.ErrTransient, "%d objects of bucket %q not deleted, first %q: %s",
			len(out.Errors), name, aws.ToString(e.Key), aws.ToString(e.Code))
	}
	return nil
}

func (b s3Buckets) FolderLevel(ctx context.Context, name, prefix string) (keys, folders []string, err error) {
	var token *string
	for {
		var out *s3.ListObjectsV2Output
		out, err = calls.Read(ctx, b.c, "ListObjectsV2", func(ctx context.Context) (*s3.ListObjectsV2Output, error) {
			return b.c.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
				Bucket: aws.String(name), Prefix: aws.String(prefix), Delimiter: aws.String("/"), ContinuationToken: token,
			})
		})
		if err != nil {
			return nil, nil, err
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, p := range out.CommonPrefixes {
			folders = append(folders, aws.ToString(p.Prefix))
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return keys, folders, nil
		}
		token = out.NextContinuationToken
	}
}

func (b s3Buckets) DeleteBucket(ctx context.Context, name string) error {
	return b.c.Write(ctx, "DeleteBucket", func(ctx context.Context) error {
		_, err := b.c.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
		return err
	})
}
