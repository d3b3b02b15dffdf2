package reconcile

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
)

// BucketAccessResource is the COSI v1alpha1 BucketAccess resource.
var BucketAccessResource = schema.GroupVersionResource{Group: "objectstorage.k8s.io", Version: "v1alpha1", Resource: "bucketaccesses"}

// BucketAccesses lists the UIDs of every BucketAccess in the cluster.
type BucketAccesses interface {
	// UIDs returns nil, nil when the COSI CRDs are not installed.
	UIDs(ctx context.Context) (BucketAccessUIDs, error)
}

// MetadataBucketAccesses lists BucketAccesses through the metadata API: only
// UIDs are needed, and a direct LIST (not a cache) is what may justify a
// revocation.
type MetadataBucketAccesses struct {
	Client metadata.Interface
}

// UIDs lists every BucketAccess, page by page.
func (m MetadataBucketAccesses) UIDs(ctx context.Context) (BucketAccessUIDs, error) {
	uids := BucketAccessUIDs{}
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := m.Client.Resource(BucketAccessResource).List(ctx, opts)
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list bucketaccesses: %w", err)
		}
		for _, item := range list.Items {
			uids[string(item.UID)] = true
		}
		if list.Continue == "" {
			return uids, nil
		}
		opts.Continue = list.Continue
	}
}
