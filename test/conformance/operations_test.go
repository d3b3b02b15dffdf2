package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// ---- probes and metrics ----

// grpcOK is the series counting a method's OK answers.
func grpcOK(method string) string {
	return series("grpc_server_handled_total", "grpc_code", "OK", "grpc_method", method,
		"grpc_service", "cosi.v1alpha1.Provisioner", "grpc_type", "unary")
}

func backendOK(service, operation string) string {
	return series("cosi_seaweedfs_seaweedfs_requests_total", "operation", operation, "outcome", "ok", "service", service)
}

// userWrites are the backend writes a grant and a revoke count on path:
// through the IAM query API the user and its key (then its inline policy),
// and the user's deletion; through the filer's IAM gRPC service the managed
// policy and the user carrying its key, and the deletion of both.
func userWrites(path stack.UserPath) (grant, revoke []string) {
	if path == stack.FilerGRPC {
		const filer = "FilerGRPC"
		return []string{backendOK(filer, "PutPolicy"), backendOK(filer, "CreateUser")},
			[]string{backendOK(filer, "DeletePolicy"), backendOK(filer, "DeleteUser")}
	}
	return []string{backendOK("IAM", "CreateUser"), backendOK("IAM", "CreateAccessKey")},
		[]string{backendOK("IAM", "DeleteUser")}
}

func readyRecords(kind string) string {
	return series("cosi_seaweedfs_records", "kind", kind, "phase", "Ready")
}

// requireIncreased fails the test unless every series grew by at least 1
// from before to after.
func requireIncreased(t testing.TB, before, after samples, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := after[k]; !ok {
			t.Errorf("%s is not exported", k)
			continue
		}
		if after[k] < before[k]+1 {
			t.Errorf("%s = %v, was %v: want an increase", k, after[k], before[k])
		}
	}
}

