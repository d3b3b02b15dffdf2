package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"google.golang.org/grpc/codes"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/bucketclass"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// restartSetting restarts the driver with flag set to value, and with the
// flag's original value again when the test ends; it returns that value.
// The flag must be among the driver's arguments (see newDriver).
func (e *environment) restartSetting(t *testing.T, flag, value string) string {
	t.Helper()
	set := func(v string) string {
		t.Helper()
		if err := e.driver.Stop(); err != nil {
			t.Fatalf("stop the driver: %v", err)
		}
		old := e.driver.SetArg(flag, v)
		c, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if err := e.driver.Start(c); err != nil {
			t.Fatalf("start the driver with %s=%s: %v", flag, v, err)
		}
		return old
	}
	old := set(value)
	t.Cleanup(func() { set(old) })
	return old
}

// filerFile reads a file through the filer's HTTP port (the test's own
// view of SeaweedFS, as an operator's weed shell has it).
func (e *environment) filerFile(t testing.TB, path string) string {
	t.Helper()
	resp, err := http.Get(e.stack.Seaweed.FilerURL() + path)
	if err != nil {
		t.Fatalf("filer GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		return ""
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("filer GET %s: %s: %s", path, resp.Status, b)
	}
	return string(b)
}

// bucketQuota is the quota field of the bucket's entry in the filer.
func (e *environment) bucketQuota(t testing.TB, bucket string) int64 {
	t.Helper()
	var entry struct{ Quota int64 }
	if err := json.Unmarshal([]byte(e.filerFile(t, "/buckets/"+bucket+"?metadata=true")), &entry); err != nil {
		t.Fatalf("the filer entry of bucket %s: %v", bucket, err)
	}
	return entry.Quota
}

// placementRule is the location rule of exactly /buckets/<bucket>/ in the
// filer configuration, as JSON fields; nil when there is none.
func (e *environment) placementRule(t testing.TB, bucket string) map[string]any {
	t.Helper()
	conf := e.filerFile(t, "/etc/seaweedfs/filer.conf")
	if conf == "" {
		return nil
	}
	var fc struct {
		Locations []map[string]any `json:"locations"`
	}
	if err := json.Unmarshal([]byte(conf), &fc); err != nil {
		t.Fatalf("filer.conf: %v\n%s", err, conf)
	}
	for _, l := range fc.Locations {
		if l["locationPrefix"] == "/buckets/"+bucket+"/" {
			return l
		}
	}
	return nil
}

func (e *environment) versioning(t testing.TB, bucket string) s3types.BucketVersioningStatus {
	t.Helper()
	out, err := e.s3.GetBucketVersioning(ctx(t), &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("GetBucketVersioning(%s): %v", bucket, err)
	}
	return out.Status
}

// TestBucketClassFeatures: what a BucketClass asks of a bucket is what
// SeaweedFS holds, is set back when changed, and goes with the bucket.
func TestBucketClassFeatures(t *testing.T) {
	e := mustEnv(t)

	if e.path == stack.IAMQueryAPI {
		t.Run("Quotas and placement without the filer are INVALID_ARGUMENT naming the parameter and the setting, and record nothing", func(t *testing.T) {
			for _, p := range []string{bucketclass.MaxSize, bucketclass.Replication, bucketclass.DiskType, bucketclass.TTL} {
				name := bucketName()
				value := map[string]string{bucketclass.MaxSize: "1Mi", bucketclass.Replication: "000", bucketclass.DiskType: "hdd", bucketclass.TTL: "7d"}[p]
				_, err := e.createBucket(t, name, map[string]string{p: value})
				requireCode(t, err, codes.InvalidArgument, `"`+p+`"`, "--filer-grpc-address")
				if e.bucketExists(t, name) || e.bucketRecordExists(t, names.BucketRecord(name)) {
					t.Fatalf("a refused create of %s left a bucket or a record", name)
				}
			}
		})
	} else {
		t.Run("A quota and a placement rule are in the filer, the bucket takes writes, and the rule is gone after the bucket", func(t *testing.T) {
			params := map[string]string{bucketclass.MaxSize: "1Mi", bucketclass.Replication: "000", bucketclass.DiskType: "hdd", bucketclass.TTL: "7d"}
			name := bucketName()
			resp, err := e.createBucket(t, name, params)
			requireOK(t, err, "DriverCreateBucket")
			id := resp.GetBucketId()
			if q := e.bucketQuota(t, id); q != 1<<20 {
				t.Fatalf("quota %d, want %d", q, 1<<20)
			}
			rule := e.placementRule(t, id)
			if rule == nil || rule["replication"] != "000" || rule["diskType"] != "hdd" || rule["ttl"] != "7d" {
				t.Fatalf("placement rule %v, want replication 000, diskType hdd, ttl 7d", rule)
			}
			// The bucket takes writes (replication 000 fits one server).
			a := e.mustGrant(t, id, nil)
			if err := s3check.Put(ctx(t), a.s3(), id, "x.txt", "x"); err != nil {
				t.Fatalf("write into a bucket with a placement rule: %v", err)
			}
			requireOK(t, e.revoke(t, id, a.account), "DriverRevokeBucketAccess")
			e.emptyBucket(t, id)
			requireOK(t, e.deleteBucket(t, id), "DriverDeleteBucket")
			if e.bucketExists(t, id) {
				t.Fatal("the bucket still exists")
			}
			if rule := e.placementRule(t, id); rule != nil {
				t.Fatalf("the placement rule outlived its bucket: %v", rule)
			}
		})
	}

	t.Run("Versioning asked for is enabled, and enabled again after being suspended behind the driver's back", func(t *testing.T) {
		id := e.mustCreateBucket(t, bucketName(), map[string]string{bucketclass.Versioning: "true"})
		if st := e.versioning(t, id); st != s3types.BucketVersioningStatusEnabled {
			t.Fatalf("versioning %q after create, want Enabled", st)
		}
		_, err := e.s3.PutBucketVersioning(ctx(t), &s3.PutBucketVersioningInput{Bucket: aws.String(id),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}})
		if err != nil {
			t.Fatal(err)
		}
		stack.Eventually(t, repairWithin, func() error {
			if st := e.versioning(t, id); st != s3types.BucketVersioningStatusEnabled {
				return fmt.Errorf("versioning %q", st)
			}
			return nil
		})
	})

	t.Run("An object-lock bucket keeps a locked version: its deletion waits naming the retention, and completes once the retention ended and the version is deleted", func(t *testing.T) {
		resp, err := e.createBucket(t, bucketName(), map[string]string{bucketclass.ObjectLock: "true"})
		requireOK(t, err, "DriverCreateBucket")
		id := resp.GetBucketId()
		lock, err := e.s3.GetObjectLockConfiguration(ctx(t), &s3.GetObjectLockConfigurationInput{Bucket: aws.String(id)})
		if err != nil || lock.ObjectLockConfiguration == nil || lock.ObjectLockConfiguration.ObjectLockEnabled != s3types.ObjectLockEnabledEnabled {
			t.Fatalf("object lock of %s: %+v, %v", id, lock, err)
		}
		until := time.Now().Add(20 * time.Second)
		put, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(id), Key: aws.String("kept.txt"), Body: strings.NewReader("kept"),
			ObjectLockMode: s3types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(until)})
		if err != nil {
			t.Fatalf("PutObject with a retention: %v", err)
		}
		_, err = e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(id), Key: aws.String("kept.txt"), VersionId: put.VersionId})
		if err == nil {
			t.Fatal("a locked version was deleted")
		}
		err = e.deleteBucket(t, id)
		requireCode(t, err, codes.FailedPrecondition, "object lock", "retention")
		if body, err := e.objectBody(t, id, "kept.txt"); err != nil || body != "kept" {
			t.Fatalf("the locked object after the refused deletion: %q, %v", body, err)
		}
		time.Sleep(time.Until(until) + time.Second)
		stack.Eventually(t, 30*time.Second, func() error {
			_, err := e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(id), Key: aws.String("kept.txt"), VersionId: put.VersionId})
			return err
		})
		// Without its one version the bucket is empty: the pending
		// deletion completes.
		stack.Eventually(t, repairWithin, func() error { return e.deleteBucket(t, id) })
		if e.bucketExists(t, id) {
			t.Fatal("the bucket still exists")
		}
	})
}

