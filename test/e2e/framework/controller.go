package framework

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// Controller stands in for the central COSI controller where none is
// deployed. It does for each BucketClaim what the controller v0.1.0 does —
// create the Bucket named <class name><claim UID> with the class's driver,
// parameters and deletion policy, a reference to the claim and the claim's
// protocols; record status.bucketName with bucketReady=false; add the claim
// finalizer; delete the Bucket once the claim is being deleted — plus one
// step v0.1.0 never manages: it copies the Bucket's readiness into the claim.
// The sidecar v0.1.0 tries that itself, but through an update of the main
// resource, which the API server ignores for status; without this step no
// BucketAccess could ever be granted. Later controllers do the same.
//
// A claim naming an existing Bucket (spec.existingBucketName, static
// provisioning) is bound as the controller v0.2.2 binds it (see bindExisting).
type Controller struct {
	Dynamic dynamic.Interface
	// PresetSidecarFinalizer creates each Bucket with the finalizer the
	// sidecar v0.1.0 adds. That sidecar adds it with an update and then
	// writes the status from its stale copy, which conflicts, and it retries
	// from the same stale copy forever: no Bucket would ever become ready.
	// With the finalizer present its update changes nothing, the object's
	// resourceVersion stays, and the status write goes through.
	PresetSidecarFinalizer bool
	// Logf, when set, reports each step taken (the demo prints them).
	Logf func(format string, args ...any)
}

