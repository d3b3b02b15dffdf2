package node

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNodeStartsAndLeavesNothing starts the node, checks that it is Ready and
// that cluster DNS runs as a pod, then stops it and checks that nothing is
// left: no namespace, directory, mount, cgroup or process.
func TestNodeStartsAndLeavesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	n, err := Start(ctx, Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			if t.Failed() {
				n.DumpLogs(os.Stderr)
			}
			n.Stop()
		}
	}()
	pods, err := n.Client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Fatalf("kube-system has %d pods, want the one CoreDNS pod", len(pods.Items))
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || len(p.Status.ContainerStatuses) == 0 || !p.Status.ContainerStatuses[0].Ready {
			t.Fatalf("pod %s: phase %s, statuses %+v", p.Name, p.Status.Phase, p.Status.ContainerStatuses)
		}
		t.Logf("pod %s Running, Ready, image %s", p.Name, p.Status.ContainerStatuses[0].ImageID)
	}

	id, dir := n.id, n.Dir
	n.Stop()
	stopped = true
	for _, p := range []string{dir, filepath.Join(netnsDir, prefix+id)} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is left after Stop (stat: %v)", p, err)
		}
	}
	if m := mountsUnder(t, dir); len(m) > 0 {
		t.Errorf("mounts left after Stop: %v", m)
	}
	if procs := cgroupProcs(prefix + id); len(procs) > 0 {
		t.Errorf("processes left in the node's cgroups: %v", procs)
	}
	hierarchies, _ := os.ReadDir(cgroupRoot)
	for _, h := range hierarchies {
		if _, err := os.Stat(filepath.Join(cgroupRoot, h.Name(), prefix+id)); err == nil {
			t.Errorf("cgroup %s left in %s", prefix+id, h.Name())
		}
	}
}

func mountsUnder(t *testing.T, dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && strings.HasPrefix(unescapeMount(fields[4]), dir) {
			out = append(out, fields[4])
		}
	}
	return out
}
