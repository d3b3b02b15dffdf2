package framework

import (
	"context"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic/fake"
)

func fakeDynamic(objs ...runtime.Object) *fake.FakeDynamicClient {
	return fake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		BucketClaimGVR:       "BucketClaimList",
		BucketGVR:            "BucketList",
		BucketClassGVR:       "BucketClassList",
		BucketAccessGVR:      "BucketAccessList",
		BucketAccessClassGVR: "BucketAccessClassList",
	}, objs...)
}

// existingBucket is a Bucket as an admin writes it to import a bucket: the
// COSI CRDs require spec.bucketClaim, the claim it is meant for.
func existingBucket(name string) *unstructured.Unstructured {
	b := newObject("Bucket", "", name)
	b.Object["spec"] = map[string]any{
		"driverName":       DefaultDriverName,
		"bucketClassName":  "cosi-seaweedfs",
		"deletionPolicy":   DeletionPolicyRetain,
		"existingBucketID": name,
		"protocols":        []any{"S3"},
		"bucketClaim":      map[string]any{"name": "data", "namespace": "app"},
	}
	return b
}

func staticClaim(ns, name, bucket string) *unstructured.Unstructured {
	c := newObject("BucketClaim", ns, name)
	c.SetUID(types.UID("uid-" + name))
	c.Object["spec"] = map[string]any{"existingBucketName": bucket, "protocols": []any{"S3"}}
	return c
}

func TestControllerBindsAnExistingBucketAsV022(t *testing.T) {
	ctx := context.Background()
	dyn := fakeDynamic(existingBucket("legacy"), staticClaim("app", "data", "legacy"))
	c := &Controller{Dynamic: dyn, PresetSidecarFinalizer: true}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	bucket, err := dyn.Resource(BucketGVR).Get(ctx, "legacy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref, _, _ := unstructured.NestedStringMap(bucket.Object, "spec", "bucketClaim")
	if ref["name"] != "data" || ref["namespace"] != "app" || ref["uid"] != "uid-data" {
		t.Errorf("spec.bucketClaim = %v", ref)
	}
	if protocols, _, _ := unstructured.NestedStringSlice(bucket.Object, "spec", "protocols"); !slices.Equal(protocols, []string{"S3"}) {
		t.Errorf("spec.protocols = %v", protocols)
	}
	if got := Str(bucket, "spec", "existingBucketID"); got != "legacy" {
		t.Errorf("spec.existingBucketID changed to %q", got)
	}
	claim, err := dyn.Resource(BucketClaimGVR).Namespace("app").Get(ctx, "data", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if Str(claim, "status", "bucketName") != "legacy" || !Bool(claim, "status", "bucketReady") {
		t.Errorf("claim status = %v", claim.Object["status"])
	}
	if !slices.Contains(claim.GetFinalizers(), FinalizerBucketClaim) {
		t.Errorf("claim finalizers = %v", claim.GetFinalizers())
	}
	list, err := dyn.Resource(BucketGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Errorf("%d Buckets, want only the existing one", len(list.Items))
	}

	// A second pass changes nothing: the claim is ready.
	rv := bucket.GetResourceVersion()
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := dyn.Resource(BucketGVR).Get(ctx, "legacy", metav1.GetOptions{}); again.GetResourceVersion() != rv {
		t.Error("the Bucket of a ready claim was updated again")
	}

	// v0.2.2 deletes the Bucket status.bucketName names when the claim
	// goes, whether it made that Bucket or not.
	now := metav1.Now()
	claim.SetDeletionTimestamp(&now)
	if _, err := dyn.Resource(BucketClaimGVR).Namespace("app").Update(ctx, claim, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(BucketGVR).Get(ctx, "legacy", metav1.GetOptions{}); err == nil {
		t.Error("the Bucket of the deleted claim is still there")
	}
}

func TestControllerWaitsForAMissingExistingBucket(t *testing.T) {
	ctx := context.Background()
	dyn := fakeDynamic(staticClaim("app", "data", "legacy"))
	c := &Controller{Dynamic: dyn}
	if err := c.Sync(ctx); err == nil {
		t.Fatal("a claim naming a missing Bucket was bound")
	}
	claim, err := dyn.Resource(BucketClaimGVR).Namespace("app").Get(ctx, "data", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if Str(claim, "status", "bucketName") != "" || len(claim.GetFinalizers()) != 0 {
		t.Errorf("claim changed: status %v, finalizers %v", claim.Object["status"], claim.GetFinalizers())
	}
	// Once the admin creates it, the next pass binds the claim.
	if _, err := dyn.Resource(BucketGVR).Create(ctx, existingBucket("legacy"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	claim, _ = dyn.Resource(BucketClaimGVR).Namespace("app").Get(ctx, "data", metav1.GetOptions{})
	if !Bool(claim, "status", "bucketReady") {
		t.Error("the claim was not bound once its Bucket existed")
	}
}
