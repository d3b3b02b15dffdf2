package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/driver"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// podName is the leader identity of the driver process in
// TestCrashedDriverTakesItsLeaseBackAtOnce, as the chart passes the pod name.
const podName = "cosi-seaweedfs-7d9f8c6b5-x2k4q"

// startProcess starts the driver process and waits until it is ready; it
// returns when it started it.
func startProcess(t testing.TB, p *driver.Driver) time.Time {
	t.Helper()
	started := time.Now()
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.Start(c); err != nil {
		t.Fatal(err)
	}
	if err := p.AwaitReady(c, time.Minute); err != nil {
		t.Fatal(err)
	}
	return started
}

// processDriverWithBucket stops the in-process driver (a graceful stop
// releases its Lease; it comes back when tb ends), starts the driver binary
// as a process with the leader identity podName, so that it can be
// SIGKILLed as a crash would end it, and creates one bucket through it,
// deleted when tb ends. It returns the process and the bucket.
func (e *environment) processDriverWithBucket(tb testing.TB, extraArgs ...string) (*driver.Driver, string) {
	tb.Helper()
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	saCfg, err := e.stack.Kube.ServiceAccountConfig(c, driverNamespace, serviceAccount)
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "cosi-crash-")
	if err != nil {
		tb.Fatal(err)
	}
	p, err := e.newDriver(dir, saCfg, extraArgs, func(c *driver.Config) {
		c.Binary, c.Identity, c.LogName = driver.Binary, podName, "driver-process"
	})
	if err != nil {
		os.RemoveAll(dir)
		tb.Fatal(err)
	}

	if err := e.driver.Stop(); err != nil {
		tb.Fatal(err)
	}
	// Cleanups run last first: the bucket goes through the in-process
	// driver once it is back.
	var id string
	tb.Cleanup(func() {
		if id != "" {
			e.cleanupBucket(tb, id)
		}
	})
	tb.Cleanup(func() {
		p.Close()
		if !e.driver.Running() {
			if err := e.driver.Start(context.Background()); err != nil {
				tb.Errorf("restart the in-process driver: %v", err)
			}
		}
		logs, _ := p.Log()
		requireNoSecret(tb, logs)
		if tb.Failed() {
			fmt.Fprintf(os.Stderr, "----- driver process log -----\n%s\n", logs)
		}
		os.RemoveAll(dir)
	})

	startProcess(tb, p)
	stack.Eventually(tb, 30*time.Second, func() error {
		if h := e.leaseHolder(tb); h != podName {
			return fmt.Errorf("Lease holder %q, want %q", h, podName)
		}
		return nil
	})
	name := bucketName()
	resp, _, err := retry(tb, func(c context.Context) (*cosi.DriverCreateBucketResponse, error) {
		return p.Provisioner().DriverCreateBucket(c, &cosi.DriverCreateBucketRequest{Name: name})
	})
	if err != nil {
		tb.Fatalf("DriverCreateBucket on the driver process: %v", err)
	}
	id = resp.GetBucketId()
	return p, id
}

// killAndDrift SIGKILLs the driver process and then deletes its bucket out
// of band: drift only a reconciler can repair, made while no driver runs.
func (e *environment) killAndDrift(tb testing.TB, p *driver.Driver, id string) {
	tb.Helper()
	p.Kill()
	if _, err := e.s3.DeleteBucket(ctx(tb), &s3.DeleteBucketInput{Bucket: aws.String(id)}); err != nil {
		tb.Fatalf("admin DeleteBucket: %v", err)
	}
}

// restartAndAwaitRepair starts the driver process again and returns how long
// after its start the bucket existed again.
func (e *environment) restartAndAwaitRepair(tb testing.TB, p *driver.Driver, id string) time.Duration {
	tb.Helper()
	started := startProcess(tb, p)
	stack.Eventually(tb, time.Minute, func() error {
		if !e.bucketExists(tb, id) {
			return errors.New("the bucket was not created again")
		}
		return nil
	})
	return time.Since(started)
}

// TestCrashedDriverTakesItsLeaseBackAtOnce: a driver that is killed and
// restarted in the same pod (same leader identity) takes its own Lease back
// and reconciles again at once, instead of waiting a lease duration (15 s)
// for the Lease it can no longer release; a process with another identity
// never takes a Lease that is held.
func TestCrashedDriverTakesItsLeaseBackAtOnce(t *testing.T) {
	e := mustEnv(t)
	p, id := e.processDriverWithBucket(t)

	t.Run("A SIGKILLed driver restarted with the same identity reconciles again at once", func(t *testing.T) {
		e.killAndDrift(t, p, id)
		took := e.restartAndAwaitRepair(t, p, id)
		// The figure the restart is judged by (go test -v prints it;
		// BenchmarkRestartAfterKill measures it too).
		t.Logf("the restarted driver repaired the bucket %.2fs after its process started (lease duration 15s)", took.Seconds())
		if h := e.leaseHolder(t); h != podName {
			t.Errorf("Lease holder %q after the restart, want %q", h, podName)
		}
		logs, err := p.Log()
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(logs, `"leader lease acquired"`); n != 2 {
			t.Errorf("the log says %d times that the Lease was acquired, want 2 (once per start)", n)
		}
	})

	t.Run("Another process does not take the Lease while the restarted driver holds it", func(t *testing.T) {
		c, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if err := e.driver.Start(c); err != nil {
			t.Fatal(err)
		}
		// Longer than a renewal period of the Lease.
		time.Sleep(3 * time.Second)
		if h := e.leaseHolder(t); h != podName {
			t.Errorf("Lease holder %q while %q runs", h, podName)
		}
		if v := scrape(t, e.driver)[series("cosi_seaweedfs_leader")]; v != 0 {
			t.Errorf("leader = %v on the replica without the Lease, want 0", v)
		}
	})

	t.Run("A graceful stop releases the Lease and the other process takes over", func(t *testing.T) {
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
		stack.Eventually(t, 30*time.Second, func() error {
			if h := e.leaseHolder(t); h == "" || h == podName {
				return fmt.Errorf("Lease holder %q", h)
			}
			if v := scrape(t, e.driver)[series("cosi_seaweedfs_leader")]; v != 1 {
				return fmt.Errorf("leader = %v on the remaining replica", v)
			}
			return nil
		})
	})
}

// BenchmarkRestartAfterKill measures how long a driver process that was
// SIGKILLed takes, from the start of its new process with the same leader
// identity, to repair drift made while it was down: the start-up checks,
// taking its own Lease back, the cache sync and the reconcile.
func BenchmarkRestartAfterKill(b *testing.B) {
	e := env
	if e == nil {
		b.Fatalf("set-up failed: %v", setupErr)
	}
	p, id := e.processDriverWithBucket(b)
	for b.Loop() {
		b.StopTimer()
		e.killAndDrift(b, p, id)
		b.StartTimer()
		e.restartAndAwaitRepair(b, p, id)
	}
}
