package engine

import (
	"context"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// BucketBackend is what the bucket engine needs of the object store: single
// S3 requests as the driver's identity (SeaweedFS), or their in-memory
// equivalents with SeaweedFS's semantics (Fake). Each method is one request,
// or one listing read page by page; none decides anything about ownership
// or deletion, which is the planner's part (bucketplan.go). Errors are
// classified (*Error): a missing bucket is ErrNotFound, a refusal
// ErrAccessDenied.
type BucketBackend interface {
	// CreateBucket asks the store to create the bucket, with opts (which
	// take effect only when the request creates it); the answer also says
	// who created an existing one.
	CreateBucket(ctx context.Context, name string, opts s3admin.CreateOptions) (plan.CreateAnswer, error)
	// Creator returns the identity SeaweedFS recorded as the bucket's
	// creator ("" for none, or for a missing bucket); known is false where
	// the backend cannot read it (the S3 API never shows it).
	Creator(ctx context.Context, name string) (creator string, known bool, err error)
	// Tags returns the bucket's tags (nil for none); exists is false for a
	// missing bucket.
	Tags(ctx context.Context, name string) (tags map[string]string, exists bool, err error)
	// PutTags replaces the bucket's tag set.
	PutTags(ctx context.Context, name string, tags map[string]string) error
	// ListBuckets returns the name of every bucket, in any order.
	ListBuckets(ctx context.Context) ([]string, error)

	// HasObjects and hasVersions report whether the bucket holds at least
	// one key, or one object version or delete marker.
	HasObjects(ctx context.Context, name string) (bool, error)
	HasVersions(ctx context.Context, name string) (bool, error)
	// Uploads lists up to limit unfinished multipart uploads (0: a page of
	// the store's choosing). The fence denies it (ErrAccessDenied).
	Uploads(ctx context.Context, name string, limit int) ([]Upload, error)
	AbortUpload(ctx context.Context, name string, u Upload) error

	// PutFence writes the fence policy (fencePolicy). A fence already in
	// place denies it (ErrAccessDenied).
	PutFence(ctx context.Context, name string) error
	// Fenced reports whether the bucket's policy is the driver's fence.
	Fenced(ctx context.Context, name string) (bool, error)
	// ProbeWrite writes an empty object as the driver's identity, to learn
	// whether the fence denies it (ErrAccessDenied). Not counted as a write:
	// it is meant to be refused, and deleteObject removes it otherwise.
	ProbeWrite(ctx context.Context, name, key string) error
	DeleteObject(ctx context.Context, name, key string) error

	// Versions returns one page of the bucket's object versions and delete
	// markers from cursor on, and the cursor of the next page (nil: last).
	Versions(ctx context.Context, name string, cursor *VersionCursor) ([]ObjectVersion, *VersionCursor, error)
	// DeleteVersions deletes the given versions; any not deleted is an
	// error.
	DeleteVersions(ctx context.Context, name string, vs []ObjectVersion) error
	// FolderLevel lists one level under prefix: the keys and the folders
	// (common prefixes ending in "/").
	FolderLevel(ctx context.Context, name, prefix string) (keys, folders []string, err error)

	// DeleteBucket deletes the bucket. A store running with
	// -s3.allowDeleteBucketNotEmpty=false refuses a non-empty one
	// (ErrNotEmpty); by default SeaweedFS deletes it with its data.
	DeleteBucket(ctx context.Context, name string) error

	FeatureBackend
}

// FeatureBackend is what the engine needs to observe and converge a
// bucket's features (see s3admin.BucketFeatureAdmin). Quotas and placement
// rules live in the filer only (the quota field of the bucket's entry, and
// the location rules of /etc/seaweedfs/filer.conf): a backend without the
// filer reports Filer false, and the engine never calls those methods then.
type FeatureBackend interface {
	// Filer reports whether quotas and placement rules can be read and
	// written.
	Filer() bool
	// Quota returns the quota field of the bucket's entry; a missing bucket
	// is ErrNotFound.
	Quota(ctx context.Context, name string) (int64, error)
	// SetQuota writes the quota field of the bucket's entry, keeping the
	// rest of the entry as it is.
	SetQuota(ctx context.Context, name string, quota int64) error
	// Placement returns the managed fields of the location rule for exactly
	// the bucket's directory (zero: no rule).
	Placement(ctx context.Context, name string) (plan.Placement, error)
	// SetPlacement merges want into the bucket's rule (plan.MergePlacement),
	// creating it if missing and keeping every field it does not manage and
	// every other rule; changed reports whether it wrote.
	SetPlacement(ctx context.Context, name string, want plan.Placement) (changed bool, err error)
	// RemovePlacement removes the rule for exactly the bucket's directory;
	// no rule is success, without a write.
	RemovePlacement(ctx context.Context, name string) error
	// Versioning returns the bucket's versioning status ("" never set).
	Versioning(ctx context.Context, name string) (string, error)
	// EnableVersioning sets the bucket's versioning Enabled.
	EnableVersioning(ctx context.Context, name string) error
	// ObjectLock reports whether the bucket was created with object lock.
	ObjectLock(ctx context.Context, name string) (bool, error)
	// UsedBytes returns what the store counts against the bucket's quota.
	UsedBytes(ctx context.Context, name string) (int64, error)
}

// Upload is an unfinished multipart upload.
type Upload struct{ Key, ID string }

// ObjectVersion is one object version or delete marker.
type ObjectVersion struct{ Key, VersionID string }

// VersionCursor is where a listing of versions goes on.
type VersionCursor struct{ Key, VersionID string }

// BucketTagLister is a bucketBackend that can read every bucket's tags in a
// few requests, whatever the number of buckets.
type BucketTagLister interface {
	// AllBucketTags returns the tags of every bucket (nil for none) by
	// name; ok is false when this backend cannot, and the engine reads the
	// tags bucket by bucket.
	AllBucketTags(ctx context.Context) (tags map[string]map[string]string, ok bool, err error)
}