// TestImportedBuckets: a bucket another identity made is given to
// workloads only when --import-buckets allows it, and the driver never
// changes it: its data and its own tags survive grant, revoke and the
// deletion of its Bucket.
func TestImportedBuckets(t *testing.T) {
	e := mustEnv(t)
	e.restartSetting(t, "--import-buckets", "bucket-imported-*")
	imported := "bucket-imported-" + uid()
	tags := map[string]string{"team": "data"}
	e.tenantBucket(t, imported, tags)
	requireTags := func(t *testing.T) {
		t.Helper()
		out, err := e.s3.GetBucketTagging(ctx(t), &s3.GetBucketTaggingInput{Bucket: aws.String(imported)})
		if err != nil {
			t.Fatalf("GetBucketTagging: %v", err)
		}
		got := map[string]string{}
		for _, tg := range out.TagSet {
			got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		if len(got) != 1 || got["team"] != "data" {
			t.Fatalf("the imported bucket's tags are %v, want only team=data", got)
		}
	}

	t.Run("A grant on an allowed bucket works with an exact policy; revoke and the Bucket's deletion keep its data and tags", func(t *testing.T) {
		a := e.mustGrant(t, imported, nil)
		if body, err := s3check.Get(ctx(t), a.s3(), imported, "tenant.txt"); err != nil || body != "the tenant's" {
			t.Fatalf("read the tenant's object with the granted key: %q, %v", body, err)
		}
		if err := s3check.Put(ctx(t), a.s3(), imported, "workload.txt", "w"); err != nil {
			t.Fatalf("write with the granted key: %v", err)
		}
		other := bucketName()
		e.tenantBucket(t, other, nil)
		s3check.RequireDenied(t, "the granted key on another bucket", s3check.Put(ctx(t), a.s3(), other, "x", "x"))
		requireTags(t)

		requireOK(t, e.revoke(t, imported, a.account), "DriverRevokeBucketAccess")
		requireKeyRejected(t, a, imported)
		e.requireTenantData(t, imported)
		requireTags(t)

		b := e.mustGrant(t, imported, nil)
		requireOK(t, e.deleteBucket(t, imported), "DriverDeleteBucket")
		requireKeyRejected(t, b, imported)
		if e.bucketRecordExists(t, names.BucketRecord(imported)) {
			t.Fatal("the imported bucket's record outlived the deletion")
		}
		e.requireTenantData(t, imported)
		if body, err := e.objectBody(t, imported, "workload.txt"); err != nil || body != "w" {
			t.Fatalf("the workload's object after the deletion: %q, %v", body, err)
		}
		requireTags(t)
	})

	t.Run("A grant on a bucket no glob matches is PERMISSION_DENIED naming the setting, and records nothing", func(t *testing.T) {
		other := bucketName()
		e.tenantBucket(t, other, nil)
		name, _ := e.bucketAccess(t)
		_, err := e.grant(t, grantRequest(other, name, nil))
		requireCode(t, err, codes.PermissionDenied, "--import-buckets")
		if e.bucketRecordExists(t, names.BucketRecord(other)) || e.accessRecordExists(t, names.AccessRecord(names.AccessID(name))) {
			t.Fatal("a refused grant left a record")
		}
	})

	t.Run("A grant on an allowed bucket that does not exist is NOT_FOUND and records nothing", func(t *testing.T) {
		missing := "bucket-imported-" + uid()
		name, _ := e.bucketAccess(t)
		_, err := e.grant(t, grantRequest(missing, name, nil))
		requireCode(t, err, codes.NotFound, "does not exist")
		stack.Eventually(t, repairWithin, func() error {
			if e.bucketRecordExists(t, names.BucketRecord(missing)) {
				return fmt.Errorf("the record of the missing bucket is still there")
			}
			return nil
		})
	})
}
