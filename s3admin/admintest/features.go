package admintest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// EnsureFeatures is EnsureBucketFeatures for the case's records, failing
// the test on an error; it returns whether anything changed.
func EnsureFeatures(t *testing.T, e *Env, bucket string, f s3admin.BucketFeatures) bool {
	t.Helper()
	changed, err := e.Admin.EnsureBucketFeatures(Context(t), bucket, e.Own, f)
	MustNil(t, "EnsureBucketFeatures "+bucket, err)
	return changed
}

// ObserveFeatures is ObserveBucketFeatures failing the test on an error.
func ObserveFeatures(t *testing.T, e *Env, bucket string, f s3admin.BucketFeatures) s3admin.BucketFeatureState {
	t.Helper()
	st, err := e.Admin.ObserveBucketFeatures(Context(t), bucket, f)
	MustNil(t, "ObserveBucketFeatures "+bucket, err)
	return st
}

// refusesWithoutFiler checks, where the Admin has no filer, that f is
// refused with ErrUnsupported without a write, and reports whether it was.
func refusesWithoutFiler(t *testing.T, e *Env, bucket string, f s3admin.BucketFeatures) bool {
	t.Helper()
	if e.Backdoor.Filer() {
		return false
	}
	NoWrites(t, e, "EnsureBucketFeatures without the filer", func() {
		_, err := e.Admin.EnsureBucketFeatures(Context(t), bucket, e.Own, f)
		MustIs(t, "EnsureBucketFeatures", err, s3admin.ErrUnsupported)
		_, err = e.Admin.ObserveBucketFeatures(Context(t), bucket, f)
		MustIs(t, "ObserveBucketFeatures", err, s3admin.ErrUnsupported)
	})
	return true
}

