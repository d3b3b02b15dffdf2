package driver

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/chart"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// Install creates namespace and in it the driver's ServiceAccount, bound to
// the RBAC the Helm chart ships for driverName (release serviceAccount,
// rendered by the pinned helm), so that every suite also proves that this
// RBAC is enough. It returns a config that authenticates as the
// ServiceAccount once the bindings are in effect.
func Install(ctx context.Context, kube *stack.Kube, namespace, serviceAccount, driverName string) (*rest.Config, error) {
	if err := kube.CreateNamespace(ctx, namespace); err != nil {
		return nil, err
	}
	saCfg, err := kube.ServiceAccountConfig(ctx, namespace, serviceAccount)
	if err != nil {
		return nil, err
	}
	// The chart names the driver's leader Lease after the driver name.
	objs, err := chart.Render(ctx, serviceAccount, namespace, "driverName="+driverName)
	if err != nil {
		return nil, err
	}
	if err := chart.Apply(ctx, kube.Dynamic, objs, chart.RBACKinds...); err != nil {
		return nil, err
	}
	// The RBAC authorizer reads roles from an informer cache: wait until the
	// bindings are in effect, or the driver's start-up check would be refused.
	sa, err := kubernetes.NewForConfig(saCfg)
	if err != nil {
		return nil, fmt.Errorf("service account client: %w", err)
	}
	saMeta, err := metadata.NewForConfig(saCfg)
	if err != nil {
		return nil, fmt.Errorf("service account metadata client: %w", err)
	}
	err = stack.WaitFor(ctx, nil, 20*time.Second, func(ctx context.Context) error {
		if _, err := sa.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			return err
		}
		_, err := saMeta.Resource(bucketAccesses).List(ctx, metav1.ListOptions{Limit: 1})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("the driver's Role did not take effect: %w", err)
	}
	return saCfg, nil
}

// bucketAccesses is the COSI v1alpha1 BucketAccess.
var bucketAccesses = schema.GroupVersionResource{Group: "objectstorage.k8s.io", Version: "v1alpha1", Resource: "bucketaccesses"}

// LeaseHolder is the holder of the driver's leader Lease in namespace, ""
// when none is held. The driver's namespace holds no other Lease.
func LeaseHolder(t testing.TB, kube kubernetes.Interface, namespace string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leases, err := kube.CoordinationV1().Leases(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list leases: %v", err)
	}
	if len(leases.Items) > 1 {
		t.Fatalf("%d Leases in %s, want one", len(leases.Items), namespace)
	}
	for _, l := range leases.Items {
		if l.Spec.HolderIdentity != nil {
			return *l.Spec.HolderIdentity
		}
	}
	return ""
}
