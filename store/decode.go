package store

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BucketFromConfigMap decodes a bucket record (also used on informer
// objects). A record that lost a label, a spec field or its status's syntax
// is a *CorruptError, never ErrNotFound: an object at a record's name is the
// record.
func BucketFromConfigMap(cm *corev1.ConfigMap) (*Bucket, error) {
	if err := checkFormat(&cm.ObjectMeta); err != nil {
		return nil, err
	}
	b := &Bucket{
		RecordName: cm.Name,
		UID:        cm.UID,
		Deleting:   cm.DeletionTimestamp != nil,
	}
	if ce := bucketCorruption(cm, &b.Spec, &b.Status); ce != nil {
		return nil, ce
	}
	return b, nil
}

// AccessFromSecret decodes an access record (also used on informer objects).
// Like BucketFromConfigMap it answers a *CorruptError for a record it cannot
// trust, and in particular for one without both credentials: nothing may
// ever hand out an empty or partial credential.
func AccessFromSecret(sec *corev1.Secret) (*Access, error) {
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
	if ce := accessCorruption(sec, &a.Spec, &a.Status); ce != nil {
		return nil, ce
	}
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