// TestReadiness: /readyz says whether the driver can do its work; /healthz
// only whether it should be restarted.
func TestReadiness(t *testing.T) {
	e := mustEnv(t)
	d := e.driver
	requireProbe := func(t *testing.T, path string, want int, words ...string) error {
		t.Helper()
		code, body := httpGet(t, d, path+"?verbose")
		if code != want {
			return fmt.Errorf("%s = %d, want %d:\n%s", path, code, want, body)
		}
		for _, w := range words {
			if !strings.Contains(body, w) {
				return fmt.Errorf("%s does not say %q:\n%s", path, w, body)
			}
		}
		return nil
	}

	t.Run("A running driver is live and ready, and names every check", func(t *testing.T) {
		stack.Eventually(t, 30*time.Second, func() error {
			// anonymousAccess is reported by the leader's resync.
			return requireProbe(t, "/readyz", http.StatusOK, "[+]informers ok", "[+]seaweedfs ok", "[+]grpc ok", "[+]anonymousAccess ok")
		})
		if err := requireProbe(t, "/healthz", http.StatusOK, "[+]grpc ok"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Readiness fails while SeaweedFS is down, liveness does not, and both recover", func(t *testing.T) {
		e.stack.Seaweed.Kill()
		restarted := false
		restart := func() {
			if restarted {
				return
			}
			restarted = true
			c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := e.stack.Seaweed.Restart(c); err != nil {
				t.Fatalf("restart SeaweedFS: %v", err)
			}
		}
		t.Cleanup(restart)
		stack.Eventually(t, 30*time.Second, func() error {
			return requireProbe(t, "/readyz", http.StatusServiceUnavailable, "[-]seaweedfs failed", "[+]grpc ok")
		})
		if err := requireProbe(t, "/healthz", http.StatusOK); err != nil {
			t.Error(err)
		}
		if v := scrape(t, d)[series("cosi_seaweedfs_ready_check", "check", "seaweedfs")]; v != 0 {
			t.Errorf("ready_check{check=seaweedfs} = %v while SeaweedFS is down, want 0", v)
		}
		restart()
		stack.Eventually(t, 30*time.Second, func() error { return requireProbe(t, "/readyz", http.StatusOK) })
	})

	t.Run("Readiness fails while the admin credentials are wrong and recovers when they are fixed", func(t *testing.T) {
		// On the filer path too: the admin key still signs every bucket call,
		// though users go through the filer's IAM gRPC service (which
		// authenticates the client certificate only).
		good, err := os.ReadFile(d.SecretFile)
		if err != nil {
			t.Fatal(err)
		}
		restore := func() {
			if err := os.WriteFile(d.SecretFile, good, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(restore)
		// The kubelet rewrites a mounted Secret in place; the driver reads
		// the files again within seconds.
		if err := os.WriteFile(d.SecretFile, []byte("not-the-admin-secret"), 0o600); err != nil {
			t.Fatal(err)
		}
		stack.Eventually(t, time.Minute, func() error {
			return requireProbe(t, "/readyz", http.StatusServiceUnavailable, "[-]seaweedfs failed: admin credentials")
		})
		restore()
		stack.Eventually(t, time.Minute, func() error { return requireProbe(t, "/readyz", http.StatusOK, "[+]seaweedfs ok") })
	})
}

// TestMetrics: the scraped values follow a bucket and an access through
// create, grant, drift repair, revoke and delete.
func TestMetrics(t *testing.T) {
	e := mustEnv(t)
	d := e.driver
	start := scrape(t, d)
	if start[series("cosi_seaweedfs_leader")] != 1 {
		t.Errorf("leader = %v on the only driver, want 1", start[series("cosi_seaweedfs_leader")])
	}

	name := bucketName()
	var id string
	var a access
	var beforeGrant, beforeRevoke samples
	// The bucket and the access live as long as the whole test.
	outer := t
	t.Run("Create counts the call, the SeaweedFS create, the reconcile and a Ready bucket record", func(t *testing.T) {
		id = e.mustCreateBucket(outer, name, nil)
		stack.Eventually(t, 10*time.Second, func() error {
			if got := scrape(t, d)[readyRecords("bucket")]; got < start[readyRecords("bucket")]+1 {
				return fmt.Errorf("Ready bucket records = %v, was %v", got, start[readyRecords("bucket")])
			}
			return nil
		})
		requireIncreased(t, start, scrape(t, d),
			grpcOK("DriverCreateBucket"),
			backendOK("S3", "CreateBucket"),
			series("cosi_seaweedfs_reconcile_total", "kind", "bucket", "result", "ok"),
			series("cosi_seaweedfs_reconcile_duration_seconds_count", "kind", "bucket"),
			series("workqueue_adds_total", "name", "records"),
			series("grpc_server_handling_seconds_count", "grpc_method", "DriverCreateBucket", "grpc_service", "cosi.v1alpha1.Provisioner", "grpc_type", "unary"),
			series("cosi_seaweedfs_seaweedfs_request_duration_seconds_count", "operation", "CreateBucket", "service", "S3"))
	})
	if id == "" {
		t.FailNow()
	}

	t.Run("Grant counts the call, the user writes and a Ready access record", func(t *testing.T) {
		beforeGrant = scrape(t, d)
		a = e.mustGrant(outer, id, nil)
		stack.Eventually(t, 10*time.Second, func() error {
			if got := scrape(t, d)[readyRecords("access")]; got < beforeGrant[readyRecords("access")]+1 {
				return fmt.Errorf("Ready access records = %v, was %v", got, beforeGrant[readyRecords("access")])
			}
			return nil
		})
		grantWrites, _ := userWrites(e.path)
		requireIncreased(t, beforeGrant, scrape(t, d), append(grantWrites,
			grpcOK("DriverGrantBucketAccess"),
			series("cosi_seaweedfs_reconcile_total", "kind", "access", "result", "ok"))...)
	})

	t.Run("A bucket removed out of band counts a repaired bucket and a repaired access", func(t *testing.T) {
		before := scrape(t, d)
		if _, err := e.s3.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(id)}); err != nil {
			t.Fatalf("admin DeleteBucket: %v", err)
		}
		stack.Eventually(t, repairWithin, func() error {
			after := scrape(t, d)
			for _, kind := range []string{"bucket", "access"} {
				k := series("cosi_seaweedfs_drift_repaired_total", "kind", kind)
				if after[k] < before[k]+1 {
					return fmt.Errorf("%s = %v, was %v", k, after[k], before[k])
				}
			}
			return nil
		})
		// The resync that found the drift counts itself once its whole pass
		// (collection, the anonymous-access check) is over, which can be
		// after the workers repaired what it requeued.
		stack.Eventually(t, repairWithin, func() error {
			after := scrape(t, d)
			for _, k := range []string{series("cosi_seaweedfs_resync_total", "result", "ok"), series("cosi_seaweedfs_resync_duration_seconds_count")} {
				if after[k] <= before[k] {
					return fmt.Errorf("%s = %v, was %v: want an increase", k, after[k], before[k])
				}
			}
			return nil
		})
		// The next resync lists the repaired bucket.
		stack.Eventually(t, repairWithin, func() error {
			got := scrape(t, d)
			if b, u := got[series("cosi_seaweedfs_backend_objects", "kind", "bucket")], got[series("cosi_seaweedfs_backend_objects", "kind", "user")]; b < 1 || u < 1 {
				return fmt.Errorf("backend_objects = %v buckets, %v users; want at least this test's", b, u)
			}
			return nil
		})
	})

	t.Run("Revoke counts the call and the user's deletion, and the access record goes", func(t *testing.T) {
		beforeRevoke = scrape(t, d)
		requireOK(t, e.revoke(t, id, a.account), "DriverRevokeBucketAccess")
		stack.Eventually(t, 10*time.Second, func() error {
			if got := scrape(t, d)[readyRecords("access")]; got != beforeGrant[readyRecords("access")] {
				return fmt.Errorf("Ready access records = %v, want %v as before the grant", got, beforeGrant[readyRecords("access")])
			}
			return nil
		})
		_, revokeWrites := userWrites(e.path)
		requireIncreased(t, beforeRevoke, scrape(t, d), append(revokeWrites, grpcOK("DriverRevokeBucketAccess"))...)
	})

	t.Run("Delete counts the call and the bucket's deletion, and the bucket record goes", func(t *testing.T) {
		before := scrape(t, d)
		requireOK(t, e.deleteBucket(t, id), "DriverDeleteBucket")
		stack.Eventually(t, 10*time.Second, func() error {
			if got := scrape(t, d)[readyRecords("bucket")]; got != start[readyRecords("bucket")] {
				return fmt.Errorf("Ready bucket records = %v, want %v as before the create", got, start[readyRecords("bucket")])
			}
			return nil
		})
		requireIncreased(t, before, scrape(t, d), grpcOK("DriverDeleteBucket"), backendOK("S3", "DeleteBucket"))
	})
}

// ---- one log stream ----

// TestLogIsOneJSONStream: the driver's log, client-go's lines included, is
// one JSON object per line, and at --v=1 and above every reconcile logs its
// steps under a reconcile id.
func TestLogIsOneJSONStream(t *testing.T) {
	e := mustEnv(t)
	// Make sure at least one reconcile ran since the start.
	e.mustCreateBucket(t, bucketName(), nil)
	data, err := os.ReadFile(e.driver.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	var fromKlog, reconciled int
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("line %d is not JSON: %q", i+1, line)
		}
		if logger, _ := obj["logger"].(string); strings.HasPrefix(logger, "klog") {
			fromKlog++
		}
		if obj["msg"] == "reconciled" {
			if _, ok := obj["reconcileID"]; !ok {
				t.Errorf("a reconcile's line has no reconcileID: %q", line)
			}
			if _, ok := obj["steps"]; !ok {
				t.Errorf("a reconcile's line has no steps: %q", line)
			}
			reconciled++
		}
	}
	if fromKlog == 0 {
		t.Error("no line came from client-go through klog")
	}
	if reconciled == 0 {
		t.Error("no reconcile logged its steps at --v=2")
	}
	requireNoSecret(t, string(data))
}
