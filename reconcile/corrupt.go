package reconcile

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// ReasonRecordCorrupt is the Event reason for a record that cannot be read
// (see store.CorruptError); the record's status carries the same reason.
const ReasonRecordCorrupt = store.ReasonRecordCorrupt

// LogRecordCorrupt is the message of the log line for a corrupt record; its
// keys name the record, the field and the problem.
const LogRecordCorrupt = "record is corrupt; nothing is changed in SeaweedFS for it until it is repaired or deleted"

// RecordNotifier is implemented by a Notifier that can also report on the
// records themselves: a record that cannot be read may name no object of
// the user's.
type RecordNotifier interface {
	NotifyRecord(kind, namespace, record string, uid types.UID, n Notice)
}

func (o *Observer) notifyRecord(kind, namespace, record string, uid types.UID, n Notice) {
	if o == nil || o.Notifier == nil {
		return
	}
	if rn, ok := o.Notifier.(RecordNotifier); ok {
		rn.NotifyRecord(kind, namespace, record, uid, n)
	}
}

// corrupt handles a record that cannot be trusted. Nothing is decided from
// it: its bucket is neither created nor deleted, its access neither written
// nor revoked. It is Failed, with an Event and a log line naming the field,
// until somebody repairs it (its change queues it again) or deletes it. The
// one exception is an access record being revoked: its user is removed when
// the record's name says which user it is (see revokeCorruptAccess).
func (r *Reconciler) corrupt(ctx context.Context, ce *store.CorruptError) (Result, error) {
	if ce.Kind == store.KindAccess && ce.Deleting {
		return r.revokeCorruptAccess(ctx, ce)
	}
	log := logr.FromContextOrDiscard(ctx)
	log.Error(ce, LogRecordCorrupt, "field", ce.Field, "problem", ce.Problem, "deleting", ce.Deleting)
	mark := r.Store.MarkAccessCorrupt
	if ce.Kind == store.KindBucket {
		mark = r.Store.MarkBucketCorrupt
	}
	if err := mark(ctx, ce); err != nil && !errors.Is(err, store.ErrNotFound) {
		return Result{}, err
	}
	r.Observer.notifyRecord(ce.Kind, r.Store.Namespace(), ce.Record, ce.UID, Notice{Type: EventWarning, Reason: ReasonRecordCorrupt, Action: "Read",
		Message: fmt.Sprintf("the record's %s %s: nothing is changed in SeaweedFS for it until it is repaired or deleted", ce.Field, ce.Problem)})
	return Result{}, nil
}

// revokeCorruptAccess removes the user of a revoked access record that
// cannot be read, then lets the record go: a revocation must not wait for a
// repair while the key keeps working. The user is the one the record's spec
// names when the spec reads and names a user derived from the record's
// name; otherwise the one the record's name derives with the configured
// prefix (an access id belongs to one access only). A user of the access
// named under an earlier prefix cannot be known then: the log line says so.
func (r *Reconciler) revokeCorruptAccess(ctx context.Context, ce *store.CorruptError) (Result, error) {
	log := logr.FromContextOrDiscard(ctx).WithValues("field", ce.Field, "problem", ce.Problem)
	user, from := ce.User, "spec"
	if user == "" {
		id, ok := names.AccessIDOfRecord(ce.Record)
		if !ok {
			// Never reached for a record the driver wrote: its name is
			// derived from its access id.
			log.Error(ce, "revoked access record is corrupt and its name is not an access record's; no SeaweedFS user can be derived from it, and the record is kept")
			return Result{}, nil
		}
		user, from = names.User(r.Cfg.UserPrefix, id), "configuredPrefix"
	}
	prefix, _, _ := names.AccessIDOf(user)
	if err := r.Admin.DeleteUser(ctx, user, prefix); err != nil {
		return Result{}, fmt.Errorf("delete the user of corrupt access record %s: %w", ce.Record, err)
	}
	if from == "spec" {
		log.Info("deleted the user of a revoked access record that is corrupt", "user", user)
	} else {
		log.Info("deleted the user of a revoked access record that is corrupt, named with the configured prefix: the record's spec does not say the prefix it was granted under; had that been an earlier prefix, its user is not deleted",
			"user", user)
	}
	if err := r.Store.ReleaseAccess(ctx, ce.Record); err != nil && !errors.Is(err, store.ErrNotFound) {
		return Result{}, err
	}
	return Result{}, nil
}
