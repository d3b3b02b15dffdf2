// Package node starts a real single-node Kubernetes cluster for the tests:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
// kube-proxy, containerd with runc and the CNI bridge, and CoreDNS as a
// Deployment. Everything runs inside a network namespace of its own, so pod
// and Service addresses exist only there; the tests reach the apiserver on
// 127.0.0.1 of that namespace through Node.DialContext.
//
// Components are processes stopped by PID; containers are ended through the
// node's cgroup parent; mounts are undone and the directory removed on Stop.
// A node left behind by a killed test is removed by the next Start.
package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// The node's addresses. They are private ranges routed only inside the
// node's namespace.
const (
	NodeName      = "cosi-node"
	NodeIP        = "10.250.0.2"
	PodCIDR       = "10.244.0.0/24"
	ServiceCIDR   = "10.96.0.0/16"
	APIServiceIP  = "10.96.0.1"
	DNSServiceIP  = "10.96.0.10"
	ClusterDomain = "cluster.local"
	// APIServerPort is the apiserver's port on 127.0.0.1 and on the node IP
	// inside the namespace; nothing else uses that namespace's ports.
	APIServerPort = 6443
)

// Options configures Start.
type Options struct {
	// Images are archives (docker save or OCI layout tarballs) loaded into
	// the node's containerd before the kubelet starts. The pause image and
	// CoreDNS are always added.
	Images []string
	// KeepDir leaves the node's directory (logs) after Stop.
	KeepDir bool
	// Timeout bounds the whole start. Default 5 minutes.
	Timeout time.Duration
	// Logf reports each step, with the time it took.
	Logf func(format string, args ...any)
}

// Node is a running single-node cluster.
type Node struct {
	// Dir holds every component's data, configuration and log.
	Dir string
	// Config is an admin (system:masters) client configuration that dials
	// the apiserver inside the namespace.
	Config  *rest.Config
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
	// KubeconfigPath is the same admin identity for a process run with
	// Command (helm).
	KubeconfigPath string

	id   string
	ns   *netns
	pki  *pki
	logf func(string, ...any)

	mu    sync.Mutex
	procs map[string]*stack.Process
	// starts restarts a component with its original command line.
	starts map[string]func() error

	keepDir  bool
	stopOnce sync.Once
}

// Start brings up the node and waits until it is Ready and cluster DNS
// answers. On failure everything started is stopped and the error names the
// directory holding the logs, which is kept.
func Start(ctx context.Context, opts Options) (n *Node, err error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if os.Geteuid() != 0 {
		return nil, errors.New("the node needs root: it creates a network namespace, mounts and cgroups")
	}
	if err := removeStale(); err != nil {
		return nil, err
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	n = &Node{
		id:      strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(suffix),
		logf:    opts.Logf,
		procs:   map[string]*stack.Process{},
		starts:  map[string]func() error{},
		keepDir: opts.KeepDir,
	}
	if n.logf == nil {
		n.logf = func(string, ...any) {}
	}
	n.Dir = filepath.Join(os.TempDir(), prefix+n.id)
	if err := os.Mkdir(n.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create node dir: %w", err)
	}
	defer func() {
		if err != nil {
			n.keepDir = true
			n.Stop()
			err = fmt.Errorf("%w (node logs in %s)", err, n.Dir)
		}
	}()
	if n.ns, err = createNetns(prefix + n.id); err != nil {
		return n, err
	}
	if n.pki, err = writePKI(n.Dir); err != nil {
		return n, err
	}
	if err := n.writeKubeconfigs(); err != nil {
		return n, err
	}
	n.Config = n.restConfig()
	if n.Client, err = kubernetes.NewForConfig(n.Config); err != nil {
		return n, err
	}
	if n.Dynamic, err = dynamic.NewForConfig(n.Config); err != nil {
		return n, err
	}

	step := func(name string, fn func(context.Context) error) error {
		start := time.Now()
		if err := fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		n.logf("node: %s in %s", name, time.Since(start).Round(time.Millisecond))
		return nil
	}
	images, err := n.systemImages(ctx)
	if err != nil {
		return n, err
	}
	images = append(images, opts.Images...)
	for _, s := range []struct {
		name string
		fn   func(context.Context) error
	}{
		{"etcd and kube-apiserver", n.startControlPlane},
		{"containerd", n.startContainerd},
		{"images", func(ctx context.Context) error { return n.LoadImages(ctx, images...) }},
		{"controller-manager, scheduler, kubelet, kube-proxy", n.startNodeComponents},
		{"node Ready", n.waitReady},
		{"CoreDNS", n.deployDNS},
	} {
		if err := step(s.name, s.fn); err != nil {
			return n, err
		}
	}
	return n, nil
}

// restConfig is the admin identity dialing 127.0.0.1 of the namespace.
func (n *Node) restConfig() *rest.Config {
	admin := n.pki.identities["admin"]
	return &rest.Config{
		Host: "https://127.0.0.1:" + strconv.Itoa(APIServerPort),
		TLSClientConfig: rest.TLSClientConfig{
			CAFile: n.pki.caFile, CertFile: admin.certFile, KeyFile: admin.keyFile,
		},
		Dial:  n.ns.DialContext,
		QPS:   50,
		Burst: 100,
	}
}

// DialContext opens a connection from inside the node's namespace, for
// clients of pods and Services (an S3 client to a Service IP).
func (n *Node) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return n.ns.DialContext(ctx, network, addr)
}

