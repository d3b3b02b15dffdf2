package store

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/retry"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/crashpoint"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
)

// CreateAccess records an access with its credentials. When a record by the
// same name already exists it returns that record (with its original
// credentials) and created=false; the caller compares specs.
func (s *Store) CreateAccess(ctx context.Context, spec AccessSpec, accessKeyID, secretAccessKey string) (a *Access, created bool, err error) {
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, false, fmt.Errorf("encode access spec: %w", err)
	}
	lbl := recordLabels(KindAccess)
	lbl[LabelBucketRecord] = names.BucketRecord(spec.BucketID)
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        names.AccessRecord(names.AccessID(spec.Name)),
			Namespace:   s.namespace,
			Labels:      lbl,
			Annotations: formatAnnotations(formatOf(false)),
			Finalizers:  []string{Finalizer},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			keySpec:            specJSON,
			keyAccessKeyID:     []byte(accessKeyID),
			keySecretAccessKey: []byte(secretAccessKey),
		},
	}
	crashpoint.Hit(crashpoint.Before(crashpoint.StoreCreateAccess))
	out, err := s.client.CoreV1().Secrets(s.namespace).Create(ctx, sec, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, err := s.GetAccess(ctx, sec.Name)
		return existing, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("create access record %s: %w", sec.Name, err)
	}
	// Recorded, not yet applied: the reconciler creates the user from this
	// record, so a crash from here on loses nothing.
	crashpoint.Hit(crashpoint.After(crashpoint.StoreCreateAccess))
	a, err = AccessFromSecret(out)
	return a, true, err
}

// GetAccess reads an access record by record name.
func (s *Store) GetAccess(ctx context.Context, recordName string) (*Access, error) {
	sec, err := s.client.CoreV1().Secrets(s.namespace).Get(ctx, recordName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("access record %s: %w", recordName, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get access record %s: %w", recordName, err)
	}
	// A Secret at a record's name is the record, whatever its labels say:
	// one that lost a label is corrupt, not absent (absence revokes).
	return AccessFromSecret(sec)
}

// AccessRef names an access record without reading it.
type AccessRef struct {
	RecordName string
	Deleting   bool
}

// ListAccessRefs names the access records of a bucket record. They are not
// read: a corrupt access must still be revoked with its bucket. They are
// selected by the bucket label alone, so that an access that lost another
// label is still found.
func (s *Store) ListAccessRefs(ctx context.Context, bucketRecord string) ([]AccessRef, error) {
	sel := labels.SelectorFromSet(labels.Set{LabelBucketRecord: bucketRecord}).String()
	list, err := s.client.CoreV1().Secrets(s.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list access records: %w", err)
	}
	out := make([]AccessRef, 0, len(list.Items))
	for _, sec := range list.Items {
		if _, ok := names.AccessIDOfRecord(sec.Name); ok {
			out = append(out, AccessRef{RecordName: sec.Name, Deleting: sec.DeletionTimestamp != nil})
		}
	}
	return out, nil
}

// DeleteAccess marks an access record for deletion; a missing record is not an error.
func (s *Store) DeleteAccess(ctx context.Context, recordName string) error {
	crashpoint.Hit(crashpoint.Before(crashpoint.StoreDeleteAccess))
	err := s.client.CoreV1().Secrets(s.namespace).Delete(ctx, recordName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete access record %s: %w", recordName, err)
	}
	crashpoint.Hit(crashpoint.After(crashpoint.StoreDeleteAccess))
	return nil
}

// SetAccessStatus writes the observed status on a fresh read, retrying conflicts.
func (s *Store) SetAccessStatus(ctx context.Context, recordName string, st Status) error {
	return s.updateSecret(ctx, recordName, crashpoint.StoreSetAccessStatus, func(sec *corev1.Secret) (bool, error) {
		old, _ := decodeStatus(string(sec.Data[keyStatus]))
		st = withTransition(old, st)
		if old == st {
			return false, nil
		}
		enc, err := json.Marshal(st)
		if err != nil {
			return false, err
		}
		sec.Data[keyStatus] = enc
		return true, nil
	})
}

// MarkAccessCorrupt records on a corrupt access record that it is Failed
// for ce (see corruptStatus). A corrupt status is not overwritten: a status
// that cannot be read is left for whoever repairs the record.
func (s *Store) MarkAccessCorrupt(ctx context.Context, ce *CorruptError) error {
	if ce.Field == keyStatus {
		return nil
	}
	return s.updateSecret(ctx, ce.Record, crashpoint.StoreSetAccessStatus, func(sec *corev1.Secret) (bool, error) {
		enc, changed, err := corruptStatusOf(string(sec.Data[keyStatus]), ce)
		if changed {
			sec.Data[keyStatus] = enc
		}
		return changed, err
	})
}

// ReleaseAccess removes the finalizer after the user is gone from SeaweedFS.
func (s *Store) ReleaseAccess(ctx context.Context, recordName string) error {
	return s.updateSecret(ctx, recordName, crashpoint.StoreReleaseAccess, func(sec *corev1.Secret) (bool, error) {
		return removeFinalizer(&sec.ObjectMeta), nil
	})
}

// updateSecret is updateConfigMap for access records.
func (s *Store) updateSecret(ctx context.Context, name, point string, mutate func(*corev1.Secret) (bool, error)) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sec, err := s.client.CoreV1().Secrets(s.namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := checkFormat(&sec.ObjectMeta); err != nil {
			return err
		}
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		changed, err := mutate(sec)
		if err != nil || !changed {
			return err
		}
		crashpoint.Hit(crashpoint.Before(point))
		if _, err = s.client.CoreV1().Secrets(s.namespace).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
			return err
		}
		crashpoint.Hit(crashpoint.After(point))
		return nil
	})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("access record %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("update access record %s: %w", name, err)
	}
	return nil
}
