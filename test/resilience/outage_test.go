package resilience

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"
)

// outageFor is how long a dependency stays down.
const outageFor = 5 * time.Second

// TestOutages stops SeaweedFS, then the kube-apiserver, in the middle of a
// workload round and starts each again on the same data: while it is down a
// new request answers UNAVAILABLE, the workload's calls answer nothing but
// UNAVAILABLE until it is back, and nothing is lost after.
func TestOutages(t *testing.T) {
	e := mustEnv(t)
	t.Run("SeaweedFS killed and restarted on its data", func(t *testing.T) {
		e.outage(t, "seaweedfs", false, e.stack.Seaweed.Kill, func(c context.Context) error {
			return e.stack.Seaweed.Restart(c)
		})
	})
	t.Run("kube-apiserver stopped and started again on its etcd", func(t *testing.T) {
		// Without the Kubernetes API the driver cannot renew its Lease and
		// ends (a reconciler that cannot know it still leads must stop), and
		// its start-up fails until the API is back: restarts are expected,
		// as a kubelet would make them.
		e.outage(t, "kube-apiserver", true, e.stack.Kube.StopAPIServer, func(c context.Context) error {
			return e.stack.Kube.StartAPIServer(c, time.Minute)
		})
	})
}

func (e *environment) outage(t *testing.T, what string, exitsExpected bool, down func(), up func(context.Context) error) {
	r := e.newReplica(t, "outage-"+what, "resilience-0", replicaOptions{})
	var mu sync.Mutex
	var unexpected []exit
	r.setNext(func(x exit) (string, bool) {
		if !x.expected() && !exitsExpected {
			mu.Lock()
			unexpected = append(unexpected, x)
			mu.Unlock()
		}
		return "", true
	})
	r.start(t, "")
	w := e.newWorkload(rand.Uint64(), r.provisioner)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		w.round(t, roundBuckets/2, nil)
	}()
	for w.stepsDone() < 2 && !t.Failed() {
		time.Sleep(100 * time.Millisecond)
	}

	down()
	downAt := time.Now()
	fmt.Fprintf(os.Stderr, "resilience: %s down\n", what)
	// A request that needs the stopped dependency: one call, no retry.
	probe := "bucket-" + w.uid()
	c, cancel := context.WithTimeout(context.Background(), callTimeout)
	_, err := r.provisioner().DriverCreateBucket(c, &cosi.DriverCreateBucketRequest{Name: probe})
	cancel()
	if status.Code(err) != codes.Unavailable {
		t.Errorf("DriverCreateBucket while %s is down: got %v, want UNAVAILABLE", what, err)
	}
	time.Sleep(time.Until(downAt.Add(outageFor)))
	c, cancel = context.WithTimeout(context.Background(), 2*time.Minute)
	err = up(c)
	cancel()
	if err != nil {
		// Not Fatalf: the workload goroutine still reports into t.
		t.Errorf("start %s again: %v", what, err)
	}
	fmt.Fprintf(os.Stderr, "resilience: %s up again after %.1fs\n", what, time.Since(downAt).Seconds())
	// The probe's intent may have been recorded: it is retried to the end,
	// like every other call, and joins the desired state.
	w.create(t, probe, nil, 1)
	<-finished
	e.requireConverged(t, what+" outage", r)
	mu.Lock()
	for _, x := range unexpected {
		t.Errorf("driver process %s ended on its own while %s was down: %v (log %s)", x.proc, what, x.err, x.log)
	}
	mu.Unlock()
	if t.Failed() {
		r.dumpLogTail(os.Stderr, 1)
	}
	r.stop()
}
