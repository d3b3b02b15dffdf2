package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// replacePods deletes the pods of namespace ns that match sel (the driver's:
// driver and sidecar containers; or the COSI controller's), runs during while
// their replacements start, and waits until every replacement is ready.
func replacePods(t *testing.T, ns, sel string, during func()) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pods := env.kube.CoreV1().Pods(ns)
	old, err := pods.List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	if len(old.Items) == 0 {
		return fmt.Errorf("no pod in namespace %s matches %s", ns, sel)
	}
	gone := map[types.UID]bool{}
	for _, p := range old.Items {
		gone[p.UID] = true
		if err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
			return fmt.Errorf("delete pod %s: %w", p.Name, err)
		}
		t.Logf("deleted pod %s/%s", ns, p.Name)
	}
	during()
	return stack.WaitFor(ctx, nil, 5*time.Minute, func(ctx context.Context) error {
		list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return fmt.Errorf("list pods: %w", err)
		}
		ready := 0
		for _, p := range list.Items {
			if gone[p.UID] {
				return fmt.Errorf("old pod %s still exists", p.Name)
			}
			if podReady(&p) {
				ready++
			}
		}
		if ready < len(old.Items) {
			return fmt.Errorf("%d of %d replacement pods ready", ready, len(old.Items))
		}
		return nil
	})
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

var errNoRestart = errors.New("cannot restart the components: set E2E_DRIVER_NAMESPACE (and E2E_DRIVER_SELECTOR if the chart's labels differ)")

var errNoControllerRestart = errors.New("cannot replace the COSI controller: set E2E_CONTROLLER_NAMESPACE (and E2E_CONTROLLER_SELECTOR if its labels differ)")
