package conformance

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/grpcapi"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/driver"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// TestRestart: a driver that stops and starts again (a rolling update, a
// crash) changes nothing in SeaweedFS and answers repeats as before.
func TestRestart(t *testing.T) {
	e := mustEnv(t)
	name := bucketName()
	params := map[string]string{grpcapi.ParamPurge: "false"}
	created, err := e.createBucket(t, name, params)
	requireOK(t, err, "DriverCreateBucket")
	t.Cleanup(func() { e.cleanupBucket(t, created.GetBucketId()) })
	grantName, _ := e.bucketAccess(t)
	req := grantRequest(created.GetBucketId(), grantName, map[string]string{grpcapi.ParamMode: "read-only"})
	granted, err := e.grant(t, req)
	requireOK(t, err, "DriverGrantBucketAccess")

	// Every record has converged (each call above waited for its own), so
	// nothing is due to change.
	beforeB, beforeR := e.backend(t), e.records(t)
	holder := e.leaseHolder(t)

	t.Run("Stopping the driver ends Run without an error", func(t *testing.T) {
		if err := e.driver.Stop(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("A driver started over a stale socket file serves again", func(t *testing.T) {
		// A crashed driver leaves its socket file behind.
		leaveStaleSocket(t, e.driver.Socket)
		c, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if err := e.driver.Start(c); err != nil {
			t.Fatalf("restart: %v", err)
		}
		fi, err := os.Stat(e.driver.Socket)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o007 != 0 {
			t.Errorf("socket mode %v is open to others", perm)
		}
	})

	t.Run("The restarted driver takes over the leader Lease", func(t *testing.T) {
		stack.Eventually(t, repairWithin, func() error {
			if h := e.leaseHolder(t); h == "" || h == holder {
				return errors.New("the Lease is not held by the restarted driver")
			}
			return nil
		})
	})

	t.Run("Restarting changes no bucket, user, key or record", func(t *testing.T) {
		// Leave time for the start-up pass over every record and two
		// resyncs: whatever they would change has changed by then.
		time.Sleep(2*resyncPeriod + resyncPeriod/2)
		if d := cmp.Diff(beforeB, e.backend(t)); d != "" {
			t.Errorf("SeaweedFS changed (-before +after):\n%s", d)
		}
		if d := cmp.Diff(beforeR, e.records(t)); d != "" {
			t.Errorf("records changed (-before +after):\n%s", d)
		}
	})

	t.Run("Create and Grant repeated after the restart return identical answers", func(t *testing.T) {
		again, err := e.createBucket(t, name, params)
		requireOK(t, err, "DriverCreateBucket after the restart")
		if !bytes.Equal(driver.Wire(t, again), driver.Wire(t, created)) {
			t.Errorf("Create after the restart = %v, before %v", again, created)
		}
		regranted, err := e.grant(t, req)
		requireOK(t, err, "DriverGrantBucketAccess after the restart")
		if !bytes.Equal(driver.Wire(t, regranted), driver.Wire(t, granted)) {
			t.Errorf("Grant after the restart returned other credentials")
		}
		a := accessFrom(regranted)
		if _, err := s3check.List(ctx(t), a.s3(), created.GetBucketId()); err != nil {
			t.Errorf("list with the credentials after the restart: %v", err)
		}
	})
}

// leaveStaleSocket makes sure a socket file nobody listens on is at path.
func leaveStaleSocket(t *testing.T, path string) {
	t.Helper()
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSocket != 0 {
		return // the listener of the stopped driver left it already
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatalf("create stale socket: %v", err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
}
