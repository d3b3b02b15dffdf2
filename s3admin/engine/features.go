package engine

import (
	"context"
	"errors"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// needsFiler refuses f on a backend without the filer, before any request:
// SeaweedFS has no S3 or IAM request for quotas or placement.
func (e *Buckets) needsFiler(op, name string, f s3admin.BucketFeatures) error {
	if f.NeedsFiler() && !e.Be.Filer() {
		return s3admin.NewError(op, s3admin.ErrUnsupported,
			"bucket %q: quotas and placement rules are kept in the SeaweedFS filer; give the driver its gRPC address (--filer-grpc-address)", name)
	}
	return nil
}

// ObserveBucketFeatures implements Admin.
func (e *Buckets) ObserveBucketFeatures(ctx context.Context, name string, f s3admin.BucketFeatures) (s3admin.BucketFeatureState, error) {
	const op = "ObserveBucketFeatures"
	if err := validFeatures(name, f); err != nil {
		return s3admin.BucketFeatureState{}, err
	}
	if err := e.needsFiler(op, name, f); err != nil {
		return s3admin.BucketFeatureState{}, err
	}
	// One read of the tags says whether the bucket exists (a missing bucket
	// reads reliably; see marks), whatever f asks for.
	obs, _, err := e.readMarks(ctx, name)
	switch {
	case err != nil:
		return s3admin.BucketFeatureState{}, err
	case !obs.Exists:
		return s3admin.BucketFeatureState{}, s3admin.NewError(op, s3admin.ErrNotFound, "bucket %q does not exist", name)
	}
	return e.observeFeatures(ctx, name, f)
}

func validFeatures(name string, f s3admin.BucketFeatures) error {
	if err := s3admin.ValidateBucketName(name); err != nil {
		return err
	}
	return s3admin.ValidateFeatures(f)
}

// observeFeatures reads what plan.ReadsFor(f) says, and nothing else.
func (e *Buckets) observeFeatures(ctx context.Context, name string, f s3admin.BucketFeatures) (s3admin.BucketFeatureState, error) {
	var s s3admin.BucketFeatureState
	r := plan.ReadsFor(f)
	var err error
	if r.Quota {
		if s.QuotaBytes, err = e.Be.Quota(ctx, name); err != nil {
			return s3admin.BucketFeatureState{}, err
		}
	}
	if r.Placement {
		p, err := e.Be.Placement(ctx, name)
		if err != nil {
			return s3admin.BucketFeatureState{}, err
		}
		s.Replication, s.DiskType, s.TTL = p.Replication, p.DiskType, p.TTL
	}
	if r.Versioning {
		if s.Versioning, err = e.Be.Versioning(ctx, name); err != nil {
			return s3admin.BucketFeatureState{}, err
		}
	}
	if r.ObjectLock {
		if s.ObjectLock, err = e.Be.ObjectLock(ctx, name); err != nil {
			return s3admin.BucketFeatureState{}, err
		}
	}
	if r.Used {
		// The used bytes are informative (how close the bucket is to its
		// quota): a store that cannot tell does not fail the observation.
		if s.UsedBytes, err = e.Be.UsedBytes(ctx, name); err != nil {
			if ctx.Err() != nil {
				return s3admin.BucketFeatureState{}, err
			}
			s.UsedBytes = -1
		}
	}
	return s, nil
}

// EnsureBucketFeatures implements Admin.
//
// Ownership is the bucket's marks, read as CheckGrantBucket reads them: the
// record's bucket was claimed (its creator proven) when it was created,
// and a feature only limits what the bucket's holder may store. Marks can
// be copied onto a tenant's bucket, which could then get the record's
// quota or rule: that only limits the tenant, who asked for it by copying
// them.
func (e *Buckets) EnsureBucketFeatures(ctx context.Context, name string, own s3admin.Ownership, f s3admin.BucketFeatures) (bool, error) {
	const op = "EnsureBucketFeatures"
	if err := validFeatures(name, f); err != nil {
		return false, err
	}
	if own.Imported || own.Unrecorded {
		// Refused before any read: no marks can make such a bucket ours.
		return false, s3admin.NewError(op, s3admin.ErrNotOwned, "bucket %q %s", name, plan.FeaturesOwned(plan.BucketObserved{}, own))
	}
	if err := e.needsFiler(op, name, f); err != nil {
		return false, err
	}
	unlock, err := e.Locks.Lock(ctx, name)
	if err != nil {
		return false, err
	}
	defer unlock()
	obs, _, err := e.marks(ctx, name, own)
	if err != nil {
		return false, err
	}
	if !obs.Exists {
		return false, s3admin.NewError(op, s3admin.ErrNotFound, "bucket %q does not exist", name)
	}
	if reason := plan.FeaturesOwned(obs, own); reason != "" {
		return false, s3admin.NewError(op, s3admin.ErrNotOwned, "bucket %q %s", name, reason)
	}
	st, err := e.observeFeatures(ctx, name, f)
	if err != nil {
		return false, err
	}
	w := plan.PlanFeatures(st, f)
	changed := false
	if w.Quota {
		if err := e.Be.SetQuota(ctx, name, w.QuotaBytes); err != nil {
			return changed, err
		}
		changed = true
	}
	if w.Placement {
		// Merged again inside the write, against the rule as it is then:
		// the observation may be older than another bucket's write of the
		// same file.
		wrote, err := e.Be.SetPlacement(ctx, name, w.Rule)
		changed = changed || wrote
		if err != nil {
			return changed, err
		}
	}
	if w.Versioning {
		if err := e.Be.EnableVersioning(ctx, name); err != nil {
			return changed, err
		}
		changed = true
	}
	return changed, nil
}

// RemoveBucketPlacement implements Admin.
func (e *Buckets) RemoveBucketPlacement(ctx context.Context, name string, own s3admin.Ownership) error {
	const op = "RemoveBucketPlacement"
	if err := s3admin.ValidateBucketName(name); err != nil {
		return err
	}
	unlock, err := e.Locks.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	obs, _, err := e.readMarks(ctx, name)
	switch {
	case err != nil:
		return err
	case obs.Exists && own.Owner != "" && obs.Marks.Owns(own):
		// The record's own bucket, deleted a moment ago, read from a
		// gateway whose cache has not caught up: the rule goes once the
		// bucket reads as gone. Releasing the record now would leave the
		// rule for good.
		return s3admin.NewError(op, s3admin.ErrTransient, "bucket %q still reads as existing: its placement rule is removed once it is gone", name)
	case obs.Exists:
		// Whoever holds the name now may rely on the rule: it goes only
		// with the bucket.
		return s3admin.NewError(op, s3admin.ErrNotOwned, "bucket %q exists: its placement rule stays", name)
	case !e.Be.Filer():
		// Without the filer no rule could have been written by this client.
		return nil
	}
	// Left open: a bucket of the name created by somebody else between the
	// read above and the removal loses the rule (the bucket lock keeps only
	// the driver's own creates apart). Such a bucket was never the record's,
	// and the rule was the record's to remove.
	err = e.Be.RemovePlacement(ctx, name)
	if errors.Is(err, s3admin.ErrNotFound) {
		return nil
	}
	return err
}
