package pods

import (
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/node"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// The images the pods run, each built from a static binary of bin/ or of
// this repository; the chart is told these names.
const (
	driverRepo      = "cosi.test/cosi-seaweedfs"
	sidecarRepo     = "gcr.io/k8s-staging-sig-storage/objectstorage-sidecar"
	sidecarTag      = "v0.1.0"
	imageTag        = "node"
	seaweedImage    = "cosi.test/seaweedfs:" + imageTag
	controllerImage = "cosi.test/cosi-controller:" + imageTag
	workloadImage   = "cosi.test/s3workload:" + imageTag
	// busybox is Debian's busybox-static: one static binary that is a
	// shell when called sh.
	busybox = "/bin/busybox"
)

// The release: the driver, its sidecar and SeaweedFS share the namespace,
// so the chart's default endpoint (http://seaweedfs-s3:8333) and admin
// Secret name (seaweedfs-s3-secret) are the ones used.
const (
	releaseNamespace = "cosi-seaweedfs"
	release          = "cosi-seaweedfs"
	driverName       = "cosi-seaweedfs.io"
	bucketClass      = "cosi-seaweedfs"
	accessClass      = "cosi-seaweedfs"
	readOnlyClass    = "cosi-seaweedfs-read-only"
	// publicEndpoint is what workloads in other namespaces are told.
	publicEndpoint = "http://seaweedfs-s3." + releaseNamespace + ".svc." + node.ClusterDomain + ":8333"
)

type environment struct {
	node     *node.Node
	seaweed  *seaweed // the one deploySeaweed runs
	helm     string
	chartDir string
	// seaweedChart is SeaweedFS's own chart (see seaweedfschart_test.go).
	seaweedChart string
}

// seaweed is one SeaweedFS on the node, as the tests reach it: its S3
// Service's cluster IP, the admin identity, and the endpoint workloads are
// told.
type seaweed struct {
	s3IP               string
	adminKey, adminSec string
	publicEndpoint     string
}

// s3 is an S3 client with key and secret, sent to the Service's cluster IP
// from inside the node's namespace.
func (sw *seaweed) s3(key, secret string) *s3.Client {
	return stack.NewS3Client("http://"+sw.s3IP+":8333", "us-east-1", key, secret, func(o *s3.Options) {
		o.HTTPClient = nodeHTTPClient()
		o.RetryMaxAttempts = 1
	})
}

// admin is an S3 client with the admin identity.
func (sw *seaweed) admin() *s3.Client { return sw.s3(sw.adminKey, sw.adminSec) }

var env environment

func images(ctx context.Context, dir string) ([]string, error) {
	var files []string
	bin := func(name string) (string, error) { return stack.Binary(name) }
	// The driver's image is the one `make image-archive` builds, from the
	// Dockerfile's own stages.
	root, err := stack.RepoRoot()
	if err != nil {
		return nil, err
	}
	driverArchive := filepath.Join(dir, "driver.tar")
	cmd := exec.CommandContext(ctx, "go", "run", "./test/image/build", "-f", "Dockerfile",
		"-ref", driverRepo+":"+imageTag, "-version", "test-pods", "-o", driverArchive)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the driver image: %w: %s", err, out)
	}
	files = append(files, driverArchive)
	sidecar, err := bin("objectstorage-sidecar")
	if err != nil {
		return nil, err
	}
	weed, err := bin("weed")
	if err != nil {
		return nil, err
	}
	controller, err := node.BuildProgram(ctx, "./test/pods/cmd/controller", dir)
	if err != nil {
		return nil, err
	}
	workload, err := node.BuildProgram(ctx, "./test/pods/cmd/s3workload", dir)
	if err != nil {
		return nil, err
	}
	// The SeaweedFS chart's pods run weed from a shell script: its image
	// has a shell (a static BusyBox; only its `exec` is used).
	seaweedModule, chartImage, err := seaweedChart(ctx)
	if err != nil {
		return nil, err
	}
	env.seaweedChart = filepath.Join(seaweedModule, "k8s", "charts", "seaweedfs")
	if err := static(busybox); err != nil {
		return nil, fmt.Errorf("the SeaweedFS chart's image needs a static shell: %w (make node-packages installs busybox-static)", err)
	}
	for _, img := range []node.Image{
		// As SeaweedFS's own image: the filer's store in /data, the
		// directory the chart mounts there, and root (that image starts
		// as root; the chart's hostPath directories are root's).
		{Ref: chartImage, Files: map[string]string{
			"/usr/bin/weed": weed, "/bin/sh": busybox,
			"/etc/seaweedfs/filer.toml": filepath.Join(seaweedModule, "docker", "filer.toml"),
		}, Entrypoint: []string{"/usr/bin/weed"}, WorkingDir: "/data", User: "0:0"},
		{Ref: sidecarRepo + ":" + sidecarTag, Files: map[string]string{"/objectstorage-sidecar": sidecar}, Entrypoint: []string{"/objectstorage-sidecar"}},
		{Ref: seaweedImage, Files: map[string]string{"/usr/bin/weed": weed}, Entrypoint: []string{"/usr/bin/weed"}},
		{Ref: controllerImage, Files: map[string]string{"/controller": controller}, Entrypoint: []string{"/controller"}},
		{Ref: workloadImage, Files: map[string]string{"/s3workload": workload}, Entrypoint: []string{"/s3workload"}},
	} {
		p, err := node.WriteImage(dir, img)
		if err != nil {
			return nil, err
		}
		files = append(files, p)
	}
	return files, nil
}

