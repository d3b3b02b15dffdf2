package s3admin

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// DeleteBucket implements Admin.
//
// SeaweedFS deletes a non-empty bucket with all its data unless the server
// runs with -s3.allowDeleteBucketNotEmpty=false, so without purge this client
// checks emptiness itself first. The check and the delete are two calls; the
// bucket is fenced against every writer before the check (see fence), so
// nothing written in between can be lost.
func (c *SeaweedFS) DeleteBucket(ctx context.Context, name string, own Ownership, purge bool) error {
	if err := ValidateBucketName(name); err != nil {
		return err
	}
	unlock, err := c.buckets.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	exists, marks, _, err := c.bucketMarks(ctx, name, own)
	if err != nil {
		return err
	}
	if !exists {
		return nil
	}
	if !marks.Owns(own) {
		return newError("DeleteBucket", ErrNotOwned, "bucket %q does not carry this record's marks", name)
	}
	// The marks can be copied by anyone who can read them; what SeaweedFS
	// recorded as the bucket's creator cannot. A bucket that was deleted and
	// created again by another identity with our marks copied onto it holds
	// somebody else's data, and is never deleted. (Should the bucket have
	// gone in the meantime, this creates an empty one of ours, which the
	// delete below removes again.)
	if err := c.claimBucket(ctx, name); err != nil {
		return err
	}
	if !purge {
		// Not fenced while it visibly holds data: a bucket that stays
		// blocked on its data should not also become read-only.
		if err := c.requireEmpty(ctx, name); err != nil {
			return err
		}
	} else if err := c.abortUploads(ctx, name); err != nil {
		// Purged: unfinished uploads go before the fence, which denies
		// listing and aborting them too. Refused on a bucket that already
		// carries our fence, the upload listing is that fence's doing: an
		// earlier attempt fenced the bucket and then ended (the driver
		// crashed, a call failed). Retrying would be refused forever; no
		// upload can be completed behind the fence, so what is left of one
		// is discarded with the bucket, as bucketEmpty judges too.
		if !errors.Is(err, ErrAccessDenied) {
			return err
		}
		fenced, ferr := c.fenced(ctx, name)
		if ferr != nil {
			return ferr
		}
		if !fenced {
			return err
		}
	}
	if err := c.fence(ctx, name); err != nil {
		return err
	}
	if !purge {
		// Again behind the fence: what was written before it is all there is.
		if err := c.requireEmpty(ctx, name); err != nil {
			return err
		}
	}
	err = c.deleteBucket(ctx, name)
	if !errors.Is(err, ErrNotEmpty) {
		return err
	}
	// The server refuses non-empty deletes (-s3.allowDeleteBucketNotEmpty=false).
	if purge {
		if err := c.emptyBucket(ctx, name); err != nil {
			return err
		}
		if err = c.deleteBucket(ctx, name); !errors.Is(err, ErrNotEmpty) {
			return err
		}
	}
	// SeaweedFS keeps the empty folders of deleted nested keys for a few
	// minutes and counts them as content, although S3 listings do not show
	// them. They hold no data (the emptiness check above, or the purge,
	// covered every key), so they are removed rather than reported.
	if err := c.removeEmptyFolders(ctx, name); err != nil {
		return err
	}
	return c.deleteBucket(ctx, name)
}

// removeEmptyFolders deletes the folder entries left in an emptied bucket,
// deepest first (a folder with a subfolder is not deleted).
func (c *SeaweedFS) removeEmptyFolders(ctx context.Context, name string) error {
	var folders []string
	queue := []string{""}
	for len(queue) > 0 {
		prefix := queue[0]
		queue = queue[1:]
		var token *string
		for {
			var out *s3.ListObjectsV2Output
			err := c.call(ctx, "ListObjectsV2", func(ctx context.Context) error {
				var err error
				out, err = c.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
					Bucket: aws.String(name), Prefix: aws.String(prefix), Delimiter: aws.String("/"), ContinuationToken: token,
				})
				return err
			})
			if err != nil {
				return err
			}
			for _, o := range out.Contents {
				// Listing inside a folder shows the folder itself as a key.
				if k := aws.ToString(o.Key); k != prefix {
					// New data arrived while purging; let the caller retry.
					return newError("DeleteBucket", ErrNotEmpty, "bucket %q received object %q while being purged", name, k)
				}
			}
			for _, p := range out.CommonPrefixes {
				folders = append(folders, aws.ToString(p.Prefix))
				queue = append(queue, aws.ToString(p.Prefix))
			}
			if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
				break
			}
			token = out.NextContinuationToken
		}
	}
	slices.SortFunc(folders, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, f := range folders {
		err := c.write(ctx, "DeleteObject", func(ctx context.Context) error {
			_, err := c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: aws.String(f)})
			return err
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// requireEmpty is nil for an empty bucket (or a missing one, which the
// delete then finds gone) and ErrNotEmpty otherwise.
func (c *SeaweedFS) requireEmpty(ctx context.Context, name string) error {
	empty, err := c.bucketEmpty(ctx, name)
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

func (c *SeaweedFS) deleteBucket(ctx context.Context, name string) error {
	err := c.write(ctx, "DeleteBucket", func(ctx context.Context) error {
		_, err := c.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// emptyBucket deletes every object version and delete marker of the bucket,
// one page at a time. (Unfinished uploads are aborted before the fence,
// which denies listing and aborting them; see abortUploads.)
func (c *SeaweedFS) emptyBucket(ctx context.Context, name string) error {
	var keyMarker, versionMarker *string
	for {
		var page *s3.ListObjectVersionsOutput
		err := c.call(ctx, "ListObjectVersions", func(ctx context.Context) error {
			var err error
			page, err = c.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{
				Bucket: aws.String(name), KeyMarker: keyMarker, VersionIdMarker: versionMarker,
			})
			return err
		})
		if err != nil {
			return err
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range page.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range page.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) > 0 {
			var out *s3.DeleteObjectsOutput
			err = c.write(ctx, "DeleteObjects", func(ctx context.Context) error {
				var err error
				out, err = c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
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
				return newError("DeleteObjects", ErrTransient, "%d objects of bucket %q not deleted, first %q: %s",
					len(out.Errors), name, aws.ToString(e.Key), aws.ToString(e.Code))
			}
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		keyMarker, versionMarker = page.NextKeyMarker, page.NextVersionIdMarker
	}
	return nil
}

// abortUploads aborts every unfinished multipart upload of the bucket.
func (c *SeaweedFS) abortUploads(ctx context.Context, name string) error {
	for {
		ups, err := read(ctx, c, "ListMultipartUploads", func(ctx context.Context) (*s3.ListMultipartUploadsOutput, error) {
			return c.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(name)})
		})
		if err != nil {
			return err
		}
		if len(ups.Uploads) == 0 {
			return nil
		}
		for _, u := range ups.Uploads {
			err := c.write(ctx, "AbortMultipartUpload", func(ctx context.Context) error {
				_, err := c.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
					Bucket: aws.String(name), Key: u.Key, UploadId: u.UploadId,
				})
				return err
			})
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
	}
}
