package resilience

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	prommodel "github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/crashpoint"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// replica is one driver pod: its process can be SIGKILLed, by the test or by
// an armed crash point, and a supervisor starts it again at once with the
// same flags, socket and leader identity, as a kubelet restarts a container.
type replica struct {
	e        *environment
	name     string // the leader identity (POD_NAME)
	dir      string
	socket   string
	httpAddr string
	args     []string
	conn     *grpc.ClientConn

	mu   sync.Mutex
	proc *stack.Process
	// testKill marks the running process as SIGKILLed by the test.
	testKill bool
	gen      int
	stopping bool
	// next decides, when the process has ended, which point the next
	// process is armed with and whether it is started at all.
	next func(exit) (arm string, restart bool)
	done chan struct{}
}

// exit is how one driver process ended.
type exit struct {
	proc string
	// crash is "<point>:<n>" when an armed crash point ended it.
	crash    string
	testKill bool
	err      error
	lifetime time.Duration
	log      string
}

// expected reports whether the test or a crash point ended the process.
func (x exit) expected() bool { return x.crash != "" || x.testKill }

// replicaOptions are what passes vary.
type replicaOptions struct {
	leaseDuration time.Duration
	// filer writes users through the filer's IAM gRPC service instead of
	// the IAM query API.
	filer bool
}

// newReplica prepares a replica; start runs its first process.
// Its files go to a directory named after the pass.
func (e *environment) newReplica(t testing.TB, pass, name string, opts replicaOptions) *replica {
	t.Helper()
	dir := filepath.Join(e.dir, pass+"-"+name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	port, err := stack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{
		e:        e,
		name:     name,
		dir:      dir,
		socket:   filepath.Join(dir, "cosi.sock"),
		httpAddr: fmt.Sprintf("127.0.0.1:%d", port),
		next:     func(exit) (string, bool) { return "", true },
	}
	if opts.leaseDuration == 0 {
		opts.leaseDuration = 15 * time.Second
	}
	r.args = []string{
		"--metrics-address=" + r.httpAddr,
		"--health-address=" + r.httpAddr,
		// The debug level puts each reconcile's steps and client-go's
		// lines into the logs that are checked for secrets.
		"--v=2",
		"--driver-name=" + driverName,
		"--cosi-endpoint=unix://" + r.socket,
		"--namespace=" + driverNamespace,
		"--kubeconfig=" + e.kubeconfig,
		"--s3-endpoint=" + e.stack.Seaweed.Endpoint,
		"--s3-region=" + e.stack.Seaweed.Region,
		"--admin-access-key-file=" + e.keyFile,
		"--admin-secret-key-file=" + e.secretFile,
		"--user-prefix=" + userPrefix,
		"--resync-period=" + resyncPeriod.String(),
		"--wait-timeout=" + waitTimeout.String(),
		"--backend-timeout=" + backendTimeout.String(),
		"--leader-elect=true",
		"--lease-duration=" + opts.leaseDuration.String(),
		"--leader-identity=" + name,
		"--grace-period=2s",
		// The workload revokes every access it ends, as the sidecar v0.2
		// does; it creates no BucketAccess objects for the collection of
		// deleted ones (test/conformance covers that).
		"--collect-deleted-bucketaccesses=false",
	}
	if opts.filer {
		// The stack's filer is a plaintext one on loopback.
		r.args = append(r.args, "--filer-grpc-address="+e.stack.Seaweed.FilerGRPCAddress(), "--allow-insecure-filer")
	}
	// Reconnect quickly: the process is back within a second of a kill, and
	// gRPC's default backoff would leave the calls waiting far longer.
	r.conn, err = grpc.NewClient("unix://"+r.socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.5, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
			MinConnectTimeout: 2 * time.Second,
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.stop()
		r.conn.Close()
	})
	return r
}

// start runs a process, armed with arm, under a new supervisor, and waits
// until it is ready. A replica whose supervisor ended (r.next said not to
// restart) can be started again.
func (r *replica) start(t testing.TB, arm string) {
	t.Helper()
	r.mu.Lock()
	if r.proc != nil || r.stopping {
		r.mu.Unlock()
		t.Fatalf("replica %s is running or stopped", r.name)
	}
	r.done = make(chan struct{})
	err := r.launch(arm, false)
	r.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	go r.supervise()
	r.awaitReady(t)
}

// launch starts one process; r.mu is held.
func (r *replica) launch(arm string, restart bool) error {
	r.gen++
	env := []string{"POD_NAME=" + r.name, crashpoint.EnvRecord + "=" + r.e.record}
	if arm != "" {
		env = append(env, crashpoint.EnvCrashAt+"="+arm)
	}
	p, err := stack.StartProcess(fmt.Sprintf("driver-%s-%03d", r.name, r.gen), r.e.bin, r.args, env, r.dir)
	if err != nil {
		return err
	}
	r.proc, r.testKill = p, false
	r.e.stats.started(restart)
	return nil
}