// static fails unless path is a statically linked executable: the images
// have no dynamic loader.
func static(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is linked dynamically", path)
		}
	}
	return nil
}

func setup(ctx context.Context, logf func(string, ...any)) (err error) {
	dir, err := os.MkdirTemp("", "pods-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	imgs, err := images(ctx, dir)
	if err != nil {
		return err
	}
	logf("images built in %s", time.Since(start).Round(time.Millisecond))
	if env.helm, err = stack.Binary("helm"); err != nil {
		return err
	}
	root, err := stack.RepoRoot()
	if err != nil {
		return err
	}
	env.chartDir = filepath.Join(root, "charts", "cosi-seaweedfs")
	if env.node, err = node.Start(ctx, node.Options{Images: imgs, Logf: logf}); err != nil {
		return err
	}
	crdDir, err := stack.COSICRDModuleDir(ctx)
	if err != nil {
		return err
	}
	crds, err := stack.CRDsFromKustomization(crdDir)
	if err != nil {
		return err
	}
	if err := (&stack.Kube{Dynamic: env.node.Dynamic}).InstallCRDs(ctx, crds); err != nil {
		return err
	}
	start = time.Now()
	if err := deploySeaweed(ctx); err != nil {
		return err
	}
	logf("SeaweedFS Ready in %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := deployController(ctx); err != nil {
		return err
	}
	logf("COSI controller stand-in Ready in %s", time.Since(start).Round(time.Millisecond))
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// deploySeaweed runs SeaweedFS (`weed server` with S3 and its IAM API) as a
// Deployment with the Service seaweedfs-s3, and the admin identity in the
// Secret the chart reads by default.
func deploySeaweed(ctx context.Context) error {
	c := env.node.Client
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: releaseNamespace}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	sw := &seaweed{adminKey: "ADMIN" + strings.ToUpper(randomHex(8)), adminSec: randomHex(20), publicEndpoint: publicEndpoint}
	if _, err := c.CoreV1().Secrets(releaseNamespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "seaweedfs-s3-secret"},
		StringData: map[string]string{"admin_access_key_id": sw.adminKey, "admin_secret_access_key": sw.adminSec},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	labels := map[string]string{"app": "seaweedfs"}
	secretEnv := func(name, key string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "seaweedfs-s3-secret"}, Key: key}}}
	}
	if _, err := c.AppsV1().Deployments(releaseNamespace).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "seaweedfs"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			// One data directory: the old pod must be gone before a new one
			// starts.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					// weed reads flags from variables named after them; a
					// Service link such as S3_PORT would be taken for one.
					EnableServiceLinks:           ptr.To(false),
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532), FSGroup: ptr.To[int64](65532),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  "weed",
						Image: seaweedImage,
						Args: []string{"server", "-dir=/data", "-ip=$(POD_IP)", "-ip.bind=0.0.0.0", "-master.peers=none",
							"-master.volumeSizeLimitMB=64", "-master.telemetry=false", "-volume.max=50", "-volume.preStopSeconds=0",
							"-filer", "-s3", "-s3.port=8333", "-s3.port.iceberg=0", "-s3.iam=true", "-s3.iam.readOnly=false",
							"-s3.allowDeleteBucketNotEmpty=true",
							"-iam=false", "-webdav=false", "-sftp=false", "-mq.broker=false", "-mq.agent=false"},
						Env: []corev1.EnvVar{
							{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
							{Name: "HOME", Value: "/data"},
							{Name: "WEED_MASTER_VOLUME_GROWTH_COPY_1", Value: "1"},
							secretEnv("AWS_ACCESS_KEY_ID", "admin_access_key_id"),
							secretEnv("AWS_SECRET_ACCESS_KEY", "admin_secret_access_key"),
						},
						Ports: []corev1.ContainerPort{{Name: "s3", ContainerPort: 8333}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("s3")}},
							PeriodSeconds: 1,
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem:   ptr.To(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						// weed writes its logs and its gRPC sockets to /tmp,
						// which the read-only root filesystem does not have.
						VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "tmp", MountPath: "/tmp"}},
					}},
					Volumes: []corev1.Volume{
						{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
				},
			},
		},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	svc, err := c.CoreV1().Services(releaseNamespace).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "seaweedfs-s3"},
		Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{
			{Name: "s3", Port: 8333, TargetPort: intstr.FromString("s3")},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	sw.s3IP = svc.Spec.ClusterIP
	env.seaweed = sw
	if err := waitDeployment(ctx, releaseNamespace, "seaweedfs"); err != nil {
		return err
	}
	// The S3 port opens before the admin identity is loaded: wait for a
	// signed request to pass, through the Service, as the driver will.
	return sw.waitAdmin(ctx)
}

