package store

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/crashpoint"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
)

// CreateBucket records a bucket. When a record by the same name already
// exists (a repeat, or a concurrent identical call) it returns that record and
// created=false; the caller compares specs.
func (s *Store) CreateBucket(ctx context.Context, spec BucketSpec) (b *Bucket, created bool, err error) {
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, false, fmt.Errorf("encode bucket spec: %w", err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:        names.BucketRecord(spec.BucketID),
			Namespace:   s.namespace,
			Labels:      recordLabels(KindBucket),
			Annotations: formatAnnotations(formatOf(spec.Imported)),
			Finalizers:  []string{Finalizer},
		},
		Data: map[string]string{keySpec: string(specJSON)},
	}
	crashpoint.Hit(crashpoint.Before(crashpoint.StoreCreateBucket))
	out, err := s.client.CoreV1().ConfigMaps(s.namespace).Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, err := s.GetBucket(ctx, cm.Name)
		return existing, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("create bucket record %s: %w", cm.Name, err)
	}
	crashpoint.Hit(crashpoint.After(crashpoint.StoreCreateBucket))
	b, err = BucketFromConfigMap(out)
	return b, true, err
}

// GetBucket reads a bucket record by record name.
func (s *Store) GetBucket(ctx context.Context, recordName string) (*Bucket, error) {
	cm, err := s.client.CoreV1().ConfigMaps(s.namespace).Get(ctx, recordName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("bucket record %s: %w", recordName, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get bucket record %s: %w", recordName, err)
	}
	// A ConfigMap at a record's name is the record, whatever its labels
	// say: one that lost a label is corrupt, not absent (absence revokes
	// every access of the bucket).
	return BucketFromConfigMap(cm)
}

// DeleteBucket marks a bucket record for deletion. The finalizer keeps it
// until the reconciler has removed the bucket; a missing record is not an error.
func (s *Store) DeleteBucket(ctx context.Context, recordName string) error {
	crashpoint.Hit(crashpoint.Before(crashpoint.StoreDeleteBucket))
	err := s.client.CoreV1().ConfigMaps(s.namespace).Delete(ctx, recordName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete bucket record %s: %w", recordName, err)
	}
	crashpoint.Hit(crashpoint.After(crashpoint.StoreDeleteBucket))
	return nil
}

// DeleteBucketIncarnation is DeleteBucket for one incarnation of the record:
// a later record of the same name (another UID) is left alone.
func (s *Store) DeleteBucketIncarnation(ctx context.Context, recordName string, uid types.UID) error {
	crashpoint.Hit(crashpoint.Before(crashpoint.StoreDeleteBucket))
	err := s.client.CoreV1().ConfigMaps(s.namespace).Delete(ctx, recordName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete bucket record %s: %w", recordName, err)
	}
	crashpoint.Hit(crashpoint.After(crashpoint.StoreDeleteBucket))
	return nil
}

// SetBucketStatus writes the observed status. It works on a fresh read and
// retries on conflicts, because the handlers may have changed the record
// (marked it deleted) since the reconciler read it.
func (s *Store) SetBucketStatus(ctx context.Context, recordName string, st Status) error {
	return s.updateBucketStatus(ctx, recordName, crashpoint.StoreSetBucketStatus, func(Status) Status { return st }, nil)
}

// MarkCreateAttempted records, before the reconciler asks SeaweedFS to create
// the bucket, that it is about to: Pending with CreateAttempted, and one more
// creation counted. The count is taken from the fresh read the update is
// made on, so that no two attempts share a number whoever makes them. owner
// and marker are recorded unless the record already has its own, which are
// kept; the status returned says which are in force.
func (s *Store) MarkCreateAttempted(ctx context.Context, recordName, message, owner, marker string) (Status, error) {
	var recorded Status
	err := s.updateBucketStatus(ctx, recordName, crashpoint.StoreMarkCreateAttempted, func(old Status) Status {
		return Status{Phase: PhasePending, Message: message, CreateAttempted: true, Creations: old.Creations + 1,
			Owner: owner, Marker: marker}
	}, func(st Status) { recorded = st })
	return recorded, err
}

// updateBucketStatus writes next(old) on a fresh read of the record, keeping
// what must never be lost; written, when not nil, learns the status in force
// afterwards.
func (s *Store) updateBucketStatus(ctx context.Context, recordName, point string, next func(old Status) Status, written func(Status)) error {
	return s.updateConfigMap(ctx, recordName, point, func(cm *corev1.ConfigMap) (bool, error) {
		old, _ := decodeStatus(cm.Data[keyStatus])
		st := next(old)
		// Once recorded, a create attempt stays recorded whatever status a
		// writer holding an older copy sends: losing it would make the
		// driver's own untagged bucket look foreign.
		st.CreateAttempted = st.CreateAttempted || old.CreateAttempted
		// Likewise the count of creations only grows: a lower count would
		// let an access written before the latest creation pass as current.
		st.Creations = max(st.Creations, old.Creations)
		// The marks are the bucket's identity: once recorded they never
		// change (a writer holding an older copy, or a retry that generated
		// another marker, must not replace the one the bucket may carry).
		if old.Owner != "" || old.Marker != "" {
			st.Owner, st.Marker = old.Owner, old.Marker
		}
		st = withTransition(old, st)
		if written != nil {
			written(st)
		}
		if old == st {
			return false, nil
		}
		enc, err := json.Marshal(st)
		if err != nil {
			return false, err
		}
		cm.Data[keyStatus] = string(enc)
		return true, nil
	})
}

// MarkBucketCorrupt is MarkAccessCorrupt for bucket records. The marks and
// counts the status holds are kept: the bucket is still the record's.
func (s *Store) MarkBucketCorrupt(ctx context.Context, ce *CorruptError) error {
	if ce.Field == keyStatus {
		return nil
	}
	return s.updateConfigMap(ctx, ce.Record, crashpoint.StoreSetBucketStatus, func(cm *corev1.ConfigMap) (bool, error) {
		enc, changed, err := corruptStatusOf(cm.Data[keyStatus], ce)
		if changed {
			cm.Data[keyStatus] = string(enc)
		}
		return changed, err
	})
}

// ReleaseBucket removes the finalizer, letting Kubernetes delete the record.
// Only the reconciler calls it, after SeaweedFS no longer holds the bucket.
func (s *Store) ReleaseBucket(ctx context.Context, recordName string) error {
	return s.updateConfigMap(ctx, recordName, crashpoint.StoreReleaseBucket, func(cm *corev1.ConfigMap) (bool, error) {
		return removeFinalizer(&cm.ObjectMeta), nil
	})
}

// updateConfigMap applies mutate to a fresh read of the record and writes it
// when it changed; point names the write's crash points.
func (s *Store) updateConfigMap(ctx context.Context, name, point string, mutate func(*corev1.ConfigMap) (bool, error)) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := s.client.CoreV1().ConfigMaps(s.namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		// A record of a newer format is never written back: this driver
		// would drop what it does not know.
		if err := checkFormat(&cm.ObjectMeta); err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		changed, err := mutate(cm)
		if err != nil || !changed {
			return err
		}
		crashpoint.Hit(crashpoint.Before(point))
		if _, err = s.client.CoreV1().ConfigMaps(s.namespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			return err
		}
		crashpoint.Hit(crashpoint.After(point))
		return nil
	})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("bucket record %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("update bucket record %s: %w", name, err)
	}
	return nil
}
