package pods

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/e2e/framework"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

// helm runs the pinned helm inside the node's namespace as the admin, with
// its caches in a temporary directory, and returns its output.
func helm(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	out, err := helmRun(t, timeout, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// helmRun is helm for a command that may fail: the error holds its output.
func helmRun(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	home := t.TempDir()
	cmd := env.node.Command(ctx, env.helm, append([]string{"--kubeconfig", env.node.KubeconfigPath}, args...)...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("helm %s: %s", args[0], time.Since(start).Round(time.Millisecond))
	if err != nil {
		return out.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// releaseArgs are helm's arguments for verb (install or upgrade) of chart
// with the driver image tag: the release the flow uses, with its classes.
// Every step of an upgrade passes the same values, so only the release
// changes.
func releaseArgs(verb, chart, tag string) []string {
	return append(nodeReleaseArgs(verb, release, releaseNamespace, chart, tag),
		"--set", "public.endpoint="+publicEndpoint,
		"--set", "bucketClass.create=true,bucketAccessClass.create=true",
		// Class parameters are strings, as COSI hands them to the driver.
		"--set-string", "bucketClass.parameters.purge=true")
}

// nodeReleaseArgs are what every release of the driver chart on the node
// is given: the images loaded into the node (the sidecar v0.1.0 line) and
// a short resync.
func nodeReleaseArgs(verb, name, ns, chart, tag string) []string {
	return []string{verb, name, chart, "--namespace", ns, "--wait", "--timeout", "5m",
		"--set", "image.repository=" + driverRepo + ",image.tag=" + tag + ",image.pullPolicy=Never",
		"--set", "sidecar.rbac=v0.1,sidecar.image.repository=" + sidecarRepo + ",sidecar.image.tag=" + sidecarTag + ",sidecar.image.pullPolicy=Never",
		"--set", "timeouts.resync=5s,logLevel=1",
	}
}

func TestChartOnANode(t *testing.T) {
	ctx := context.Background()
	t.Run("helm install --wait", func(t *testing.T) {
		// Imports allowed for TestImportedBucketFromPods from the start: a
		// later helm upgrade would cost a rollout.
		helm(t, 6*time.Minute, append(releaseArgs("install", env.chartDir, imageTag), importValues()...)...)
		logPods(t, releaseNamespace)
		logPods(t, "cosi-controller")
		logPods(t, "kube-system")
	})
	if t.Failed() {
		t.FailNow()
	}
	t.Run("helm test", func(t *testing.T) {
		helmTestPasses(t, releaseNamespace)
	})
	if _, err := framework.Create(ctx, env.node.Dynamic,
		framework.NewBucketAccessClass(readOnlyClass, driverName, "Key", map[string]string{"mode": "read-only"})); err != nil {
		t.Fatal(err)
	}
	const ns = "workload"
	if _, err := env.node.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	createClaim(t, ns, "data", bucketClass)
	bucket := waitClaimReady(t, ns, "data")
	t.Logf("claim %s/data: Bucket %s ready", ns, bucket)
	writer := grant(t, env.seaweed, ns, "writer", "data", accessClass)
	reader := grant(t, env.seaweed, ns, "reader", "data", readOnlyClass)

	t.Run("a workload pod does an S3 round trip with the credentials Secret", func(t *testing.T) {
		logs := runWorkload(t, ns, "round-trip", writer, "readwrite")
		if !strings.Contains(logs, "round trip ok") {
			t.Errorf("workload output: %s", logs)
		}
	})
	t.Run("a read-only access is refused a write from a pod", func(t *testing.T) {
		logs := runWorkload(t, ns, "read-only", reader, "readonly")
		if !strings.Contains(logs, "write was refused with AccessDenied") {
			t.Errorf("workload output: %s", logs)
		}
	})
	t.Run("a revoked access's key is rejected", func(t *testing.T) {
		revoke(t, ns, writer)
	})
	t.Run("deleting the claim deletes the bucket", func(t *testing.T) {
		revoke(t, ns, reader)
		deleteClaim(t, ns, "data")
		env.seaweed.waitBucketDeleted(t, bucket)
	})
}

// waitBucketDeleted waits until SeaweedFS answers NotFound for bucket.
func (sw *seaweed) waitBucketDeleted(t *testing.T, bucket string) {
	t.Helper()
	waitT(t, 2*time.Minute, "bucket "+bucket+" deleted", func(ctx context.Context) error {
		_, err := sw.admin().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
		if err == nil {
			return errors.New("the bucket still exists")
		}
		if s3check.HTTPStatus(err) != http.StatusNotFound {
			return err
		}
		return nil
	})
}

// waitGone waits until get answers NotFound; what get says of an object
// still there goes into the error.
func waitGone(t *testing.T, within time.Duration, what string, get func(context.Context) (string, error)) {
	t.Helper()
	waitT(t, within, what+" gone", func(ctx context.Context) error {
		left, err := get(ctx)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("still there%s", left)
	})
}

// helmTestPhase finds the phase helm test reports for the chart's test pod.
var helmTestPhase = regexp.MustCompile(`(?m)^Phase:\s+(\S+)`)

// helmTestPasses runs helm test --logs on the release in ns, as the README
// does, and fails unless its pod succeeded; the checks it printed are
// logged.
func helmTestPasses(t *testing.T, ns string) {
	t.Helper()
	out := helm(t, 4*time.Minute, "test", release, "--namespace", ns, "--timeout", "3m", "--logs")
	if phase := helmTestPhase.FindStringSubmatch(out); phase == nil || phase[1] != "Succeeded" {
		t.Fatalf("helm test did not succeed:\n%s", out)
	}
	_, checks, _ := strings.Cut(out, "POD LOGS:")
	t.Logf("helm test in %s: Succeeded;%s", ns, checks)
}

// logPods prints every pod of ns with its phase, readiness and image digest.
func logPods(t *testing.T, ns string) {
	t.Helper()
	pods, err := env.node.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		for _, c := range p.Status.ContainerStatuses {
			t.Logf("pod %s/%s container %s: %s ready=%t restarts=%d image %s (%s)", ns, p.Name, c.Name, p.Status.Phase, c.Ready, c.RestartCount, c.Image, c.ImageID)
		}
	}
}

func createClaim(t *testing.T, ns, name, class string) {
	t.Helper()
	if _, err := framework.Create(context.Background(), env.node.Dynamic, framework.NewBucketClaim(ns, name, class)); err != nil {
		t.Fatal(err)
	}
}

// waitClaimReady waits until the claim's Bucket is ready and returns the S3
// bucket's name.
func waitClaimReady(t *testing.T, ns, name string) string {
	t.Helper()
	var id string
	waitT(t, 2*time.Minute, "claim "+ns+"/"+name+" ready", func(ctx context.Context) error {
		claim, err := env.node.Dynamic.Resource(framework.BucketClaimGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		bn := framework.Str(claim, "status", "bucketName")
		if bn == "" {
			return errors.New("no status.bucketName yet")
		}
		b, err := env.node.Dynamic.Resource(framework.BucketGVR).Get(ctx, bn, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if id = framework.Str(b, "status", "bucketID"); !framework.Bool(b, "status", "bucketReady") || id == "" {
			return fmt.Errorf("Bucket %s not ready", bn)
		}
		if !framework.Bool(claim, "status", "bucketReady") {
			return errors.New("claim status.bucketReady still false")
		}
		return nil
	})
	return id
}

// access is a granted BucketAccess, what its Secret held when granted, and
// the SeaweedFS its bucket lives on.
type access struct {
	name, secret string
	accountID    string
	info         *framework.BucketInfo
	data         map[string][]byte
	seaweed      *seaweed
}

// s3 is an S3 client with the access's key.
func (a *access) s3() *s3.Client {
	return a.seaweed.s3(a.info.Spec.S3.AccessKeyID, a.info.Spec.S3.AccessSecretKey)
}

func grant(t *testing.T, sw *seaweed, ns, name, claim, class string) *access {
	t.Helper()
	a := &access{name: name, secret: name + "-creds", seaweed: sw}
	ba := framework.NewBucketAccess(ns, name, claim, class, a.secret)
	// The sidecar v0.1.0 adds this finalizer from a stale copy and then
	// fails forever; present from the start, its update changes nothing.
	ba.SetFinalizers([]string{framework.FinalizerBucketAccess})
	if _, err := framework.Create(context.Background(), env.node.Dynamic, ba); err != nil {
		t.Fatal(err)
	}
	waitGranted(t, ns, a)
	return a
}

func waitGranted(t *testing.T, ns string, a *access) {
	t.Helper()
	waitT(t, 2*time.Minute, "bucketaccess "+ns+"/"+a.name+" granted", func(ctx context.Context) error {
		ba, err := env.node.Dynamic.Resource(framework.BucketAccessGVR).Namespace(ns).Get(ctx, a.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !framework.Bool(ba, "status", "accessGranted") {
			return errors.New("status.accessGranted not true yet")
		}
		a.accountID = framework.Str(ba, "status", "accountID")
		s, err := env.node.Client.CoreV1().Secrets(ns).Get(ctx, a.secret, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if a.info, err = framework.ParseBucketInfo(s); err != nil {
			return err
		}
		a.data = s.Data
		return nil
	})
}

// runWorkload runs the s3workload image in a pod that mounts the access's
// credentials Secret, with the flags extra besides, waits until it ends and
// returns its output. The pod must succeed.
func runWorkload(t *testing.T, ns, name string, a *access, expect string, extra ...string) string {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			AutomountServiceAccountToken: ptr.To(false),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:  "workload",
				Image: workloadImage,
				Args:  append([]string{"--bucketinfo=/cosi/BucketInfo", "--endpoint=" + a.seaweed.publicEndpoint, "--expect=" + expect}, extra...),
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					ReadOnlyRootFilesystem:   ptr.To(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "cosi", MountPath: "/cosi", ReadOnly: true}},
			}},
			Volumes: []corev1.Volume{{Name: "cosi", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: a.secret}}}},
		},
	}
	if _, err := env.node.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var phase corev1.PodPhase
	waitT(t, 2*time.Minute, "pod "+ns+"/"+name+" to end", func(ctx context.Context) error {
		p, err := env.node.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		phase = p.Status.Phase
		if phase == corev1.PodSucceeded || phase == corev1.PodFailed {
			return nil
		}
		return fmt.Errorf("phase %s", phase)
	})
	raw, err := env.node.Client.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatalf("logs of %s/%s: %v", ns, name, err)
	}
	logs := strings.TrimSpace(string(raw))
	t.Logf("pod %s/%s %s in %s: %s", ns, name, phase, time.Since(start).Round(time.Millisecond), logs)
	if phase != corev1.PodSucceeded {
		t.Fatalf("pod %s/%s %s", ns, name, phase)
	}
	return logs
}

