package seaweedfs

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
)

// bucketCases are the contract's sentences about buckets and the store's
// security.
var bucketCases = []contractCase{
	{"CreateBucket creates an empty bucket carrying the record's marks", func(t *testing.T, e *env) {
		b := e.bucket("new")
		createBucket(t, e, b)
		if st := observeBucket(t, e, b); st != (s3admin.BucketState{Exists: true, Owned: true, Empty: true}) {
			t.Fatalf("state %+v", st)
		}
		st, err := e.admin.ObserveBucket(admintest.Context(t), b, e.otherRecord())
		admintest.MustNil(t, "ObserveBucket", err)
		if st.Owned {
			t.Fatal("the bucket reads as owned by another record of the same owner")
		}
	}},
	{"CreateBucket twice leaves one marked bucket and writes nothing the second time", func(t *testing.T, e *env) {
		b := e.bucket("twice")
		createBucket(t, e, b)
		noWrites(t, e, "second CreateBucket", func() { createBucket(t, e, b) })
		marked := listMarked(t, e)
		if want := []s3admin.MarkedBucket{{Name: b, Owner: e.own.Owner, Marker: e.own.Marker}}; !slices.Equal(marked, want) {
			t.Fatalf("marked buckets %v, want %v", marked, want)
		}
	}},
	{"CreateBucket adopts an unmarked bucket its own identity created, keeping its other tags", func(t *testing.T, e *env) {
		b := e.bucket("adopt")
		e.bd.addBucket(t, b, map[string]string{"team": "x"})
		createBucket(t, e, b)
		if st := observeBucket(t, e, b); !st.Owned {
			t.Fatal("bucket not owned after CreateBucket")
		}
		noWrites(t, e, "CreateBucket of the adopted bucket", func() { createBucket(t, e, b) })
	}},
	{"CreateBucket of a bucket another identity created returns ErrNotOwned and leaves it unmarked", func(t *testing.T, e *env) {
		b := e.bucket("tenant")
		e.bd.addTenantBucket(t, b, nil)
		noWrites(t, e, "CreateBucket of a tenant's bucket", func() {
			admintest.MustIs(t, "CreateBucket", e.admin.CreateBucket(admintest.Context(t), b, e.own), s3admin.ErrNotOwned)
		})
		if marked := listMarked(t, e); len(marked) != 0 {
			t.Fatalf("the tenant's bucket was marked: %v", marked)
		}
	}},
	{"CreateBucket of a bucket another identity created carrying the record's forged marks returns ErrNotOwned", func(t *testing.T, e *env) {
		b := e.bucket("forged")
		e.bd.addTenantBucket(t, b, e.marks())
		noWrites(t, e, "CreateBucket of a forged bucket", func() {
			admintest.MustIs(t, "CreateBucket", e.admin.CreateBucket(admintest.Context(t), b, e.own), s3admin.ErrNotOwned)
		})
	}},
	{"CreateBucket of a bucket marked for another owner or record returns ErrNotOwned", func(t *testing.T, e *env) {
		for i, tags := range []map[string]string{
			{names.OwnerTagKey: "another-driver"},
			{names.OwnerTagKey: e.owner, names.MarkerTagKey: e.otherRecord().Marker},
		} {
			b := e.bucket(fmt.Sprintf("other%d", i))
			e.bd.addBucket(t, b, tags)
			noWrites(t, e, "CreateBucket", func() {
				admintest.MustIs(t, "CreateBucket", e.admin.CreateBucket(admintest.Context(t), b, e.own), s3admin.ErrNotOwned)
			})
		}
	}},
	{"CreateBucket with an invalid name returns ErrInvalid", func(t *testing.T, e *env) {
		for _, n := range []string{"", "ab", "Upper", "a_b", strings.Repeat("a", 64), "a..b", "-ab"} {
			noWrites(t, e, "CreateBucket "+n, func() {
				admintest.MustIs(t, "CreateBucket "+n, e.admin.CreateBucket(admintest.Context(t), n, e.own), s3admin.ErrInvalid)
			})
		}
	}},
	{"ObserveBucket of a missing bucket reports it absent", func(t *testing.T, e *env) {
		if st := observeBucket(t, e, e.bucket("missing")); st != (s3admin.BucketState{}) {
			t.Fatalf("state %+v", st)
		}
	}},
	{"ObserveBucket sees an object put behind the client's back", func(t *testing.T, e *env) {
		b := e.bucket("obj")
		createBucket(t, e, b)
		e.bd.putObject(t, b, "k")
		if st := observeBucket(t, e, b); st != (s3admin.BucketState{Exists: true, Owned: true, Empty: false}) {
			t.Fatalf("state %+v", st)
		}
	}},
	{"DeleteBucket of a missing bucket succeeds", func(t *testing.T, e *env) {
		noWrites(t, e, "DeleteBucket of a missing bucket", func() {
			admintest.MustNil(t, "DeleteBucket", e.admin.DeleteBucket(admintest.Context(t), e.bucket("missing"), e.own, false))
		})
	}},
	{"DeleteBucket of an owned empty bucket deletes it", func(t *testing.T, e *env) {
		b := e.bucket("del")
		createBucket(t, e, b)
		admintest.MustNil(t, "DeleteBucket", e.admin.DeleteBucket(admintest.Context(t), b, e.own, false))
		if st := observeBucket(t, e, b); st.Exists {
			t.Fatal("bucket still exists")
		}
	}},
	{"DeleteBucket of an unmarked or otherwise marked bucket returns ErrNotOwned and leaves it", func(t *testing.T, e *env) {
		for i, tags := range []map[string]string{nil, {names.OwnerTagKey: e.owner, names.MarkerTagKey: e.otherRecord().Marker}} {
			b := e.bucket(fmt.Sprintf("foreign%d", i))
			e.bd.addBucket(t, b, tags)
			e.bd.putObject(t, b, "data")
			for _, purge := range []bool{false, true} {
				noWrites(t, e, "DeleteBucket of a foreign bucket", func() {
					admintest.MustIs(t, "DeleteBucket", e.admin.DeleteBucket(admintest.Context(t), b, e.own, purge), s3admin.ErrNotOwned)
				})
			}
			if st := observeBucket(t, e, b); !st.Exists || st.Empty || st.Owned {
				t.Fatalf("foreign bucket changed: %+v", st)
			}
		}
	}},
	{"DeleteBucket of a bucket another identity created carrying the record's forged marks returns ErrNotOwned and keeps its data", func(t *testing.T, e *env) {
		b := e.bucket("forged")
		e.bd.addTenantBucket(t, b, e.marks())
		e.bd.tenantPutObject(t, b, "tenant-data")
		for _, purge := range []bool{false, true} {
			noWrites(t, e, "DeleteBucket of a forged bucket", func() {
				admintest.MustIs(t, "DeleteBucket", e.admin.DeleteBucket(admintest.Context(t), b, e.own, purge), s3admin.ErrNotOwned)
			})
		}
		if st := observeBucket(t, e, b); !st.Exists || st.Empty {
			t.Fatalf("the tenant's bucket changed: %+v", st)
		}
	}},
	{"DeleteBucket of a non-empty bucket returns ErrNotEmpty and leaves it", func(t *testing.T, e *env) {
		b := e.bucket("full")
		createBucket(t, e, b)
		e.bd.putObject(t, b, "data")
		noWrites(t, e, "DeleteBucket of a non-empty bucket", func() {
			admintest.MustIs(t, "DeleteBucket", e.admin.DeleteBucket(admintest.Context(t), b, e.own, false), s3admin.ErrNotEmpty)
		})
		if st := observeBucket(t, e, b); !st.Exists || st.Empty {
			t.Fatalf("bucket changed: %+v", st)
		}
	}},
	{"DeleteBucket with purge deletes a non-empty owned bucket", func(t *testing.T, e *env) {
		b := e.bucket("purge")
		createBucket(t, e, b)
		e.bd.putObject(t, b, "a")
		e.bd.putObject(t, b, "dir/b")
		admintest.MustNil(t, "DeleteBucket purge", e.admin.DeleteBucket(admintest.Context(t), b, e.own, true))
		if st := observeBucket(t, e, b); st.Exists {
			t.Fatal("bucket still exists")
		}
	}},
	{"ListMarkedBuckets lists every bucket with an owner tag and its marks, and no unmarked one", func(t *testing.T, e *env) {
		b1, b2, f1, f2 := e.bucket("l1"), e.bucket("l2"), e.bucket("f1"), e.bucket("f2")
		createBucket(t, e, b2)
		createBucket(t, e, b1)
		e.bd.addBucket(t, f1, nil)
		e.bd.addBucket(t, f2, map[string]string{names.OwnerTagKey: "another-driver"})
		want := []s3admin.MarkedBucket{
			{Name: f2, Owner: "another-driver"},
			{Name: b1, Owner: e.own.Owner, Marker: e.own.Marker},
			{Name: b2, Owner: e.own.Owner, Marker: e.own.Marker},
		}
		slices.SortFunc(want, func(a, b s3admin.MarkedBucket) int { return strings.Compare(a.Name, b.Name) })
		if got := listMarked(t, e); !slices.Equal(got, want) {
			t.Fatalf("marked %v, want %v", got, want)
		}
	}},
	{"ListMarkedBuckets lists a bucket another identity created with the record's marks, which CreateBucket and DeleteBucket still refuse", func(t *testing.T, e *env) {
		// The listing says where to look, never what is owned: a tenant
		// allowed to tag its bucket can copy any marks onto it.
		b := e.bucket("copied")
		e.bd.addTenantBucket(t, b, e.marks())
		e.bd.tenantPutObject(t, b, "tenant-data")
		if got, want := listMarked(t, e), []s3admin.MarkedBucket{{Name: b, Owner: e.own.Owner, Marker: e.own.Marker}}; !slices.Equal(got, want) {
			t.Fatalf("marked %v, want %v", got, want)
		}
		noWrites(t, e, "CreateBucket and DeleteBucket of the listed tenant's bucket", func() {
			admintest.MustIs(t, "CreateBucket", e.admin.CreateBucket(admintest.Context(t), b, e.own), s3admin.ErrNotOwned)
			admintest.MustIs(t, "DeleteBucket", e.admin.DeleteBucket(admintest.Context(t), b, e.own, true), s3admin.ErrNotOwned)
		})
		if st := observeBucket(t, e, b); !st.Exists || st.Empty {
			t.Fatalf("the tenant's bucket changed: %+v", st)
		}
	}},
	{"ListMarkedBuckets shows marks changed behind the client's back, and a bucket whose marks were removed no more", func(t *testing.T, e *env) {
		moved, cleared := e.bucket("moved"), e.bucket("cleared")
		createBucket(t, e, moved)
		createBucket(t, e, cleared)
		e.bd.setTags(t, moved, map[string]string{names.OwnerTagKey: e.owner, names.MarkerTagKey: e.otherRecord().Marker, "team": "x"})
		e.bd.setTags(t, cleared, nil)
		want := []s3admin.MarkedBucket{{Name: moved, Owner: e.owner, Marker: e.otherRecord().Marker}}
		// SeaweedFS's S3 gateway answers tag reads from a cache its filer
		// subscription refreshes: give it the time a resync would.
		var got []s3admin.MarkedBucket
		for range 20 {
			if got = listMarked(t, e); slices.Equal(got, want) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("marked %v, want %v", got, want)
	}},
	{"CheckAnonymousDenied succeeds on a secured store", func(t *testing.T, e *env) {
		admintest.MustNil(t, "CheckAnonymousDenied", e.admin.CheckAnonymousDenied(admintest.Context(t)))
	}},
}
