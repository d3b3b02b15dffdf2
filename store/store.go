package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/crashpoint"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
)

// ErrNotFound: no record by that name (or it is not one of ours).
var ErrNotFound = errors.New("record not found")

// Store reads and writes records through the Kubernetes API (never a cache):
// every decision to create or delete something rests on a direct read.
type Store struct {
	client    kubernetes.Interface
	namespace string
}

// New returns a Store for records in namespace.
func New(client kubernetes.Interface, namespace string) *Store {
	return &Store{client: client, namespace: namespace}
}

// Namespace is where the records live.
func (s *Store) Namespace() string { return s.namespace }

func recordLabels(kind string) map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelKind: kind}
}

// Selector selects every record of one kind.
func Selector(kind string) labels.Selector {
	return labels.SelectorFromSet(recordLabels(kind))
}

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
			Name:       names.BucketRecord(spec.BucketID),
			Namespace:  s.namespace,
			Labels:     recordLabels(KindBucket),
			Finalizers: []string{Finalizer},
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
			Name:       names.AccessRecord(names.AccessID(spec.Name)),
			Namespace:  s.namespace,
			Labels:     lbl,
			Finalizers: []string{Finalizer},
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
	if sec.Labels[LabelKind] != KindAccess {
		// A Secret of that name that we did not write is not a record.
		return nil, fmt.Errorf("secret %s is not an access record: %w", recordName, ErrNotFound)
	}
	return AccessFromSecret(sec)
}

// ListAccesses reads access records; bucketRecord, when not empty, keeps only
// the accesses of that bucket.
func (s *Store) ListAccesses(ctx context.Context, bucketRecord string) ([]*Access, error) {
	set := recordLabels(KindAccess)
	if bucketRecord != "" {
		set[LabelBucketRecord] = bucketRecord
	}
	list, err := s.client.CoreV1().Secrets(s.namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(set).String()})
	if err != nil {
		return nil, fmt.Errorf("list access records: %w", err)
	}
	out := make([]*Access, 0, len(list.Items))
	for i := range list.Items {
		a, err := AccessFromSecret(&list.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, a)
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

func removeFinalizer(m *metav1.ObjectMeta) bool {
	if !slices.Contains(m.Finalizers, Finalizer) {
		return false
	}
	m.Finalizers = slices.DeleteFunc(slices.Clone(m.Finalizers), func(f string) bool { return f == Finalizer })
	return true
}

// withTransition keeps the transition time unless the phase or reason changed,
// so that a reconcile that observes nothing new writes nothing.
func withTransition(old, st Status) Status {
	st.LastTransition = old.LastTransition
	if old.Phase != st.Phase || old.Reason != st.Reason || st.LastTransition.IsZero() {
		st.LastTransition = metav1.Now().UTC().Truncate(1e9)
	}
	return st
}

// BucketFromConfigMap decodes a bucket record (also used on informer objects).
func BucketFromConfigMap(cm *corev1.ConfigMap) (*Bucket, error) {
	if cm.Labels[LabelKind] != KindBucket {
		return nil, fmt.Errorf("configmap %s is not a bucket record: %w", cm.Name, ErrNotFound)
	}
	b := &Bucket{
		RecordName: cm.Name,
		UID:        cm.UID,
		Deleting:   cm.DeletionTimestamp != nil,
	}
	if err := json.Unmarshal([]byte(cm.Data[keySpec]), &b.Spec); err != nil {
		return nil, fmt.Errorf("decode bucket record %s: %w", cm.Name, err)
	}
	st, err := decodeStatus(cm.Data[keyStatus])
	if err != nil {
		return nil, fmt.Errorf("decode bucket record %s status: %w", cm.Name, err)
	}
	b.Status = st
	return b, nil
}

// AccessFromSecret decodes an access record (also used on informer objects).
func AccessFromSecret(sec *corev1.Secret) (*Access, error) {
	if sec.Labels[LabelKind] != KindAccess {
		return nil, fmt.Errorf("secret %s is not an access record: %w", sec.Name, ErrNotFound)
	}
	a := &Access{
		RecordName:      sec.Name,
		UID:             sec.UID,
		Deleting:        sec.DeletionTimestamp != nil,
		AccessKeyID:     string(sec.Data[keyAccessKeyID]),
		SecretAccessKey: string(sec.Data[keySecretAccessKey]),
	}
	if err := json.Unmarshal(sec.Data[keySpec], &a.Spec); err != nil {
		return nil, fmt.Errorf("decode access record %s: %w", sec.Name, err)
	}
	st, err := decodeStatus(string(sec.Data[keyStatus]))
	if err != nil {
		return nil, fmt.Errorf("decode access record %s status: %w", sec.Name, err)
	}
	a.Status = st
	return a, nil
}

func decodeStatus(s string) (Status, error) {
	var st Status
	if s == "" {
		return st, nil
	}
	err := json.Unmarshal([]byte(s), &st)
	return st, err
}

// StatusOnlyChange reports whether two versions of one record (informer
// objects) differ in nothing but the status the reconciler writes: same
// labels, finalizers, deletion state and every data key but the status.
func StatusOnlyChange(oldObj, newObj any) bool {
	sameMeta := func(a, b *metav1.ObjectMeta) bool {
		return maps.Equal(a.Labels, b.Labels) && slices.Equal(a.Finalizers, b.Finalizers) &&
			(a.DeletionTimestamp == nil) == (b.DeletionTimestamp == nil)
	}
	switch o := oldObj.(type) {
	case *corev1.ConfigMap:
		n, ok := newObj.(*corev1.ConfigMap)
		return ok && sameMeta(&o.ObjectMeta, &n.ObjectMeta) &&
			maps.Equal(withoutStatus(o.Data), withoutStatus(n.Data))
	case *corev1.Secret:
		n, ok := newObj.(*corev1.Secret)
		return ok && sameMeta(&o.ObjectMeta, &n.ObjectMeta) &&
			maps.EqualFunc(withoutStatus(o.Data), withoutStatus(n.Data), bytes.Equal)
	}
	return false
}

func withoutStatus[V any](data map[string]V) map[string]V {
	out := maps.Clone(data)
	delete(out, keyStatus)
	return out
}

// SameParameters compares two parameter sets, treating nil and empty alike.
func SameParameters(a, b map[string]string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return maps.Equal(a, b)
}
