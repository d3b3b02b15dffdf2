package pods

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/e2e/framework"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// earlierCommit is the release the upgrade starts from: the last commit
// before record formats were numbered and the chart took the release's
// knobs, built from git history with today's image builder.
const (
	earlierCommit = "5abba7a"
	earlierTag    = "earlier"
)

// TestUpgradeAndRollback installs the chart and image of earlierCommit,
// makes a claim and an access, upgrades to the working tree, rolls back and
// upgrades again. After each step the access keeps its credentials and they
// work, every record is still there and reads as it did, and a new grant and
// revoke work. Last, a record of a format newer than the driver's is left
// untouched (its BucketAccess deleted, its key keeps working) until its
// format is one the driver reads again.
func TestUpgradeAndRollback(t *testing.T) {
	ctx := context.Background()
	earlierChart := earlierRelease(t)
	t.Cleanup(func() {
		if t.Failed() {
			driverLogs(t, releaseNamespace)
		}
	})
	// A fresh release of the earlier chart: its revision 1 is what
	// rollback returns to.
	helm(t, 3*time.Minute, "uninstall", release, "--namespace", releaseNamespace, "--ignore-not-found", "--wait", "--timeout", "2m")

	// helm uninstall deletes the RBAC while the pods stop, so the sidecar
	// v0.1.0 cannot release its Lease (150 s, renewed every 60 s): the new
	// sidecar would take it over only once it expires. The README's step
	// after an uninstall: delete the Leases no running pod holds.
	deleteStaleLeases(t, releaseNamespace)
	helm(t, 6*time.Minute, releaseArgs("install", earlierChart, earlierTag)...)
	logPods(t, releaseNamespace)
	start := time.Now()
	waitT(t, 5*time.Minute, "every Lease held by a running pod", leasesHeldByRunningPods)
	t.Logf("the earlier release's pods hold their Leases %s after the install", time.Since(start).Round(time.Second))
	const ns = "upgrade"
	if _, err := env.node.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createClaim(t, ns, "kept", bucketClass)
	waitClaimReady(t, ns, "kept")
	kept := grant(t, env.seaweed, ns, "kept", "kept", accessClass)
	if err := s3check.Put(ctx, kept.s3(), kept.info.Spec.BucketName, "written-before-upgrade", "v1"); err != nil {
		t.Fatal(err)
	}
	records := recordsNow(t)

	steps := []struct {
		name string
		args []string
	}{
		{"helm upgrade to the working tree", releaseArgs("upgrade", env.chartDir, imageTag)},
		{"helm rollback to the earlier release", []string{"rollback", release, "1", "--namespace", releaseNamespace, "--wait", "--timeout", "5m"}},
		{"helm upgrade again", releaseArgs("upgrade", env.chartDir, imageTag)},
	}
	for i, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			start := time.Now()
			helm(t, 6*time.Minute, step.args...)
			logPods(t, releaseNamespace)
			waitT(t, 5*time.Minute, "every Lease held by a running pod", leasesHeldByRunningPods)
			checkKept(t, ns, kept)
			checkRecords(t, records)
			name := fmt.Sprintf("step%d", i)
			a := grant(t, env.seaweed, ns, name, "kept", accessClass)
			if err := s3check.Put(ctx, a.s3(), a.info.Spec.BucketName, name, name); err != nil {
				t.Errorf("a grant made after the step does not write: %v", err)
			}
			revoke(t, ns, a)
			t.Logf("%s: kept access works, %d records unchanged, grant and revoke after it in %s", step.name, len(records), time.Since(start).Round(time.Millisecond))
		})
		if t.Failed() {
			t.FailNow()
		}
	}

	t.Run("a record of a newer format is left untouched", func(t *testing.T) {
		rec := recordOfKey(t, kept.info.Spec.S3.AccessKeyID)
		setFormat(t, rec, strconv.Itoa(store.Format+1))
		before, err := env.node.Client.CoreV1().Secrets(releaseNamespace).Get(ctx, rec, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := env.node.Dynamic.Resource(framework.BucketAccessGVR).Namespace(ns).Delete(ctx, kept.name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// Several resync periods (5 s): the revocation of a deleted
		// BucketAccess would have happened in the first.
		time.Sleep(20 * time.Second)
		after, err := env.node.Client.CoreV1().Secrets(releaseNamespace).Get(ctx, rec, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if after.ResourceVersion != before.ResourceVersion {
			t.Errorf("the record of a newer format was written")
		}
		if err := s3check.Put(ctx, kept.s3(), kept.info.Spec.BucketName, "newer-format", "x"); err != nil {
			t.Errorf("the key of a record this driver cannot read was revoked: %v", err)
		}
		setFormat(t, rec, "1")
		waitKeyRejected(t, kept)
		deleteSecret(t, ns, kept.secret)
	})
	deleteClaim(t, ns, "kept")
}

// earlierRelease builds the driver image of earlierCommit from its own
// Dockerfile, loads it into the node, and returns its chart's directory.
func earlierRelease(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	archive := exec.CommandContext(ctx, "git", "-C", root, "archive", "--format=tar", earlierCommit)
	extract := exec.CommandContext(ctx, "tar", "-x", "-C", src)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	extract.Stdin = pipe
	var stderr bytes.Buffer
	archive.Stderr, extract.Stderr = &stderr, &stderr
	if err := extract.Start(); err != nil {
		t.Fatal(err)
	}
	if err := archive.Run(); err != nil {
		t.Fatalf("git archive %s (the repository's history is needed: a full clone): %v: %s", earlierCommit, err, stderr.String())
	}
	if err := extract.Wait(); err != nil {
		t.Fatalf("extract %s: %v: %s", earlierCommit, err, stderr.String())
	}
	out := filepath.Join(dir, "earlier.tar")
	build := exec.CommandContext(ctx, "go", "run", "./test/image/build", "-f", filepath.Join(src, "Dockerfile"),
		"-ref", driverRepo+":"+earlierTag, "-version", earlierCommit, "-revision", earlierCommit, "-o", out)
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the image of %s: %v: %s", earlierCommit, err, b)
	}
	if err := env.node.LoadImages(ctx, out); err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s:%s built from %s and loaded", driverRepo, earlierTag, earlierCommit)
	return filepath.Join(src, "charts", "cosi-seaweedfs")
}

// record is what a record is made of that no driver may change: the object
// (its UID) and its data.
type record struct {
	uid  string
	data map[string][]byte
}

// recordsNow returns every record of the release namespace by name.
func recordsNow(t *testing.T) map[string]record {
	t.Helper()
	ctx := context.Background()
	sel := labels.SelectorFromSet(labels.Set{store.LabelManagedBy: store.ManagedBy}).String()
	out := map[string]record{}
	cms, err := env.node.Client.CoreV1().ConfigMaps(releaseNamespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		if _, err := store.BucketFromConfigMap(&cm); err != nil {
			t.Errorf("bucket record %s does not read: %v", cm.Name, err)
		}
		d := map[string][]byte{}
		for k, v := range cm.Data {
			d[k] = []byte(v)
		}
		out[cm.Name] = record{uid: string(cm.UID), data: d}
	}
	secs, err := env.node.Client.CoreV1().Secrets(releaseNamespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secs.Items {
		if _, err := store.AccessFromSecret(&s); err != nil {
			t.Errorf("access record %s does not read: %v", s.Name, err)
		}
		out[s.Name] = record{uid: string(s.UID), data: s.Data}
	}
	return out
}

// checkRecords checks that every record of before is still there, the same
// object, with the same spec and credentials (the status may move on).
func checkRecords(t *testing.T, before map[string]record) {
	t.Helper()
	now := recordsNow(t)
	for _, name := range slices.Sorted(maps.Keys(before)) {
		b, n := before[name], now[name]
		if n.uid != b.uid {
			t.Errorf("record %s was lost or made again (uid %s, was %s)", name, n.uid, b.uid)
			continue
		}
		for _, k := range []string{"spec", "accessKeyID", "secretAccessKey"} {
			if !bytes.Equal(n.data[k], b.data[k]) {
				t.Errorf("record %s: %s was rewritten", name, k)
			}
		}
	}
}

func checkKept(t *testing.T, ns string, a *access) {
	t.Helper()
	ctx := context.Background()
	s, err := env.node.Client.CoreV1().Secrets(ns).Get(ctx, a.secret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(s.Data, a.data, bytes.Equal) {
		t.Errorf("the credentials Secret of %s changed", a.name)
	}
	c := a.s3()
	waitT(t, 2*time.Minute, "the kept key reads what it wrote before the upgrade", func(ctx context.Context) error {
		got, err := s3check.Get(ctx, c, a.info.Spec.BucketName, "written-before-upgrade")
		if err != nil {
			return err
		}
		if got != "v1" {
			return fmt.Errorf("read %q", got)
		}
		return nil
	})
}

func setFormat(t *testing.T, name, format string) {
	t.Helper()
	secrets := env.node.Client.CoreV1().Secrets(releaseNamespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := secrets.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[store.AnnotationFormat] = format
		_, err = secrets.Update(context.Background(), s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// recordOfKey returns the name of the access record holding an access key.
func recordOfKey(t *testing.T, key string) string {
	t.Helper()
	sel := labels.SelectorFromSet(labels.Set{store.LabelKind: store.KindAccess}).String()
	secs, err := env.node.Client.CoreV1().Secrets(releaseNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secs.Items {
		if string(s.Data["accessKeyID"]) == key {
			return s.Name
		}
	}
	t.Fatal(errors.New("no access record holds the key"))
	return ""
}

// driverLogs prints the last lines of every container of the release's
// pods, for a failed step.
func driverLogs(t *testing.T, ns string) {
	ctx := context.Background()
	pods, err := env.node.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Logf("list pods: %v", err)
		return
	}
	for _, p := range pods.Items {
		for _, c := range p.Spec.Containers {
			raw, err := env.node.Client.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: c.Name, TailLines: ptr.To[int64](60)}).DoRaw(ctx)
			t.Logf("--- logs of %s/%s (%v) ---\n%s", p.Name, c.Name, err, raw)
		}
	}
}

// staleLeases returns the Leases of a release namespace (the driver's and
// the sidecar's) whose holder is not a running pod of it, with their holders.
func staleLeases(ctx context.Context, ns string) (map[string]string, error) {
	pods, err := env.node.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	running := map[string]bool{}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			running[p.Name] = true
		}
	}
	leases, err := env.node.Client.CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	stale := map[string]string{}
	for _, l := range leases.Items {
		if h := ptr.Deref(l.Spec.HolderIdentity, ""); !running[h] {
			stale[l.Name] = h
		}
	}
	return stale, nil
}

// leasesHeldByRunningPods passes when no Lease of the release namespace is
// stale.
func leasesHeldByRunningPods(ctx context.Context) error {
	stale, err := staleLeases(ctx, releaseNamespace)
	if err != nil {
		return err
	}
	for name, holder := range stale {
		return fmt.Errorf("the Lease %s is held by %q, not a running pod", name, holder)
	}
	return nil
}

// deleteStaleLeases deletes the stale Leases of a release namespace.
func deleteStaleLeases(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	stale, err := staleLeases(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(stale)) {
		if err := env.node.Client.CoordinationV1().Leases(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Logf("deleted Lease %s, held by %q, which no longer runs", name, stale[name])
	}
}
