package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BucketFromConfigMap decodes a bucket record (also used on informer objects).
func BucketFromConfigMap(cm *corev1.ConfigMap) (*Bucket, error) {
	if cm.Labels[LabelKind] != KindBucket {
		return nil, fmt.Errorf("configmap %s is not a bucket record: %w", cm.Name, ErrNotFound)
	}
	if err := checkFormat(&cm.ObjectMeta); err != nil {
		return nil, err
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
	if err := checkFormat(&sec.ObjectMeta); err != nil {
		return nil, err
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