// Run syncs every claim each interval until ctx ends. Errors are retried on
// the next pass, as the real controller's work queue would.
func (c *Controller) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_ = c.Sync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sync makes one pass over all BucketClaims and returns the first error.
func (c *Controller) Sync(ctx context.Context) error {
	list, err := c.Dynamic.Resource(BucketClaimGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list bucketclaims: %w", err)
	}
	var first error
	for i := range list.Items {
		if err := c.syncClaim(ctx, &list.Items[i]); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (c *Controller) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

func (c *Controller) syncClaim(ctx context.Context, claim *unstructured.Unstructured) error {
	claims := c.Dynamic.Resource(BucketClaimGVR).Namespace(claim.GetNamespace())
	bucketName := Str(claim, "status", "bucketName")

	if claim.GetDeletionTimestamp() != nil {
		if !slices.Contains(claim.GetFinalizers(), FinalizerBucketClaim) || bucketName == "" {
			return nil
		}
		// The sidecar reacts to the Bucket's deletion: it deletes the
		// backend bucket (policy Delete) and then removes the claim finalizer.
		// A claim bound to an existing Bucket is no exception: the
		// controller v0.2.2 deletes whatever Bucket status.bucketName names
		// (handleDeletion in controller/pkg/bucketclaim/bucketclaim.go), so
		// an admin's Bucket goes with the claim bound to it; its deletion
		// policy decides what the sidecar asks of the driver.
		buckets := c.Dynamic.Resource(BucketGVR)
		bucket, err := buckets.Get(ctx, bucketName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("get bucket %s: %w", bucketName, err)
		case bucket.GetDeletionTimestamp() != nil:
			return nil // deleted already; the sidecar's turn
		}
		err = buckets.Delete(ctx, bucketName, metav1.DeleteOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("delete bucket %s: %w", bucketName, err)
		}
		c.logf("deleted Bucket %s of deleted BucketClaim %s/%s", bucketName, claim.GetNamespace(), claim.GetName())
		return nil
	}
	if existing := Str(claim, "spec", "existingBucketName"); existing != "" {
		// The controller v0.2.2 binds a claim once: a ready claim is done.
		if !Bool(claim, "status", "bucketReady") {
			bound, err := c.bindExisting(ctx, claim, existing)
			if err != nil {
				return err
			}
			claim = bound
		}
		bucketName = existing
	} else if bucketName == "" {
		className := Str(claim, "spec", "bucketClassName")
		class, err := c.Dynamic.Resource(BucketClassGVR).Get(ctx, className, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("bucketclass %q of claim %s/%s: %w", className, claim.GetNamespace(), claim.GetName(), err)
		}
		bucketName = className + string(claim.GetUID())
		protocols, _, _ := unstructured.NestedStringSlice(claim.Object, "spec", "protocols")
		params, _, _ := unstructured.NestedStringMap(class.Object, "parameters")
		bucket := newObject("Bucket", "", bucketName)
		spec := map[string]any{
			"driverName":      Str(class, "driverName"),
			"bucketClassName": className,
			"deletionPolicy":  Str(class, "deletionPolicy"),
			"bucketClaim": map[string]any{
				"name":      claim.GetName(),
				"namespace": claim.GetNamespace(),
				"uid":       string(claim.GetUID()),
			},
			"protocols": toAnySlice(protocols),
		}
		if len(params) > 0 {
			spec["parameters"] = stringMap(params)
		}
		bucket.Object["spec"] = spec
		if c.PresetSidecarFinalizer {
			bucket.SetFinalizers([]string{FinalizerBucket})
		}
		_, err = c.Dynamic.Resource(BucketGVR).Create(ctx, bucket, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create bucket %s: %w", bucketName, err)
		}
		if err == nil {
			c.logf("created Bucket %s for BucketClaim %s/%s", bucketName, claim.GetNamespace(), claim.GetName())
		}
		claim = claim.DeepCopy()
		if err := unstructured.SetNestedField(claim.Object, bucketName, "status", "bucketName"); err != nil {
			return fmt.Errorf("set claim status: %w", err)
		}
		if err := unstructured.SetNestedField(claim.Object, false, "status", "bucketReady"); err != nil {
			return fmt.Errorf("set claim status: %w", err)
		}
		updated, err := claims.UpdateStatus(ctx, claim, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("update status of claim %s/%s: %w", claim.GetNamespace(), claim.GetName(), err)
		}
		claim = updated
	}

	if !slices.Contains(claim.GetFinalizers(), FinalizerBucketClaim) {
		claim = claim.DeepCopy()
		claim.SetFinalizers(append(claim.GetFinalizers(), FinalizerBucketClaim))
		updated, err := claims.Update(ctx, claim, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("add finalizer to claim %s/%s: %w", claim.GetNamespace(), claim.GetName(), err)
		}
		claim = updated
	}

	if Bool(claim, "status", "bucketReady") {
		return nil
	}
	bucket, err := c.Dynamic.Resource(BucketGVR).Get(ctx, bucketName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get bucket %s: %w", bucketName, err)
	}
	if !Bool(bucket, "status", "bucketReady") {
		return nil
	}
	claim = claim.DeepCopy()
	if err := unstructured.SetNestedField(claim.Object, true, "status", "bucketReady"); err != nil {
		return fmt.Errorf("set claim status: %w", err)
	}
	if _, err := claims.UpdateStatus(ctx, claim, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of claim %s/%s: %w", claim.GetNamespace(), claim.GetName(), err)
	}
	c.logf("BucketClaim %s/%s is ready (Bucket %s)", claim.GetNamespace(), claim.GetName(), bucketName)
	return nil
}

// bindExisting binds claim to the existing Bucket it names, as the
// controller v0.2.2 does (provisionBucketClaimOperation in
// controller/pkg/bucketclaim/bucketclaim.go of
// kubernetes-sigs/container-object-storage-interface, tag v0.2.2): it gets
// that Bucket, sets its spec.bucketClaim to the claim and its spec.protocols
// to the claim's, updates it, and then records status.bucketName with
// bucketReady=true on the claim. The Bucket's readiness is not waited for:
// v0.2.2 marks the claim ready at once, and the sidecar marks a Bucket with
// spec.existingBucketID ready without calling the driver. A missing Bucket is
// an error, retried on the next pass as v0.2.2 requeues it. It returns the
// claim as updated.
func (c *Controller) bindExisting(ctx context.Context, claim *unstructured.Unstructured, bucketName string) (*unstructured.Unstructured, error) {
	buckets := c.Dynamic.Resource(BucketGVR)
	bucket, err := buckets.Get(ctx, bucketName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("existing bucket %s of claim %s/%s: %w", bucketName, claim.GetNamespace(), claim.GetName(), err)
	}
	protocols, _, _ := unstructured.NestedStringSlice(claim.Object, "spec", "protocols")
	bucket = bucket.DeepCopy()
	if err := unstructured.SetNestedField(bucket.Object, map[string]any{
		"name":      claim.GetName(),
		"namespace": claim.GetNamespace(),
		"uid":       string(claim.GetUID()),
	}, "spec", "bucketClaim"); err != nil {
		return nil, fmt.Errorf("set bucket claim reference: %w", err)
	}
	if err := unstructured.SetNestedSlice(bucket.Object, toAnySlice(protocols), "spec", "protocols"); err != nil {
		return nil, fmt.Errorf("set bucket protocols: %w", err)
	}
	if _, err := buckets.Update(ctx, bucket, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("bind existing bucket %s to claim %s/%s: %w", bucketName, claim.GetNamespace(), claim.GetName(), err)
	}
	claim = claim.DeepCopy()
	if err := unstructured.SetNestedField(claim.Object, bucketName, "status", "bucketName"); err != nil {
		return nil, fmt.Errorf("set claim status: %w", err)
	}
	if err := unstructured.SetNestedField(claim.Object, true, "status", "bucketReady"); err != nil {
		return nil, fmt.Errorf("set claim status: %w", err)
	}
	updated, err := c.Dynamic.Resource(BucketClaimGVR).Namespace(claim.GetNamespace()).UpdateStatus(ctx, claim, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update status of claim %s/%s: %w", claim.GetNamespace(), claim.GetName(), err)
	}
	c.logf("bound BucketClaim %s/%s to existing Bucket %s", claim.GetNamespace(), claim.GetName(), bucketName)
	return updated, nil
}

func toAnySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
