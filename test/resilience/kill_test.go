package resilience

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/crashpoint"
)

// TestRandomKills SIGKILLs the driver at random moments of a workload round.
// The seed chooses the names, the workload and the moments; it is printed,
// and COSI_RESILIENCE_SEED=<seed> replays it (the moments are then the same
// delays, though what the driver is doing at each depends on timing).
// COSI_RESILIENCE_SEEDS=<n> runs n seeds.
func TestRandomKills(t *testing.T) {
	e := mustEnv(t)
	for i, seed := range seeds(t, 0) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			e.killLoop(t, fmt.Sprintf("random%d", i), seed, 0, killPattern{
				name: "random kills", gapMin: 300 * time.Millisecond, gapMax: 3 * time.Second, buckets: roundBuckets,
			}, replicaOptions{})
		})
	}
}

// crashLoopSeed is the seed TestCrashLoop runs unless COSI_RESILIENCE_SEED
// says otherwise: on it, a driver that re-read an interrupted create's
// unmarked bucket for a second on every start (waiting for marks it had
// never written) was killed first every time, and that bucket never
// converged on the filer path.
const crashLoopSeed = 22

// TestCrashLoop kills the driver every 0.3 to 1.5 s, as a crash-looping pod
// is, through a round of 25 buckets with 3 accesses each, once per way of
// writing users. Every start must make progress: a record whose create was
// interrupted converges although no process lives longer than 1.5 s.
func TestCrashLoop(t *testing.T) {
	e := mustEnv(t)
	pattern := killPattern{name: "crash loop", gapMin: 300 * time.Millisecond, gapMax: 1500 * time.Millisecond, buckets: 25}
	for _, filer := range []bool{false, true} {
		t.Run(fmt.Sprintf("a create interrupted after SeaweedFS made the bucket converges while every process lives %s (filer %v)", shortLife, filer), func(t *testing.T) {
			e.interruptedCreateUnderShortLives(t, fmt.Sprintf("short-lives-filer-%v", filer), replicaOptions{filer: filer})
		})
	}
	for _, seed := range seeds(t, crashLoopSeed) {
		t.Run(fmt.Sprintf("IAM query API, seed %d", seed), func(t *testing.T) {
			e.killLoop(t, fmt.Sprintf("loop%d", seed), seed, 0, pattern, replicaOptions{})
		})
		t.Run(fmt.Sprintf("filer IAM gRPC, seed %d", seed), func(t *testing.T) {
			e.killLoop(t, fmt.Sprintf("loop-filer%d", seed), seed, 1, pattern, replicaOptions{filer: true})
		})
	}
}

// shortLife is how long each process lives in
// interruptedCreateUnderShortLives: several times what a start and one
// reconcile of the interrupted record take here (0.2–0.4 s to the first
// reconcile, then a few requests), and less than a start plus the second a
// driver that waited for a lagging cache on every read of the unmarked
// bucket spent before it even asked SeaweedFS to create it.
const shortLife = 1200 * time.Millisecond

// interruptedCreateUnderShortLives crashes the driver right after SeaweedFS
// created a bucket (before the driver marked it), then kills every next
// process shortLife after it was started. The create must be answered, and
// the state converge, although no process lives longer.
func (e *environment) interruptedCreateUnderShortLives(t *testing.T, pass string, opts replicaOptions) {
	r := e.newReplica(t, pass, "resilience-0", opts)
	arm := crashpoint.After(crashpoint.Backend("CreateBucket")) + ":1"
	var mu sync.Mutex
	var unexpected []exit
	armed, crashed := false, false
	r.setNext(func(x exit) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case x.crash == arm:
			crashed = true
		case x.testKill && !armed:
			// The first process made the installation's probe bucket; the
			// next one's first create is the workload's.
			armed = true
			return arm, true
		case !x.expected():
			unexpected = append(unexpected, x)
		}
		return "", true
	})
	r.start(t, "")
	r.kill()
	r.awaitReady(t)
	stop, stopped := make(chan struct{}), make(chan struct{})
	kills := 0
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(shortLife):
				mu.Lock()
				after := crashed
				mu.Unlock()
				// The supervisor starts the next process at once, so each
				// lives about shortLife.
				if after && r.kill() {
					kills++
				}
			}
		}
	}()
	w := e.newWorkloadOn(uint64(time.Now().UnixNano()), 2, r.provisioner)
	began := time.Now()
	w.create(t, "bucket-"+w.uid(), nil, 1)
	close(stop)
	<-stopped
	mu.Lock()
	if !crashed {
		t.Errorf("the driver never crashed at %s", arm)
	}
	for _, x := range unexpected {
		t.Errorf("driver process %s ended on its own: %v (log %s)", x.proc, x.err, x.log)
	}
	mu.Unlock()
	t.Logf("answered after %.1fs and %d kills; %s", time.Since(began).Seconds(), kills, e.describe())
	e.requireConverged(t, pass, r)
	if t.Failed() {
		r.dumpLogTail(os.Stderr, 2)
	}
	r.stop()
}

