package chart

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// seaweedfsFlags are the driver flags that say which SeaweedFS it uses and
// how it authenticates: what `cosi-seaweedfs check` must be given as well.
var seaweedfsFlags = []string{"--s3-endpoint=", "--s3-region=", "--admin-access-key-file=", "--admin-secret-key-file=",
	"--user-prefix=", "--backend-timeout=", "--filer-", "--allow-insecure-filer"}

func isSeaweedFSFlag(arg string) bool {
	for _, f := range seaweedfsFlags {
		if strings.HasPrefix(arg, f) {
			return true
		}
	}
	return false
}

// The `helm test` pod needs no image but the driver's: it runs the driver's
// `check` with exactly the driver's SeaweedFS flags, Secrets and mounts, on
// every user path the chart can configure, hardened like the driver, with no
// Kubernetes API token.
func TestHelmTestPodChecksWhatTheDriverUses(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	for name, set := range map[string][]string{
		"IAM query API": {"image.repository=example.org/cosi", "image.tag=v9"},
		"filer mutual TLS": {"seaweedfs.filer.grpcAddress=seaweedfs-filer:18888",
			"seaweedfs.filer.tls.existingSecret=driver-filer-tls", "seaweedfs.filer.tls.serverName=seaweedfs-filer"},
		"filer mutual TLS and token": {"seaweedfs.filer.grpcAddress=seaweedfs-filer:18888",
			"seaweedfs.filer.tls.existingSecret=driver-filer-tls", "seaweedfs.filer.jwt.existingSecret=filer-jwt"},
		"filer token, insecure": {"seaweedfs.filer.grpcAddress=seaweedfs-filer:18888", "seaweedfs.filer.jwt.existingSecret=filer-jwt",
			"seaweedfs.filer.allowInsecure=true"},
		"insecure filer": {"seaweedfs.filer.grpcAddress=seaweedfs-filer:18888", "seaweedfs.filer.allowInsecure=true"},
	} {
		t.Run(name, func(t *testing.T) {
			objs, err := Render(ctx, "rel", "ns1", set...)
			if err != nil {
				t.Fatal(err)
			}
			var d appsv1.Deployment
			convert(t, find(t, objs, "Deployment"), &d)
			var pod corev1.Pod
			convert(t, find(t, objs, "Pod"), &pod)
			if pod.Annotations["helm.sh/hook"] != "test" {
				t.Fatalf("the Pod is not a helm test hook: %v", pod.Annotations)
			}
			driver := d.Spec.Template.Spec.Containers[0]
			check := pod.Spec.Containers[0]
			if check.Image != driver.Image {
				t.Errorf("test image %q, the driver's is %q", check.Image, driver.Image)
			}
			var want []string
			for _, a := range driver.Args {
				if isSeaweedFSFlag(a) {
					want = append(want, a)
				}
			}
			if diff := cmp.Diff(append([]string{"check"}, want...), check.Args); diff != "" {
				t.Errorf("test args (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(driver.VolumeMounts[1:], check.VolumeMounts); diff != "" {
				t.Errorf("test mounts are not the driver's Secret mounts (-driver +test):\n%s", diff)
			}
			if diff := cmp.Diff(d.Spec.Template.Spec.Volumes[1:], pod.Spec.Volumes); diff != "" {
				t.Errorf("test volumes are not the driver's Secret volumes (-driver +test):\n%s", diff)
			}
			if diff := cmp.Diff(driver.SecurityContext, check.SecurityContext); diff != "" {
				t.Errorf("test container is not hardened like the driver (-driver +test):\n%s", diff)
			}
			if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
				t.Error("the test pod mounts a service account token it does not use")
			}
		})
	}
}

// The kubelet waits longer than the driver's own shutdown grace before it
// kills the driver, so running calls finish and the Lease is released.
func TestTerminationGraceOutlastsTheDriversGrace(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	for _, grace := range []int{10, 45} {
		objs, err := Render(ctx, "rel", "ns1", "gracePeriodSeconds="+strconv.Itoa(grace))
		if err != nil {
			t.Fatal(err)
		}
		var d appsv1.Deployment
		convert(t, find(t, objs, "Deployment"), &d)
		var flag time.Duration
		for _, a := range d.Spec.Template.Spec.Containers[0].Args {
			if v, ok := strings.CutPrefix(a, "--grace-period="); ok {
				if flag, err = time.ParseDuration(v); err != nil {
					t.Fatal(err)
				}
			}
		}
		if flag != time.Duration(grace)*time.Second {
			t.Errorf("gracePeriodSeconds=%d: --grace-period=%s", grace, flag)
		}
		tg := d.Spec.Template.Spec.TerminationGracePeriodSeconds
		if tg == nil || time.Duration(*tg)*time.Second <= flag+5*time.Second {
			t.Errorf("gracePeriodSeconds=%d: terminationGracePeriodSeconds %v is not well above --grace-period=%s", grace, tg, flag)
		}
	}
	if _, err := Render(ctx, "rel", "ns1", "gracePeriodSeconds=0"); err == nil {
		t.Error("the schema accepts gracePeriodSeconds=0")
	}
}

func convert(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatal(err)
	}
}
