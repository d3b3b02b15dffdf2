package pods

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

// driverLease is the Lease the driver's reconciler elects its leader on.
var driverLease = "cosi-seaweedfs-" + names.AccessID(driverName)[:10]

// TestRecoveryWithRealPods disturbs the driver's pods in the ways a cluster
// does — a deleted pod (graceful and forced), its containers' processes
// killed from the host, the kubelet and containerd restarted, the Deployment
// scaled to two and back — each while a claim and an access are being
// made. After each, every claim and access converges, the access granted
// before keeps its credentials and they keep working, the Lease is held by
// a running driver pod, and SeaweedFS holds exactly the users and buckets
// asked for.
func TestRecoveryWithRealPods(t *testing.T) {
	ctx := context.Background()
	const ns = "recovery"
	if err := deploymentAvailable(ctx, releaseNamespace, release); err != nil {
		t.Fatalf("the chart's Deployment is not available (TestChartOnANode installs it): %v", err)
	}
	if _, err := env.node.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createClaim(t, ns, "steady", bucketClass)
	waitClaimReady(t, ns, "steady")
	steady := grant(t, env.seaweed, ns, "steady", "steady", accessClass)
	live := map[string]*access{"steady": steady}

	cases := []struct {
		name string
		// disturb breaks something and returns at once; the claim and
		// access of the case are created right after.
		disturb func(t *testing.T)
		// sameHolder: the Lease stays with the pod that held it (the pod
		// survives); otherwise a new pod holds it.
		sameHolder bool
	}{
		{"the driver pod is deleted", func(t *testing.T) { deleteDriverPod(t, nil) }, false},
		{"the driver pod is deleted with --grace-period=0 --force", func(t *testing.T) { deleteDriverPod(t, ptr.To[int64](0)) }, false},
		{"the driver pod's processes are killed from the host", killDriverProcesses, true},
		{"the kubelet and containerd restart", func(t *testing.T) {
			// The runtime first, as a rebooted node starts it; the kubelet
			// is started again until it finds the runtime ready.
			for _, name := range []string{"containerd", "kubelet"} {
				if err := env.node.Restart(name, 10*time.Second); err != nil {
					t.Fatal(err)
				}
			}
		}, true},
		{"the Deployment is scaled to 2 and back to 1", func(t *testing.T) {
			scaleDriver(t, 2)
			scaleDriver(t, 1)
		}, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := leaseHolder(t)
			start := time.Now()
			c.disturb(t)
			name := "case" + strconv.Itoa(i)
			createClaim(t, ns, name, bucketClass)
			waitClaimReady(t, ns, name)
			a := grant(t, env.seaweed, ns, name, name, accessClass)
			live[name] = a
			for _, d := range []struct{ ns, name string }{{releaseNamespace, release}, {releaseNamespace, "seaweedfs"}, {"cosi-controller", "cosi-controller"}} {
				waitT(t, 3*time.Minute, "deployment "+d.ns+"/"+d.name+" available again", func(ctx context.Context) error {
					return deploymentAvailable(ctx, d.ns, d.name)
				})
			}
			holder := leaseHeldByRunningPod(t)
			if c.sameHolder && holder != before {
				t.Errorf("the Lease moved from %s to %s; the pod survived and should have kept it", before, holder)
			}
			if !c.sameHolder && holder == before {
				// Scaling to 2 and back may remove the new pod and keep the
				// old one; deleting the leader must move the Lease.
				if !strings.Contains(c.name, "scaled") {
					t.Errorf("the Lease is still held by %s, which was deleted", before)
				}
			}
			checkExact(t, ns, live)
			t.Logf("converged %s after the disturbance: claim and access granted, every pod available, every key works, SeaweedFS exact; Lease %s → %s",
				time.Since(start).Round(time.Millisecond), before, holder)
		})
	}
}

func deleteDriverPod(t *testing.T, grace *int64) {
	t.Helper()
	pod := leaseHolder(t)
	opts := metav1.DeleteOptions{GracePeriodSeconds: grace}
	if err := env.node.Client.CoreV1().Pods(releaseNamespace).Delete(context.Background(), pod, opts); err != nil {
		t.Fatal(err)
	}
	t.Logf("deleted pod %s (grace %v)", pod, ptr.Deref(grace, -1))
}

