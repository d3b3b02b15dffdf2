package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/e2e/framework"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// TestChainsaw runs the declarative tests in chainsaw/ with bin/chainsaw
// against the same cluster as the rest of the suite. In local mode the tests
// that need pods are left out and every BucketAccess gets the finalizer the
// sidecar v0.1.0 needs present (see README.md).
func TestChainsaw(t *testing.T) {
	setup(t)
	bin, err := stack.Binary("chainsaw")
	if err != nil {
		t.Fatal(err)
	}
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "test", "e2e", "chainsaw")
	args := []string{"test",
		"--test-dir", dir,
		"--config", filepath.Join(dir, ".chainsaw.yaml"),
		"--values", filepath.Join(dir, "values.yaml"),
		"--set", "driverName=" + env.settings.DriverName,
		"--no-color",
	}
	if env.settings.Mode == framework.ModeLocal {
		// No namespace controller runs, so a namespace chainsaw deleted would
		// stay Terminating and chainsaw would wait for it: the test brings
		// its own, and chainsaw leaves a namespace it did not create alone.
		ns := newNamespace(t)
		args = append(args, "--namespace", ns, "--selector", "requires!=pods")
		t.Cleanup(func() { releaseBucketsOf(t, ns) })
	} else if env.settings.ChainsawValues != "" {
		// Later values files override earlier ones.
		args = append(args, "--values", env.settings.ChainsawValues)
	}
	if env.settings.PresetFinalizers {
		args = append(args, "--set", "bucketAccessFinalizers={"+framework.FinalizerBucketAccess+"}")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.kubeconfig)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	began := time.Now()
	err = cmd.Run()
	t.Logf("chainsaw ran for %s:\n%s", time.Since(began).Round(time.Millisecond), out.String())
	if err != nil {
		t.Fatalf("chainsaw: %v", err)
	}
}

// releaseBucketsOf releases the Buckets of the namespace's deleted claims
// that kept their finalizers.
func releaseBucketsOf(t *testing.T, ns string) {
	list, err := env.dyn.Resource(framework.BucketGVR).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Errorf("list buckets: %v", err)
		return
	}
	for _, b := range list.Items {
		if framework.Str(&b, "spec", "bucketClaim", "namespace") == ns {
			releaseBucket(t, b.GetName())
		}
	}
}
