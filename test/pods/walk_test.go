package pods

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/e2e/framework"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// The install guide walked on the node: every command of the README's
// "Install in a cluster", in its order, as a reader would paste it, with
// the node's kubectl and helm (bin/). What the node cannot run as written
// is replaced, each for a reason said in walkSteps, and a replacement that
// no longer finds its command fails the test, so the guide and the walk
// cannot drift apart.

// guideCommands returns the commands of the n-th sh block of the README's
// "Install in a cluster" section: continuation lines joined, comment lines
// dropped.
func guideCommands(t *testing.T, readme string, n int) []string {
	t.Helper()
	start := strings.Index(readme, "\n## Install in a cluster\n")
	if start < 0 {
		t.Fatal(`README.md has no "## Install in a cluster" section`)
	}
	section := readme[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) <= n {
		t.Fatalf("the install guide has %d sh blocks, want more than %d", len(blocks), n)
	}
	var cmds []string
	var cur strings.Builder
	for _, line := range strings.Split(blocks[n][1], "\n") {
		// A comment after a command ends the line for the shell; the
		// walk drops it so that a replacement can append to the command.
		line = trailingComment.ReplaceAllString(line, "")
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(strings.TrimRight(line, " "), "\\"); ok {
			cur.WriteString(cont)
			continue
		}
		cur.WriteString(line)
		cmds = append(cmds, strings.TrimSpace(cur.String()))
		cur.Reset()
	}
	return cmds
}

// trailingComment is a shell comment after a command on the guide's lines
// (none of them has a # inside quotes).
var trailingComment = regexp.MustCompile(`\s+#[^'"]*$`)

// walkStep is what the walk does with the guide's command that matches:
// run another command in its place (replace), run it on the host, and what
// to do after it.
type walkStep struct {
	match   *regexp.Regexp
	why     string
	replace func(cmd string) string
	onHost  bool // run outside the node's network namespace
	after   func(t *testing.T)
	used    int
}

func TestInstallGuideWalk(t *testing.T) {
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	// The guide installs a driver named cosi-seaweedfs.io with classes
	// named cosi-seaweedfs, as the release of the other tests does: that
	// release goes first.
	helm(t, 3*time.Minute, "uninstall", release, "--namespace", releaseNamespace, "--ignore-not-found", "--wait", "--timeout", "2m")

	archive := filepath.Join(root, "bin", "images", "cosi-seaweedfs.tar")
	steps := []*walkStep{{
		match: regexp.MustCompile(`^kubectl create -k 'github\.com/kubernetes-sigs/container-object-storage-interface\?ref=v0\.2\.2'$`),
		why: "no network here: the node has the COSI CRDs from the pinned API module and the controller stand-in " +
			"(v0.2.2 does not build from the module proxy); they were installed with the node",
		replace: func(string) string {
			return "kubectl get crd bucketclaims.objectstorage.k8s.io buckets.objectstorage.k8s.io"
		},
	}, {
		match: regexp.MustCompile(`^kubectl -n container-object-storage-system rollout status deployment/container-object-storage-controller (--timeout=\S+)$`),
		why:   "the controller stand-in's Deployment is cosi-controller/cosi-controller",
		replace: func(cmd string) string {
			return "kubectl -n cosi-controller rollout status deployment/cosi-controller --timeout=5m"
		},
	}, {
		match: regexp.MustCompile(`^make image `),
		why: "on the host, not in the node's network namespace (the build may need the Go module proxy), and into " +
			"the archive the node imports: a container engine's image store (docker on a CI runner) is not the node's",
		onHost:  true,
		replace: func(cmd string) string { return "CONTAINER_TOOL= " + cmd },
		// The image goes into the node's containerd, as the guide's
		// `ctr -n k8s.io images import` on a node does (kind load
		// image-archive on kind).
		after: func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := env.node.LoadImages(ctx, archive); err != nil {
				t.Fatal(err)
			}
			t.Logf("loaded %s into the node (ctr images import)", archive)
		},
	}, {
		match: regexp.MustCompile(`^helm install cosi-seaweedfs charts/cosi-seaweedfs `),
		why: "the node runs the sidecar v0.1.0 (v0.2.2 does not build from the module proxy): the chart is told its " +
			"line and image; everything else as written",
		replace: func(cmd string) string {
			return cmd + " --set sidecar.rbac=v0.1 --set sidecar.image.repository=" + sidecarRepo +
				" --set sidecar.image.tag=" + sidecarTag + " --set sidecar.image.pullPolicy=Never"
		},
	}, {
		match: regexp.MustCompile(`^kubectl -n my-app apply -f examples/bucketaccess\.yaml$`),
		why: "the sidecar v0.1.0 grants a BucketAccess only if it carries its finalizer when created " +
			"(README, known limitations of the sidecar v0.1.0)",
		replace: func(string) string {
			return `kubectl -n my-app create -f <(sed 's|^metadata:$|metadata:\n  finalizers: [` + framework.FinalizerBucketAccess + `]|' examples/bucketaccess.yaml)`
		},
	}}
	var bucketInfo string
	for i, block := range []int{0, 1} {
		for _, cmd := range guideCommands(t, readme, block) {
			step := matchStep(steps, cmd)
			run := cmd
			if step != nil && step.replace != nil {
				run = step.replace(cmd)
				t.Logf("guide:   %s\n  runs:  %s\n  (%s)", cmd, run, step.why)
			}
			onHost := step != nil && step.onHost
			// The credentials the guide prints hold the secret key: the
			// test reads them and never logs them.
			secret := strings.Contains(cmd, "{.data.BucketInfo}")
			out := guideRun(t, run, onHost, secret)
			if step != nil && step.after != nil {
				step.after(t)
			}
			if secret {
				bucketInfo = out
			}
		}
		if i == 0 {
			checkBucketInfo(t, bucketInfo)
		}
	}
	for _, s := range steps {
		if s.used != 1 {
			t.Errorf("replacement for %q found %d commands in the guide, want 1 (%s)", s.match, s.used, s.why)
		}
	}
	cleanUpWalk(t)
}

