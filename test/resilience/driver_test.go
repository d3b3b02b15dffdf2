package resilience

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/crashpoint"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/driver"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// replica is one driver pod: its process can be SIGKILLed, by the test or by
// an armed crash point, and a supervisor starts it again at once with the
// same flags, socket and leader identity, as a kubelet restarts a container.
type replica struct {
	e    *environment
	name string // the leader identity (POD_NAME)
	d    *driver.Driver

	mu   sync.Mutex
	proc *stack.Process
	// testKill marks the running process as SIGKILLed by the test.
	testKill bool
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
	if opts.leaseDuration == 0 {
		opts.leaseDuration = 15 * time.Second
	}
	args := []string{
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
		args = append(args, "--filer-grpc-address="+e.stack.Seaweed.FilerGRPCAddress(), "--allow-insecure-filer")
	}
	d, err := driver.New(driver.Config{
		Dir:       dir,
		Name:      driverName,
		Namespace: driverNamespace,
		Kube:      e.saCfg,
		Seaweed:   e.stack.Seaweed,
		Binary:    driver.CrashPointsBinary,
		Identity:  name,
		// The debug level puts each reconcile's steps and client-go's
		// lines into the logs that are checked for secrets.
		Verbosity:   2,
		LogName:     "driver-" + name,
		LogPerStart: true,
		Args:        args,
		Env:         []string{crashpoint.EnvRecord + "=" + e.record},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{e: e, name: name, d: d, next: func(exit) (string, bool) { return "", true }}
	t.Cleanup(func() {
		r.stop()
		d.Close()
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
	var env []string
	if arm != "" {
		env = append(env, crashpoint.EnvCrashAt+"="+arm)
	}
	if err := r.d.Launch(env...); err != nil {
		return err
	}
	r.proc, r.testKill = r.d.Process(), false
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
	// This process, not whichever runs by now: the supervisor may have
	// started the next one since.
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
		_ = r.d.Stop()
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
func (r *replica) running() bool { return r.d.Running() }

func (r *replica) provisioner() cosi.ProvisionerClient { return r.d.Provisioner() }

// awaitReady waits until /readyz answers 200.
func (r *replica) awaitReady(t testing.TB) {
	t.Helper()
	if err := r.d.AwaitReady(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
}

// backendWrites is how many calls the running process made to SeaweedFS
// that are not reads (cosi_seaweedfs_seaweedfs_requests_total by
// operation, whatever the outcome), and whether it holds the Lease
// (cosi_seaweedfs_leader).
func (r *replica) backendWrites() (writes float64, leader bool, err error) {
	families, err := r.d.Metrics()
	if err != nil {
		return 0, false, err
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
	return driver.LeaseHolder(t, e.kube, driverNamespace)
}

// logs are the paths of every driver process log written so far.
func (e *environment) logs() ([]string, error) {
	return filepath.Glob(filepath.Join(e.dir, "*", "driver-*.log"))
}

// dumpLogTail prints the end of the newest process logs of a replica.
func (r *replica) dumpLogTail(w io.Writer, procs int) {
	r.d.DumpLogs(w, procs, 16<<10)
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
