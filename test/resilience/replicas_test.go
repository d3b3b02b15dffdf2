package resilience

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// TestLeaderHandover runs two replicas with leader election: calls go to
// both, only the leader writes to SeaweedFS, and when the leader is killed
// the other takes the Lease over and finishes the work; the killed one,
// started again, stays a standby that writes nothing.
func TestLeaderHandover(t *testing.T) {
	e := mustEnv(t)
	// A short Lease: the standby takes over within one after a kill.
	opts := replicaOptions{leaseDuration: 6 * time.Second}
	a := e.newReplica(t, "leader", "resilience-a", opts)
	b := e.newReplica(t, "leader", "resilience-b", opts)
	var mu sync.Mutex
	var unexpected []exit
	for _, r := range []*replica{a, b} {
		r.setNext(func(x exit) (string, bool) {
			if !x.expected() {
				mu.Lock()
				unexpected = append(unexpected, x)
				mu.Unlock()
			}
			// A killed leader stays down until the test starts it again.
			return "", false
		})
	}
	a.start(t, "")
	stack.Eventually(t, time.Minute, func() error {
		if h := e.leaseHolder(t); h != a.name {
			return fmt.Errorf("Lease holder %q, want %q", h, a.name)
		}
		return nil
	})
	b.start(t, "")
	var rmu sync.Mutex
	rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
	pick := func() cosi.ProvisionerClient {
		rmu.Lock()
		defer rmu.Unlock()
		var up []*replica
		for _, r := range []*replica{a, b} {
			if r.running() {
				up = append(up, r)
			}
		}
		if len(up) == 0 {
			return b.provisioner()
		}
		return up[rng.IntN(len(up))].provisioner()
	}
	w := e.newWorkload(rand.Uint64(), pick)

	standbyWrites := func(r *replica, state string) {
		t.Helper()
		writes, leader, err := r.backendWrites()
		switch {
		case err != nil:
			t.Errorf("metrics of %s: %v", r.name, err)
		case leader:
			t.Errorf("%s says it leads %s", r.name, state)
		case writes != 0:
			t.Errorf("%s made %v writes to SeaweedFS %s, want 0", r.name, writes, state)
		}
	}

	w.round(t, roundBuckets/2, nil)
	standbyWrites(b, "as the standby")
	if writes, leader, err := a.backendWrites(); err != nil || !leader || writes == 0 {
		t.Errorf("the leader %s: %v writes, leader %t, %v", a.name, writes, leader, err)
	}

	a.kill()
	killedAt := time.Now()
	w.round(t, roundBuckets/2, nil)
	stack.Eventually(t, time.Minute, func() error {
		if h := e.leaseHolder(t); h != b.name {
			return fmt.Errorf("Lease holder %q, want %q", h, b.name)
		}
		return nil
	})
	t.Logf("the standby took over; the second half-round ended %.1fs after the kill", time.Since(killedAt).Seconds())
	e.requireConverged(t, "leader handover", b)

	// The killed replica comes back as the standby.
	a.start(t, "")
	w.round(t, 2, nil)
	standbyWrites(a, "after its restart as the standby")
	if h := e.leaseHolder(t); h != b.name {
		t.Errorf("Lease holder %q after the old leader came back, want %q", h, b.name)
	}
	e.requireConverged(t, "leader handover, old leader back", b)
	mu.Lock()
	for _, x := range unexpected {
		t.Errorf("driver process %s ended on its own: %v (log %s)", x.proc, x.err, x.log)
	}
	mu.Unlock()
	if t.Failed() {
		a.dumpLogTail(os.Stderr, 1)
		b.dumpLogTail(os.Stderr, 1)
	}
}
