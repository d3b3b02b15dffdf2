package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/go-logr/logr"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/health"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/metrics"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// Event types and reasons the reconciler reports on the Kubernetes objects a
// record stands for. Reasons are stable identifiers users can select on.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"

	// ReasonDriftRepaired: a converged record's SeaweedFS objects had been
	// changed or removed out of band and were put back.
	ReasonDriftRepaired = "DriftRepaired"
	// ReasonCredentialsCollected: an access whose BucketAccess is gone was
	// revoked by the resync.
	ReasonCredentialsCollected = "CredentialsCollected"
	// ReasonBackendRefused: SeaweedFS answered a call with an error that
	// retrying unchanged will not fix (denied, conflict, invalid).
	ReasonBackendRefused = "SeaweedFSRefused"
	// ReasonBackendUnavailable: SeaweedFS could not be reached or failed.
	ReasonBackendUnavailable = "SeaweedFSUnavailable"
	// ReasonPlacementRuleLeft: a deleted bucket's location rule could not
	// be removed from the filer configuration.
	ReasonPlacementRuleLeft = "PlacementRuleLeft"
)

// Notice is one Event for the Kubernetes objects behind a record. Message is
// a constant sentence or built from names and error classes only: never a
// credential, never a backend's free-form text.
type Notice struct {
	Type    string
	Reason  string
	Action  string
	Message string
}

// Notifier records Notices on the Kubernetes objects a record belongs to
// (the Bucket, BucketAccess, BucketClaim). It must not block: the reconciler
// calls it on its workers.
type Notifier interface {
	NotifyBucket(rec *store.Bucket, n Notice)
	NotifyAccess(rec *store.Access, n Notice)
}

// Observer receives what happens to records, for operators (metrics, debug
// logs) and users (Events). A nil *Observer or nil fields record nothing.
type Observer struct {
	Metrics  *metrics.Metrics
	Notifier Notifier
	// Health holds the driver's readiness checks: work the reconciler does
	// anyway (a check repeated on every resync) reports there through
	// SetCheck.
	Health *health.Checks
}

// SetCheck records the outcome of the readiness check called name (nil:
// passing); see health.Checks.Set.
func (o *Observer) SetCheck(name string, err error) {
	if o != nil && o.Health != nil {
		o.Health.Set(name, err)
	}
}

func (o *Observer) metrics() *metrics.Metrics {
	if o == nil {
		return nil
	}
	return o.Metrics
}

func (o *Observer) notifyBucket(rec *store.Bucket, n Notice) {
	if o != nil && o.Notifier != nil {
		o.Notifier.NotifyBucket(rec, n)
	}
}

func (o *Observer) notifyAccess(rec *store.Access, n Notice) {
	if o != nil && o.Notifier != nil {
		o.Notifier.NotifyAccess(rec, n)
	}
}

// backendSteps are the steps that change SeaweedFS.
var backendSteps = []Step{StepCreateBucket, StepEnsureFeatures, StepDeleteBucket, StepRemovePlacement, StepEnsureAccess, StepRewriteAccess, StepDeleteUser}

func changesBackend(steps []Step) bool {
	return slices.ContainsFunc(steps, func(s Step) bool { return slices.Contains(backendSteps, s) })
}

