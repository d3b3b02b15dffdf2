package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// podName is the leader identity of the driver process in
// TestCrashedDriverTakesItsLeaseBackAtOnce, as the chart passes the pod name.
const podName = "cosi-seaweedfs-7d9f8c6b5-x2k4q"

// processDriver is the driver binary run as its own process, so that it can
// be SIGKILLed as a crash would end it.
type processDriver struct {
	*driver
	bin  string
	proc *stack.Process
}

func (p *processDriver) start(t *testing.T) time.Time {
	t.Helper()
	started := time.Now()
	proc, err := stack.StartProcess("driver-process", p.bin, p.args, []string{"POD_NAME=" + podName}, p.dir)
	if err != nil {
		t.Fatal(err)
	}
	p.proc = proc
	eventually(t, time.Minute, func() error {
		if exited, err := proc.Exited(); exited {
			t.Fatalf("the driver process exited: %v", err)
		}
		if code, body := p.httpGet(t, "/readyz"); code != http.StatusOK {
			return fmt.Errorf("/readyz = %d: %s", code, body)
		}
		return nil
	})
	return started
}

// TestCrashedDriverTakesItsLeaseBackAtOnce: a driver that is killed and
// restarted in the same pod (same leader identity) takes its own Lease back
// and reconciles again at once, instead of waiting a lease duration (15 s)
// for the Lease it can no longer release; a process with another identity
// never takes a Lease that is held.
func TestCrashedDriverTakesItsLeaseBackAtOnce(t *testing.T) {
	e := mustEnv(t)
	bin, err := stack.Binary("cosi-seaweedfs")
	if err != nil {
		t.Fatalf("%v (make build builds it)", err)
	}
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	saCfg, err := e.stack.Kube.ServiceAccountConfig(c, driverNamespace, serviceAccount)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "cosi-crash-")
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDriver(dir, saCfg, e.stack.Seaweed)
	if err != nil {
		t.Fatal(err)
	}
	p := &processDriver{driver: d, bin: bin}

	// The in-process driver steps aside (a graceful stop releases its
	// Lease) and comes back when the test ends.
	if err := e.driver.stop(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.proc != nil {
			p.proc.Stop(10 * time.Second)
		}
		if e.driver.run == nil {
			if err := e.driver.start(context.Background()); err != nil {
				t.Errorf("restart the in-process driver: %v", err)
			}
		}
		logs, _ := os.ReadFile(fmt.Sprintf("%s/driver-process.log", dir))
		requireNoSecret(t, string(logs))
		if t.Failed() {
			fmt.Fprintf(os.Stderr, "----- driver process log -----\n%s\n", logs)
		}
		d.removeDir()
	})

	p.start(t)
	eventually(t, 30*time.Second, func() error {
		if h := e.leaseHolder(t); h != podName {
			return fmt.Errorf("Lease holder %q, want %q", h, podName)
		}
		return nil
	})
	conn, err := grpc.NewClient("unix://"+d.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	name := bucketName()
	resp, _, err := retry(t, func(c context.Context) (*cosi.DriverCreateBucketResponse, error) {
		return cosi.NewProvisionerClient(conn).DriverCreateBucket(c, &cosi.DriverCreateBucketRequest{Name: name})
	})
	requireOK(t, err, "DriverCreateBucket on the driver process")
	id := resp.GetBucketId()
	t.Cleanup(func() { e.cleanupBucket(t, id) })

	var took time.Duration
	t.Run("A SIGKILLed driver restarted with the same identity reconciles again at once", func(t *testing.T) {
		p.proc.Kill()
		// Drift only a reconciler can repair, made while no driver runs.
		if _, err := e.s3.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(id)}); err != nil {
			t.Fatalf("admin DeleteBucket: %v", err)
		}
		started := p.start(t)
		eventually(t, time.Minute, func() error {
			if !e.bucketExists(t, id) {
				return errors.New("the bucket was not created again")
			}
			return nil
		})
		took = time.Since(started)
		// The figure the restart is judged by; `make bench` is not needed
		// to see it: go test -v prints it.
		t.Logf("the restarted driver repaired the bucket %.2fs after its process started (lease duration 15s)", took.Seconds())
		if h := e.leaseHolder(t); h != podName {
			t.Errorf("Lease holder %q after the restart, want %q", h, podName)
		}
		logs, err := os.ReadFile(p.proc.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(logs), `"leader lease acquired"`); n != 2 {
			t.Errorf("the log says %d times that the Lease was acquired, want 2 (once per start)", n)
		}
	})

	t.Run("Another process does not take the Lease while the restarted driver holds it", func(t *testing.T) {
		c, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if err := e.driver.start(c); err != nil {
			t.Fatal(err)
		}
		// Longer than a renewal period of the Lease.
		time.Sleep(3 * time.Second)
		if h := e.leaseHolder(t); h != podName {
			t.Errorf("Lease holder %q while %q runs", h, podName)
		}
		if v := e.driver.scrape(t)[series("cosi_seaweedfs_leader")]; v != 0 {
			t.Errorf("leader = %v on the replica without the Lease, want 0", v)
		}
	})

	t.Run("A graceful stop releases the Lease and the other process takes over", func(t *testing.T) {
		p.proc.Stop(10 * time.Second)
		eventually(t, 30*time.Second, func() error {
			if h := e.leaseHolder(t); h == "" || h == podName {
				return fmt.Errorf("Lease holder %q", h)
			}
			if v := e.driver.scrape(t)[series("cosi_seaweedfs_leader")]; v != 1 {
				return fmt.Errorf("leader = %v on the remaining replica", v)
			}
			return nil
		})
	})
}
