package framework

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/driver"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// LocalConfig describes the driver and sidecar processes StartLocal runs
// against a harness stack.
type LocalConfig struct {
	Kube *stack.Kube
	// Seaweed is the SeaweedFS to administer, with its admin keys.
	Seaweed *stack.Seaweed
	// Namespace holds both identities, the driver's records and both Leases.
	Namespace string
	// DriverName defaults to DefaultDriverName.
	DriverName string
	// Dir holds the socket, the kubeconfigs and the logs. Unix socket paths
	// are limited to 108 bytes, so it should be short (os.MkdirTemp("", ...)).
	Dir string
	// ResyncPeriod of the driver; default 2s so that garbage collection is
	// seen within seconds.
	ResyncPeriod time.Duration
	// DriverArgs are appended to the driver's command line.
	DriverArgs []string
	// SidecarBin runs another build of the sidecar than bin/objectstorage-sidecar
	// (v0.1.0), and SidecarRBAC is the chart's sidecar.rbac for it; by default
	// SidecarRBAC.
	SidecarBin, SidecarRBAC string
	// PrerenderedRBAC installs the chart's RBAC from chart-rbac-local.yaml
	// instead of rendering it with helm (the demo, which builds no helm).
	PrerenderedRBAC bool
}

// Local is the driver and the objectstorage-sidecar running as local
// processes that share a unix socket, each with the rights the chart grants
// its container (see InstallRBAC).
type Local struct {
	Cfg LocalConfig
	// Driver runs as DriverServiceAccount; its socket is the one both
	// processes use.
	Driver *driver.Driver
	// SidecarKubeconfig authenticates as SidecarServiceAccount.
	SidecarKubeconfig string

	sidecarBin string

	mu      sync.Mutex
	sidecar *stack.Process
}

// StartLocal installs the RBAC, writes one kubeconfig per identity and starts
// the driver, then the sidecar, each once it is ready to be used.
func StartLocal(ctx context.Context, cfg LocalConfig) (*Local, error) {
	if cfg.Kube == nil || cfg.Seaweed == nil || cfg.Namespace == "" || cfg.Dir == "" {
		return nil, errors.New("LocalConfig needs Kube, Seaweed, Namespace and Dir")
	}
	if cfg.DriverName == "" {
		cfg.DriverName = DefaultDriverName
	}
	if cfg.ResyncPeriod <= 0 {
		cfg.ResyncPeriod = 2 * time.Second
	}
	if cfg.SidecarRBAC == "" {
		cfg.SidecarRBAC = SidecarRBAC
	}
	l := &Local{Cfg: cfg}
	var err error
	if l.sidecarBin = cfg.SidecarBin; l.sidecarBin == "" {
		if l.sidecarBin, err = stack.Binary("objectstorage-sidecar"); err != nil {
			return nil, err
		}
	}
	if err := cfg.Kube.CreateNamespace(ctx, cfg.Namespace); err != nil {
		return nil, err
	}
	install := InstallRBAC
	if cfg.PrerenderedRBAC {
		install = InstallPrerenderedRBAC
	}
	if err := install(ctx, cfg.Kube, cfg.Namespace, cfg.DriverName, cfg.SidecarRBAC); err != nil {
		return nil, err
	}
	sidecarCfg, err := cfg.Kube.ServiceAccountConfig(ctx, cfg.Namespace, SidecarServiceAccount)
	if err != nil {
		return nil, err
	}
	l.SidecarKubeconfig = filepath.Join(cfg.Dir, SidecarServiceAccount+".kubeconfig")
	if err := stack.WriteKubeconfig(sidecarCfg, l.SidecarKubeconfig); err != nil {
		return nil, err
	}
	driverCfg, err := cfg.Kube.ServiceAccountConfig(ctx, cfg.Namespace, DriverServiceAccount)
	if err != nil {
		return nil, err
	}
	l.Driver, err = driver.New(driver.Config{
		Dir:       cfg.Dir,
		Name:      cfg.DriverName,
		Namespace: cfg.Namespace,
		Kube:      driverCfg,
		Seaweed:   cfg.Seaweed,
		Binary:    driver.Binary,
		// The other way the driver takes them than the chart's files, which
		// the other suites use.
		AdminKeysInEnv: true,
		Args:           append([]string{"--resync-period=" + cfg.ResyncPeriod.String()}, cfg.DriverArgs...),
	})
	if err != nil {
		return nil, err
	}
	if err := l.StartDriver(ctx); err != nil {
		return l, err
	}
	if err := l.StartSidecar(ctx); err != nil {
		return l, err
	}
	return l, nil
}

// StartDriver starts the driver and waits until its socket accepts
// connections, which it opens only after its start-up checks passed.
func (l *Local) StartDriver(ctx context.Context) error {
	return l.Driver.Start(ctx)
}