// killPattern is how often a kill loop kills: a random gap between gapMin
// and gapMax after each kill, through a round of buckets bucket steps.
type killPattern struct {
	name           string
	gapMin, gapMax time.Duration
	buckets        int
}

// killLoop runs a workload round (names from stream of seed) on a new
// replica while SIGKILLing it at the pattern's random moments, then
// requires the state to converge.
func (e *environment) killLoop(t *testing.T, pass string, seed, stream uint64, p killPattern, opts replicaOptions) {
	fmt.Fprintf(os.Stderr, "resilience: %s, seed %d (replay: COSI_RESILIENCE_SEED=%d)\n", p.name, seed, seed)
	r := e.newReplica(t, pass, "resilience-0", opts)
	var mu sync.Mutex
	var unexpected []exit
	r.setNext(func(x exit) (string, bool) {
		if !x.expected() {
			mu.Lock()
			unexpected = append(unexpected, x)
			mu.Unlock()
		}
		return "", true
	})
	r.start(t, "")
	w := e.newWorkloadOn(seed, stream, r.provisioner)
	moments := rand.New(rand.NewPCG(seed, 0x6b696c6c))
	stop, stopped := make(chan struct{}), make(chan struct{})
	kills := 0
	go func() {
		defer close(stopped)
		for {
			d := p.gapMin + time.Duration(moments.Int64N(int64(p.gapMax-p.gapMin)))
			select {
			case <-stop:
				return
			case <-time.After(d):
				if r.kill() {
					kills++
				}
			}
		}
	}()
	began := time.Now()
	w.round(t, p.buckets, nil)
	close(stop)
	<-stopped
	t.Logf("seed %d: %d kills in %.0fs; %s", seed, kills, time.Since(began).Seconds(), e.describe())
	e.requireConverged(t, fmt.Sprintf("%s (seed %d)", p.name, seed), r)
	mu.Lock()
	for _, x := range unexpected {
		t.Errorf("driver process %s ended on its own: %v (log %s)", x.proc, x.err, x.log)
	}
	mu.Unlock()
	if t.Failed() {
		t.Errorf("replay with COSI_RESILIENCE_SEED=%d", seed)
		r.dumpLogTail(os.Stderr, 2)
	}
	r.stop()
}

// seeds are COSI_RESILIENCE_SEED alone, or COSI_RESILIENCE_SEEDS (default
// 1) seeds from fixed on (0: from a random start).
func seeds(t *testing.T, fixed uint64) []uint64 {
	t.Helper()
	if v := os.Getenv("COSI_RESILIENCE_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("COSI_RESILIENCE_SEED=%q: %v", v, err)
		}
		return []uint64{s}
	}
	n := 1
	if v := os.Getenv("COSI_RESILIENCE_SEEDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("COSI_RESILIENCE_SEEDS=%q: want a count ≥ 1", v)
		}
	}
	// Small numbers are easy to copy from a log.
	first := fixed
	if first == 0 {
		first = rand.Uint64N(1 << 40)
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = first + uint64(i)
	}
	return out
}