// waitAdmin waits until a signed request of the admin identity passes.
func (sw *seaweed) waitAdmin(ctx context.Context) error {
	return poll(ctx, "SeaweedFS answers the admin identity", func(ctx context.Context) error {
		_, err := sw.admin().ListBuckets(ctx, &s3.ListBucketsInput{})
		return err
	})
}

// nodeHTTPClient sends from inside the node's namespace, where Service
// addresses exist.
func nodeHTTPClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: env.node.DialContext}}
}

// deployController runs the COSI controller stand-in as a Deployment with
// a ServiceAccount allowed what the central controller needs.
func deployController(ctx context.Context) error {
	const ns = "cosi-controller"
	c := env.node.Client
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "controller"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "cosi-controller-stand-in"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"objectstorage.k8s.io"}, Resources: []string{"bucketclaims", "bucketclaims/status", "buckets", "buckets/status"},
				Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
			{APIGroups: []string{"objectstorage.k8s.io"}, Resources: []string{"bucketclasses", "bucketaccessclasses"}, Verbs: []string{"get", "list", "watch"}},
		},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "cosi-controller-stand-in"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cosi-controller-stand-in"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "controller", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	labels := map[string]string{"app": "cosi-controller"}
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "cosi-controller"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: "controller",
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  "controller",
						Image: controllerImage,
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem:   ptr.To(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	return waitDeployment(ctx, ns, "cosi-controller")
}

// waitDeployment waits until the Deployment is available (see
// deploymentAvailable).
func waitDeployment(ctx context.Context, ns, name string) error {
	return poll(ctx, "deployment "+ns+"/"+name+" available", func(ctx context.Context) error {
		return deploymentAvailable(ctx, ns, name)
	})
}

// poll calls check every half second until it passes or ctx ends.
func poll(ctx context.Context, what string, check func(context.Context) error) error {
	return stack.Poll(ctx, what, 15*time.Second, nil, check)
}

func waitT(t *testing.T, within time.Duration, what string, check func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := poll(ctx, what, check); err != nil {
		t.Fatal(err)
	}
}
