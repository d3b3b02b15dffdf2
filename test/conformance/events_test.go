package conformance

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/grpc/codes"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// ---- Events ----

var (
	bucketResource      = schema.GroupVersionResource{Group: "objectstorage.k8s.io", Version: "v1alpha1", Resource: "buckets"}
	bucketClaimResource = schema.GroupVersionResource{Group: "objectstorage.k8s.io", Version: "v1alpha1", Resource: "bucketclaims"}
)

// cosiBucket creates a BucketClaim and the Bucket made for it, as the COSI
// controller would, so that the driver finds the objects its Events belong
// to. Both are deleted when the test ends.
func (e *environment) cosiBucket(t *testing.T, name string) (claim *unstructured.Unstructured) {
	t.Helper()
	dyn := e.stack.Kube.Dynamic
	claim, err := dyn.Resource(bucketClaimResource).Namespace(workloadNamespace).Create(ctx(t), &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "objectstorage.k8s.io/v1alpha1",
		"kind":       "BucketClaim",
		"metadata":   map[string]any{"generateName": "conformance-", "namespace": workloadNamespace},
		"spec":       map[string]any{"bucketClassName": "conformance", "protocols": []any{"S3"}},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create BucketClaim: %v", err)
	}
	t.Cleanup(func() {
		_ = dyn.Resource(bucketClaimResource).Namespace(workloadNamespace).Delete(context.Background(), claim.GetName(), metav1.DeleteOptions{})
	})
	_, err = dyn.Resource(bucketResource).Create(ctx(t), &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "objectstorage.k8s.io/v1alpha1",
		"kind":       "Bucket",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"driverName": driverName, "bucketClassName": "conformance", "protocols": []any{"S3"},
			"bucketClaim": map[string]any{"kind": "BucketClaim", "apiVersion": "objectstorage.k8s.io/v1alpha1",
				"name": claim.GetName(), "namespace": workloadNamespace, "uid": string(claim.GetUID())},
		},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Bucket: %v", err)
	}
	t.Cleanup(func() { _ = dyn.Resource(bucketResource).Delete(context.Background(), name, metav1.DeleteOptions{}) })
	return claim
}

// requireEvent waits for an Event with reason on the object of kind and name
// in namespace, and returns it.
func (e *environment) requireEvent(t *testing.T, namespace, kind, name, reason string) eventsv1.Event {
	t.Helper()
	var found eventsv1.Event
	stack.Eventually(t, repairWithin, func() error {
		list, err := e.kube.EventsV1().Events(namespace).List(ctx(t), metav1.ListOptions{})
		if err != nil {
			return err
		}
		var seen []string
		for _, ev := range list.Items {
			if ev.Regarding.Kind == kind && ev.Regarding.Name == name {
				if ev.Reason == reason {
					found = ev
					return nil
				}
				seen = append(seen, ev.Reason)
			}
		}
		return fmt.Errorf("no %s Event on %s %s/%s (seen: %v)", reason, kind, namespace, name, seen)
	})
	if found.Regarding.UID == "" {
		t.Errorf("the %s Event names no UID of its %s: kubectl describe would not show it", reason, kind)
	}
	if found.ReportingController != "cosi-seaweedfs.io/driver" {
		t.Errorf("reportingController = %q", found.ReportingController)
	}
	requireNoSecret(t, found.Note)
	return found
}

// requireNoSecret fails the test if s holds the admin secret key or a secret
// key a Grant returned.
func requireNoSecret(t testing.TB, s string) {
	t.Helper()
	if strings.Contains(s, env.stack.Seaweed.SecretKey) {
		t.Errorf("the admin secret key appears in %q", s)
	}
	issuedSecrets.Range(func(k, _ any) bool {
		if strings.Contains(s, k.(string)) {
			t.Errorf("an issued secret key appears in an Event")
		}
		return true
	})
}

// TestEvents: what a user of a bucket must see is recorded as Events on the
// Bucket, its BucketClaim and the BucketAccess.
func TestEvents(t *testing.T) {
	e := mustEnv(t)
	name := bucketName()
	claim := e.cosiBucket(t, name)
	id := e.mustCreateBucket(t, name, nil)

	t.Run("A bucket removed out of band and created again is reported on the Bucket and its claim", func(t *testing.T) {
		if _, err := e.s3.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(id)}); err != nil {
			t.Fatalf("admin DeleteBucket: %v", err)
		}
		ev := e.requireEvent(t, metav1.NamespaceDefault, "Bucket", name, "DriftRepaired")
		if ev.Type != "Normal" {
			t.Errorf("type = %q, want Normal", ev.Type)
		}
		onClaim := e.requireEvent(t, workloadNamespace, "BucketClaim", claim.GetName(), "DriftRepaired")
		if onClaim.Related == nil || onClaim.Related.Name != name {
			t.Errorf("the claim's Event relates to %v, want the Bucket %s", onClaim.Related, name)
		}
	})

	t.Run("A repaired access is reported on its BucketAccess", func(t *testing.T) {
		grantName, baName := e.bucketAccess(t)
		resp, err := e.grant(t, grantRequest(id, grantName, nil))
		requireOK(t, err, "DriverGrantBucketAccess")
		e.deleteUserOutOfBand(t, accessFrom(resp).account)
		e.requireEvent(t, workloadNamespace, "BucketAccess", baName, "DriftRepaired")
	})

	t.Run("A delete blocked on a non-empty bucket is reported on the Bucket and its claim", func(t *testing.T) {
		e.putObject(t, id, "keep.txt", "data")
		_, _, err := retry(t, func(c context.Context) (*cosi.DriverDeleteBucketResponse, error) {
			return e.driver.Provisioner().DriverDeleteBucket(c, &cosi.DriverDeleteBucketRequest{BucketId: id})
		})
		requireCode(t, err, codes.FailedPrecondition)
		ev := e.requireEvent(t, metav1.NamespaceDefault, "Bucket", name, "BucketNotEmpty")
		if ev.Type != "Warning" || !strings.Contains(ev.Note, "not empty") {
			t.Errorf("Event %s %q, want a Warning saying the bucket is not empty", ev.Type, ev.Note)
		}
		e.requireEvent(t, workloadNamespace, "BucketClaim", claim.GetName(), "BucketNotEmpty")
	})
}

// TestEventsOnATakenName: a bucket name that somebody else's bucket holds
// in SeaweedFS is reported where the claim's owner looks.
func TestEventsOnATakenName(t *testing.T) {
	e := mustEnv(t)
	name := bucketName()
	claim := e.cosiBucket(t, name)
	e.foreignBucket(t, name)
	_, err := e.createBucket(t, name, nil)
	requireCode(t, err, codes.AlreadyExists)
	t.Cleanup(func() { _ = e.deleteBucket(t, name) }) // a no-op: nothing was recorded
	ev := e.requireEvent(t, metav1.NamespaceDefault, "Bucket", name, "BucketNotOwned")
	if ev.Type != "Warning" {
		t.Errorf("type = %q, want Warning", ev.Type)
	}
	e.requireEvent(t, workloadNamespace, "BucketClaim", claim.GetName(), "BucketNotOwned")
}
