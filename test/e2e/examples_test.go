package e2e

import (
	"context"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/e2e/framework"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// TestExamples provisions examples/ as they are and uses the credentials, so
// the manifests the documentation points to keep working.
func TestExamples(t *testing.T) {
	setup(t)
	if env.settings.Mode == framework.ModeCluster {
		// Their class names are fixed: in a shared cluster they could be
		// someone's real classes, which the cleanup would delete.
		t.Skip("examples/ uses fixed class names; run in local mode")
	}
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t)
	ctx := testContext(t)
	objs, err := framework.ApplyExamples(ctx, env.dyn, filepath.Join(root, "examples"), ns, env.settings.PresetFinalizers)
	for _, o := range objs {
		switch o.GetKind() {
		case "BucketClass", "BucketAccessClass":
			gvr, _ := framework.GVRFor(o.GetKind())
			name := o.GetName()
			t.Cleanup(func() { _ = env.dyn.Resource(gvr).Delete(context.Background(), name, metav1.DeleteOptions{}) })
		case "BucketClaim":
			name := o.GetName()
			t.Cleanup(func() { deleteClaimAndWait(t, ns, name, false) })
		case "BucketAccess":
			name, secret := o.GetName(), framework.Str(o, "spec", "credentialsSecretName")
			t.Cleanup(func() {
				_ = env.dyn.Resource(framework.BucketAccessGVR).Namespace(ns).Delete(context.Background(), name, metav1.DeleteOptions{})
				deleteSecret(t, ns, secret)
			})
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	waitClaimReady(t, ns, "demo-bucket")
	rw := waitAccessGranted(t, ns, "demo-bucket", "demo-bucket-credentials")
	ro := waitAccessGranted(t, ns, "demo-bucket-read-only", "demo-bucket-read-only-credentials")
	roundTrip(t, rw)
	s3check.RequireDenied(t, "PutObject with the read-only example access", s3check.Put(ctx, ro.client(), ro.bucket(), "x", "x"))
}
