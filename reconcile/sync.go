package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/bucketclass"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// Config holds the reconciler's settings.
type Config struct {
	// UserPrefix marks SeaweedFS users as the driver's; users without it are
	// never touched.
	UserPrefix string
	// OwnerID is the installation's owner id: recorded with every new bucket
	// record and written as a tag on its bucket (see s3admin.Ownership).
	OwnerID string
	// UnfinishedInterval is how soon an access whose convergence stopped at
	// its bound (see s3admin.UnissuedKeysError) is looked at again.
	UnfinishedInterval time.Duration
	// BlockedInterval is how soon a blocked record (a non-empty bucket to
	// delete) is looked at again.
	BlockedInterval time.Duration
	// KeyPollInterval is how soon an access whose key SeaweedFS does not
	// accept yet (store.ReasonKeyPending) is asked about again.
	KeyPollInterval time.Duration
	// KeyPendingPatience is how long a key may stay unaccepted before its
	// access is reported as failing and retried with backoff instead of
	// polled.
	KeyPendingPatience time.Duration
}

// Reconciler converges SeaweedFS to one record at a time.
type Reconciler struct {
	Store *store.Store
	Admin s3admin.Admin
	Cfg   Config
	// Observer, when set, gets metrics, Events and debug logs (observe.go).
	Observer *Observer
}

// Reconcile brings SeaweedFS in line with the record named by key. It reads
// the record from the API server, not from a cache, so that every decision to
// create or delete rests on the record's current state.
func (r *Reconciler) Reconcile(ctx context.Context, key Key) (Result, error) {
	switch key.Kind {
	case store.KindBucket:
		return r.reconcileBucket(ctx, key.Name)
	case store.KindAccess:
		return r.reconcileAccess(ctx, key.Name)
	default:
		return Result{}, Terminal(fmt.Errorf("unknown record kind %q", key.Kind))
	}
}

func (r *Reconciler) reconcileBucket(ctx context.Context, name string) (Result, error) {
	rec, err := r.Store.GetBucket(ctx, name)
	var corrupt *store.CorruptError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Result{}, nil // released: nothing left to do
	case errors.As(err, &corrupt):
		return r.corrupt(ctx, corrupt)
	case err != nil:
		return Result{}, unreadable(err)
	}
	class, err := bucketclass.Parse(rec.Spec.Parameters)
	if err != nil {
		// Validated when recorded: only an edit by hand gets here, and
		// the record cannot say what it asks for until it is repaired.
		return Result{}, Terminal(fmt.Errorf("bucket record %s: parameters: %w", name, err))
	}
	observedAt := time.Now().UTC()
	var obs BucketObserved
	if obs.Bucket, err = r.Admin.ObserveBucket(ctx, rec.Spec.BucketID, Ownership(rec, r.Cfg.OwnerID)); err != nil {
		return Result{}, r.recordBucketError(ctx, rec, fmt.Errorf("observe bucket: %w", err))
	}
	if f := class.Features; !f.Zero() && !rec.Deleting && !rec.Spec.Imported && obs.Bucket.Exists && obs.Bucket.Owned {
		obs.Features, err = r.Admin.ObserveBucketFeatures(ctx, rec.Spec.BucketID, f)
		switch {
		case errors.Is(err, s3admin.ErrUnsupported):
			// The status says it in a constant sentence; the log says
			// which (no filer, or a filer configuration it cannot read).
			logr.FromContextOrDiscard(ctx).Info("bucket features cannot be read", "bucketID", rec.Spec.BucketID, "error", err.Error())
			obs.FeaturesUnsupported = true
		case err != nil:
			// A bucket deleted since it was observed (ErrNotFound) is
			// created again by the retry's plan.
			return Result{}, r.recordBucketError(ctx, rec, fmt.Errorf("observe bucket features: %w", err))
		}
	}
	if rec.Deleting {
		accesses, err := r.Store.ListAccessRefs(ctx, rec.RecordName)
		if err != nil {
			return Result{}, err
		}
		obs.Accesses = len(accesses)
	}

	prior := rec.Status // the steps may update rec.Status
	plan := PlanBucket(rec, obs)