// revoke deletes a BucketAccess and waits until it is gone and S3 rejects
// its key. The sidecar v0.1.0 never calls DriverRevokeBucketAccess: the
// driver's collection of accesses whose BucketAccess is gone revokes it. The
// credentials Secret, which that sidecar never deletes, is deleted after.
func revoke(t *testing.T, ns string, a *access) {
	t.Helper()
	ctx := context.Background()
	accesses := env.node.Dynamic.Resource(framework.BucketAccessGVR).Namespace(ns)
	if err := accesses.Delete(ctx, a.name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 2*time.Minute, "bucketaccess "+a.name, func(ctx context.Context) (string, error) {
		ba, err := accesses.Get(ctx, a.name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf(", finalizers %v", ba.GetFinalizers()), nil
	})
	waitKeyRejected(t, a)
	deleteSecret(t, ns, a.secret)
}

// waitKeyRejected waits until S3 rejects the access's key.
func waitKeyRejected(t *testing.T, a *access) {
	t.Helper()
	c := a.s3()
	waitT(t, 2*time.Minute, "the key of "+a.name+" rejected", func(ctx context.Context) error {
		_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(a.info.Spec.BucketName), MaxKeys: aws.Int32(1)})
		if err == nil {
			return errors.New("the key still works")
		}
		if s3check.HTTPStatus(err) != http.StatusForbidden {
			return err
		}
		return nil
	})
}

func deleteSecret(t *testing.T, ns, name string) {
	t.Helper()
	secrets := env.node.Client.CoreV1().Secrets(ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := secrets.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil || len(s.Finalizers) == 0 {
			return err
		}
		s.Finalizers = nil
		_, err = secrets.Update(context.Background(), s, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if err := secrets.Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}

func deleteClaim(t *testing.T, ns, name string) {
	t.Helper()
	ctx := context.Background()
	claims := env.node.Dynamic.Resource(framework.BucketClaimGVR).Namespace(ns)
	if err := claims.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 2*time.Minute, "claim "+name, func(ctx context.Context) (string, error) {
		_, err := claims.Get(ctx, name, metav1.GetOptions{})
		return "", err
	})
}
