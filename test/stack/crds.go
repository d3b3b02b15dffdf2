package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// COSICRDModule is the module that ships the COSI v1alpha1
// CustomResourceDefinitions (crds/ plus a kustomization.yaml). Its version is
// pinned by the objectstorage-sidecar tool module, so the CRDs always match the
// sidecar the tests run.
const COSICRDModule = "sigs.k8s.io/container-object-storage-interface-api"

// COSICRDNames are the CustomResourceDefinitions InstallCOSICRDs creates.
var COSICRDNames = []string{
	"bucketaccessclasses.objectstorage.k8s.io",
	"bucketaccesses.objectstorage.k8s.io",
	"bucketclaims.objectstorage.k8s.io",
	"bucketclasses.objectstorage.k8s.io",
	"buckets.objectstorage.k8s.io",
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// COSICRDModuleDir returns the directory of the COSI API module at the
// version the objectstorage-sidecar tool module pins, downloading the module
// into the module cache if it is not there yet.
func COSICRDModuleDir(ctx context.Context) (string, error) {
	return ToolModuleDir(ctx, "objectstorage-sidecar", COSICRDModule)
}

// kustomization is the part of a kustomization.yaml that CRDsFromKustomization
// understands; decoding is strict so any other feature is an error rather
// than silently skipped.
type kustomization struct {
	APIVersion        string            `json:"apiVersion"`
	Kind              string            `json:"kind"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	Resources         []string          `json:"resources"`
}

// CRDsFromKustomization reads dir/kustomization.yaml and returns its resources
// with the common annotations applied. The COSI module ships its CRDs this
// way: only the kustomization adds the api-approved.kubernetes.io annotation
// without which the apiserver refuses CRDs in a *.k8s.io group.
func CRDsFromKustomization(dir string) ([]*unstructured.Unstructured, error) {
	path := filepath.Join(dir, "kustomization.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read kustomization: %w", err)
	}
	var kz kustomization
	if err := yaml.UnmarshalStrict(data, &kz); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(kz.Resources) == 0 {
		return nil, fmt.Errorf("%s lists no resources", path)
	}
	var objs []*unstructured.Unstructured
	for _, res := range kz.Resources {
		file := filepath.Join(dir, filepath.FromSlash(res))
		fileObjs, err := readObjects(file)
		if err != nil {
			return nil, err
		}
		for _, obj := range fileObjs {
			if len(kz.CommonAnnotations) > 0 {
				ann := obj.GetAnnotations()
				if ann == nil {
					ann = map[string]string{}
				}
				maps.Copy(ann, kz.CommonAnnotations)
				obj.SetAnnotations(ann)
			}
			objs = append(objs, obj)
		}
	}
	return objs, nil
}

// InstallCRDs creates the given CustomResourceDefinitions and waits until
// each is established, that is, served by the apiserver.
func (k *Kube) InstallCRDs(ctx context.Context, crds []*unstructured.Unstructured) error {
	for _, obj := range crds {
		if obj.GetKind() != "CustomResourceDefinition" {
			return fmt.Errorf("%s %q is not a CustomResourceDefinition", obj.GetKind(), obj.GetName())
		}
		_, err := k.Dynamic.Resource(crdGVR).Create(ctx, obj, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create CRD %s: %w", obj.GetName(), err)
		}
	}
	for _, obj := range crds {
		if err := WaitFor(ctx, k.apiserver, 30*time.Second, func(ctx context.Context) error {
			return k.CRDEstablished(ctx, obj.GetName())
		}); err != nil {
			return err
		}
	}
	return k.warmCRDs(ctx, crds)
}

// warmCRDs lists every custom resource once, concurrently. The apiserver
// builds a CRD's storage, with its own etcd client, on the first request for
// it; that costs about a second each (the client's first dial is cancelled and
// retried after gRPC's backoff) and, with the gRPC in kube-apiserver 1.34, the
// first request can hang for a minute if the connection is recycled under it.
// Paying that here, with a short timeout per attempt, keeps it out of the
// tests.
func (k *Kube) warmCRDs(ctx context.Context, crds []*unstructured.Unstructured) error {
	errs := make([]error, len(crds))
	var wg sync.WaitGroup
	for i, obj := range crds {
		gvr, err := servedGVR(obj)
		if err != nil {
			return err
		}
		wg.Go(func() {
			errs[i] = WaitFor(ctx, k.apiserver, 30*time.Second, func(ctx context.Context) error {
				actx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				_, err := k.Dynamic.Resource(gvr).List(actx, metav1.ListOptions{Limit: 1})
				if err != nil {
					return fmt.Errorf("list %s: %w", gvr, err)
				}
				return nil
			})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// servedGVR returns the resource of a CRD at its first served version.
func servedGVR(crd *unstructured.Unstructured) (schema.GroupVersionResource, error) {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		m, ok := v.(map[string]any)
		if ok && m["served"] == true {
			if name, ok := m["name"].(string); ok {
				return schema.GroupVersionResource{Group: group, Version: name, Resource: plural}, nil
			}
		}
	}
	return schema.GroupVersionResource{}, fmt.Errorf("CRD %s serves no version", crd.GetName())
}

// CRDEstablished returns nil when the named CRD is established, and otherwise
// an error saying what is missing.
func (k *Kube) CRDEstablished(ctx context.Context, name string) error {
	crd, err := k.Dynamic.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get CRD %s: %w", name, err)
	}
	conds, _, err := unstructured.NestedSlice(crd.Object, "status", "conditions")
	if err != nil {
		return fmt.Errorf("CRD %s conditions: %w", name, err)
	}
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Established" && m["status"] == "True" {
			return nil
		}
	}
	return fmt.Errorf("CRD %s is not established yet", name)
}

// readObjects decodes every YAML document in a file.
func readObjects(path string) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var objs []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("decode %s: %w", path, err)
		}
		if len(obj.Object) == 0 {
			continue // an empty document between separators
		}
		objs = append(objs, obj)
	}
}
