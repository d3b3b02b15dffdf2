package node

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// PauseImage is the pod sandbox image: the node's own pause program, since
// no registry can be reached.
const PauseImage = "cosi.test/pause:node"

// cniBinDir is where Debian's containernetworking-plugins installs the
// bridge, host-local, loopback and portmap plugins.
const cniBinDir = "/usr/lib/cni"

func (n *Node) containerdDir() string    { return filepath.Join(n.Dir, "containerd") }
func (n *Node) containerdSocket() string { return filepath.Join(n.containerdDir(), "containerd.sock") }

func (n *Node) startContainerd(ctx context.Context) error {
	bin, err := exec.LookPath("containerd")
	if err != nil {
		return fmt.Errorf("containerd is not installed (`make tools` installs it): %w", err)
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		return fmt.Errorf("runc is not installed (`make tools` installs it): %w", err)
	}
	dir := n.containerdDir()
	cniConf := filepath.Join(n.Dir, "cni", "net.d")
	for _, d := range []string{dir, cniConf} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	conflist := fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "cosi-node",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": %q
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, PodCIDR, filepath.Join(n.Dir, "cni", "ipam"))
	if err := os.WriteFile(filepath.Join(cniConf, "10-bridge.conflist"), []byte(conflist), 0o600); err != nil {
		return err
	}
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
[grpc]
  address = %q
[ttrpc]
  address = %q
[plugins."io.containerd.internal.v1.opt"]
  path = %q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  # Without CAP_SYS_RESOURCE (a container host) runc cannot lower a
  # process's OOM score below its parent's, and every sandbox would fail.
  restrict_oom_score_adj = true
  # Pod namespaces under the node's state, not the host's /var/run/netns.
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = %q
        SystemdCgroup = false
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), n.containerdSocket(), n.containerdSocket()+".ttrpc",
		filepath.Join(dir, "opt"), PauseImage, cniBinDir, cniConf, runc)
	configPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return err
	}
	if err := n.start("containerd", bin, "--config="+configPath, "--log-level=info"); err != nil {
		return err
	}
	return n.poll(ctx, "containerd socket", func(context.Context) error {
		c, err := net.Dial("unix", n.containerdSocket())
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// Ctr runs the ctr client against the node's containerd in the namespace
// the kubelet uses, and returns its output.
func (n *Node) Ctr(ctx context.Context, args ...string) (string, error) {
	full := append([]string{"--address", n.containerdSocket(), "--namespace", "k8s.io"}, args...)
	out, err := exec.CommandContext(ctx, "ctr", full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// LoadImages imports image archives into the node's containerd, where the
// kubelet finds them without pulling.
func (n *Node) LoadImages(ctx context.Context, archives ...string) error {
	for _, a := range archives {
		if _, err := n.Ctr(ctx, "images", "import", a); err != nil {
			return err
		}
	}
	return nil
}
