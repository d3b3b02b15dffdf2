package grpcapi

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// Credential keys of the one "s3" entry a grant returns; the COSI sidecar
// copies them into the workload's Secret.
const (
	credS3              = "s3"
	credAccessKeyID     = "accessKeyID"
	credAccessSecretKey = "accessSecretKey"
	credEndpoint        = "endpoint"
	credRegion          = "region"
)

// DriverGrantBucketAccess records an access with freshly generated
// credentials and waits for the SeaweedFS user to exist. A repeat returns the
// byte-identical credentials recorded the first time; the same name with a
// different bucket or parameters is FAILED_PRECONDITION (never ALREADY_EXISTS,
// on which the COSI sidecars crash).
func (s *Server) DriverGrantBucketAccess(ctx context.Context, req *cosi.DriverGrantBucketAccessRequest) (*cosi.DriverGrantBucketAccessResponse, error) {
	if err := checkName("bucket_id", req.GetBucketId()); err != nil {
		return nil, err
	}
	if err := checkName("name", req.GetName()); err != nil {
		return nil, err
	}
	switch req.GetAuthenticationType() {
	case cosi.AuthenticationType_Key:
	case cosi.AuthenticationType_IAM:
		return nil, invalid("authenticationType IAM is not supported: set authenticationType: Key in the BucketAccessClass")
	default:
		return nil, invalid("authenticationType is unknown: set authenticationType: Key (exactly this spelling) in the BucketAccessClass")
	}
	mode, err := accessParams(req.GetParameters())
	if err != nil {
		return nil, err
	}

	bucketID := req.GetBucketId()
	bucket, err := s.store.GetBucket(ctx, names.BucketRecord(bucketID))
	if errors.Is(err, store.ErrNotFound) {
		// Not a bucket this driver created: a Bucket with
		// existingBucketID, which only the installation's import list
		// lets accesses be granted on.
		bucket, err = s.importBucket(ctx, bucketID)
		if err != nil {
			return nil, err
		}
	}
	switch {
	case err != nil:
		return nil, s.fail(err)
	case bucket.Spec.BucketID != bucketID || bucket.Deleting || bucket.Status.Phase == store.PhaseFailed:
		// Another bucket's record, or one being deleted: never grant on it.
		return nil, status.Errorf(codes.NotFound, "bucket %q is not managed by this driver or is being deleted", bucketID)
	case bucket.Spec.Imported && !s.importAllowed(bucketID):
		// Imported while the list allowed it; no longer allowed, it gets
		// no new accesses (those granted stay until revoked).
		return nil, notImportable(bucketID)
	case bucket.Spec.Imported && bucket.Status.Reason == store.ReasonImportedBucketMissing:
		return nil, s.importedBucketMissing(ctx, bucket)
	case bucket.Status.Phase != store.PhaseReady:
		return nil, pending("bucket "+bucketID, bucket.Status.Message)
	}

	id := names.AccessID(req.GetName())
	spec := store.AccessSpec{
		Name:     req.GetName(),
		BucketID: bucketID,
		Mode:     string(mode),
		User:     names.User(s.cfg.UserPrefix, id),
		Params:   req.GetParameters(),
	}
	// Fresh credentials are generated for every call, but only the first
	// call's are recorded: a repeat gets the recorded ones back.
	keyID, secret, err := s3admin.GenerateCredentials()
	if err != nil {
		return nil, s.fail(fmt.Errorf("generate credentials: %w", err))
	}
	rec, created, err := s.store.CreateAccess(ctx, spec, keyID, secret)
	if err != nil {
		return nil, s.fail(err)
	}
	if !created {
		switch {
		case rec.Spec.Name != spec.Name || rec.Spec.BucketID != spec.BucketID || rec.Spec.Mode != spec.Mode ||
			!store.SameParameters(rec.Spec.Params, spec.Params):
			return nil, status.Errorf(codes.FailedPrecondition,
				"access %q already exists for another bucket or with other parameters", req.GetName())
		case rec.Deleting:
			return nil, pending("the revocation of access "+req.GetName(), "")
		}
	}
	s.nudge(store.KindAccess, rec.RecordName)

	var last *store.Access
	err = s.waitFor(ctx, func() (bool, error) {
		var err error
		if last, err = s.cachedAccess(rec.RecordName); err != nil {
			// Corrupted while the grant waited.
			return false, err
		}
		if last == nil || last.UID != rec.UID {
			// Not in the cache yet, or an earlier record of the same name.
			last = nil
			return false, nil
		}
		return last.Status.Phase == store.PhaseReady || last.Status.Phase == store.PhaseFailed, nil
	})
	switch {
	case errors.Is(err, errWaitTimeout):
		detail := ""
		if last != nil {
			detail = last.Status.Message
		}
		return nil, pending("access "+req.GetName(), detail)
	case err != nil:
		return nil, s.fail(err)
	case last.Status.Phase == store.PhaseFailed:
		return nil, status.Errorf(codes.NotFound, "bucket %q is being deleted", bucketID)
	case rec.AccessKeyID == "" || rec.SecretAccessKey == "":
		// The store never reads such a record (see store.CorruptError);
		// should that ever change, no caller gets half a credential.
		return nil, s.fail(fmt.Errorf("access record %s: %w", rec.RecordName, errPartialCredential))
	}
	return &cosi.DriverGrantBucketAccessResponse{
		AccountId: rec.Spec.User,
		Credentials: map[string]*cosi.CredentialDetails{credS3: {Secrets: map[string]string{
			credAccessKeyID:     rec.AccessKeyID,
			credAccessSecretKey: rec.SecretAccessKey,
			credEndpoint:        s.cfg.Endpoint,
			credRegion:          s.cfg.Region,
		}}},
	}, nil
}