// Command returns a command that runs bin inside the node's namespace.
func (n *Node) Command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	name, full := n.ns.command(bin, args...)
	return exec.CommandContext(ctx, name, full...)
}

// start runs a component inside the namespace and remembers how, so that
// Restart can start it again.
func (n *Node) start(name, bin string, args ...string) error {
	fn := func() error {
		cmd, full := n.ns.command(bin, args...)
		p, err := stack.StartProcess(name, cmd, full, nil, n.Dir)
		if err != nil {
			return err
		}
		n.mu.Lock()
		n.procs[name] = p
		n.mu.Unlock()
		return nil
	}
	n.mu.Lock()
	n.starts[name] = fn
	n.mu.Unlock()
	return fn()
}

// Process returns a running component by name ("kubelet", "containerd").
func (n *Node) Process(name string) *stack.Process {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.procs[name]
}

// Restart stops a component (SIGTERM, then SIGKILL after grace) and starts
// it again with the same command line, as a node reboot or a service
// restart would, and returns once it has stayed up for 5 seconds.
func (n *Node) Restart(name string, grace time.Duration) error {
	n.mu.Lock()
	p, fn := n.procs[name], n.starts[name]
	n.mu.Unlock()
	if fn == nil {
		return fmt.Errorf("no component %q", name)
	}
	if p != nil {
		p.Stop(grace)
	}
	// A component that exits right after its start (the kubelet, when
	// containerd is still initialising its CRI service) is started again a
	// second later, as systemd's Restart=always does on a real node, until
	// it stays up.
	deadline := time.Now().Add(time.Minute)
	for {
		if err := fn(); err != nil {
			return err
		}
		p := n.Process(name)
		select {
		case <-p.Done():
			_, err := p.Exited()
			if time.Now().After(deadline) {
				return fmt.Errorf("%s keeps exiting after its restart (%v); see %s", name, err, p.LogPath)
			}
			n.logf("node: %s exited right after its restart (%v); starting it again", name, err)
			time.Sleep(time.Second)
		case <-time.After(5 * time.Second):
			return nil
		}
	}
}

// Stop ends every pod and component, undoes the mounts and removes the
// namespace, the cgroups and (unless kept) the directory.
func (n *Node) Stop() {
	if n == nil {
		return
	}
	n.stopOnce.Do(func() {
		n.mu.Lock()
		procs := n.procs
		n.mu.Unlock()
		// The kubelet first, so that nothing restarts the containers killed
		// next; the control plane last.
		for _, name := range []string{"kubelet", "kube-proxy", "kube-scheduler", "kube-controller-manager", "containerd", "kube-apiserver", "etcd"} {
			if p := procs[name]; p != nil {
				p.Stop(5 * time.Second)
			}
		}
		if n.keepDir {
			// Keep the logs: move them out of the way of the teardown.
			keep := n.Dir + "-logs"
			_ = os.MkdirAll(keep, 0o700)
			matches, _ := filepath.Glob(filepath.Join(n.Dir, "*.log"))
			for _, m := range matches {
				_ = os.Rename(m, filepath.Join(keep, filepath.Base(m)))
			}
			n.Dir = keep
		}
		if err := teardown(n.id); err != nil {
			fmt.Fprintf(os.Stderr, "node: %v\n", err)
		}
	})
}

// DumpLogs copies the tail of every component's log to w.
func (n *Node) DumpLogs(w io.Writer) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.procs {
		p.DumpLog(w, 16<<10)
	}
}

func (n *Node) waitReady(ctx context.Context) error {
	return n.poll(ctx, "node Ready", func(ctx context.Context) error {
		node, err := n.Client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				if c.Status == corev1.ConditionTrue {
					return nil
				}
				return fmt.Errorf("condition Ready=%s: %s", c.Status, c.Message)
			}
		}
		return errors.New("no Ready condition yet")
	})
}

// poll calls check every half second until it passes, a component exits, or
// ctx ends; the error names what was last missing.
func (n *Node) poll(ctx context.Context, what string, check func(context.Context) error) error {
	return stack.Poll(ctx, what, 10*time.Second, func() error {
		n.mu.Lock()
		defer n.mu.Unlock()
		for name, p := range n.procs {
			if exited, err := p.Exited(); exited {
				return fmt.Errorf("%s exited (%v) while waiting for %s; see %s", name, err, what, p.LogPath)
			}
		}
		return nil
	}, check)
}
