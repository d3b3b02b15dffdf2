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

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// Render runs helm template for release in namespace with --set values.
func Render(ctx context.Context, release, namespace string, set ...string) ([]*unstructured.Unstructured, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	args := []string{"template", release, dir, "--namespace", namespace}
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
	"ServiceAccount":     {Version: "v1", Resource: "serviceaccounts"},
	"Role":               {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"ClusterRole":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding": {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	"Deployment":         {Group: "apps", Version: "v1", Resource: "deployments"},
}

// Apply creates the objects of the given kinds (all when kinds is empty) in
// the API server, in an order where roles exist before their bindings.
func Apply(ctx context.Context, client dynamic.Interface, objs []*unstructured.Unstructured, kinds ...string) error {
	want := map[string]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	order := map[string]int{"ServiceAccount": 0, "ClusterRole": 1, "Role": 1, "ClusterRoleBinding": 2, "RoleBinding": 2, "Deployment": 3}
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
		_, err := ri.Create(ctx, o, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}

// RBACKinds are the kinds that make up the chart's RBAC.
var RBACKinds = []string{"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
