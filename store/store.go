package store

import (
	"errors"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
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