// killDriverProcesses SIGKILLs, from the host, every process of the
// containers of the pod holding the Lease, as the kernel's OOM killer or a
// crash would; the kubelet restarts them in the same pod.
func killDriverProcesses(t *testing.T) {
	t.Helper()
	pod := leaseHolder(t)
	p, err := env.node.Client.CoreV1().Pods(releaseNamespace).Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pids := podProcesses(t, p.UID)
	if len(pids) == 0 {
		t.Fatalf("no processes found for pod %s", pod)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Errorf("kill %d: %v", pid, err)
		}
	}
	t.Logf("killed %d processes of pod %s", len(pids), pod)
	// The kubelet must see both containers die and start them again in
	// the same pod.
	restarts := map[string]int32{}
	for _, c := range p.Status.ContainerStatuses {
		restarts[c.Name] = c.RestartCount
	}
	waitT(t, 2*time.Minute, "both containers of "+pod+" restarted and ready", func(ctx context.Context) error {
		p, err := env.node.Client.CoreV1().Pods(releaseNamespace).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range p.Status.ContainerStatuses {
			if c.RestartCount <= restarts[c.Name] || !c.Ready {
				return fmt.Errorf("container %s: restarts %d, ready %t", c.Name, c.RestartCount, c.Ready)
			}
		}
		return nil
	})
}

// podProcesses finds the processes of a pod's containers (not its sandbox)
// through their cgroup, which the kubelet names after the pod's UID.
func podProcesses(t *testing.T, uid types.UID) []int {
	t.Helper()
	var pids []int
	entries, _ := os.ReadDir("/proc")
	want := "pod" + string(uid)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cg, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cgroup"))
		if err != nil || !bytes.Contains(cg, []byte(want)) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if bytes.HasPrefix(cmd, []byte("/pause")) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

func scaleDriver(t *testing.T, replicas int32) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
	if _, err := env.node.Client.AppsV1().Deployments(releaseNamespace).Patch(context.Background(), release,
		types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitT(t, 3*time.Minute, fmt.Sprintf("the driver Deployment at %d replicas", replicas), func(ctx context.Context) error {
		return deploymentAvailable(ctx, releaseNamespace, release)
	})
	t.Logf("scaled to %d; Lease held by %s", replicas, leaseHolder(t))
}

// deploymentAvailable passes when every replica of the Deployment's current
// revision is available and no other pod of it is left (a deleted pod still
// terminating counts).
func deploymentAvailable(ctx context.Context, ns, name string) error {
	d, err := env.node.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	want := ptr.Deref(d.Spec.Replicas, 1)
	s := d.Status
	if s.ObservedGeneration < d.Generation || s.UpdatedReplicas != want || s.AvailableReplicas != want || s.Replicas != want {
		return fmt.Errorf("replicas %d updated %d available %d, want %d", s.Replicas, s.UpdatedReplicas, s.AvailableReplicas, want)
	}
	sel := metav1.FormatLabelSelector(d.Spec.Selector)
	pods, err := env.node.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return err
	}
	if len(pods.Items) != int(want) {
		return fmt.Errorf("%d pods match %s, want %d", len(pods.Items), sel, want)
	}
	return nil
}

func leaseHolder(t *testing.T) string {
	t.Helper()
	l, err := env.node.Client.CoordinationV1().Leases(releaseNamespace).Get(context.Background(), driverLease, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ptr.Deref(l.Spec.HolderIdentity, "")
}

// leaseHeldByRunningPod waits until the Lease names a Running, Ready driver
// pod and returns its name.
func leaseHeldByRunningPod(t *testing.T) string {
	t.Helper()
	var holder string
	waitT(t, time.Minute, "the Lease held by a running driver pod", func(ctx context.Context) error {
		l, err := env.node.Client.CoordinationV1().Leases(releaseNamespace).Get(ctx, driverLease, metav1.GetOptions{})
		if err != nil {
			return err
		}
		holder = ptr.Deref(l.Spec.HolderIdentity, "")
		p, err := env.node.Client.CoreV1().Pods(releaseNamespace).Get(ctx, holder, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("holder %q: %w", holder, err)
		}
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("holder %s is %s (deleting: %t)", holder, p.Status.Phase, p.DeletionTimestamp != nil)
		}
		return nil
	})
	return holder
}

