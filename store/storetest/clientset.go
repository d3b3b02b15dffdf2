// Package storetest holds what tests of the records need: a fake API server
// that behaves like the real one where the records depend on it.
package storetest

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// FinalizingClientset is a fake API server that honours finalizers as the
// real one does: deleting an object that has finalizers only marks it, and
// the object goes once its last finalizer is removed.
func FinalizingClientset() *fake.Clientset {
	c := fake.NewClientset()
	tracker := c.Tracker()
	c.PrependReactor("delete", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		d := action.(k8stesting.DeleteAction)
		obj, err := tracker.Get(d.GetResource(), d.GetNamespace(), d.GetName())
		if err != nil {
			return false, nil, nil
		}
		m, err := meta.Accessor(obj)
		if err != nil || len(m.GetFinalizers()) == 0 {
			return false, nil, nil
		}
		if m.GetDeletionTimestamp() == nil {
			now := metav1.Now()
			m.SetDeletionTimestamp(&now)
			if err := tracker.Update(d.GetResource(), obj, d.GetNamespace()); err != nil {
				return true, nil, err
			}
		}
		return true, nil, nil
	})
	c.PrependReactor("update", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		u := action.(k8stesting.UpdateAction)
		m, err := meta.Accessor(u.GetObject())
		if err != nil || m.GetDeletionTimestamp() == nil || len(m.GetFinalizers()) > 0 {
			return false, nil, nil
		}
		return true, u.GetObject(), tracker.Delete(u.GetResource(), u.GetNamespace(), m.GetName())
	})
	return c
}