// StartSidecar starts the objectstorage-sidecar and waits until it holds its
// leader Lease, after which it lists Buckets and BucketAccesses and works.
func (l *Local) StartSidecar(ctx context.Context) error {
	args := []string{
		"--kubeconfig=" + l.SidecarKubeconfig,
		"--driver-addr=unix://" + l.Driver.Socket,
		// Level 5 shows each Add/Update the sidecar handles. --debug is never
		// set: it logs every gRPC response, credentials included.
		"--v=5",
	}
	// The Lease and the events go to POD_NAMESPACE; without it, "default".
	env := []string{"POD_NAMESPACE=" + l.Cfg.Namespace}
	started := time.Now()
	p, err := stack.StartProcess("sidecar", l.sidecarBin, args, env, l.Cfg.Dir)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.sidecar = p
	l.mu.Unlock()
	return stack.WaitFor(ctx, p, 60*time.Second, func(ctx context.Context) error {
		return l.sidecarLeads(ctx, started)
	})
}

// SidecarLeaseName is the Lease the sidecar's controller library elects a
// leader on: "<driver name>/cosi" with every other character than letters,
// digits and '-' replaced by '-', lower-cased.
func SidecarLeaseName(driverName string) string {
	re := regexp.MustCompile("[^a-zA-Z0-9-]")
	name := strings.ToLower(re.ReplaceAllString(driverName+"/cosi", "-"))
	if strings.HasSuffix(name, "-") {
		name += "X"
	}
	return name
}

func (l *Local) sidecarLeads(ctx context.Context, since time.Time) error {
	lease, err := l.Cfg.Kube.Client.CoordinationV1().Leases(l.Cfg.Namespace).Get(ctx, SidecarLeaseName(l.Cfg.DriverName), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return errors.New("the sidecar has not created its Lease yet")
	}
	if err != nil {
		return fmt.Errorf("sidecar lease: %w", err)
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" ||
		lease.Spec.RenewTime == nil || lease.Spec.RenewTime.Time.Before(since.Add(-time.Second)) {
		return errors.New("the sidecar does not hold its Lease yet")
	}
	return nil
}

// StopDriver stops the driver with SIGTERM, as a rolling update would.
func (l *Local) StopDriver() {
	_ = l.Driver.Stop()
}

// StopSidecar stops the sidecar with SIGTERM; it releases its Lease.
func (l *Local) StopSidecar() {
	l.mu.Lock()
	p := l.sidecar
	l.mu.Unlock()
	if p != nil {
		// The sidecar gives itself 30 s after a signal before it exits anyway.
		p.Stop(35 * time.Second)
	}
}

// Stop stops the sidecar, then the driver.
func (l *Local) Stop() {
	if l == nil {
		return
	}
	l.StopSidecar()
	if l.Driver != nil {
		_ = l.Driver.Close()
	}
}

// Processes returns the running driver and sidecar.
func (l *Local) Processes() []*stack.Process {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ps []*stack.Process
	var d *stack.Process
	if l.Driver != nil {
		d = l.Driver.Process()
	}
	for _, p := range []*stack.Process{d, l.sidecar} {
		if p != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// DumpLogs writes the tail of both logs to w.
func (l *Local) DumpLogs(w io.Writer) {
	if l == nil {
		return
	}
	for _, p := range l.Processes() {
		p.DumpLog(w, 96<<10)
	}
}

// ProblemLines returns the log lines that show a deployment problem rather
// than a transient error: the API server refusing the driver or the sidecar
// something (a missing RBAC rule), or a panic.
func (l *Local) ProblemLines() []string {
	var out []string
	for _, name := range []string{"driver", "sidecar"} {
		f, err := os.Open(filepath.Join(l.Cfg.Dir, name+".log"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			// "is forbidden: User" is the API server's wording for an RBAC
			// refusal, quoted or not.
			if line := sc.Text(); strings.Contains(line, "is forbidden: User") || strings.HasPrefix(line, "panic:") {
				out = append(out, name+": "+line)
			}
		}
		f.Close()
	}
	return out
}

// WaitLog waits until a line of the component's log ("driver" or "sidecar")
// contains every one of parts; tests use it to be sure a component has
// reached a point of its flow that leaves no trace in the API.
func (l *Local) WaitLog(ctx context.Context, component string, timeout time.Duration, parts ...string) error {
	path := filepath.Join(l.Cfg.Dir, component+".log")
	return stack.WaitFor(ctx, nil, timeout, func(context.Context) error {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open %s log: %w", component, err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			found := true
			for _, p := range parts {
				if !strings.Contains(line, p) {
					found = false
					break
				}
			}
			if found {
				return nil
			}
		}
		return fmt.Errorf("no line of the %s log contains %q", component, parts)
	})
}