// checkExact checks that every access still has the credentials it was
// granted with and they work, and that SeaweedFS holds exactly one user per
// live access and one bucket per live claim: nothing lost, nothing left.
func checkExact(t *testing.T, ns string, live map[string]*access) {
	t.Helper()
	ctx := context.Background()
	wantUsers := map[string]bool{}
	wantBuckets := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(live)) {
		a := live[name]
		s, err := env.node.Client.CoreV1().Secrets(ns).Get(ctx, a.secret, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !maps.EqualFunc(s.Data, a.data, bytes.Equal) {
			t.Errorf("the credentials Secret of %s changed", name)
		}
		c := a.s3()
		key := "recovery/" + name
		// SeaweedFS's pod may itself be coming back (a restarted kubelet
		// probes it again before the Service sends it traffic).
		waitT(t, time.Minute, "the key of "+name+" writes and deletes", func(ctx context.Context) error {
			if err := s3check.Put(ctx, c, a.info.Spec.BucketName, key, name); err != nil {
				return err
			}
			return s3check.Delete(ctx, c, a.info.Spec.BucketName, key)
		})
		wantUsers[a.accountID] = true
		wantBuckets[a.info.Spec.BucketName] = true
	}
	// The driver keeps one probe bucket of its own for its readiness check
	// (names.ProbeBucket of its owner id, ns-<UID of its namespace>).
	rns, err := env.node.Client.CoreV1().Namespaces().Get(ctx, releaseNamespace, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	probeBucket := names.ProbeBucket("ns-" + string(rns.UID))
	waitT(t, time.Minute, "SeaweedFS holds exactly the live users and buckets", func(ctx context.Context) error {
		users, err := seaweedUsers(ctx)
		if err != nil {
			return err
		}
		buckets, err := env.seaweed.admin().ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			return err
		}
		var gotBuckets []string
		for _, b := range buckets.Buckets {
			if name := aws.ToString(b.Name); name != probeBucket {
				gotBuckets = append(gotBuckets, name)
			}
		}
		sort.Strings(gotBuckets)
		want := slices.Sorted(maps.Keys(wantUsers))
		if !slices.Equal(users, want) {
			return fmt.Errorf("users %v, want %v", users, want)
		}
		// The flow test's claim may still be on its way out; only this
		// namespace's buckets are counted.
		wantB := slices.Sorted(maps.Keys(wantBuckets))
		var mine []string
		for _, b := range gotBuckets {
			if wantBuckets[b] {
				mine = append(mine, b)
			}
		}
		if !slices.Equal(mine, wantB) {
			return fmt.Errorf("buckets %v, want %v among them", gotBuckets, wantB)
		}
		if len(gotBuckets) != len(wantB) {
			return fmt.Errorf("buckets %v: more than the live claims' %v", gotBuckets, wantB)
		}
		return nil
	})
}

// seaweedUsers lists the driver's users (prefix cosi-), sorted.
func seaweedUsers(ctx context.Context) ([]string, error) {
	ic := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + env.seaweed.s3IP + ":8333"),
		Credentials: credentials.NewStaticCredentialsProvider(env.seaweed.adminKey, env.seaweed.adminSec, ""),
		HTTPClient:  nodeHTTPClient()})
	out, err := ic.ListUsers(ctx, &iam.ListUsersInput{})
	if err != nil {
		return nil, fmt.Errorf("ListUsers: %w", err)
	}
	var names []string
	for _, u := range out.Users {
		if n := aws.ToString(u.UserName); strings.HasPrefix(n, "cosi-") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if out.IsTruncated {
		return nil, errors.New("more users than one page")
	}
	return names, nil
}
