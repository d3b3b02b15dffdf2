package s3admin

import "context"

// bucketBackend is what the bucket engine needs of the object store: single
// S3 requests as the driver's identity (SeaweedFS), or their in-memory
// equivalents with SeaweedFS's semantics (Fake). Each method is one request,
// or one listing read page by page; none decides anything about ownership
// or deletion, which is the planner's part (bucketplan.go). Errors are
// classified (*Error): a missing bucket is ErrNotFound, a refusal
// ErrAccessDenied.
type bucketBackend interface {
	// createBucket asks the store to create the bucket; the answer also says
	// who created an existing one.
	createBucket(ctx context.Context, name string) (createAnswer, error)
	// tags returns the bucket's tags (nil for none); exists is false for a
	// missing bucket.
	tags(ctx context.Context, name string) (tags map[string]string, exists bool, err error)
	// putTags replaces the bucket's tag set.
	putTags(ctx context.Context, name string, tags map[string]string) error
	// listBuckets returns the name of every bucket, in any order.
	listBuckets(ctx context.Context) ([]string, error)

	// hasObjects and hasVersions report whether the bucket holds at least
	// one key, or one object version or delete marker.
	hasObjects(ctx context.Context, name string) (bool, error)
	hasVersions(ctx context.Context, name string) (bool, error)
	// uploads lists up to limit unfinished multipart uploads (0: a page of
	// the store's choosing). The fence denies it (ErrAccessDenied).
	uploads(ctx context.Context, name string, limit int) ([]upload, error)
	abortUpload(ctx context.Context, name string, u upload) error

	// putFence writes the fence policy (fencePolicy). A fence already in
	// place denies it (ErrAccessDenied).
	putFence(ctx context.Context, name string) error
	// fenced reports whether the bucket's policy is the driver's fence.
	fenced(ctx context.Context, name string) (bool, error)
	// probeWrite writes an empty object as the driver's identity, to learn
	// whether the fence denies it (ErrAccessDenied). Not counted as a write:
	// it is meant to be refused, and deleteObject removes it otherwise.
	probeWrite(ctx context.Context, name, key string) error
	deleteObject(ctx context.Context, name, key string) error

	// versions returns one page of the bucket's object versions and delete
	// markers from cursor on, and the cursor of the next page (nil: last).
	versions(ctx context.Context, name string, cursor *versionCursor) ([]objectVersion, *versionCursor, error)
	// deleteVersions deletes the given versions; any not deleted is an
	// error.
	deleteVersions(ctx context.Context, name string, vs []objectVersion) error
	// folderLevel lists one level under prefix: the keys and the folders
	// (common prefixes ending in "/").
	folderLevel(ctx context.Context, name, prefix string) (keys, folders []string, err error)

	// deleteBucket deletes the bucket. A store running with
	// -s3.allowDeleteBucketNotEmpty=false refuses a non-empty one
	// (ErrNotEmpty); by default SeaweedFS deletes it with its data.
	deleteBucket(ctx context.Context, name string) error
}

// upload is an unfinished multipart upload.
type upload struct{ Key, ID string }

// objectVersion is one object version or delete marker.
type objectVersion struct{ Key, VersionID string }

// versionCursor is where a listing of versions goes on.
type versionCursor struct{ Key, VersionID string }

// bucketTagLister is a bucketBackend that can read every bucket's tags in a
// few requests, whatever the number of buckets.
type bucketTagLister interface {
	// allBucketTags returns the tags of every bucket (nil for none) by
	// name; ok is false when this backend cannot, and the engine reads the
	// tags bucket by bucket.
	allBucketTags(ctx context.Context) (tags map[string]map[string]string, ok bool, err error)
}