// supervise waits for each process to end and starts the next one as
// r.next says, until stop.
func (r *replica) supervise() {
	r.mu.Lock()
	done := r.done
	r.mu.Unlock()
	defer close(done)
	for {
		r.mu.Lock()
		p := r.proc
		r.mu.Unlock()
		began := time.Now()
		<-p.Done()
		_, err := p.Exited()
		r.mu.Lock()
		testKill := r.testKill
		r.mu.Unlock()
		// Kill closes the log file and reaps nothing more: the process
		// group is already gone.
		p.Kill()
		x := exit{proc: p.Name, testKill: testKill, err: err, lifetime: time.Since(began), log: p.LogPath}
		x.crash = crashOf(p.LogPath)
		if x.crash != "" {
			r.e.stats.crashed(x.crash)
		}
		r.mu.Lock()
		if r.stopping {
			r.mu.Unlock()
			return
		}
		arm, restart := r.next(x)
		if !restart {
			r.proc = nil
			r.mu.Unlock()
			return
		}
		if !x.expected() {
			// A start-up that failed (the Kubernetes API is down) is
			// retried after a pause, as a kubelet's back-off would.
			r.mu.Unlock()
			time.Sleep(500 * time.Millisecond)
			r.mu.Lock()
		}
		for {
			err := r.launch(arm, true)
			if err == nil {
				break
			}
			fmt.Fprintf(os.Stderr, "resilience: restart %s: %v\n", r.name, err)
			r.mu.Unlock()
			time.Sleep(time.Second)
			r.mu.Lock()
		}
		r.mu.Unlock()
	}
}

// crashOf reads "<point>:<n>" from the line an armed crash point writes
// before it kills the process, "" when there is none.
func crashOf(logPath string) string {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "crashpoint: ")
		if !ok {
			continue
		}
		point, hit, ok := strings.Cut(rest, " hit ")
		n, _, ok2 := strings.Cut(hit, ": killing the process")
		if ok && ok2 {
			return point + ":" + n
		}
	}
	return ""
}

// kill SIGKILLs the running process; the supervisor restarts it as r.next
// says. It returns false when no process was running.
func (r *replica) kill() bool {
	r.mu.Lock()
	p := r.proc
	if p == nil {
		r.mu.Unlock()
		return false
	}
	r.testKill = true
	r.mu.Unlock()
	if exited, _ := p.Exited(); exited {
		return false
	}
	r.e.stats.killed()
	p.Kill()
	return true
}

// stop ends the replica for good: a graceful stop, so that it releases its
// Lease. Safe to call more than once.
func (r *replica) stop() {
	r.mu.Lock()
	if r.stopping || r.done == nil {
		r.stopping = true
		r.mu.Unlock()
		return
	}
	r.stopping = true
	p, done := r.proc, r.done
	r.mu.Unlock()
	if p != nil {
		p.Stop(15 * time.Second)
	}
	<-done
}

// setNext replaces the restart decision.
func (r *replica) setNext(next func(exit) (string, bool)) {
	r.mu.Lock()
	r.next = next
	r.mu.Unlock()
}

// running reports whether a process is up.
func (r *replica) running() bool {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil {
		return false
	}
	exited, _ := p.Exited()
	return !exited
}

func (r *replica) provisioner() cosi.ProvisionerClient { return cosi.NewProvisionerClient(r.conn) }

// awaitReady waits until /readyz answers 200.
func (r *replica) awaitReady(t testing.TB) {
	t.Helper()
	stack.Eventually(t, time.Minute, func() error {
		code, body, err := r.get("/readyz")
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("/readyz = %d: %s", code, body)
		}
		return nil
	})
}

func (r *replica) get(path string) (int, string, error) {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(c, http.MethodGet, "http://"+r.httpAddr+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// backendWrites is how many calls the running process made to SeaweedFS
// that are not reads (cosi_seaweedfs_seaweedfs_requests_total by
// operation, whatever the outcome), and whether it holds the Lease
// (cosi_seaweedfs_leader).
func (r *replica) backendWrites() (writes float64, leader bool, err error) {
	code, body, err := r.get("/metrics")
	if err != nil {
		return 0, false, err
	}
	if code != http.StatusOK {
		return 0, false, fmt.Errorf("GET /metrics = %d", code)
	}
	parser := expfmt.NewTextParser(prommodel.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return 0, false, fmt.Errorf("parse /metrics: %w", err)
	}
	if f := families["cosi_seaweedfs_leader"]; f != nil && len(f.GetMetric()) == 1 {
		leader = f.GetMetric()[0].GetGauge().GetValue() == 1
	}
	for _, m := range families["cosi_seaweedfs_seaweedfs_requests_total"].GetMetric() {
		if !isRead(label(m, "operation")) {
			writes += m.GetCounter().GetValue()
		}
	}
	return writes, leader, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// isRead reports whether an S3 or IAM operation only reads.
func isRead(op string) bool {
	for _, p := range []string{"Get", "List", "Head"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// leaseHolder is the holder of the driver's leader Lease, "" when none.
func (e *environment) leaseHolder(t testing.TB) string {
	t.Helper()
	leases, err := e.kube.CoordinationV1().Leases(driverNamespace).List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list leases: %v", err)
	}
	for _, l := range leases.Items {
		if l.Spec.HolderIdentity != nil {
			return *l.Spec.HolderIdentity
		}
	}
	return ""
}

// logs are the paths of every driver process log written so far.
func (e *environment) logs() ([]string, error) {
	return filepath.Glob(filepath.Join(e.dir, "*", "driver-*.log"))
}

// dumpLogTail prints the end of the newest process logs of a replica.
func (r *replica) dumpLogTail(w io.Writer, procs int) {
	r.mu.Lock()
	gen := r.gen
	r.mu.Unlock()
	for g := max(1, gen-procs+1); g <= gen; g++ {
		p := filepath.Join(r.dir, fmt.Sprintf("driver-%s-%03d.log", r.name, g))
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		const tail = 16 << 10
		if len(data) > tail {
			data = data[len(data)-tail:]
		}
		fmt.Fprintf(w, "----- %s (last %d bytes) -----\n%s\n", filepath.Base(p), len(data), data)
	}
}

// parseArm splits "<point>:<n>".
func parseArm(arm string) (string, int) {
	i := strings.LastIndexByte(arm, ':')
	if i < 0 {
		return arm, 0
	}
	n, _ := strconv.Atoi(arm[i+1:])
	return arm[:i], n
}