steps:
	for _, step := range plan.Steps {
		err := r.applyBucketStep(ctx, rec, step)
		switch {
		case err == nil:
		case errors.Is(err, s3admin.ErrNotEmpty) && !rec.Spec.Purge:
			// Written to between observing and deleting: blocked, not failed.
			// (With purge, new data interrupted the purge: the error below
			// retries it.)
			plan = PlanBucket(rec, BucketObserved{Bucket: s3admin.BucketState{Exists: true, Owned: true}})
			break steps
		case errors.Is(err, s3admin.ErrUnsupported) && step == StepEnsureFeatures:
			// The class asks for a quota or placement and this driver
			// cannot set them (no filer, or a filer configuration it
			// cannot read): the bucket exists and is marked, and its status
			// says what is not kept (see PlanBucket); every resync looks
			// again, so fixing the cause needs no retry storm now.
			logr.FromContextOrDiscard(ctx).Info("bucket features cannot be set", "bucketID", rec.Spec.BucketID, "error", err.Error())
			plan = PlanBucket(rec, BucketObserved{Bucket: s3admin.BucketState{Exists: true, Owned: true}, FeaturesUnsupported: true})
			break steps
		case errors.Is(err, s3admin.ErrUnsupported) && step == StepRemovePlacement:
			// The bucket is gone; its rule cannot be removed by this
			// driver (a filer configuration it cannot read or rewrite;
			// without the filer it sees no rule at all). Holding the record would hold the deletion
			// forever for a rule an operator can remove: it is released,
			// and the rule left is named in the log and an Event.
			logr.FromContextOrDiscard(ctx).Info("placement rule of a deleted bucket left in the filer configuration",
				"bucketID", rec.Spec.BucketID, "locationPrefix", "/buckets/"+rec.Spec.BucketID+"/", "error", err.Error())
			r.Observer.notifyBucket(rec, Notice{Type: EventWarning, Reason: ReasonPlacementRuleLeft, Action: "Delete",
				Message: "the bucket is deleted; its location rule in the filer configuration could not be removed (see the driver log): remove it with weed shell fs.configure -locationPrefix=/buckets/<name>/ -delete -apply"})
			continue
		case errors.Is(err, s3admin.ErrNotOwned) && step == StepEnsureFeatures && !rec.Deleting:
			// The marks went between the observation and the write (a
			// tenant re-tagged or re-created the bucket): not a name that
			// was never ours, so not terminal. The retry observes again,
			// and a bucket that lost its marks is blocked as such.
			return Result{}, r.recordBucketError(ctx, rec, fmt.Errorf("%s: %w", step, err))
		case errors.Is(err, s3admin.ErrNotOwned) && rec.Deleting:
			// SeaweedFS says somebody else created the bucket now bearing
			// this name (ours is gone, or never was): nothing of the record's
			// is left to delete, and theirs is not touched.
			log := logr.FromContextOrDiscard(ctx)
			log.Info("bucket of a deleted record was not created by this driver; left untouched", "bucketID", rec.Spec.BucketID)
			if err := r.applyBucketStep(ctx, rec, StepRelease); err != nil {
				return Result{}, err
			}
			return Result{}, nil
		case errors.Is(err, s3admin.ErrNotOwned):
			// The name belongs to somebody else: terminal, never adopted.
			plan = Plan{Status: notOwned(rec.Status.CreateAttempted)}
			break steps
		default:
			return Result{}, r.recordBucketError(ctx, rec, fmt.Errorf("%s: %w", step, err))
		}
		if step == StepRelease {
			r.bucketReconciled(ctx, rec, prior, plan)
			return Result{}, nil
		}
	}
	if plan.Status != nil {
		st := *plan.Status
		if st.Phase == store.PhaseBlocked {
			// Written on every check, even when nothing else changed: see
			// store.Status.CheckedAt.
			st.CheckedAt = observedAt
		}
		if err := r.Store.SetBucketStatus(ctx, rec.RecordName, st); err != nil && !errors.Is(err, store.ErrNotFound) {
			return Result{}, err
		}
	}
	r.bucketReconciled(ctx, rec, prior, plan)
	return r.result(plan), nil
}