func matchStep(steps []*walkStep, cmd string) *walkStep {
	for _, s := range steps {
		if s.match.MatchString(cmd) {
			s.used++
			return s
		}
	}
	return nil
}

// guideRun runs one command with bash, from the repository's root, with
// bin/ first on PATH (kubectl, helm) and the node's admin kubeconfig:
// inside the node's network namespace, where the API server and Services
// are, unless onHost. Its output is returned, and logged unless secret; a
// failure fails the test.
func guideRun(t *testing.T, cmd string, onHost, secret bool) string {
	t.Helper()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	script := "set -euo pipefail\n" + cmd
	var c *exec.Cmd
	if onHost {
		c = exec.CommandContext(ctx, "bash", "-c", script)
	} else {
		c = env.node.Command(ctx, "bash", "-c", script)
	}
	home := t.TempDir()
	c.Dir = root
	c.Env = append(os.Environ(), "PATH="+filepath.Join(root, "bin")+":"+os.Getenv("PATH"),
		"KUBECONFIG="+env.node.KubeconfigPath, "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	start := time.Now()
	err = c.Run()
	shown := lastLines(stdout.String(), 12)
	if secret {
		shown = fmt.Sprintf("(%d bytes of credentials, not logged)", stdout.Len())
	}
	t.Logf("$ %s   (%s)\n%s\n%s", cmd, time.Since(start).Round(time.Millisecond), shown, lastLines(stderr.String(), 6))
	if err != nil {
		t.Fatalf("the guide's command failed: %s: %v\n%s\n%s", cmd, err, shown, stderr.String())
	}
	return stdout.String()
}

// checkBucketInfo checks what the guide's last command printed: the
// BucketInfo a workload mounts, with a bucket and a key.
func checkBucketInfo(t *testing.T, out string) {
	t.Helper()
	var info framework.BucketInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("the guide's last command printed no BucketInfo: %v\n%s", err, out)
	}
	if info.Spec.BucketName == "" || info.Spec.S3.AccessKeyID == "" || info.Spec.S3.AccessSecretKey == "" {
		t.Fatalf("BucketInfo without a bucket or a key: %s", out)
	}
	t.Logf("BucketInfo: bucket %s, key %s…", info.Spec.BucketName, info.Spec.S3.AccessKeyID[:4])
}

// cleanUpWalk removes what the guide made, so that the node is as before:
// the access, the claim (and so the bucket), the release, the namespaces.
func cleanUpWalk(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	a := &access{name: "demo-bucket", secret: "demo-bucket-credentials"}
	accesses := env.node.Dynamic.Resource(framework.BucketAccessGVR).Namespace("my-app")
	if err := accesses.Delete(ctx, a.name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	waitGone(t, 2*time.Minute, "bucketaccess demo-bucket", func(ctx context.Context) (string, error) {
		_, err := accesses.Get(ctx, a.name, metav1.GetOptions{})
		return "", err
	})
	deleteSecret(t, "my-app", a.secret)
	deleteClaim(t, "my-app", "demo-bucket")
	helm(t, 3*time.Minute, "uninstall", "cosi-seaweedfs", "--namespace", "seaweedfs", "--wait", "--timeout", "2m")
	deleteNamespace(t, "my-app")
	deleteNamespace(t, "seaweedfs")
}

// deleteNamespace deletes ns and waits until it is gone.
func deleteNamespace(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	c := env.node.Client.CoreV1().Namespaces()
	if err := c.Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	waitGone(t, 3*time.Minute, "namespace "+ns, func(ctx context.Context) (string, error) {
		_, err := c.Get(ctx, ns, metav1.GetOptions{})
		return "", err
	})
}
