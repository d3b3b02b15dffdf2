package resilience

import (
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/crashpoint"
)

// maxStepsPerTarget is how many bucket steps may pass after a process was
// armed before its point counts as not reached. Every step passes through
// every point but DeleteObjects (every other step) at least once, and
// through the deletion points once the window is full.
const maxStepsPerTarget = 6

// TestCrashAtEveryPoint kills the driver on the first and on the second hit
// of every crash point, one point per process: the supervisor starts the
// next process armed with the next point at once, and the interrupted call
// is retried until it answers. Points the workload did not reach within a
// few steps are reported, and fail the test.
//
// It runs once for each way of writing users: the IAM query API (the
// default) and the filer's IAM gRPC service, each with its own points.
func TestCrashAtEveryPoint(t *testing.T) {
	e := mustEnv(t)
	t.Run("IAM query API", func(t *testing.T) {
		e.crashAtEveryPoint(t, "points", crashpoint.QueryAPINames(), replicaOptions{})
	})
	t.Run("filer IAM gRPC", func(t *testing.T) {
		e.crashAtEveryPoint(t, "points-filer", crashpoint.FilerNames(), replicaOptions{filer: true})
	})
}

func (e *environment) crashAtEveryPoint(t *testing.T, pass string, points []string, opts replicaOptions) {
	var targets []string
	for _, n := range points {
		targets = append(targets, n+":1", n+":2")
	}
	r := e.newReplica(t, pass, "resilience-0", opts)
	w := e.newWorkload(rand.Uint64(), r.provisioner)

	var (
		mu         sync.Mutex
		next       int // index of the armed target
		armedAt    int // w.stepsDone() when it was armed
		unexpected []exit
		// crashed are this pass's targets a process was killed at.
		crashed = map[string]bool{}
	)
	current := func() string {
		if next < len(targets) {
			return targets[next]
		}
		return ""
	}
	r.setNext(func(x exit) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case x.crash != "" && x.crash == current():
			crashed[x.crash] = true
			next++
			armedAt = w.stepsDone()
		case x.crash != "":
			// Reached just after it was given up on below: counted by
			// stats all the same.
		case x.testKill:
		default:
			unexpected = append(unexpected, x)
		}
		return current(), true
	})
	began := time.Now()
	r.start(t, targets[0])
	for step := 0; !t.Failed(); step++ {
		mu.Lock()
		done := next >= len(targets)
		stale := !done && w.stepsDone()-armedAt >= maxStepsPerTarget
		if stale {
			next++
			armedAt = w.stepsDone()
		}
		mu.Unlock()
		if done {
			break
		}
		if stale {
			// The running process is armed with the point given up on.
			r.kill()
			continue
		}
		w.bucketStep(t, step)
	}
	t.Logf("%d targets in %d bucket steps, %.0fs; %s", len(targets), w.stepsDone(), time.Since(began).Seconds(), e.describe())
	e.requireConverged(t, pass, r)

	mu.Lock()
	defer mu.Unlock()
	for _, x := range unexpected {
		t.Errorf("driver process %s ended on its own after %s: %v (log %s)", x.proc, x.lifetime.Round(time.Millisecond), x.err, x.log)
	}
	if next < len(targets) {
		// The workload failed first: the targets it never armed say
		// nothing about the crash points.
		t.Logf("stopped with %d of %d targets not armed yet", len(targets)-next, len(targets))
		targets = targets[:next]
	}
	for _, target := range targets {
		if !crashed[target] {
			t.Errorf("never crashed at %s: the workload did not reach it within %d bucket steps of arming it", target, maxStepsPerTarget)
		}
	}
	if t.Failed() {
		r.dumpLogTail(os.Stderr, 1)
	}
}
