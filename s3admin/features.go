package s3admin

import (
	"context"
	"fmt"
)

// BucketFeatures are what a BucketClass asks of a bucket beyond its
// existence. The zero value asks for nothing: whatever SeaweedFS holds for
// an unasked feature is left as it is, so that an operator's own setting (a
// quota set with weed shell on a bucket whose class has none) is never
// undone by the driver.
type BucketFeatures struct {
	// QuotaBytes is the bucket's SeaweedFS quota (the quota field of its
	// entry in the filer); 0: not managed.
	QuotaBytes int64
	// Replication, DiskType and TTL are the bucket's placement rule, a
	// location rule for /buckets/<name>/ in the filer configuration
	// (filer.conf); each "" is not managed.
	Replication string
	DiskType    string
	TTL         string
	// ObjectLock creates the bucket with object lock, which SeaweedFS (like
	// S3) turns on only at creation, and which implies versioning.
	ObjectLock bool
	// Versioning keeps the bucket's versioning Enabled.
	Versioning bool
}

// HasPlacement reports whether f asks for a placement rule.
func (f BucketFeatures) HasPlacement() bool {
	return f.Replication != "" || f.DiskType != "" || f.TTL != ""
}

// NeedsFiler reports whether f asks for something only the filer can set:
// SeaweedFS has no S3 or IAM request for quotas or placement.
func (f BucketFeatures) NeedsFiler() bool { return f.QuotaBytes > 0 || f.HasPlacement() }

// Zero reports whether f asks for nothing.
func (f BucketFeatures) Zero() bool { return f == BucketFeatures{} }

// BucketFeatureState is what SeaweedFS holds for the features a
// BucketFeatures asks for; what was not asked is not read and stays zero.
type BucketFeatureState struct {
	// QuotaBytes is the quota field of the bucket's entry (negative:
	// set, and disabled).
	QuotaBytes int64
	// Replication, DiskType and TTL are the fields of the location rule for
	// exactly /buckets/<name>/ ("" when there is none).
	Replication string
	DiskType    string
	TTL         string
	// Versioning is the bucket's versioning status: "Enabled", "Suspended"
	// or "" (never set).
	Versioning string
	// ObjectLock: the bucket was created with object lock.
	ObjectLock bool
	// UsedBytes is what SeaweedFS counts against the quota (the bytes of
	// the bucket's volumes, until a vacuum reclaims deleted ones); read
	// only when a quota is asked for, -1 when SeaweedFS could not tell.
	UsedBytes int64
}

// VersioningEnabled is the versioning status of a versioned bucket.
const VersioningEnabled = "Enabled"

// Holds reports whether s holds everything f asks for. Object lock is not
// compared: it can only be set when the bucket is created, so a bucket
// without it is reported, not repaired.
func (s BucketFeatureState) Holds(f BucketFeatures) bool {
	return s.HoldsQuota(f) && s.HoldsPlacement(f) && s.HoldsVersioning(f)
}

// HoldsQuota: f asks for no quota, or s has exactly f's (a quota set but
// disabled, negative, is not).
func (s BucketFeatureState) HoldsQuota(f BucketFeatures) bool {
	return f.QuotaBytes <= 0 || s.QuotaBytes == f.QuotaBytes
}

// HoldsPlacement: every placement field f sets is s's; a field f leaves ""
// is not managed, whatever s has.
func (s BucketFeatureState) HoldsPlacement(f BucketFeatures) bool {
	return (f.Replication == "" || s.Replication == f.Replication) &&
		(f.DiskType == "" || s.DiskType == f.DiskType) &&
		(f.TTL == "" || s.TTL == f.TTL)
}

// HoldsVersioning: f asks for no versioning (object lock implies it), or s
// has it enabled.
func (s BucketFeatureState) HoldsVersioning(f BucketFeatures) bool {
	return !f.Versioning && !f.ObjectLock || s.Versioning == VersioningEnabled
}

// BucketFeatureAdmin is the part of Admin that converges a bucket's
// features. Quotas and placement go through the filer: a client without one
// refuses them with ErrUnsupported.
type BucketFeatureAdmin interface {
	// ObserveBucketFeatures reads what SeaweedFS holds for the features f
	// asks for (see BucketFeatureState); a missing bucket is ErrNotFound.
	ObserveBucketFeatures(ctx context.Context, name string, f BucketFeatures) (BucketFeatureState, error)
	// EnsureBucketFeatures converges the bucket's features to f: it
	// observes first and writes only what differs; changed reports whether
	// anything was written. The bucket must carry own's marks (ErrNotOwned
	// otherwise, and for an imported bucket's Ownership): a quota or a rule
	// on somebody else's bucket would change what they may store. A
	// placement rule keeps the fields it does not manage, among them the
	// read-only flag SeaweedFS's quota enforcement sets.
	EnsureBucketFeatures(ctx context.Context, name string, own Ownership, f BucketFeatures) (changed bool, err error)
	// RemoveBucketPlacement removes the location rule of exactly
	// /buckets/<name>/ once the bucket is gone: a rule outlives its bucket
	// in the filer configuration and would apply to the next bucket of the
	// name. A bucket that exists keeps its rule: one carrying own's marks is
	// the record's own, still shown by a lagging cache (ErrTransient: ask
	// again); any other is whoever holds the name now's, who may rely on
	// the rule (ErrNotOwned). No rule is success.
	RemoveBucketPlacement(ctx context.Context, name string, own Ownership) error
}

// CreateOptions are what only a bucket's creation can set.
type CreateOptions struct {
	// ObjectLock creates the bucket with object lock enabled.
	ObjectLock bool
}

// ValidateFeatures refuses a combination SeaweedFS cannot hold.
func ValidateFeatures(f BucketFeatures) error {
	if f.QuotaBytes < 0 {
		return fmt.Errorf("%w: quota %d bytes", ErrInvalid, f.QuotaBytes)
	}
	return nil
}
