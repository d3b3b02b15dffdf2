package objectevents

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/reconcile"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

func TestEventsGoOnTheBucketItsClaimAndTheBucketAccess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bucket := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "objectstorage.k8s.io/v1alpha1", "kind": "Bucket",
		"metadata": map[string]any{"name": "bucket-1", "uid": "b-uid"},
		"spec":     map[string]any{"bucketClaim": map[string]any{"name": "claim", "namespace": "apps", "uid": "c-uid"}},
	}}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{bucketResource: "BucketList"}, bucket)
	ba := &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "objectstorage.k8s.io/v1alpha1", Kind: "BucketAccess"},
		ObjectMeta: metav1.ObjectMeta{Name: "access", Namespace: "apps", UID: "0b4f2d5e-1111-2222-3333-444455556666"},
	}
	scheme := metadatafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	meta := metadatafake.NewSimpleMetadataClient(scheme, ba)
	client := fake.NewClientset()
	r := New(client, dyn, meta, logr.Discard())
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- r.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	r.NotifyBucket(&store.Bucket{Spec: store.BucketSpec{Name: "bucket-1"}},
		reconcile.Notice{Type: "Warning", Reason: "BucketNotEmpty", Action: "Delete", Message: "not empty"})
	r.NotifyBucket(&store.Bucket{Spec: store.BucketSpec{Name: "no-such-bucket"}},
		reconcile.Notice{Type: "Warning", Reason: "BucketNotEmpty", Action: "Delete", Message: "not empty"})
	r.NotifyAccess(&store.Access{Spec: store.AccessSpec{Name: "ba-" + string(ba.UID)}},
		reconcile.Notice{Type: "Normal", Reason: "DriftRepaired", Action: "Repair", Message: "repaired"})

	want := map[string]bool{
		"default/Bucket/bucket-1/b-uid/BucketNotEmpty":                  false,
		"apps/BucketClaim/claim/c-uid/BucketNotEmpty":                   false,
		"apps/BucketAccess/access/" + string(ba.UID) + "/DriftRepaired": false,
	}
	for {
		list, err := client.EventsV1().Events("").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, e := range list.Items {
			got[fmt.Sprintf("%s/%s/%s/%s/%s", e.Namespace, e.Regarding.Kind, e.Regarding.Name, e.Regarding.UID, e.Reason)] = true
			if e.Regarding.Kind == "BucketClaim" && (e.Related == nil || e.Related.Name != "bucket-1") {
				t.Errorf("the claim's Event relates to %v, want the Bucket", e.Related)
			}
		}
		if len(got) == len(want) {
			for k := range want {
				if !got[k] {
					t.Fatalf("events %v, want %v", got, want)
				}
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("events %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
