package pods

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// SeaweedFS from its own Helm chart: the chart of the SeaweedFS version
// test/tools/weed pins, installed as the README says, with the values of
// test/cluster/seaweedfs-chart-values.yaml, and this driver's chart against it.
// The driver here has a driver name and classes of its own, so that it
// shares nothing with the release the other tests run.
const (
	chartSeaweedNamespace = "seaweedfs"
	chartSeaweedRelease   = "seaweedfs"
	chartDriverName       = "seaweedfs-chart.cosi-seaweedfs.io"
	chartClass            = "seaweedfs-chart"
	// chartEndpoint is the driver's endpoint as the README writes it; the
	// driver chart hands workloads its namespace-qualified form.
	chartEndpoint       = "http://seaweedfs-s3." + chartSeaweedNamespace + ":8333"
	chartPublicEndpoint = "http://seaweedfs-s3." + chartSeaweedNamespace + ".svc:8333"
	seaweedChartModule  = "github.com/seaweedfs/seaweedfs"
)

// seaweedChart finds the pinned SeaweedFS module (its chart is
// k8s/charts/seaweedfs) and the image name that chart's pods run
// (chrislusf/seaweedfs:<appVersion>, as Docker Hub names it in the node's
// image store).
func seaweedChart(ctx context.Context) (module, image string, err error) {
	module, err = stack.ToolModuleDir(ctx, "weed", seaweedChartModule)
	if err != nil {
		return "", "", err
	}
	chartYAML := filepath.Join(module, "k8s", "charts", "seaweedfs", "Chart.yaml")
	raw, err := os.ReadFile(chartYAML)
	if err != nil {
		return "", "", err
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(raw, &chart); err != nil {
		return "", "", fmt.Errorf("%s: %w", chartYAML, err)
	}
	if chart.AppVersion == "" {
		return "", "", fmt.Errorf("%s names no appVersion", chartYAML)
	}
	return module, "docker.io/chrislusf/seaweedfs:" + chart.AppVersion, nil
}

// seaweedChartStorage keeps SeaweedFS's data in hostPath directories under
// the node's directory (removed with the node), as the chart does by
// default under /ssd and /storage: a pod the chart restarts (an upgrade
// that changes its checksums restarts the filer) finds its data again, as it
// would on real storage. Logs go to emptyDirs. Storage is the one thing the
// README leaves to the reader.
func seaweedChartStorage() []string {
	dir := filepath.Join(env.node.Dir, "seaweedfs-chart")
	return []string{
		"--set", "master.data.hostPathPrefix=" + dir + ",master.logs.type=emptyDir",
		"--set", "filer.data.hostPathPrefix=" + dir + ",filer.logs.type=emptyDir",
		"--set", "volume.dataDirs[0].name=data,volume.dataDirs[0].type=hostPath,volume.dataDirs[0].hostPathPrefix=" + dir + ",volume.dataDirs[0].maxVolumes=0",
		"--set", "volume.logs.type=emptyDir,s3.logs.type=emptyDir",
	}
}

// seaweedChartArgs are helm's arguments for verb (install or upgrade) of
// the SeaweedFS chart with the README's values and extra ones.
func seaweedChartArgs(t *testing.T, verb string, extra ...string) []string {
	t.Helper()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{verb, chartSeaweedRelease, env.seaweedChart, "--namespace", chartSeaweedNamespace,
		"--wait", "--timeout", "6m", "-f", filepath.Join(root, "test", "cluster", "seaweedfs-chart-values.yaml")}
	args = append(args, seaweedChartStorage()...)
	args = append(args, seaweedChartSecurity(root)...)
	return append(args, extra...)
}

// seaweedChartSecurity secures SeaweedFS's gRPC ports with mutual TLS as
// the README's second values file says, the certificates issued from
// outside the chart (the chart's default asks cert-manager for them; here
// issueCertificates stands in for it).
func seaweedChartSecurity(root string) []string {
	return []string{"-f", filepath.Join(root, "test", "cluster", "seaweedfs-chart-security-values.yaml"),
		"--set", "certificates.externalCertificates.enabled=true"}
}

// chartCertificates issues the certificates the SeaweedFS chart would ask
// cert-manager for: the chart rendered without external certificates
// lists them.
func chartCertificates(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	helm(t, time.Minute, "template", chartSeaweedRelease, env.seaweedChart, "--namespace", chartSeaweedNamespace,
		"--set", "global.seaweedfs.enableSecurity=true", "--output-dir", dir)
	files, err := filepath.Glob(filepath.Join(dir, "seaweedfs", "templates", "cert", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var certs []certificate
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := certificatesIn(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		certs = append(certs, c...)
	}
	if err := issueCertificates(context.Background(), chartSeaweedNamespace, certs); err != nil {
		t.Fatal(err)
	}
	for _, c := range certs {
		t.Logf("issued %s (CA %t, names %v)", c.Spec.SecretName, c.Spec.IsCA, c.Spec.DNSNames)
	}
}

func TestSeaweedFSChart(t *testing.T) {
	ctx := context.Background()
	c := env.node.Client
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: chartSeaweedNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sw := &seaweed{publicEndpoint: chartPublicEndpoint}
	t.Cleanup(func() {
		if t.Failed() {
			logPods(t, chartSeaweedNamespace)
			driverLogs(t, chartSeaweedNamespace)
		}
	})
	t.Run("SeaweedFS from its chart with the README's values, its gRPC ports under mutual TLS", func(t *testing.T) {
		chartCertificates(t)
		helm(t, 7*time.Minute, seaweedChartArgs(t, "install")...)
		logPods(t, chartSeaweedNamespace)
		// The chart made the admin identity; the driver reads the same
		// Secret.
		s, err := c.CoreV1().Secrets(chartSeaweedNamespace).Get(ctx, "seaweedfs-s3-secret", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sw.adminKey, sw.adminSec = string(s.Data["admin_access_key_id"]), string(s.Data["admin_secret_access_key"])
		svc, err := c.CoreV1().Services(chartSeaweedNamespace).Get(ctx, "seaweedfs-s3", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sw.s3IP = svc.Spec.ClusterIP
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := sw.waitAdmin(wctx); err != nil {
			t.Fatal(err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	driverArgs := func(verb string) []string {
		return append(nodeReleaseArgs(verb, release, chartSeaweedNamespace, env.chartDir, imageTag),
			"--set", "seaweedfs.endpoint="+chartEndpoint,
			"--set", "driverName="+chartDriverName,
			"--set", "bucketClass.create=true,bucketClass.name="+chartClass,
			"--set", "bucketAccessClass.create=true,bucketAccessClass.name="+chartClass,
			"--set-string", "bucketClass.parameters.purge=true")
	}
	t.Run("the driver chart against it: helm install --wait, helm test", func(t *testing.T) {
		helm(t, 6*time.Minute, driverArgs("install")...)
		logPods(t, chartSeaweedNamespace)
		helmTestPasses(t, chartSeaweedNamespace)
	})
	if t.Failed() {
		t.FailNow()
	}
	const ns = "chart-workload"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createClaim(t, ns, "data", chartClass)
	bucket := waitClaimReady(t, ns, "data")
	if _, err := sw.admin().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("the chart's SeaweedFS does not hold bucket %s: %v", bucket, err)
	}
	before := grant(t, sw, ns, "before", "data", chartClass)
	t.Run("a workload pod does an S3 round trip through the chart's gateway", func(t *testing.T) {
		logs := runWorkload(t, ns, "chart-round-trip", before, "readwrite")
		if !strings.Contains(logs, "round trip ok") {
			t.Errorf("workload output: %s", logs)
		}
	})
	if err := s3check.Put(ctx, before.s3(), bucket, "kept", "v1"); err != nil {
		t.Fatal(err)
	}
	keptReadable := func(t *testing.T) {
		t.Helper()
		waitT(t, time.Minute, "the earlier key reads what it wrote", func(ctx context.Context) error {
			got, err := s3check.Get(ctx, before.s3(), bucket, "kept")
			if err == nil && got != "v1" {
				return fmt.Errorf("read %q", got)
			}
			return err
		})
	}

	// SeaweedFS's default: the IAM API refuses writes. Everything the
	// driver checks at start passes then (S3, the admin key, listing
	// users); only a user write tells. Readiness and helm test must say so,
	// naming the setting, before a grant does.
	t.Run("with IAM writes disabled the driver is not ready and helm test names the setting", func(t *testing.T) {
		helm(t, 7*time.Minute, seaweedChartArgs(t, "upgrade", "--set-json", "s3.extraArgs=[]")...)
		waitT(t, 2*time.Minute, "the driver's readiness fails", func(ctx context.Context) error {
			return driverReadiness(ctx, chartSeaweedNamespace, false)
		})
		body := readyzBody(t, chartSeaweedNamespace)
		t.Logf("/readyz?verbose: %s", body)
		if !strings.Contains(body, "-iam.readOnly=false") {
			t.Errorf("/readyz does not name -iam.readOnly=false:\n%s", body)
		}
		out, err := helmRun(t, 4*time.Minute, "test", release, "--namespace", chartSeaweedNamespace, "--timeout", "3m", "--logs")
		if err == nil {
			t.Fatalf("helm test passed with IAM writes disabled:\n%s", out)
		}
		if !strings.Contains(out, "-iam.readOnly=false") {
			t.Errorf("helm test's output does not name -iam.readOnly=false:\n%s", out)
		}
		t.Logf("helm test refused: %s", lastLines(out, 6))
	})
	t.Run("with IAM writes enabled again the driver is ready, the earlier key works and a new grant works", func(t *testing.T) {
		helm(t, 7*time.Minute, seaweedChartArgs(t, "upgrade")...)
		waitT(t, 2*time.Minute, "the driver is ready", func(ctx context.Context) error {
			return driverReadiness(ctx, chartSeaweedNamespace, true)
		})
		keptReadable(t)
		grantUseRevoke(t, sw, ns, "after")
	})
	// The filer path, secured as the chart secures it: the driver presents
	// the chart's client certificate (its Secret has the key names the
	// driver chart defaults to).
	t.Run("on the filer path with the chart's certificates, the earlier key works and grants and revokes work", func(t *testing.T) {
		helm(t, 6*time.Minute, append(driverArgs("upgrade"),
			"--set", "seaweedfs.filer.grpcAddress=seaweedfs-filer-client."+chartSeaweedNamespace+":18888",
			"--set", "seaweedfs.filer.tls.existingSecret=seaweedfs-client-cert")...)
		// The sidecar v0.1.0 keeps its Lease through a rolling update
		// (README, its known limitations): the operator's step.
		deleteStaleLeases(t, chartSeaweedNamespace)
		helmTestPasses(t, chartSeaweedNamespace)
		keptReadable(t)
		grantUseRevoke(t, sw, ns, "filer")
	})
	t.Run("revoke and delete on the chart's SeaweedFS", func(t *testing.T) {
		revoke(t, ns, before)
		deleteClaim(t, ns, "data")
		sw.waitBucketDeleted(t, bucket)
	})
	// Nothing stays: the install guide's walk makes a namespace seaweedfs
	// of its own.
	helm(t, 3*time.Minute, "uninstall", release, "--namespace", chartSeaweedNamespace, "--wait", "--timeout", "2m")
	helm(t, 3*time.Minute, "uninstall", chartSeaweedRelease, "--namespace", chartSeaweedNamespace, "--wait", "--timeout", "2m")
	deleteNamespace(t, ns)
	deleteNamespace(t, chartSeaweedNamespace)
}

// grantUseRevoke grants an access named name on the claim "data", does a
// workload pod's round trip with it and revokes it.
func grantUseRevoke(t *testing.T, sw *seaweed, ns, name string) {
	t.Helper()
	a := grant(t, sw, ns, name, "data", chartClass)
	logs := runWorkload(t, ns, "chart-round-trip-"+name, a, "readwrite")
	if !strings.Contains(logs, "round trip ok") {
		t.Errorf("workload output: %s", logs)
	}
	revoke(t, ns, a)
}

// driverPod is the running pod of the driver release in ns.
func driverPod(ctx context.Context, ns string) (*corev1.Pod, error) {
	pods, err := env.node.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{
		LabelSelector: "app.kubernetes.io/instance=" + release + ",app.kubernetes.io/name=cosi-seaweedfs"})
	if err != nil {
		return nil, err
	}
	for i := range pods.Items {
		if p := &pods.Items[i]; p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			return p, nil
		}
	}
	return nil, fmt.Errorf("no running driver pod in %s", ns)
}

// driverReadiness passes when the driver container's readiness is want.
func driverReadiness(ctx context.Context, ns string, want bool) error {
	p, err := driverPod(ctx, ns)
	if err != nil {
		return err
	}
	for _, s := range p.Status.ContainerStatuses {
		if s.Name == "driver" {
			if s.Ready != want {
				return fmt.Errorf("pod %s: driver ready=%t", p.Name, s.Ready)
			}
			return nil
		}
	}
	return fmt.Errorf("pod %s has no driver container status", p.Name)
}

// readyzBody is what the driver's /readyz?verbose answers, asked from the
// node's namespace at the pod's IP, as the kubelet probes it.
func readyzBody(t *testing.T, ns string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := driverPod(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.Status.PodIP+":8081/readyz?verbose", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := nodeHTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("HTTP %d\n%s", resp.StatusCode, body)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