// bucketReconciled is called once the steps of plan were applied and its
// status recorded; prior is the record's status when it was read. A record
// that was Ready and still needed backend steps had drifted: that is a
// repair.
func (r *Reconciler) bucketReconciled(ctx context.Context, rec *store.Bucket, prior store.Status, plan Plan) {
	logr.FromContextOrDiscard(ctx).V(1).Info("reconciled", "steps", plan.Steps, "phase", phaseOf(plan.Status), "deleting", rec.Deleting)
	switch st := plan.Status; {
	case slices.Contains(plan.Steps, StepRelease):
		r.Observer.metrics().ForgetBucket(rec.Spec.BucketID)
	case st != nil && st.QuotaBytes > 0:
		r.Observer.metrics().SetBucketUsage(rec.Spec.BucketID, st.UsedBytes, st.QuotaBytes)
	}
	if !rec.Deleting && prior.Phase == store.PhaseReady && changesBackend(plan.Steps) {
		r.Observer.metrics().DriftRepaired(store.KindBucket)
		msg := "the bucket was missing from SeaweedFS and was created again; the permissions of its accesses are written again"
		if !slices.Contains(plan.Steps, StepCreateBucket) {
			msg = "the bucket's quota, placement or versioning had changed in SeaweedFS and was set back to what its BucketClass asks for"
		}
		r.Observer.notifyBucket(rec, Notice{Type: EventNormal, Reason: ReasonDriftRepaired, Action: "Repair", Message: msg})
	}
	if st := plan.Status; st != nil && (st.Phase == store.PhaseBlocked || st.Phase == store.PhaseFailed) {
		action := "Create"
		if rec.Deleting {
			action = "Delete"
		}
		r.Observer.notifyBucket(rec, Notice{Type: EventWarning, Reason: st.Reason, Action: action, Message: st.Message})
	}
}

func (r *Reconciler) accessReconciled(ctx context.Context, rec *store.Access, plan Plan) {
	logr.FromContextOrDiscard(ctx).V(1).Info("reconciled", "steps", plan.Steps, "phase", phaseOf(plan.Status), "deleting", rec.Deleting)
	if !rec.Deleting && rec.Status.Phase == store.PhaseReady && changesBackend(plan.Steps) {
		r.Observer.metrics().DriftRepaired(store.KindAccess)
		r.Observer.notifyAccess(rec, Notice{Type: EventNormal, Reason: ReasonDriftRepaired, Action: "Repair",
			Message: "the access's SeaweedFS user, key or policy had changed or its bucket was created again; the access was written again with the same credentials"})
	}
}

// bucketFailed and accessFailed report a failed backend call on the record's
// objects, naming the operation, the error class and SeaweedFS's error code.
// Only records a user waits on (not yet Ready, or being deleted) report: a
// converged record's failed check during an outage tells its user nothing
// they can act on, and would cost an Event write per record and retry.
func (r *Reconciler) bucketFailed(rec *store.Bucket, err error) {
	if n, ok := backendNotice(err); ok && (rec.Status.Phase != store.PhaseReady || rec.Deleting) {
		r.Observer.notifyBucket(rec, n)
	}
}

func (r *Reconciler) accessFailed(rec *store.Access, err error) {
	if n, ok := backendNotice(err); ok && (rec.Status.Phase != store.PhaseReady || rec.Deleting) {
		r.Observer.notifyAccess(rec, n)
	}
}

// backendNotice describes a SeaweedFS error; other errors (the Kubernetes
// API) are not for the user's objects.
func backendNotice(err error) (Notice, bool) {
	var be *s3admin.Error
	if !errors.As(err, &be) {
		return Notice{}, false
	}
	n := Notice{Type: EventWarning, Reason: ReasonBackendRefused, Action: be.Op}
	if errors.Is(err, s3admin.ErrTransient) || errors.Is(err, s3admin.ErrKeyPending) {
		n.Reason = ReasonBackendUnavailable
	}
	n.Message = fmt.Sprintf("SeaweedFS %s: %s", be.Op, describe(err))
	if be.Code != "" {
		n.Message += " (" + be.Code + ")"
	}
	if be.Hint != "" {
		n.Message += "; " + be.Hint
	}
	return n, true
}

func phaseOf(st *store.Status) string {
	switch {
	case st == nil:
		return ""
	case st.Phase == store.PhasePending:
		return metrics.PhasePending
	default:
		return string(st.Phase)
	}
}

func resultOf(err error) string {
	switch {
	case err != nil && IsTerminal(err):
		return "terminal"
	case err != nil:
		return "error"
	}
	return "ok"
}
