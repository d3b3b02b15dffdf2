package node

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// kubeconfig returns the path of the kubeconfig for one of the identities.
func (n *Node) kubeconfig(name string) string {
	return filepath.Join(n.Dir, name+".kubeconfig")
}

func (n *Node) writeKubeconfigs() error {
	for name, id := range n.pki.identities {
		cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: node
  cluster:
    server: https://127.0.0.1:%d
    certificate-authority: %s
users:
- name: %s
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: node
  context: {cluster: node, user: %s}
current-context: node
`, APIServerPort, n.pki.caFile, name, id.certFile, id.keyFile, name)
		if err := os.WriteFile(n.kubeconfig(name), []byte(cfg), 0o600); err != nil {
			return fmt.Errorf("write kubeconfig %s: %w", name, err)
		}
	}
	n.KubeconfigPath = n.kubeconfig("admin")
	return nil
}

func (n *Node) startControlPlane(ctx context.Context) error {
	etcd, err := stack.Binary("etcd")
	if err != nil {
		return err
	}
	apiserver, err := stack.Binary("kube-apiserver")
	if err != nil {
		return err
	}
	if err := n.start("etcd", etcd,
		"--name=node",
		"--data-dir="+filepath.Join(n.Dir, "etcd"),
		"--listen-client-urls=http://127.0.0.1:2379",
		"--advertise-client-urls=http://127.0.0.1:2379",
		"--listen-peer-urls=http://127.0.0.1:2380",
		"--initial-advertise-peer-urls=http://127.0.0.1:2380",
		"--initial-cluster=node=http://127.0.0.1:2380",
		"--initial-cluster-state=new",
		// One test run's data: fsync buys nothing on a shared disk.
		"--unsafe-no-fsync=true",
		"--heartbeat-interval=10",
		"--election-timeout=100",
		"--log-level=warn",
	); err != nil {
		return err
	}
	p := n.pki
	kc := p.identities["apiserver-kubelet-client"]
	if err := n.start("kube-apiserver", apiserver,
		"--etcd-servers=http://127.0.0.1:2379",
		"--bind-address=0.0.0.0",
		// The kubernetes Service's endpoint: pods reach the apiserver here.
		"--advertise-address="+NodeIP,
		"--secure-port="+strconv.Itoa(APIServerPort),
		"--cert-dir="+filepath.Join(n.Dir, "apiserver-certs"),
		"--tls-cert-file="+p.serving.certFile,
		"--tls-private-key-file="+p.serving.keyFile,
		"--client-ca-file="+p.caFile,
		// The node's name resolves nowhere: the namespace has no DNS but
		// the cluster's, and the apiserver's lookups must not leave it.
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-client-certificate="+kc.certFile,
		"--kubelet-client-key="+kc.keyFile,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--service-account-issuer=https://kubernetes.default.svc."+ClusterDomain,
		"--service-account-key-file="+p.saPub,
		"--service-account-signing-key-file="+p.saKey,
		"--service-cluster-ip-range="+ServiceCIDR,
		"--allow-privileged=true",
		"--profiling=false",
	); err != nil {
		return err
	}
	return n.poll(ctx, "apiserver ready", func(ctx context.Context) error {
		body, err := n.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("readyz: %w: %s", err, strings.TrimSpace(string(body)))
		}
		return nil
	})
}

func (n *Node) startNodeComponents(ctx context.Context) error {
	bins := map[string]string{}
	for _, name := range []string{"kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"} {
		b, err := stack.Binary(name)
		if err != nil {
			return err
		}
		bins[name] = b
	}
	p := n.pki
	if err := n.start("kube-controller-manager", bins["kube-controller-manager"],
		"--kubeconfig="+n.kubeconfig("kube-controller-manager"),
		"--authentication-kubeconfig="+n.kubeconfig("kube-controller-manager"),
		"--authorization-kubeconfig="+n.kubeconfig("kube-controller-manager"),
		"--bind-address=127.0.0.1",
		// Each controller acts as its own ServiceAccount, so the bootstrap
		// RBAC roles limit it as in a real cluster.
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+p.saKey,
		"--root-ca-file="+p.caFile,
		"--cluster-name=cosi-node",
		"--leader-elect=false",
		"--profiling=false",
	); err != nil {
		return err
	}
	if err := n.start("kube-scheduler", bins["kube-scheduler"],
		"--kubeconfig="+n.kubeconfig("kube-scheduler"),
		"--authentication-kubeconfig="+n.kubeconfig("kube-scheduler"),
		"--authorization-kubeconfig="+n.kubeconfig("kube-scheduler"),
		"--bind-address=127.0.0.1",
		"--leader-elect=false",
		"--profiling=false",
	); err != nil {
		return err
	}
	kubeletConfig, err := n.writeKubeletConfig()
	if err != nil {
		return err
	}
	if err := n.start("kubelet", bins["kubelet"],
		"--config="+kubeletConfig,
		"--kubeconfig="+n.kubeconfig("kubelet"),
		"--root-dir="+filepath.Join(n.Dir, "kubelet"),
		"--cert-dir="+filepath.Join(n.Dir, "kubelet-pki"),
		"--node-ip="+NodeIP,
		"--hostname-override="+NodeName,
		"--v=2",
	); err != nil {
		return err
	}
	proxyConfig, err := n.writeProxyConfig()
	if err != nil {
		return err
	}
	if err := n.start("kube-proxy", bins["kube-proxy"], "--config="+proxyConfig, "--v=2"); err != nil {
		return err
	}
	// The kubelet answers its health endpoint once its sync loop runs.
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: n.ns.DialContext}}
	return n.poll(ctx, "kubelet healthz", stack.HTTPStatusCheck(client, "http://127.0.0.1:10248/healthz", http.StatusOK))
}

// cgroupParent is the kubelet's cgroup root: every pod's cgroup lives below
// it, so teardown finds every container process there.
func (n *Node) cgroupParent() string { return "/" + prefix + n.id }

func (n *Node) writeKubeletConfig() (string, error) {
	// The kubelet wants its cgroup root to exist in every hierarchy.
	hierarchies, err := os.ReadDir(cgroupRoot)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", cgroupRoot, err)
	}
	for _, h := range hierarchies {
		if !h.IsDir() {
			continue
		}
		if err := os.MkdirAll(filepath.Join(cgroupRoot, h.Name(), n.cgroupParent()), 0o755); err != nil {
			return "", fmt.Errorf("create cgroup %s in %s: %w", n.cgroupParent(), h.Name(), err)
		}
	}
	cfg := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://%s
cgroupDriver: cgroupfs
cgroupRoot: %s
# No reserved slices: the machine's other work is not the node's to fence.
enforceNodeAllocatable: []
# This machine has swap or not; the node has no business refusing to start.
failSwapOn: false
# Ephemeral-storage accounting needs the root filesystem's mount point,
# which a kubelet sharing the host's mounts from a temp dir cannot use.
localStorageCapacityIsolation: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %s}
authorization: {mode: Webhook}
clusterDNS: [%s]
clusterDomain: %s
# Pods resolve cluster names only: no upstream server, nothing to leak to.
resolvConf: ""
healthzBindAddress: 127.0.0.1
healthzPort: 10248
readOnlyPort: 0
podLogsDir: %s
# The disk is shared with the rest of the machine: never evict test pods
# for its use, never collect their images.
evictionHard: {memory.available: "1Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
# Pods in a test start and stop often; report their status fast.
syncFrequency: 10s
nodeStatusUpdateFrequency: 5s
`, n.containerdSocket(), n.cgroupParent(), n.pki.caFile, DNSServiceIP, ClusterDomain, filepath.Join(n.Dir, "pod-logs"))
	path := filepath.Join(n.Dir, "kubelet.yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

func (n *Node) writeProxyConfig() (string, error) {
	cfg := fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: %s}
hostnameOverride: %s
mode: iptables
clusterCIDR: %s
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# The namespace's conntrack table is the host's; leave its size alone.
conntrack: {maxPerCore: 0, min: 0}
`, n.kubeconfig("kube-proxy"), NodeName, PodCIDR)
	path := filepath.Join(n.Dir, "kube-proxy.yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}