func (r *Reconciler) applyBucketStep(ctx context.Context, rec *store.Bucket, step Step) error {
	id := rec.Spec.BucketID
	switch step {
	case StepMarkCreateAttempted:
		// Pending, not Ready: a bucket found unmarked after this point may be
		// adopted as the one being created (see PlanBucket). The count moves
		// on before the create, so that no access written before it can pass
		// for one written after it; an attempt repeated after a failure or a
		// crash only costs the accesses one more policy write. The marks are
		// recorded before any bucket can carry them; a record that has marks
		// keeps them.
		marker, err := s3admin.NewMarker()
		if err != nil {
			return err
		}
		st, err := r.Store.MarkCreateAttempted(ctx, rec.RecordName, "creating the bucket", r.Cfg.OwnerID, marker)
		if err != nil {
			return err
		}
		// The next step marks the bucket with what the record now holds.
		rec.Status = st
		return nil
	case StepCreateBucket:
		return r.Admin.CreateBucket(ctx, id, Ownership(rec, r.Cfg.OwnerID), s3admin.CreateOptions{ObjectLock: FeaturesOf(rec).ObjectLock})
	case StepEnsureFeatures:
		_, err := r.Admin.EnsureBucketFeatures(ctx, id, Ownership(rec, r.Cfg.OwnerID), FeaturesOf(rec))
		return err
	case StepRemovePlacement:
		// ErrNotOwned (a bucket of the name exists again, somebody
		// else's) is handled by the caller like a foreign bucket: the
		// record is released and the rule left to whoever holds the name.
		return r.Admin.RemoveBucketPlacement(ctx, id, Ownership(rec, r.Cfg.OwnerID))
	case StepRevokeAccesses:
		// Revoking is marking each access record deleted; their own reconciles
		// remove the users, and this bucket waits until the records are gone.
		accesses, err := r.Store.ListAccessRefs(ctx, rec.RecordName)
		if err != nil {
			return err
		}
		for _, a := range accesses {
			if !a.Deleting {
				if err := r.Store.DeleteAccess(ctx, a.RecordName); err != nil {
					return err
				}
			}
		}
		return nil
	case StepDeleteBucket:
		return r.Admin.DeleteBucket(ctx, id, Ownership(rec, r.Cfg.OwnerID), rec.Spec.Purge)
	case StepRelease:
		return r.Store.ReleaseBucket(ctx, rec.RecordName)
	default:
		return Terminal(fmt.Errorf("unknown bucket step %q", step))
	}
}

func (r *Reconciler) reconcileAccess(ctx context.Context, name string) (Result, error) {
	rec, err := r.Store.GetAccess(ctx, name)
	var corrupt *store.CorruptError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Result{}, nil
	case errors.As(err, &corrupt):
		return r.corrupt(ctx, corrupt)
	case err != nil:
		return Result{}, unreadable(err)
	}
	prefix, ok := UserPrefixOf(rec)
	if !ok {
		// Never act on a user the record cannot have named itself.
		return Result{}, Terminal(fmt.Errorf("access record %s names user %q, not one derived from its access id", name, rec.Spec.User))
	}
	var obs AccessObserved
	if obs.User, err = r.Admin.ObserveUser(ctx, rec.Spec.User); err != nil {
		return Result{}, r.recordAccessError(ctx, rec, fmt.Errorf("observe user: %w", err))
	}
	if !rec.Deleting {
		b, err := r.Store.GetBucket(ctx, names.BucketRecord(rec.Spec.BucketID))
		switch {
		case errors.Is(err, store.ErrNotFound):
		case errors.As(err, &corrupt):
			// There and unreadable is not absent: the access is neither
			// written nor revoked until its bucket record reads again (the
			// bucket record's own reconcile reports it).
			return Result{}, Terminal(fmt.Errorf("the bucket record of access record %s: %w", name, err))
		case err != nil:
			return Result{}, err
		default:
			obs.Bucket = b
		}
	}

	plan := Access(rec, obs)
	for _, step := range plan.Steps {
		err := r.applyAccessStep(ctx, rec, prefix, obs.Bucket, step)
		var unissued *s3admin.UnissuedKeysError
		if errors.As(err, &unissued) {
			// Keys the user minted for itself (or someone added) are removed
			// a few at a time, so that a user with hundreds of them cannot
			// hold up every other grant and revoke: the rest, and the check
			// that the user converged, come on the next pass.
			r.Observer.metrics().UnissuedKeysRemoved(unissued.Removed)
			logr.FromContextOrDiscard(ctx).Info("removed access keys the driver did not issue",
				"user", unissued.User, "removed", unissued.Removed, "remaining", unissued.Remaining)
			return Result{RequeueAfter: r.Cfg.UnfinishedInterval}, nil
		}
		if errors.Is(err, s3admin.ErrKeyPending) {
			return r.keyPending(ctx, rec, obs.Bucket, err)
		}
		if errors.Is(err, s3admin.ErrRevocationPending) {
			return r.revocationPending(ctx, rec, err)
		}
		if err != nil {
			return Result{}, r.recordAccessError(ctx, rec, fmt.Errorf("%s: %w", step, err))
		}
		if step == StepRelease {
			r.accessReconciled(ctx, rec, plan)
			return Result{}, nil
		}
	}
	if plan.Status != nil {
		if err := r.Store.SetAccessStatus(ctx, rec.RecordName, *plan.Status); err != nil && !errors.Is(err, store.ErrNotFound) {
			return Result{}, err
		}
	}
	r.accessReconciled(ctx, rec, plan)
	return r.result(plan), nil
}