// DriverRevokeBucketAccess marks an access record deleted and waits for the
// user and all its keys to be gone from SeaweedFS. An account the driver does
// not know — never issued, or already revoked — is OK.
func (s *Server) DriverRevokeBucketAccess(ctx context.Context, req *cosi.DriverRevokeBucketAccessRequest) (*cosi.DriverRevokeBucketAccessResponse, error) {
	if err := checkName("bucket_id", req.GetBucketId()); err != nil {
		return nil, err
	}
	if err := checkName("account_id", req.GetAccountId()); err != nil {
		return nil, err
	}
	// The account is found by its access id alone, not by the configured
	// prefix: an access granted before the prefix changed must still be
	// revoked (answering OK without revoking would leave its key working).
	_, id, ok := names.AccessIDOf(req.GetAccountId())
	if !ok {
		return &cosi.DriverRevokeBucketAccessResponse{}, nil
	}
	name := names.AccessRecord(id)
	rec, err := s.store.GetAccess(ctx, name)
	var corrupt *store.CorruptError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &cosi.DriverRevokeBucketAccessResponse{}, nil
	case errors.As(err, &corrupt) && corrupt.User != "" && corrupt.User != req.GetAccountId():
		// The readable part of the record says another account.
		return &cosi.DriverRevokeBucketAccessResponse{}, nil
	case errors.As(err, &corrupt):
		// The record is the account's (its name derives from the
		// account's access id) but cannot be read: the revocation still
		// goes on, or the key would keep working until somebody repaired
		// the record. The reconciler removes the user the record's name
		// derives (reconcile.Reconciler.revokeCorruptAccess); the bucket
		// cannot be compared.
		s.log.Info("revoking an access whose record is corrupt", "record", name, "field", corrupt.Field, "problem", corrupt.Problem,
			"bucketID", req.GetBucketId(), "accountID", req.GetAccountId())
	case err != nil:
		return nil, s.fail(err)
	case rec.Spec.User != req.GetAccountId():
		// Same access id, another account: not one this driver issued.
		return &cosi.DriverRevokeBucketAccessResponse{}, nil
	case rec.Spec.BucketID != req.GetBucketId():
		// Not an access to this bucket: nothing of the caller's to revoke.
		// An error would block the caller's deletion forever (the sidecar
		// v0.2 treats any error as blocking), so it is OK, and logged.
		s.log.Info("revoke names another bucket than the access's; nothing revoked",
			"bucketID", req.GetBucketId(), "accessBucketID", rec.Spec.BucketID, "accountID", req.GetAccountId())
		return &cosi.DriverRevokeBucketAccessResponse{}, nil
	}
	if err := s.store.DeleteAccess(ctx, name); err != nil {
		return nil, s.fail(err)
	}
	s.nudge(store.KindAccess, name)
	err = s.waitFor(ctx, func() (bool, error) {
		if a, err := s.cachedAccess(name); a != nil || err != nil {
			return false, nil
		}
		_, err := s.store.GetAccess(ctx, name)
		return errors.Is(err, store.ErrNotFound), nil
	})
	switch {
	case errors.Is(err, errWaitTimeout):
		return nil, pending("the revocation of account "+req.GetAccountId(), "")
	case err != nil:
		return nil, s.fail(err)
	}
	return &cosi.DriverRevokeBucketAccessResponse{}, nil
}
