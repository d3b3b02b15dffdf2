// Package framework holds what the end-to-end suite, its chainsaw runner and
// the demo share: the COSI v1alpha1 objects as unstructured values, the local
// driver and sidecar processes with their RBAC, and a stand-in for the COSI
// controller where none runs.
//
// COSI objects go through the dynamic client on purpose: the COSI API module's
// generated clientset would pin a second, old client-go into the main module.
package framework

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

// DefaultDriverName is the name the driver registers unless --driver-name
// says otherwise; BucketClasses and BucketAccessClasses name it.
const DefaultDriverName = "cosi-seaweedfs.io"

// Group and version of the COSI API the sidecar v0.1.0 serves.
const (
	Group      = "objectstorage.k8s.io"
	Version    = "v1alpha1"
	APIVersion = Group + "/" + Version
)

// The COSI resources.
var (
	BucketClassGVR       = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "bucketclasses"}
	BucketAccessClassGVR = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "bucketaccessclasses"}
	BucketClaimGVR       = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "bucketclaims"}
	BucketGVR            = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "buckets"}
	BucketAccessGVR      = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "bucketaccesses"}
)

// Finalizers the COSI v1alpha1 components put on objects. Tests remove the
// ones a component leaves behind (see README: the v0.1.0 sidecar never
// removes its own Bucket finalizers).
const (
	FinalizerBucket             = "cosi.objectstorage.k8s.io/bucket-protection"
	FinalizerBucketAccessBucket = "cosi.objectstorage.k8s.io/bucketaccess-bucket-protection"
	FinalizerBucketAccess       = "cosi.objectstorage.k8s.io/bucketaccess-protection"
	FinalizerBucketClaim        = "cosi.objectstorage.k8s.io/bucketclaim-protection"
	FinalizerSecret             = "cosi.objectstorage.k8s.io/secret-protection"
)

// Deletion policies of a BucketClass.
const (
	DeletionPolicyDelete = "Delete"
	DeletionPolicyRetain = "Retain"
)

// GVRFor returns the resource of a COSI kind.
func GVRFor(kind string) (schema.GroupVersionResource, bool) {
	switch kind {
	case "BucketClass":
		return BucketClassGVR, true
	case "BucketAccessClass":
		return BucketAccessClassGVR, true
	case "BucketClaim":
		return BucketClaimGVR, true
	case "Bucket":
		return BucketGVR, true
	case "BucketAccess":
		return BucketAccessGVR, true
	}
	return schema.GroupVersionResource{}, false
}

func newObject(kind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(APIVersion)
	u.SetKind(kind)
	u.SetName(name)
	if namespace != "" {
		u.SetNamespace(namespace)
	}
	return u
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// NewBucketClass returns a BucketClass; in v1alpha1 its fields sit at the top
// level, not under spec.
func NewBucketClass(name, driver, deletionPolicy string, params map[string]string) *unstructured.Unstructured {
	u := newObject("BucketClass", "", name)
	u.Object["driverName"] = driver
	u.Object["deletionPolicy"] = deletionPolicy
	if len(params) > 0 {
		u.Object["parameters"] = stringMap(params)
	}
	return u
}

// NewBucketAccessClass returns a BucketAccessClass. authenticationType must
// be exactly "Key" or "IAM": the sidecar maps any other spelling to Unknown.
func NewBucketAccessClass(name, driver, authenticationType string, params map[string]string) *unstructured.Unstructured {
	u := newObject("BucketAccessClass", "", name)
	u.Object["driverName"] = driver
	u.Object["authenticationType"] = authenticationType
	if len(params) > 0 {
		u.Object["parameters"] = stringMap(params)
	}
	return u
}

// NewBucketClaim returns a BucketClaim for an S3 bucket of class.
func NewBucketClaim(namespace, name, class string) *unstructured.Unstructured {
	u := newObject("BucketClaim", namespace, name)
	u.Object["spec"] = map[string]any{
		"bucketClassName": class,
		"protocols":       []any{"S3"},
	}
	return u
}

// NewBucketAccess returns a BucketAccess to claim through class, whose
// credentials the sidecar writes into the Secret secretName.
func NewBucketAccess(namespace, name, claim, class, secretName string) *unstructured.Unstructured {
	u := newObject("BucketAccess", namespace, name)
	u.Object["spec"] = map[string]any{
		"bucketClaimName":       claim,
		"bucketAccessClassName": class,
		"credentialsSecretName": secretName,
		"protocol":              "S3",
	}
	return u
}

// ReadManifests decodes every YAML document of the files, in order.
func ReadManifests(paths ...string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open manifest: %w", err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
		for {
			obj := &unstructured.Unstructured{}
			if err := dec.Decode(&obj.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				f.Close()
				return nil, fmt.Errorf("decode %s: %w", path, err)
			}
			if len(obj.Object) > 0 {
				objs = append(objs, obj)
			}
		}
		f.Close()
	}
	return objs, nil
}

// Create creates a COSI object; one that already exists is left as it is,
// so that applying the same manifest twice is harmless.
func Create(ctx context.Context, dyn dynamic.Interface, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	gvr, ok := GVRFor(obj.GetKind())
	if !ok {
		return nil, fmt.Errorf("%s %q is not a COSI kind", obj.GetKind(), obj.GetName())
	}
	ri := resource(dyn, gvr, obj.GetNamespace())
	out, err := ri.Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("create %s %s: %w", obj.GetKind(), key(obj.GetNamespace(), obj.GetName()), err)
	}
	return out, nil
}

func resource(dyn dynamic.Interface, gvr schema.GroupVersionResource, namespace string) dynamic.ResourceInterface {
	if namespace == "" {
		return dyn.Resource(gvr)
	}
	return dyn.Resource(gvr).Namespace(namespace)
}

func key(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// Str reads a string field; a missing field is "".
func Str(u *unstructured.Unstructured, fields ...string) string {
	if u == nil {
		return ""
	}
	s, _, _ := unstructured.NestedString(u.Object, fields...)
	return s
}

// Bool reads a boolean field; a missing field is false.
func Bool(u *unstructured.Unstructured, fields ...string) bool {
	if u == nil {
		return false
	}
	b, _, _ := unstructured.NestedBool(u.Object, fields...)
	return b
}