// keyPending records that the access is written for the bucket's current
// creation and that its key waits for SeaweedFS to accept it, and polls.
// Polling is not a failure: it holds no worker while the S3 gateways work
// through their reloads, its interval does not grow the way a failure's
// backoff does (a burst of grants would otherwise be answered seconds after
// their keys work), and it writes nothing to SeaweedFS again. A key still
// pending after KeyPendingPatience (counted from the status's transition to
// KeyPending) is reported and retried with backoff like any other failure,
// and stays KeyPending: the record turns Ready only once the key is seen
// accepted.
func (r *Reconciler) keyPending(ctx context.Context, rec *store.Access, bucket *store.Bucket, err error) (Result, error) {
	st := accessStatus(rec, store.PhasePending, store.ReasonKeyPending, "waiting for SeaweedFS to accept the new access key")
	if rec.Status.Phase == store.PhaseReady {
		// The key was accepted before (a drifted user was written again):
		// the workload holds it already, and the next resync checks the
		// user again.
		st = accessStatus(rec, store.PhaseReady, "", "")
	}
	st.BucketCreations = bucket.Status.Creations
	return r.poll(ctx, rec, st, err)
}

// revocationPending records that the access's user is deleted and its key
// still accepted, and polls, as keyPending does for a new key: a gateway's
// reload is no failure. One still accepted after KeyPendingPatience is
// reported and retried with backoff like any other failure; the record,
// which holds the key, stays until the key is refused.
func (r *Reconciler) revocationPending(ctx context.Context, rec *store.Access, err error) (Result, error) {
	return r.poll(ctx, rec, accessStatus(rec, store.PhasePending, store.ReasonRevocationPending, "waiting for SeaweedFS to refuse the revoked access key"), err)
}

// poll records st and asks SeaweedFS again after KeyPollInterval. A Ready
// st needs no asking. A record that has been at st's reason for
// KeyPendingPatience already (counted from the status's transition to it)
// is reported with err and retried with backoff instead.
func (r *Reconciler) poll(ctx context.Context, rec *store.Access, st *store.Status, err error) (Result, error) {
	if err := r.Store.SetAccessStatus(ctx, rec.RecordName, *st); err != nil && !errors.Is(err, store.ErrNotFound) {
		return Result{}, err
	}
	switch {
	case st.Phase == store.PhaseReady:
		return Result{}, nil
	case rec.Status.Reason == st.Reason && time.Since(rec.Status.LastTransition) >= r.Cfg.KeyPendingPatience:
		r.accessFailed(rec, err)
		return Result{}, err
	}
	return Result{RequeueAfter: r.Cfg.KeyPollInterval}, nil
}

// accessOf is the s3admin access a record asks for; bucket nil (a
// revocation, which needs no bucket record) leaves its BucketOwner unset.
func accessOf(rec *store.Access, prefix string, bucket *store.Bucket, ownerID string) s3admin.Access {
	a := s3admin.Access{
		User:            rec.Spec.User,
		Bucket:          rec.Spec.BucketID,
		Mode:            s3admin.Mode(rec.Spec.Mode),
		AccessKeyID:     rec.AccessKeyID,
		SecretAccessKey: rec.SecretAccessKey,
		UserPrefix:      prefix,
	}
	if bucket != nil {
		a.BucketOwner = Ownership(bucket, ownerID)
	}
	return a
}

