package engine

import (
	"context"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// ObserveBucketFeatures implements Admin.
func (e *Buckets) ObserveBucketFeatures(ctx context.Context, name string, f s3admin.BucketFeatures) (s3admin.BucketFeatureState, error) {
	return s3admin.BucketFeatureState{}, s3admin.NewError("ObserveBucketFeatures", s3admin.ErrUnsupported, "bucket %q", name)
}

// EnsureBucketFeatures implements Admin.
func (e *Buckets) EnsureBucketFeatures(ctx context.Context, name string, own s3admin.Ownership, f s3admin.BucketFeatures) (bool, error) {
	return false, s3admin.NewError("EnsureBucketFeatures", s3admin.ErrUnsupported, "bucket %q", name)
}

// RemoveBucketPlacement implements Admin.
func (e *Buckets) RemoveBucketPlacement(ctx context.Context, name string) error {
	return s3admin.NewError("RemoveBucketPlacement", s3admin.ErrUnsupported, "bucket %q", name)
}
