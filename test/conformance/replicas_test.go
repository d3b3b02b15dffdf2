package conformance

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/driver"
)

// TestSecondReplica: any replica records intent and answers the sidecar; only
// the replica holding the Lease reconciles, so a second replica neither takes
// the Lease nor races the first on SeaweedFS.
func TestSecondReplica(t *testing.T) {
	e := mustEnv(t)
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	saCfg, err := e.stack.Kube.ServiceAccountConfig(c, driverNamespace, serviceAccount)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "cosi-replica-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	second, err := e.newDriver(dir, saCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	holder := e.leaseHolder(t)
	if err := second.Start(c); err != nil {
		t.Fatalf("start a second replica: %v", err)
	}
	t.Cleanup(func() {
		if err := second.Stop(); err != nil {
			t.Errorf("stop the second replica: %v", err)
		}
		second.Close()
	})

	name := bucketName()
	var viaSecond *cosi.DriverCreateBucketResponse
	t.Run("A call to the replica without the Lease converges through the leader", func(t *testing.T) {
		viaSecond, _, err = retry(t, func(c context.Context) (*cosi.DriverCreateBucketResponse, error) {
			return second.Provisioner().DriverCreateBucket(c, &cosi.DriverCreateBucketRequest{Name: name})
		})
		requireOK(t, err, "DriverCreateBucket on the second replica")
		t.Cleanup(func() { e.cleanupBucket(t, viaSecond.GetBucketId()) })
		if !e.bucketExists(t, viaSecond.GetBucketId()) {
			t.Fatalf("bucket %q does not exist after an OK answer", viaSecond.GetBucketId())
		}
	})

	t.Run("Both replicas give the identical answer for the same request", func(t *testing.T) {
		viaFirst, err := e.createBucket(t, name, nil)
		requireOK(t, err, "DriverCreateBucket on the first replica")
		if !bytes.Equal(driver.Wire(t, viaFirst), driver.Wire(t, viaSecond)) {
			t.Errorf("answers differ:\n%s", cmp.Diff(viaFirst.String(), viaSecond.String()))
		}
	})

	t.Run("The second replica does not take the Lease", func(t *testing.T) {
		// Longer than a renewal period of the Lease.
		time.Sleep(3 * time.Second)
		if h := e.leaseHolder(t); h != holder {
			t.Errorf("Lease holder changed from %q to %q while the leader ran", holder, h)
		}
	})
}
