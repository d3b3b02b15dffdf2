package framework

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// kindOrder is the order in which COSI objects can be created without one
// waiting for another: classes before what names them.
var kindOrder = []string{"BucketClass", "BucketAccessClass", "BucketClaim", "BucketAccess"}

// ApplyExamples creates every COSI object of the *.yaml files in dir, the
// namespaced ones in namespace, classes first. With presetFinalizer, each
// BucketAccess is created with the finalizer the sidecar v0.1.0 would add
// (see Controller.PresetSidecarFinalizer). Objects that exist are left as
// they are. It returns the objects as created, in creation order.
func ApplyExamples(ctx context.Context, dyn dynamic.Interface, dir, namespace string, presetFinalizer bool) ([]*unstructured.Unstructured, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list examples: %w", err)
	}
	objs, err := ReadManifests(files...)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if !slices.Contains(kindOrder, o.GetKind()) {
			return nil, fmt.Errorf("example %s %q is not a kind the examples may hold", o.GetKind(), o.GetName())
		}
	}
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return slices.Index(kindOrder, a.GetKind()) - slices.Index(kindOrder, b.GetKind())
	})
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "BucketClaim" || o.GetKind() == "BucketAccess" {
			o.SetNamespace(namespace)
		}
		if presetFinalizer && o.GetKind() == "BucketAccess" && !slices.Contains(o.GetFinalizers(), FinalizerBucketAccess) {
			o.SetFinalizers(append(o.GetFinalizers(), FinalizerBucketAccess))
		}
		created, err := Create(ctx, dyn, o)
		if err != nil {
			return out, err
		}
		out = append(out, created)
	}
	return out, nil
}
