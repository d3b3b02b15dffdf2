// Package driver is the driver under test: the cosi-seaweedfs driver started
// against a local stack (test/stack) as a pod would run it, stopped, killed
// and started again, with its gRPC clients, its probes, its metrics and its
// logs. Every suite that runs the driver on the real stack goes through it,
// so that they all start it one way.
package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"k8s.io/client-go/rest"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/cmd/cosi-seaweedfs/app"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// The binaries in bin/ a Driver can run as a process.
const (
	// Binary is what `make build` builds.
	Binary = "cosi-seaweedfs"
	// CrashPointsBinary is the build with crash points (package crashpoint)
	// that `make build-crashpoints` builds.
	CrashPointsBinary = "cosi-seaweedfs-crashpoints"
)

// Config is what a Driver is started with: the flags every suite sets the
// same way come from here, the rest from Args.
type Config struct {
	// Dir holds the socket, the kubeconfig, the admin key files and the
	// logs. Unix socket paths are limited to 108 bytes: it must be short
	// (os.MkdirTemp("", ...)).
	Dir string
	// Name is --driver-name and Namespace --namespace.
	Name, Namespace string
	// Kube authenticates as the driver's ServiceAccount (see Install); it is
	// written to Dir/driver.kubeconfig.
	Kube *rest.Config
	// Seaweed is the SeaweedFS the driver administers with its admin keys.
	Seaweed *stack.Seaweed
	// Binary is the file in bin/ run as a process (Binary or
	// CrashPointsBinary); empty runs app.Run inside the test process.
	Binary string
	// Identity is the leader identity, passed as the chart passes it: the
	// pod name in POD_NAME. Empty leaves the driver's default.
	Identity string
	// AdminKeysInEnv passes the admin keys in SEAWEEDFS_ACCESS_KEY_ID and
	// SEAWEEDFS_SECRET_ACCESS_KEY rather than as mounted files.
	AdminKeysInEnv bool
	// Verbosity is --v; 0 leaves the default.
	Verbosity int
	// LogName names the log files: LogName.log, or LogName-NNN.log, one per
	// process, with LogPerStart. Default "driver".
	LogName     string
	LogPerStart bool
	// Args follow the flags above; Env is added to the driver's environment.
	Args []string
	Env  []string
}

// Driver is one replica of the driver under test. Its socket, its probe and
// metrics address, its flags and its leader identity stay the same across
// restarts, as a restarted container's do.
type Driver struct {
	cfg Config
	// Socket is the COSI socket, HTTPAddr the address of /metrics, /healthz
	// and /readyz, Kubeconfig the ServiceAccount's kubeconfig file.
	Socket, HTTPAddr, Kubeconfig string
	// KeyFile and SecretFile hold the admin keys as a mounted Secret would
	// (empty with AdminKeysInEnv); tests rewrite them as the kubelet does.
	KeyFile, SecretFile string
	conn                *grpc.ClientConn

	mu   sync.Mutex
	args []string
	// starts counts the processes (or runs) started so far.
	starts int
	proc   *stack.Process // the running or last process (Binary set)
	run    *run           // the running app.Run (Binary empty), nil while stopped
	log    *os.File       // the in-process log
}

// New writes the driver's files into cfg.Dir and prepares its command line
// and its gRPC connection; Start runs it.
func New(cfg Config) (*Driver, error) {
	if cfg.Dir == "" || cfg.Name == "" || cfg.Namespace == "" || cfg.Kube == nil || cfg.Seaweed == nil {
		return nil, errors.New("driver.Config needs Dir, Name, Namespace, Kube and Seaweed")
	}
	if cfg.LogName == "" {
		cfg.LogName = "driver"
	}
	d := &Driver{
		cfg:        cfg,
		Socket:     filepath.Join(cfg.Dir, "cosi.sock"),
		Kubeconfig: filepath.Join(cfg.Dir, "driver.kubeconfig"),
	}
	if len(d.Socket) > 100 {
		return nil, fmt.Errorf("socket path %s is too long for a unix socket; use a shorter Dir", d.Socket)
	}
	if cfg.Binary != "" {
		bin, err := stack.Binary(cfg.Binary)
		if err != nil {
			return nil, fmt.Errorf("%w (make %s builds it)", err, buildTarget(cfg.Binary))
		}
		d.cfg.Binary = bin
	}
	if err := stack.WriteKubeconfig(cfg.Kube, d.Kubeconfig); err != nil {
		return nil, err
	}
	sw := cfg.Seaweed
	if !cfg.AdminKeysInEnv {
		var err error
		if d.KeyFile, err = writeFile0600(cfg.Dir, "access-key", sw.AccessKey); err != nil {
			return nil, err
		}
		if d.SecretFile, err = writeFile0600(cfg.Dir, "secret-key", sw.SecretKey); err != nil {
			return nil, err
		}
	}
	port, err := stack.FreePort()
	if err != nil {
		return nil, err
	}
	d.HTTPAddr = "127.0.0.1:" + strconv.Itoa(port)
	d.args = []string{
		// Metrics and probes on one port.
		"--metrics-address=" + d.HTTPAddr,
		"--health-address=" + d.HTTPAddr,
		"--driver-name=" + cfg.Name,
		"--cosi-endpoint=unix://" + d.Socket,
		"--namespace=" + cfg.Namespace,
		"--kubeconfig=" + d.Kubeconfig,
		"--s3-endpoint=" + sw.Endpoint,
		"--s3-region=" + sw.Region,
	}
	if cfg.Verbosity > 0 {
		d.args = append(d.args, "--v="+strconv.Itoa(cfg.Verbosity))
	}
	if !cfg.AdminKeysInEnv {
		d.args = append(d.args, "--admin-access-key-file="+d.KeyFile, "--admin-secret-key-file="+d.SecretFile)
	}
	d.args = append(d.args, cfg.Args...)
	if cfg.Binary == "" {
		if d.log, err = os.OpenFile(filepath.Join(cfg.Dir, cfg.LogName+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			return nil, fmt.Errorf("open driver log: %w", err)
		}
	}
	// One connection for the Driver's life, across restarts. It reconnects
	// quickly: a restarted driver is back within a second, and gRPC's
	// default backoff would leave the calls waiting far longer.
	d.conn, err = grpc.NewClient("unix://"+d.Socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.5, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
			MinConnectTimeout: 2 * time.Second,
		}))
	if err != nil {
		d.closeLog()
		return nil, fmt.Errorf("driver gRPC client: %w", err)
	}
	return d, nil
}