// applyAccessStep runs one step; prefix is the one the record's user was
// named with (see UserPrefixOf), bucket the access's bucket record (nil when
// there is none, which Access never pairs with a write).
func (r *Reconciler) applyAccessStep(ctx context.Context, rec *store.Access, prefix string, bucket *store.Bucket, step Step) error {
	switch step {
	case StepEnsureAccess, StepRewriteAccess:
		if bucket == nil {
			return fmt.Errorf("%s without a bucket record", step)
		}
		a := accessOf(rec, prefix, bucket, r.Cfg.OwnerID)
		a.RewritePolicy = step == StepRewriteAccess
		_, err := r.Admin.EnsureAccess(ctx, a)
		return err
	case StepConfirmKey:
		if bucket == nil {
			return fmt.Errorf("%s without a bucket record", step)
		}
		accepted, err := r.Admin.KeyAccepted(ctx, accessOf(rec, prefix, bucket, r.Cfg.OwnerID))
		if err == nil && !accepted {
			err = s3admin.NewError("KeyAccepted", s3admin.ErrKeyPending, "user %q", rec.Spec.User)
		}
		return err
	case StepDeleteUser:
		return r.Admin.DeleteUser(ctx, rec.Spec.User, prefix)
	case StepConfirmRevoked:
		accepted, err := r.Admin.KeyAccepted(ctx, accessOf(rec, prefix, nil, r.Cfg.OwnerID))
		if errors.Is(err, s3admin.ErrNotFound) {
			// The bucket is gone (NoSuchBucket), which SeaweedFS says only
			// after it authenticated the request: the key still works.
			accepted, err = true, nil
		}
		if err == nil && accepted {
			err = s3admin.NewError("KeyAccepted", s3admin.ErrRevocationPending, "user %q", rec.Spec.User)
		}
		return err
	case StepRevokeSelf:
		return r.Store.DeleteAccess(ctx, rec.RecordName)
	case StepRelease:
		return r.Store.ReleaseAccess(ctx, rec.RecordName)
	default:
		return Terminal(fmt.Errorf("unknown access step %q", step))
	}
}

func (r *Reconciler) result(p Plan) Result {
	switch {
	case p.Wait:
		// Waiting on other records (a bucket on the release of its
		// accesses): their changes queue this record again, so this is only
		// a safety net, and it backs off, because a user that cannot be
		// deleted would otherwise be polled twice a second forever.
		return Result{Requeue: true}
	case p.Status != nil && p.Status.Phase == store.PhaseBlocked:
		return Result{RequeueAfter: r.Cfg.BlockedInterval}
	}
	return Result{}
}

// recordBucketError puts a failed attempt into the record's status, so that a
// handler waiting on the record can say why it is still pending, and returns
// err for the workqueue to retry with backoff. Only the error's class goes into
// the status; messages from the backend stay in the logs.
func (r *Reconciler) recordBucketError(ctx context.Context, rec *store.Bucket, err error) error {
	r.bucketFailed(rec, err)
	if rec.Status.Phase != store.PhaseReady && !rec.Deleting {
		st := rec.Status
		st.Phase, st.Reason, st.Message = store.PhasePending, store.ReasonBackendError, describe(err)
		_ = r.Store.SetBucketStatus(ctx, rec.RecordName, st) // best effort: the error below is what counts
	}
	return err
}

func (r *Reconciler) recordAccessError(ctx context.Context, rec *store.Access, err error) error {
	r.accessFailed(rec, err)
	if rec.Status.Phase != store.PhaseReady && !rec.Deleting {
		st := rec.Status
		st.Phase, st.Reason, st.Message = store.PhasePending, store.ReasonBackendError, describe(err)
		_ = r.Store.SetAccessStatus(ctx, rec.RecordName, st)
	}
	return err
}

// describe says in a constant sentence which class of backend failure happened.
func describe(err error) string {
	switch {
	case errors.Is(err, s3admin.ErrAccessDenied):
		return "SeaweedFS refused the driver's admin credentials or IAM writes are disabled"
	case errors.Is(err, s3admin.ErrTransient):
		return "SeaweedFS is unavailable or timed out"
	case errors.Is(err, s3admin.ErrKeyPending):
		return "SeaweedFS has not accepted the new access key for a while"
	case errors.Is(err, s3admin.ErrAlreadyExists):
		return "SeaweedFS reports a conflicting object"
	default:
		return "SeaweedFS call failed"
	}
}

// unreadable classifies a failed record read. A record in a format newer than
// this driver's is left exactly as it is, in SeaweedFS too: retrying cannot
// make it readable (only a driver that understands it can), so it is terminal;
// the record is looked at again when it changes. Everything else (the API
// server unavailable, say) is retried.
func unreadable(err error) error {
	var fe *store.FormatError
	if errors.As(err, &fe) {
		return Terminal(err)
	}
	return err
}
