package resilience

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestRandomKills SIGKILLs the driver at random moments of a workload round.
// The seed chooses the names, the workload and the moments; it is printed,
// and COSI_RESILIENCE_SEED=<seed> replays it (the moments are then the same
// delays, though what the driver is doing at each depends on timing).
// COSI_RESILIENCE_SEEDS=<n> runs n seeds.
func TestRandomKills(t *testing.T) {
	e := mustEnv(t)
	for i, seed := range seeds(t) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			fmt.Fprintf(os.Stderr, "resilience: random kills, seed %d (replay: COSI_RESILIENCE_SEED=%d)\n", seed, seed)
			r := e.newReplica(t, fmt.Sprintf("random%d", i), "resilience-0", replicaOptions{})
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
			w := e.newWorkload(seed, r.provisioner)
			moments := rand.New(rand.NewPCG(seed, 0x6b696c6c))
			stop, stopped := make(chan struct{}), make(chan struct{})
			kills := 0
			go func() {
				defer close(stopped)
				for {
					d := 300*time.Millisecond + time.Duration(moments.Int64N(int64(2700*time.Millisecond)))
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
			w.round(t, roundBuckets, nil)
			close(stop)
			<-stopped
			t.Logf("seed %d: %d kills in %.0fs; %s", seed, kills, time.Since(began).Seconds(), e.describe())
			e.requireConverged(t, fmt.Sprintf("random kills (seed %d)", seed), r)
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
		})
	}
}

// seeds are COSI_RESILIENCE_SEED alone, or COSI_RESILIENCE_SEEDS (default
// 1) seeds from a random start.
func seeds(t *testing.T) []uint64 {
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
	first := rand.Uint64N(1 << 40)
	out := make([]uint64, n)
	for i := range out {
		out[i] = first + uint64(i)
	}
	return out
}
