package grpcapi

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/bucketclass"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// DriverCreateBucket records a bucket and waits for it to exist in SeaweedFS.
// A repeat with the same name and parameters returns the same answer; the same
// name with other parameters is ALREADY_EXISTS; a bucket of that name that the
// driver did not create is ALREADY_EXISTS and is never adopted.
func (s *Server) DriverCreateBucket(ctx context.Context, req *cosi.DriverCreateBucketRequest) (*cosi.DriverCreateBucketResponse, error) {
	if err := checkName("name", req.GetName()); err != nil {
		return nil, err
	}
	class, err := bucketParams(req.GetParameters(), s.cfg.Filer)
	if err != nil {
		return nil, err
	}
	spec := store.BucketSpec{
		Name:       req.GetName(),
		BucketID:   names.BucketID(req.GetName()),
		Parameters: req.GetParameters(),
		Purge:      class.Purge,
	}
	rec, created, err := s.store.CreateBucket(ctx, spec)
	if err != nil {
		return nil, s.fail(err)
	}
	if !created {
		switch {
		case rec.Spec.Imported:
			// Recorded by a grant on a bucket the driver did not create:
			// it is not the driver's to hand out as a new bucket.
			return nil, status.Errorf(codes.AlreadyExists, "bucket %q already exists in SeaweedFS and was not created by this driver (it is imported: %s)", spec.BucketID, SettingImportBuckets)
		case rec.Spec.Name != spec.Name || !store.SameParameters(rec.Spec.Parameters, spec.Parameters):
			return nil, status.Errorf(codes.AlreadyExists, "bucket %q already exists with different parameters", spec.BucketID)
		case rec.Deleting:
			return nil, pending("the deletion of bucket "+spec.BucketID, "create it again once it is gone")
		}
	}
	s.nudge(store.KindBucket, rec.RecordName)

	last, err := s.awaitBucket(ctx, rec, func(b *store.Bucket) bool {
		return b.Status.Phase == store.PhaseReady || b.Status.Phase == store.PhaseFailed
	})
	switch {
	case errors.Is(err, errWaitTimeout):
		return nil, pending("bucket "+spec.BucketID, bucketDetail(last))
	case err != nil:
		return nil, s.fail(err)
	case last.Status.Phase == store.PhaseFailed:
		// Nothing was created for this record (the name belongs to someone
		// else), so the record goes: a failed call leaves nothing behind.
		if err := s.store.DeleteBucketIncarnation(ctx, rec.RecordName, rec.UID); err != nil {
			return nil, s.fail(err)
		}
		return nil, status.Errorf(codes.AlreadyExists, "bucket %q already exists in SeaweedFS and was not created by this driver", spec.BucketID)
	}
	return &cosi.DriverCreateBucketResponse{
		BucketId: spec.BucketID,
		BucketInfo: &cosi.Protocol{Type: &cosi.Protocol_S3{S3: &cosi.S3{
			Region:           s.cfg.Region,
			SignatureVersion: cosi.S3SignatureVersion_S3V4,
		}}},
	}, nil
}

// DriverDeleteBucket marks a bucket record deleted and waits for the
// reconciler to revoke every access of the bucket and delete it. An unknown
// bucket — never created by this driver, or already deleted — is OK and
// nothing is touched.
func (s *Server) DriverDeleteBucket(ctx context.Context, req *cosi.DriverDeleteBucketRequest) (*cosi.DriverDeleteBucketResponse, error) {
	// A blocked status counts only if its observation began after this call:
	// the cause may have gone just before it (the bucket was emptied, then
	// the sidecar retried). With several replicas this compares the leader's
	// clock with this one's; skew only delays the answer or, within the skew,
	// repeats the previous one.
	start := time.Now()
	id := req.GetBucketId()
	if err := checkName("bucket_id", id); err != nil {
		return nil, err
	}
	name := names.BucketRecord(id)
	rec, err := s.store.GetBucket(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return &cosi.DriverDeleteBucketResponse{}, nil
	}
	if err != nil {
		return nil, s.fail(err)
	}
	if rec.Spec.BucketID != id {
		return &cosi.DriverDeleteBucketResponse{}, nil
	}
	if err := s.store.DeleteBucket(ctx, name); err != nil {
		return nil, s.fail(err)
	}
	s.nudge(store.KindBucket, name)

	var last *store.Bucket
	err = s.waitFor(ctx, func() (bool, error) {
		last = s.cachedBucket(name)
		if last == nil {
			// The cache says it is gone; only the API server can say so for sure.
			_, err := s.store.GetBucket(ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				return true, nil
			}
			return false, nil
		}
		return last.Status.Phase == store.PhaseBlocked && last.Status.CheckedAt.After(start), nil
	})
	switch {
	case errors.Is(err, errWaitTimeout):
		return nil, pending("the deletion of bucket "+id, bucketDetail(last))
	case err != nil:
		return nil, s.fail(err)
	case last != nil && last.Status.Reason == store.ReasonBucketNotEmpty && rec.Spec.Parameters[bucketclass.ObjectLock] == "true":
		return nil, status.Errorf(codes.FailedPrecondition,
			"bucket %q is not empty and has object lock: its versions can be deleted only once their retention ends; its accesses are revoked and the deletion stays pending", id)
	case last != nil && last.Status.Reason == store.ReasonBucketNotEmpty:
		return nil, status.Errorf(codes.FailedPrecondition,
			"bucket %q is not empty: empty it, or set parameter %q to \"true\" in its BucketClass; its accesses are revoked and the deletion stays pending", id, ParamPurge)
	}
	return &cosi.DriverDeleteBucketResponse{}, nil
}

// bucketDetail is the reconciler's fixed-sentence explanation of a pending bucket.
func bucketDetail(b *store.Bucket) string {
	if b == nil {
		return ""
	}
	return b.Status.Message
}

// awaitBucket waits for the cached record of rec's incarnation to be done;
// last is the last such record seen (nil: none yet).
func (s *Server) awaitBucket(ctx context.Context, rec *store.Bucket, done func(*store.Bucket) bool) (last *store.Bucket, err error) {
	err = s.waitFor(ctx, func() (bool, error) {
		last = s.cachedBucket(rec.RecordName)
		if last == nil || last.UID != rec.UID {
			// Not in the cache yet, or the cache still holds an earlier
			// record of the same name whose status says nothing of this one.
			last = nil
			return false, nil
		}
		return done(last), nil
	})
	return last, err
}
