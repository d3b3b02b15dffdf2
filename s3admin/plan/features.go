package plan

import "github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"

// The bucket-feature planner: what EnsureBucketFeatures writes, decided
// from what ObserveBucketFeatures read, and how a placement rule is merged.
// Pure functions; engine.Buckets runs them over a BucketBackend.

// Placement is the part of a filer location rule the driver manages.
// Every other field of the rule (read-only, collection, fsync, volume
// growth...) belongs to the operator or to SeaweedFS's own quota
// enforcement and is kept as it is by whoever writes the rule.
type Placement struct {
	Replication string
	DiskType    string
	TTL         string
}

// PlacementOf is the placement f asks for ("" fields: not managed).
func PlacementOf(f s3admin.BucketFeatures) Placement {
	return Placement{Replication: f.Replication, DiskType: f.DiskType, TTL: f.TTL}
}

// MergePlacement is the rule cur becomes when want is applied: each field
// want sets replaces cur's, each field want leaves "" stays as cur has it
// (an operator's own setting on a field the class does not manage). changed
// reports whether the result differs from cur.
func MergePlacement(cur, want Placement) (next Placement, changed bool) {
	next = cur
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&next.Replication, want.Replication},
		{&next.DiskType, want.DiskType},
		{&next.TTL, want.TTL},
	} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	return next, next != cur
}

// FeatureWrites are the writes that bring a bucket's features to what was
// asked for.
type FeatureWrites struct {
	// Quota: set the quota field of the bucket's entry to QuotaBytes.
	Quota      bool
	QuotaBytes int64
	// Placement: merge Rule into the bucket's location rule (creating it).
	Placement bool
	Rule      Placement
	// Versioning: enable the bucket's versioning.
	Versioning bool
}

// None reports whether nothing is to be written.
func (w FeatureWrites) None() bool { return !w.Quota && !w.Placement && !w.Versioning }

// PlanFeatures decides what to write so that the bucket observed as s holds
// f: only what f asks for and s does not hold. A quota that is set but
// disabled (negative, as weed shell's s3.bucket.quota -op disable leaves
// it) or removed (0) behind the driver's back is written again. Object lock
// is never written: it can only be set at creation, and implies versioning,
// which is.
func PlanFeatures(s s3admin.BucketFeatureState, f s3admin.BucketFeatures) FeatureWrites {
	var w FeatureWrites
	if !s.HoldsQuota(f) {
		w.Quota, w.QuotaBytes = true, f.QuotaBytes
	}
	if !s.HoldsPlacement(f) {
		w.Placement, w.Rule = true, PlacementOf(f)
	}
	if !s.HoldsVersioning(f) {
		w.Versioning = true
	}
	return w
}

// FeatureReads is what an observation of f reads.
type FeatureReads struct {
	Quota, Placement, Versioning, ObjectLock, Used bool
}

// ReadsFor decides what ObserveBucketFeatures reads for f: only what f asks
// about. The used bytes go with a quota (they say how close the bucket is
// to it); versioning goes with object lock too, which implies it.
func ReadsFor(f s3admin.BucketFeatures) FeatureReads {
	return FeatureReads{
		Quota:      f.QuotaBytes > 0,
		Used:       f.QuotaBytes > 0,
		Placement:  f.HasPlacement(),
		Versioning: f.Versioning || f.ObjectLock,
		ObjectLock: f.ObjectLock,
	}
}

// FeaturesOwned decides whether EnsureBucketFeatures may change a bucket:
// "" when it may, the reason otherwise (ErrNotOwned). A quota or a rule
// changes what the bucket's holder may store, so only the record's own
// bucket gets one: never an imported bucket, never one that no record asks
// for, never one without the record's marks.
func FeaturesOwned(obs BucketObserved, own s3admin.Ownership) string {
	switch {
	case own.Imported:
		return "is imported: its features are its owner's"
	case own.Unrecorded:
		return "has no record asking for features"
	case own.Owner == "" || !obs.Marks.Owns(own):
		return "does not carry this record's marks"
	}
	return ""
}