func buildTarget(bin string) string {
	if bin == CrashPointsBinary {
		return "build-crashpoints"
	}
	return "build"
}

// env is the driver's environment on top of the test process's (a process)
// or instead of it (in this process).
func (d *Driver) env(extra []string) []string {
	var env []string
	if d.cfg.Identity != "" {
		env = append(env, "POD_NAME="+d.cfg.Identity)
	}
	if d.cfg.AdminKeysInEnv {
		env = append(env,
			"SEAWEEDFS_ACCESS_KEY_ID="+d.cfg.Seaweed.AccessKey,
			"SEAWEEDFS_SECRET_ACCESS_KEY="+d.cfg.Seaweed.SecretKey)
	}
	env = append(env, d.cfg.Env...)
	return append(env, extra...)
}

// Start runs the driver, with env added to its environment, and returns
// once its socket, which it opens only after its start-up checks passed,
// accepts connections and the Driver's gRPC connection is up; or with why
// not. It calls no method: tests look for the calls the sidecar makes in
// the log.
func (d *Driver) Start(ctx context.Context, env ...string) error {
	exited, err := d.launch(env)
	if err != nil {
		return err
	}
	waitCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	// A driver that exits (a failed start-up check) ends the wait at once.
	go func() {
		select {
		case <-exited:
			stopWaiting()
		case <-waitCtx.Done():
		}
	}()
	err = stack.WaitFor(waitCtx, nil, 60*time.Second, func(ctx context.Context) error {
		var dialer net.Dialer
		c, err := dialer.DialContext(ctx, "unix", d.Socket)
		if err != nil {
			return fmt.Errorf("driver socket: %w", err)
		}
		c.Close()
		// A call on a connection still backing off from the last run would
		// fail at once: the first call of a test must find it up.
		d.conn.Connect()
		if s := d.conn.GetState(); s != connectivity.Ready {
			return fmt.Errorf("gRPC connection to the driver is %s", s)
		}
		return nil
	})
	if err == nil {
		return nil
	}
	select {
	case <-exited:
		err = fmt.Errorf("%w; it exited: %w (log %s)", err, d.exitErr(), d.LogPath())
	default:
		if stopErr := d.Stop(); stopErr != nil && !errors.Is(stopErr, ErrNotRunning) {
			err = errors.Join(err, stopErr)
		}
	}
	return fmt.Errorf("driver did not become ready: %w", err)
}

// Launch runs the driver, with env added to its environment, without waiting
// for it; a supervisor that restarts a process the moment it ended uses it.
func (d *Driver) Launch(env ...string) error {
	_, err := d.launch(env)
	return err
}

