package chart

import (
	"context"
	"os"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

var st *stack.Stack

func TestMain(m *testing.M) {
	os.Exit(stack.Run(m, stack.Options{NoSeaweed: true}, func(s *stack.Stack) { st = s }))
}

func TestChartLintsStrictly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := Lint(ctx); err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
}

// The rendered chart is accepted by a real API server, and the identity it
// gives the pod may do what the driver and the sidecar need and no more in
// the places that matter.
func TestChartInstallsAndGrantsWhatTheDriverNeeds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "chart-test"
	if err := st.Kube.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if err := st.Kube.CreateNamespace(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	objs, err := Render(ctx, "cosi-seaweedfs", ns)
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(st.Kube.Config)
	if err := Apply(ctx, dyn, objs); err != nil {
		t.Fatal(err)
	}

	cfg, err := st.Kube.ServiceAccountConfig(ctx, ns, "cosi-seaweedfs")
	if err != nil {
		t.Fatal(err)
	}
	sa := kubernetes.NewForConfigOrDie(cfg)
	check := func(want bool, ra authorizationv1.ResourceAttributes) {
		t.Helper()
		r, err := sa.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
			&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &ra}},
			metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Allowed != want {
			t.Errorf("%s %s/%s in %q: allowed=%v, want %v", ra.Verb, ra.Group, ra.Resource, ra.Namespace, r.Status.Allowed, want)
		}
	}
	for _, verb := range []string{"get", "list", "watch", "create", "update", "delete"} {
		check(true, authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Resource: "configmaps"})
		check(true, authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Resource: "secrets"})
	}
	check(true, authorizationv1.ResourceAttributes{Namespace: ns, Verb: "update", Group: "coordination.k8s.io", Resource: "leases"})
	check(true, authorizationv1.ResourceAttributes{Verb: "list", Group: "objectstorage.k8s.io", Resource: "bucketaccesses"})
	check(true, authorizationv1.ResourceAttributes{Verb: "update", Group: "objectstorage.k8s.io", Resource: "buckets", Subresource: "status"})
	check(true, authorizationv1.ResourceAttributes{Namespace: "other", Verb: "create", Resource: "secrets"})
	// Records live only in the driver namespace: no ConfigMaps elsewhere,
	// and nothing that could change RBAC or delete COSI objects.
	check(false, authorizationv1.ResourceAttributes{Namespace: "other", Verb: "create", Resource: "configmaps"})
	check(false, authorizationv1.ResourceAttributes{Verb: "delete", Group: "objectstorage.k8s.io", Resource: "buckets"})
	check(false, authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "roles"})
	// Secrets of other namespaces are written, never listed or deleted.
	check(false, authorizationv1.ResourceAttributes{Namespace: "other", Verb: "list", Resource: "secrets"})
	check(false, authorizationv1.ResourceAttributes{Namespace: "other", Verb: "delete", Resource: "secrets"})
	check(false, authorizationv1.ResourceAttributes{Namespace: "other", Verb: "update", Group: "coordination.k8s.io", Resource: "leases"})
}
