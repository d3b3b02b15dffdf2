package node

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// netnsDir is where `ip netns` keeps the bind mounts that hold named network
// namespaces open.
const netnsDir = "/run/netns"

// netns is the network namespace the whole node runs in. The node's own
// address, the pod bridge and every pod and Service address exist only in
// it, so nothing the node does can reach the host's network or beyond.
type netns struct {
	name string
	path string
}

// createNetns makes the namespace and its links: lo, and a veth pair whose
// both ends stay inside. One end carries the node IP (the kubelet refuses a
// loopback address and dummy links are not available everywhere); its peer
// has no address, so the default route through it leads nowhere. Forwarding
// is turned on inside only: pods reach each other and Services through the
// bridge the CNI plugin makes.
func createNetns(name string) (*netns, error) {
	n := &netns{name: name, path: filepath.Join(netnsDir, name)}
	if err := run("ip", "netns", "add", name); err != nil {
		return nil, err
	}
	steps := [][]string{
		{"ip", "-n", name, "link", "set", "lo", "up"},
		{"ip", "-n", name, "link", "add", "node0", "type", "veth", "peer", "name", "node0-peer"},
		{"ip", "-n", name, "addr", "add", NodeIP + "/24", "dev", "node0"},
		{"ip", "-n", name, "link", "set", "node0", "up"},
		{"ip", "-n", name, "link", "set", "node0-peer", "up"},
		// The kubelet and kube-proxy want a default route to find the node's
		// interface; this one never leaves the namespace.
		{"ip", "-n", name, "route", "add", "default", "dev", "node0"},
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			n.delete()
			return nil, err
		}
	}
	for key, value := range map[string]string{
		"net/ipv4/ip_forward": "1",
		// Service replies between two pods on the bridge must pass iptables
		// to be translated back, as on any node.
		"net/bridge/bridge-nf-call-iptables": "1",
		// kube-proxy's NodePort on 127.0.0.1 needs this; it sets it itself
		// when it can, which the namespace allows.
		"net/ipv4/conf/all/route_localnet": "1",
	} {
		if err := n.do(func() error {
			return os.WriteFile(filepath.Join("/proc/sys", key), []byte(value), 0o644)
		}); err != nil {
			n.delete()
			return nil, fmt.Errorf("sysctl %s in %s: %w", key, name, err)
		}
	}
	return n, nil
}

// delete removes the namespace. Processes still inside keep it alive until
// they end; the caller stops them first.
func (n *netns) delete() {
	_ = run("ip", "netns", "delete", n.name)
}

// command wraps bin so that it runs inside the namespace. nsenter enters
// only the network namespace and then execs bin, so the PID is bin's and the
// process shares the host's mounts (the kubelet's volume mounts must be seen
// by containerd and runc).
func (n *netns) command(bin string, args ...string) (string, []string) {
	return "nsenter", append([]string{"--net=" + n.path, "--", bin}, args...)
}

// do runs fn on an OS thread moved into the namespace, and moves the thread
// back before handing it to other goroutines. The thread must not end
// instead: a child started with Pdeathsig (stack.StartProcess) is killed
// when the thread that forked it exits, and any pooled thread may have.
// Only if it cannot be moved back is it left to end with the goroutine.
func (n *netns) do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open own network namespace: %w", err)
			return
		}
		defer self.Close()
		target, err := os.Open(n.path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open %s: %w", n.path, err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", n.path, err)
			return
		}
		err = fn()
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// DialContext opens a connection from inside the namespace: the socket is
// created there and stays there, whatever thread uses it afterwards. It is
// what the tests' clients use to reach 127.0.0.1 of the node.
func (n *netns) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var conn net.Conn
	err := n.do(func() error {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		conn = c
		return err
	})
	return conn, err
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