// launch starts a process or a run and returns the channel closed when it
// ends.
func (d *Driver) launch(env []string) (<-chan struct{}, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.runningLocked() {
		return nil, errors.New("the driver is already running")
	}
	if d.proc != nil {
		// The last process has ended: this closes its log file.
		d.proc.Kill()
	}
	d.starts++
	if d.cfg.Binary != "" {
		name := d.cfg.LogName
		if d.cfg.LogPerStart {
			name = fmt.Sprintf("%s-%03d", name, d.starts)
		}
		p, err := stack.StartProcess(name, d.cfg.Binary, d.args, d.env(env), d.cfg.Dir)
		if err != nil {
			return nil, err
		}
		d.proc = p
		return p.Done(), nil
	}
	// Only the flags and cfg's environment count: the test process's
	// environment (KUBECONFIG and the like) must not leak into the driver's
	// configuration.
	vars := map[string]string{}
	for _, kv := range d.env(env) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	cfg, err := app.ParseFlags(d.args, func(k string) string { return vars[k] })
	if err != nil {
		return nil, fmt.Errorf("parse driver flags: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r := &run{cancel: cancel, exited: make(chan struct{})}
	go func() {
		r.err = app.Run(runCtx, cfg, app.NewLogger(d.log, cfg.Verbosity))
		close(r.exited)
	}()
	d.run = r
	return r.exited, nil
}

// exitErr is how the last process or run ended.
func (d *Driver) exitErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc != nil {
		_, err := d.proc.Exited()
		return err
	}
	if d.run != nil {
		select {
		case <-d.run.exited:
			return d.run.err
		default:
		}
	}
	return nil
}

// ErrNotRunning is Stop's answer when no driver runs.
var ErrNotRunning = errors.New("the driver is not running")

// Stop ends the driver gracefully, as a rolling update would: it releases
// its Lease. In this process Run must return nil, a clean shutdown not being
// an error; a process gets SIGTERM and is SIGKILLed after a grace period.
func (d *Driver) Stop() error {
	d.mu.Lock()
	p, r := d.proc, d.run
	d.run = nil
	d.mu.Unlock()
	if p != nil {
		if exited, _ := p.Exited(); exited {
			// Closes the log file; the process is already gone.
			p.Kill()
			return ErrNotRunning
		}
		p.Stop(20 * time.Second)
		return nil
	}
	if r == nil {
		return ErrNotRunning
	}
	return r.stop()
}

// Kill SIGKILLs the driver's process, as a crash or an OOM kill ends it. It
// returns false when no process was running. A driver in this process cannot
// be killed.
func (d *Driver) Kill() bool {
	d.mu.Lock()
	p := d.proc
	d.mu.Unlock()
	if p == nil {
		return false
	}
	if exited, _ := p.Exited(); exited {
		return false
	}
	p.Kill()
	return true
}

// Restart stops the driver and starts it again with the same flags.
func (d *Driver) Restart(ctx context.Context) error {
	if err := d.Stop(); err != nil && !errors.Is(err, ErrNotRunning) {
		return err
	}
	return d.Start(ctx)
}

// Running reports whether a process or a run is up.
func (d *Driver) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.runningLocked()
}

func (d *Driver) runningLocked() bool {
	if d.run != nil {
		select {
		case <-d.run.exited:
			return false
		default:
			return true
		}
	}
	if d.proc != nil {
		exited, _ := d.proc.Exited()
		return !exited
	}
	return false
}

// Process is the running or last process; nil in this process's mode or
// before the first start.
func (d *Driver) Process() *stack.Process {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.proc
}

// Args is a copy of the driver's command line.
func (d *Driver) Args() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.args...)
}

// SetArg replaces the value of flag (e.g. "--user-prefix") on the command
// line of the next start, and returns the value it had; "" when the driver
// runs without it.
func (d *Driver) SetArg(flag, value string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var old string
	for i, a := range d.args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			old = v
			d.args[i] = flag + "=" + value
		}
	}
	return old
}

// Close stops the driver if it runs and closes its connection and log.
func (d *Driver) Close() error {
	err := d.Stop()
	if errors.Is(err, ErrNotRunning) {
		err = nil
	}
	d.conn.Close()
	d.closeLog()
	return err
}

func (d *Driver) closeLog() {
	if d.log != nil {
		d.log.Close()
	}
}

// Provisioner and Identity are the driver's COSI services, over one
// connection that reconnects across restarts.
func (d *Driver) Provisioner() cosi.ProvisionerClient { return cosi.NewProvisionerClient(d.conn) }

func (d *Driver) Identity() cosi.IdentityClient { return cosi.NewIdentityClient(d.conn) }

// Get fetches path from the driver's metrics and probe address.
func (d *Driver) Get(path string) (int, string, error) {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(c, http.MethodGet, "http://"+d.HTTPAddr+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", path, err)
	}
	return resp.StatusCode, string(body), nil
}

// AwaitReady waits until /readyz answers 200. It goes on waiting while no
// driver runs: a supervisor may be starting the next process.
func (d *Driver) AwaitReady(ctx context.Context, timeout time.Duration) error {
	return stack.WaitFor(ctx, nil, timeout, func(context.Context) error {
		code, body, err := d.Get("/readyz")
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("/readyz = %d: %s", code, body)
		}
		return nil
	})
}

// run is one app.Run of the driver in this process.
type run struct {
	cancel context.CancelFunc
	exited chan struct{}
	err    error // Run's result, set before exited is closed
}

func (r *run) stop() error {
	r.cancel()
	select {
	case <-r.exited:
		if r.err != nil {
			return fmt.Errorf("app.Run returned: %w", r.err)
		}
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("app.Run did not return within 30s of its context ending")
	}
}

// writeFile0600 writes a credential file as a mounted Secret provides it.
func writeFile0600(dir, name, content string) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	return p, nil
}

// Wire is an answer of the driver as the sidecar receives it: equal wires
// are byte-identical answers.
func Wire(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatalf("marshal %T: %v", m, err)
	}
	return b
}
