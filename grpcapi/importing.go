package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"path"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// SettingImportBuckets names the setting that allows imports, for the
// messages that refuse one.
const SettingImportBuckets = "--import-buckets (chart: importBuckets)"

// importAllowed reports whether the installation allows accesses on the
// bucket although the driver did not create it.
func (s *Server) importAllowed(bucketID string) bool {
	for _, p := range s.cfg.ImportBuckets {
		// The patterns were checked at start-up (ValidImportPatterns).
		if ok, err := path.Match(p, bucketID); err == nil && ok {
			return true
		}
	}
	return false
}

// notImportable refuses a grant on a bucket the driver did not create that
// the import list does not allow.
func notImportable(bucketID string) error {
	return status.Errorf(codes.PermissionDenied,
		"bucket %q was not created by this driver and matches no name or glob of %s", bucketID, SettingImportBuckets)
}

// ValidImportPatterns checks the names and globs of --import-buckets.
func ValidImportPatterns(patterns []string) error {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("%s: %q is not a valid glob: %w", SettingImportBuckets, p, err)
		}
	}
	return nil
}

// importBucket records a bucket the driver did not create, at the first
// grant on it (COSI never asks the driver to create a Bucket with
// existingBucketID), and waits for the reconciler to find it in
// SeaweedFS. A bucket that does not exist leaves no record behind.
func (s *Server) importBucket(ctx context.Context, bucketID string) (*store.Bucket, error) {
	switch {
	case len(s.cfg.ImportBuckets) == 0:
		return nil, status.Errorf(codes.NotFound,
			"bucket %q was not created by this driver; accesses on buckets that exist already must be allowed by %s", bucketID, SettingImportBuckets)
	case !s.importAllowed(bucketID):
		return nil, notImportable(bucketID)
	}
	if err := s3admin.ValidateBucketName(bucketID); err != nil {
		return nil, invalid("bucket_id %q of an imported bucket is not a valid S3 bucket name", bucketID)
	}
	rec, created, err := s.store.CreateBucket(ctx, store.BucketSpec{Name: bucketID, BucketID: bucketID, Imported: true})
	if err != nil {
		return nil, s.fail(err)
	}
	if !created && !rec.Spec.Imported {
		// DriverCreateBucket recorded the name in the meantime: the
		// caller treats it as the driver's own.
		return rec, nil
	}
	s.nudge(store.KindBucket, rec.RecordName)
	last, err := s.awaitBucket(ctx, rec, func(b *store.Bucket) bool {
		return b.Status.Phase == store.PhaseReady || b.Status.Reason == store.ReasonImportedBucketMissing
	})
	switch {
	case errors.Is(err, errWaitTimeout):
		return nil, pending("the import of bucket "+bucketID, bucketDetail(last))
	case err != nil:
		return nil, s.fail(err)
	case last.Status.Reason == store.ReasonImportedBucketMissing:
		return nil, s.importedBucketMissing(ctx, last)
	}
	return last, nil
}

// importedBucketMissing answers a grant on an imported bucket that does not
// exist in SeaweedFS. A record without accesses goes (an import that
// timed out before it saw the bucket missing, or this one): a failed call
// leaves nothing behind, and no later grant finds it. One with accesses
// stays: they wait for their bucket, whose owner may create it again.
func (s *Server) importedBucketMissing(ctx context.Context, rec *store.Bucket) error {
	accesses, err := s.store.ListAccessRefs(ctx, rec.RecordName)
	if err != nil {
		return s.fail(err)
	}
	if len(accesses) == 0 {
		if err := s.store.DeleteBucketIncarnation(ctx, rec.RecordName, rec.UID); err != nil {
			return s.fail(err)
		}
		// Its finalizer goes once the reconciler has seen the deletion
		// (nothing in SeaweedFS to undo).
		s.nudge(store.KindBucket, rec.RecordName)
	}
	return status.Errorf(codes.NotFound, "bucket %q does not exist in SeaweedFS", rec.Spec.BucketID)
}