// waitFor polls cond every 100 ms for up to 10 s: the S3 gateway answers
// some reads from caches refreshed asynchronously.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// featureCases are the contract's sentences about bucket features and
// imported buckets.
var featureCases = []contractCase{
	{"EnsureBucketFeatures sets a quota, writes nothing the second time, and sets back a quota changed or removed behind its back", func(t *testing.T, e *Env) {
		b := e.Bucket("quota")
		CreateBucket(t, e, b)
		f := s3admin.BucketFeatures{QuotaBytes: 1 << 20}
		if refusesWithoutFiler(t, e, b, f) {
			return
		}
		_, err := e.Admin.ObserveBucketFeatures(Context(t), e.Bucket("missing"), f)
		MustIs(t, "ObserveBucketFeatures of a missing bucket", err, s3admin.ErrNotFound)
		if !EnsureFeatures(t, e, b, f) {
			t.Fatal("the first EnsureBucketFeatures reported no change")
		}
		if q := e.Backdoor.Quota(t, b); q != f.QuotaBytes {
			t.Fatalf("quota %d, want %d", q, f.QuotaBytes)
		}
		NoWrites(t, e, "second EnsureBucketFeatures", func() {
			if EnsureFeatures(t, e, b, f) {
				t.Fatal("the second EnsureBucketFeatures reported a change")
			}
		})
		if st := ObserveFeatures(t, e, b, f); st.QuotaBytes != f.QuotaBytes || st.UsedBytes < 0 || !st.Holds(f) {
			t.Fatalf("observed %+v", st)
		}
		for _, drift := range []int64{5 << 20, 0, -(1 << 20)} {
			e.Backdoor.SetQuota(t, b, drift)
			if !EnsureFeatures(t, e, b, f) {
				t.Fatalf("quota %d behind its back: no change", drift)
			}
			if q := e.Backdoor.Quota(t, b); q != f.QuotaBytes {
				t.Fatalf("quota %d after setting back %d, want %d", q, drift, f.QuotaBytes)
			}
		}
		// The quota is written into the bucket's entry, which holds its tags
		// too: they must survive.
		if got, want := e.Backdoor.Tags(t, b), e.Marks(); !maps.Equal(got, want) {
			t.Fatalf("tags %v after the quota writes, want %v", got, want)
		}
	}},
	{"A bucket with a 1 MiB quota refuses writes within 90 s after 2 MiB were written and accepts them again after the objects are deleted", func(t *testing.T, e *Env) {
		b := e.Bucket("full")
		CreateBucket(t, e, b)
		f := s3admin.BucketFeatures{QuotaBytes: 1 << 20}
		if refusesWithoutFiler(t, e, b, f) {
			return
		}
		if !e.Backdoor.EnforcesQuota() {
			t.Skip("the fake does not model SeaweedFS's quota enforcement (a periodic comparison of the bucket's volumes with its quota)")
		}
		EnsureFeatures(t, e, b, f)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		keys := []string{"big-1", "big-2"}
		for _, k := range keys {
			MustNil(t, "PutObject "+k, e.Backdoor.TryPut(ctx, b, k, 1<<20))
		}
		crossed := time.Now()
		var refusal error
		refusedAfter := poll(t, ctx, "a write refused over the quota", func(i int) bool {
			k := fmt.Sprintf("small-%d", i)
			if err := e.Backdoor.TryPut(ctx, b, k, 1024); err != nil {
				refusal = err
				return true
			}
			keys = append(keys, k)
			return false
		}, crossed)
		var se *s3admin.Error
		if !errors.As(refusal, &se) || se.Status != 500 {
			t.Fatalf("refused with %v, want SeaweedFS's HTTP 500 (a read-only bucket)", refusal)
		}
		if refusedAfter > 90*time.Second {
			t.Errorf("refused only %s after crossing the quota, want within 90 s", refusedAfter)
		}
		if st := ObserveFeatures(t, e, b, f); st.UsedBytes <= f.QuotaBytes {
			t.Logf("used bytes %d after the refusal (quota %d)", st.UsedBytes, f.QuotaBytes)
		}
		for _, k := range keys {
			e.Backdoor.DeleteObject(t, b, k)
		}
		deleted := time.Now()
		acceptedAfter := poll(t, ctx, "a write accepted again after the delete", func(i int) bool {
			return e.Backdoor.TryPut(ctx, b, fmt.Sprintf("again-%d", i), 1024) == nil
		}, deleted)
		t.Logf("quota timeline: refused after %s, accepted again %s after delete", refusedAfter.Round(time.Second), acceptedAfter.Round(time.Second))
	}},
	{"Placement rules are visible in the filer configuration, keep SeaweedFS's read-only flag, are set back after drift, and are gone after RemoveBucketPlacement once the bucket is deleted; RemoveBucketPlacement of an existing bucket keeps the rule (ErrNotOwned for another's, ErrTransient for the record's own not gone yet)", func(t *testing.T, e *Env) {
		b := e.Bucket("placed")
		CreateBucket(t, e, b)
		// One volume server: replication 000 (001 makes every write fail).
		f := s3admin.BucketFeatures{Replication: "000", DiskType: "hdd", TTL: "7d"}
		want := plan.PlacementOf(f)
		if refusesWithoutFiler(t, e, b, f) {
			MustNil(t, "RemoveBucketPlacement of a missing bucket without the filer", e.Admin.RemoveBucketPlacement(Context(t), e.Bucket("gone"), e.Own))
			return
		}
		if !EnsureFeatures(t, e, b, f) {
			t.Fatal("the first EnsureBucketFeatures reported no change")
		}
		if p, ro, ok := e.Backdoor.Rule(t, b); !ok || p != want || ro {
			t.Fatalf("rule %+v read-only %v present %v, want %+v", p, ro, ok, want)
		}
		NoWrites(t, e, "second EnsureBucketFeatures", func() {
			if EnsureFeatures(t, e, b, f) {
				t.Fatal("the second EnsureBucketFeatures reported a change")
			}
		})
		if st := ObserveFeatures(t, e, b, f); !st.Holds(f) {
			t.Fatalf("observed %+v", st)
		}
		e.Backdoor.PutObject(t, b, "written-under-the-rule")

		drifted := want
		drifted.DiskType = "ssd"
		e.Backdoor.SetRule(t, b, drifted, true)
		if !EnsureFeatures(t, e, b, f) {
			t.Fatal("a drifted rule was not set back")
		}
		if p, ro, ok := e.Backdoor.Rule(t, b); !ok || p != want || !ro {
			t.Fatalf("rule %+v read-only %v present %v after drift, want %+v kept read-only", p, ro, ok, want)
		}
		e.Backdoor.SetRule(t, b, want, false)

		NoWrites(t, e, "RemoveBucketPlacement of an existing bucket", func() {
			// Another record's view: somebody else's bucket.
			MustIs(t, "RemoveBucketPlacement", e.Admin.RemoveBucketPlacement(Context(t), b, e.OtherRecord()), s3admin.ErrNotOwned)
			// The record's own bucket, not gone yet: ask again.
			MustIs(t, "RemoveBucketPlacement", e.Admin.RemoveBucketPlacement(Context(t), b, e.Own), s3admin.ErrTransient)
		})
		if _, _, ok := e.Backdoor.Rule(t, b); !ok {
			t.Fatal("the rule of an existing bucket was removed")
		}
		e.Backdoor.RemoveBucket(t, b)
		MustNil(t, "RemoveBucketPlacement", e.Admin.RemoveBucketPlacement(Context(t), b, e.Own))
		if p, _, ok := e.Backdoor.Rule(t, b); ok {
			t.Fatalf("rule %+v left after RemoveBucketPlacement", p)
		}
		NoWrites(t, e, "RemoveBucketPlacement without a rule", func() {
			MustNil(t, "RemoveBucketPlacement", e.Admin.RemoveBucketPlacement(Context(t), b, e.Own))
		})
	}},
	{"An object-lock bucket refuses deleting a locked version, and DeleteBucket with purge returns ErrNotEmpty without deleting or fencing anything", func(t *testing.T, e *Env) {
		// A version under COMPLIANCE retention cannot be deleted before the
		// retention ends: this bucket is left behind (the server is the test
		// run's), with a name of its own.
		b := e.Bucket("locked")
		MustNil(t, "CreateBucket with object lock", e.Admin.CreateBucket(Context(t), b, e.Own, s3admin.CreateOptions{ObjectLock: true}))
		f := s3admin.BucketFeatures{ObjectLock: true}
		if st := ObserveFeatures(t, e, b, f); !st.ObjectLock || st.Versioning != s3admin.VersioningEnabled {
			t.Fatalf("observed %+v, want object lock and versioning enabled", st)
		}
		NoWrites(t, e, "EnsureBucketFeatures of the object-lock bucket", func() {
			if EnsureFeatures(t, e, b, f) {
				t.Fatal("EnsureBucketFeatures reported a change")
			}
		})
		e.Backdoor.PutLockedObject(t, b, "kept")
		MustIs(t, "DELETE ?versionId= of a locked version", e.Backdoor.DeleteObjectVersion(t, b, "kept"), s3admin.ErrAccessDenied)
		MustIs(t, "DeleteBucket with purge", e.Admin.DeleteBucket(Context(t), b, e.Own, true), s3admin.ErrNotEmpty)
		if st := ObserveBucket(t, e, b); !st.Exists || !st.Owned || st.Empty {
			t.Fatalf("state %+v after DeleteBucket", st)
		}
		// Not fenced: the bucket's holder can still write.
		e.Backdoor.PutObject(t, b, "after")
		// SeaweedFS answers a create request whose object-lock setting
		// differs from the bucket's with BucketAlreadyExists, to its creator
		// too: the record's bucket must still be recognised either way.
		NoWrites(t, e, "CreateBucket of the object-lock bucket without object lock", func() { CreateBucket(t, e, b) })
		other := e.Bucket("plain")
		CreateBucket(t, e, other)
		NoWrites(t, e, "CreateBucket of a plain bucket with object lock", func() {
			MustNil(t, "CreateBucket", e.Admin.CreateBucket(Context(t), other, e.Own, s3admin.CreateOptions{ObjectLock: true}))
		})
		if st := ObserveFeatures(t, e, other, f); st.ObjectLock {
			t.Fatalf("a bucket created without object lock observed %+v", st)
		}
		MustNil(t, "DeleteBucket of the plain bucket", e.Admin.DeleteBucket(Context(t), other, e.Own, true))
	}},
	{"Versioning asked is enabled and set back after being suspended behind the Admin's back", func(t *testing.T, e *Env) {
		b := e.Bucket("versioned")
		CreateBucket(t, e, b)
		f := s3admin.BucketFeatures{Versioning: true}
		if st := ObserveFeatures(t, e, b, f); st.Versioning == s3admin.VersioningEnabled {
			t.Fatalf("a new bucket observed %+v", st)
		}
		if !EnsureFeatures(t, e, b, f) {
			t.Fatal("the first EnsureBucketFeatures reported no change")
		}
		waitFor(t, "versioning Enabled", func() bool { return ObserveFeatures(t, e, b, f).Versioning == s3admin.VersioningEnabled })
		NoWrites(t, e, "second EnsureBucketFeatures", func() {
			if EnsureFeatures(t, e, b, f) {
				t.Fatal("the second EnsureBucketFeatures reported a change")
			}
		})
		e.Backdoor.SetVersioning(t, b, "Suspended")
		waitFor(t, "versioning Suspended", func() bool { return ObserveFeatures(t, e, b, f).Versioning == "Suspended" })
		if !EnsureFeatures(t, e, b, f) {
			t.Fatal("suspended versioning was not enabled again")
		}
		waitFor(t, "versioning Enabled again", func() bool { return ObserveFeatures(t, e, b, f).Versioning == s3admin.VersioningEnabled })
	}},
	{"An imported bucket gets accesses and keeps its data and its own tags through EnsureAccess and DeleteUser; CreateBucket, DeleteBucket and EnsureBucketFeatures on it return ErrNotOwned and change nothing", func(t *testing.T, e *Env) {
		b := e.Bucket("imported")
		tags := map[string]string{"team": "x"}
		e.Backdoor.AddTenantBucket(t, b, tags)
		e.Backdoor.TenantPutObject(t, b, "theirs")
		imported := s3admin.Ownership{Owner: e.Own.Owner, Imported: true}
		a := e.Access(t, e.User("imp"), b, s3admin.ModeReadWrite)
		a.BucketOwner = imported
		if !Ensure(t, e, a) {
			t.Fatal("EnsureAccess on the imported bucket reported no change")
		}
		WantExactly(t, e, a)
		NoWrites(t, e, "CreateBucket, DeleteBucket and EnsureBucketFeatures of the imported bucket", func() {
			MustIs(t, "CreateBucket", e.Admin.CreateBucket(Context(t), b, imported, s3admin.CreateOptions{}), s3admin.ErrNotOwned)
			MustIs(t, "DeleteBucket", e.Admin.DeleteBucket(Context(t), b, imported, true), s3admin.ErrNotOwned)
			_, err := e.Admin.EnsureBucketFeatures(Context(t), b, imported, s3admin.BucketFeatures{Versioning: true})
			MustIs(t, "EnsureBucketFeatures", err, s3admin.ErrNotOwned)
		})
		MustNil(t, "DeleteUser", e.Admin.DeleteUser(Context(t), a.User, ""))
		if st := ObserveBucket(t, e, b); !st.Exists || st.Empty || st.Owned {
			t.Fatalf("imported bucket state %+v", st)
		}
		if got := e.Backdoor.Tags(t, b); !maps.Equal(got, tags) {
			t.Fatalf("imported bucket's tags %v, want %v", got, tags)
		}
		missing := s3admin.Access{User: e.User("imp2"), Bucket: e.Bucket("imported-missing"), Mode: s3admin.ModeReadOnly,
			AccessKeyID: a.AccessKeyID + "X", SecretAccessKey: a.SecretAccessKey, BucketOwner: imported}
		_, err := e.Admin.EnsureAccess(Context(t), missing)
		MustIs(t, "EnsureAccess on a missing imported bucket", err, s3admin.ErrNotFound)
	}},
	{"EnsureBucketFeatures on a tenant's bucket returns ErrNotOwned and writes nothing", func(t *testing.T, e *Env) {
		b := e.Bucket("tenantf")
		e.Backdoor.AddTenantBucket(t, b, nil)
		fs := []s3admin.BucketFeatures{{Versioning: true}}
		if e.Backdoor.Filer() {
			fs = append(fs, s3admin.BucketFeatures{QuotaBytes: 1 << 20}, s3admin.BucketFeatures{Replication: "000"})
		}
		NoWrites(t, e, "EnsureBucketFeatures of a tenant's bucket", func() {
			for _, f := range fs {
				_, err := e.Admin.EnsureBucketFeatures(Context(t), b, e.Own, f)
				MustIs(t, fmt.Sprintf("EnsureBucketFeatures %+v", f), err, s3admin.ErrNotOwned)
			}
			unrecorded := e.Own
			unrecorded.Unrecorded = true
			_, err := e.Admin.EnsureBucketFeatures(Context(t), b, unrecorded, fs[0])
			MustIs(t, "EnsureBucketFeatures without a record", err, s3admin.ErrNotOwned)
		})
		if e.Backdoor.Filer() {
			if q := e.Backdoor.Quota(t, b); q != 0 {
				t.Fatalf("the tenant's bucket got quota %d", q)
			}
			if p, _, ok := e.Backdoor.Rule(t, b); ok {
				t.Fatalf("the tenant's bucket got rule %+v", p)
			}
		}
	}},
}

// poll calls try every 2 s, up to 120 s, until it reports done, and returns
// the time from since to then.
func poll(t *testing.T, ctx context.Context, what string, try func(i int) bool, since time.Time) time.Duration {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for i := 0; ; i++ {
		if try(i) {
			return time.Since(since)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("no %s within 120 s", what)
		}
		time.Sleep(2 * time.Second)
	}
}
