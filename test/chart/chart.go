// Package chart renders the Helm chart with the pinned helm and applies what
// it renders to a test API server, so that tests run the driver and the
// sidecar with exactly the RBAC the chart ships.
package chart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// Dir is the chart's directory.
func Dir() (string, error) {
	root, err := stack.RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "charts", "cosi-seaweedfs"), nil
}

// helm runs the pinned helm binary.
func helm(ctx context.Context, args ...string) ([]byte, error) {
	bin, err := stack.Binary("helm")
	if err != nil {
		return nil, err
	}
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm %v: %w: %s", args, err, errOut.String())
	}
	return out.Bytes(), nil
}

// Lint runs helm lint --strict on the chart.
func Lint(ctx context.Context) ([]byte, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	return helm(ctx, "lint", "--strict", dir)
}

// KubeVersion is the Kubernetes version charts are rendered for: the
// kube-apiserver the tests run (test/tools/kube-apiserver). helm template
// otherwise assumes an old default that the chart's kubeVersion refuses.
const KubeVersion = "1.34.3"

// Render runs helm template for release in namespace with --set values.
func Render(ctx context.Context, release, namespace string, set ...string) ([]*unstructured.Unstructured, error) {
	return RenderValues(ctx, release, namespace, nil, set...)
}

// RenderValues runs helm template for release in namespace with values files
// (later ones win) and --set values.
func RenderValues(ctx context.Context, release, namespace string, files []string, set ...string) ([]*unstructured.Unstructured, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	args := []string{"template", release, dir, "--namespace", namespace, "--kube-version", KubeVersion}
	for _, f := range files {
		args = append(args, "--values", f)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := helm(ctx, args...)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("decode rendered chart: %w", err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

var resources = map[string]schema.GroupVersionResource{
	"ServiceAccount":      {Version: "v1", Resource: "serviceaccounts"},
	"Secret":              {Version: "v1", Resource: "secrets"},
	"Pod":                 {Version: "v1", Resource: "pods"},
	"BucketClass":         {Group: "objectstorage.k8s.io", Version: "v1alpha1", Resource: "bucketclasses"},
	"BucketAccessClass":   {Group: "objectstorage.k8s.io", Version: "v1alpha1", Resource: "bucketaccessclasses"},
	"Role":                {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":         {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"ClusterRole":         {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding":  {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	"Deployment":          {Group: "apps", Version: "v1", Resource: "deployments"},
	"Service":             {Version: "v1", Resource: "services"},
	"PodDisruptionBudget": {Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"},
}

// FieldManager owns the fields the tests apply.
const FieldManager = "cosi-seaweedfs-chart-test"

// Apply applies the objects of the given kinds (all when kinds is empty) to
// the API server with server-side apply, as `kubectl apply --server-side`
// and Helm 4 do: the API server validates every object against its schema
// and refuses unknown fields. Roles exist before their bindings.
func Apply(ctx context.Context, client dynamic.Interface, objs []*unstructured.Unstructured, kinds ...string) error {
	want := map[string]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	order := map[string]int{"ServiceAccount": 0, "Secret": 0, "ClusterRole": 1, "Role": 1, "ClusterRoleBinding": 2, "RoleBinding": 2, "Deployment": 3, "Pod": 3, "Service": 3, "PodDisruptionBudget": 3}
	sorted := append([]*unstructured.Unstructured(nil), objs...)
	sort.SliceStable(sorted, func(i, j int) bool { return order[sorted[i].GetKind()] < order[sorted[j].GetKind()] })
	for _, o := range sorted {
		if len(want) > 0 && !want[o.GetKind()] {
			continue
		}
		gvr, ok := resources[o.GetKind()]
		if !ok {
			return fmt.Errorf("chart renders an unexpected kind %s", o.GetKind())
		}
		var ri dynamic.ResourceInterface = client.Resource(gvr)
		if ns := o.GetNamespace(); ns != "" {
			ri = client.Resource(gvr).Namespace(ns)
		}
		if o.GetKind() == "Pod" {
			// A pod needs its namespace's default ServiceAccount, which the
			// controller-manager (not run by the test stack) would create.
			sa := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount",
				"metadata": map[string]any{"name": "default", "namespace": o.GetNamespace()}}}
			if _, err := client.Resource(resources["ServiceAccount"]).Namespace(o.GetNamespace()).Apply(ctx, "default", sa,
				metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
				return fmt.Errorf("apply the default ServiceAccount of %s: %w", o.GetNamespace(), err)
			}
		}
		if _, err := ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			return fmt.Errorf("apply %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}

// RBACKinds are the kinds that make up the chart's RBAC.
var RBACKinds = []string{"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}

// ComponentLabel says which container of the pod a Role or ClusterRole (and
// its binding) is for: ComponentDriver or ComponentSidecar.
const (
	ComponentLabel   = "app.kubernetes.io/component"
	ComponentDriver  = "driver"
	ComponentSidecar = "sidecar"
)

// SplitByContainer returns the chart's RBAC objects with the pod's one
// ServiceAccount replaced by one per container: every binding of a driver
// role names driverSA, every binding of a sidecar role sidecarSA (both in
// namespace). A process run as one of them has exactly the rights the chart
// grants its container, so a rule attributed to the wrong container, or
// missing, shows as a refusal. A binding without the component label is an
// error.
func SplitByContainer(objs []*unstructured.Unstructured, namespace, driverSA, sidecarSA string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, sa := range []string{driverSA, sidecarSA} {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("ServiceAccount")
		u.SetName(sa)
		u.SetNamespace(namespace)
		out = append(out, u)
	}
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount":
			continue
		case "RoleBinding", "ClusterRoleBinding":
			o = o.DeepCopy()
			var sa string
			switch c := o.GetLabels()[ComponentLabel]; c {
			case ComponentDriver:
				sa = driverSA
			case ComponentSidecar:
				sa = sidecarSA
			default:
				return nil, fmt.Errorf("%s %s has %s=%q, want %s or %s", o.GetKind(), o.GetName(), ComponentLabel, c, ComponentDriver, ComponentSidecar)
			}
			subjects := []any{map[string]any{"kind": "ServiceAccount", "name": sa, "namespace": namespace}}
			if err := unstructured.SetNestedSlice(o.Object, subjects, "subjects"); err != nil {
				return nil, err
			}
		case "Role", "ClusterRole":
		default:
			continue
		}
		out = append(out, o)
	}
	return out, nil
}
