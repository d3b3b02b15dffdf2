package admintest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// bucketCases are the contract's sentences about buckets and the store's
// security.
var bucketCases = []contractCase{
	{"CreateBucket creates an empty bucket carrying the record's marks", func(t *testing.T, e *Env) {
		b := e.Bucket("new")
		CreateBucket(t, e, b)
		if st := ObserveBucket(t, e, b); st != (s3admin.BucketState{Exists: true, Owned: true, Empty: true}) {
			t.Fatalf("state %+v", st)
		}
		st, err := e.Admin.ObserveBucket(Context(t), b, e.OtherRecord())
		MustNil(t, "ObserveBucket", err)
		if st.Owned {
			t.Fatal("the bucket reads as owned by another record of the same owner")
		}
	}},
	{"CreateBucket twice leaves one marked bucket and writes nothing the second time", func(t *testing.T, e *Env) {
		b := e.Bucket("twice")
		CreateBucket(t, e, b)
		NoWrites(t, e, "second CreateBucket", func() { CreateBucket(t, e, b) })
		marked := ListMarked(t, e)
		if want := []s3admin.MarkedBucket{{Name: b, Owner: e.Own.Owner, Marker: e.Own.Marker}}; !slices.Equal(marked, want) {
			t.Fatalf("marked buckets %v, want %v", marked, want)
		}
	}},
	{"CreateBucket adopts an unmarked bucket its own identity created, keeping its other tags", func(t *testing.T, e *Env) {
		b := e.Bucket("adopt")
		e.Backdoor.AddBucket(t, b, map[string]string{"team": "x"})
		CreateBucket(t, e, b)
		if st := ObserveBucket(t, e, b); !st.Owned {
			t.Fatal("bucket not owned after CreateBucket")
		}
		NoWrites(t, e, "CreateBucket of the adopted bucket", func() { CreateBucket(t, e, b) })
	}},
	{"CreateBucket of a bucket another identity created returns ErrNotOwned and leaves it unmarked", func(t *testing.T, e *Env) {
		b := e.Bucket("tenant")
		e.Backdoor.AddTenantBucket(t, b, nil)
		NoWrites(t, e, "CreateBucket of a tenant's bucket", func() {
			MustIs(t, "CreateBucket", e.Admin.CreateBucket(Context(t), b, e.Own, s3admin.CreateOptions{}), s3admin.ErrNotOwned)
		})
		if marked := ListMarked(t, e); len(marked) != 0 {
			t.Fatalf("the tenant's bucket was marked: %v", marked)
		}
	}},
	{"CreateBucket of a bucket another identity created carrying the record's forged marks returns ErrNotOwned", func(t *testing.T, e *Env) {
		b := e.Bucket("forged")
		e.Backdoor.AddTenantBucket(t, b, e.Marks())
		NoWrites(t, e, "CreateBucket of a forged bucket", func() {
			MustIs(t, "CreateBucket", e.Admin.CreateBucket(Context(t), b, e.Own, s3admin.CreateOptions{}), s3admin.ErrNotOwned)
		})
	}},
	{"CreateBucket of a bucket an upload made without recording a creator returns ErrNotOwned and leaves it unmarked", func(t *testing.T, e *Env) {
		b := e.Bucket("ownerless")
		e.Backdoor.AddOwnerlessBucket(t, b, nil)
		NoWrites(t, e, "CreateBucket of an ownerless bucket", func() {
			MustIs(t, "CreateBucket", e.Admin.CreateBucket(Context(t), b, e.Own, s3admin.CreateOptions{}), s3admin.ErrNotOwned)
		})
		if marked := ListMarked(t, e); len(marked) != 0 {
			t.Fatalf("the ownerless bucket was marked: %v", marked)
		}
		if st := ObserveBucket(t, e, b); !st.Exists || st.Empty {
			t.Fatalf("the ownerless bucket lost its upload: %+v", st)
		}
	}},
	{"Collecting a bucket without record (Ownership.Unrecorded) that an upload made without a creator returns ErrNotOwned, even carrying the installation's marks", func(t *testing.T, e *Env) {
		b := e.Bucket("ownerless-marked")
		orphan := s3admin.Ownership{Owner: e.Owner, Marker: "orphan-" + e.ID, Unrecorded: true}
		e.Backdoor.AddOwnerlessBucket(t, b, map[string]string{names.OwnerTagKey: orphan.Owner, names.MarkerTagKey: orphan.Marker})
		NoWrites(t, e, "collecting an ownerless bucket", func() {
			MustIs(t, "DeleteBucket", e.Admin.DeleteBucket(Context(t), b, orphan, false), s3admin.ErrNotOwned)
		})
		if st := ObserveBucket(t, e, b); !st.Exists || st.Empty {
			t.Fatalf("the ownerless bucket changed: %+v", st)
		}
	}},
	{"CreateBucket of a bucket marked for another owner or record returns ErrNotOwned", func(t *testing.T, e *Env) {
		for i, tags := range []map[string]string{
			{names.OwnerTagKey: "another-driver"},
			{names.OwnerTagKey: e.Owner, names.MarkerTagKey: e.OtherRecord().Marker},
		} {
			b := e.Bucket(fmt.Sprintf("other%d", i))
			e.Backdoor.AddBucket(t, b, tags)
			NoWrites(t, e, "CreateBucket", func() {
				MustIs(t, "CreateBucket", e.Admin.CreateBucket(Context(t), b, e.Own, s3admin.CreateOptions{}), s3admin.ErrNotOwned)
			})
		}
	}},
	{"CreateBucket with an invalid name returns ErrInvalid", func(t *testing.T, e *Env) {
		for _, n := range []string{"", "ab", "Upper", "a_b", strings.Repeat("a", 64), "a..b", "-ab"} {
			NoWrites(t, e, "CreateBucket "+n, func() {
				MustIs(t, "CreateBucket "+n, e.Admin.CreateBucket(Context(t), n, e.Own, s3admin.CreateOptions{}), s3admin.ErrInvalid)
			})
		}
	}},
	{"ObserveBucket of a missing bucket reports it absent", func(t *testing.T, e *Env) {
		if st := ObserveBucket(t, e, e.Bucket("missing")); st != (s3admin.BucketState{}) {
			t.Fatalf("state %+v", st)
		}
	}},
	{"ObserveBucket sees an object put behind the client's back", func(t *testing.T, e *Env) {
		b := e.Bucket("obj")
		CreateBucket(t, e, b)
		e.Backdoor.PutObject(t, b, "k")
		if st := ObserveBucket(t, e, b); st != (s3admin.BucketState{Exists: true, Owned: true, Empty: false}) {
			t.Fatalf("state %+v", st)
		}
	}},
	{"DeleteBucket of a missing bucket succeeds", func(t *testing.T, e *Env) {
		NoWrites(t, e, "DeleteBucket of a missing bucket", func() {
			MustNil(t, "DeleteBucket", e.Admin.DeleteBucket(Context(t), e.Bucket("missing"), e.Own, false))
		})
	}},
	{"DeleteBucket of an owned empty bucket deletes it", func(t *testing.T, e *Env) {
		b := e.Bucket("del")
		CreateBucket(t, e, b)
		MustNil(t, "DeleteBucket", e.Admin.DeleteBucket(Context(t), b, e.Own, false))
		if st := ObserveBucket(t, e, b); st.Exists {
			t.Fatal("bucket still exists")
		}
	}},
	{"DeleteBucket of an unmarked or otherwise marked bucket returns ErrNotOwned and leaves it", func(t *testing.T, e *Env) {
		for i, tags := range []map[string]string{nil, {names.OwnerTagKey: e.Owner, names.MarkerTagKey: e.OtherRecord().Marker}} {
			b := e.Bucket(fmt.Sprintf("foreign%d", i))
			e.Backdoor.AddBucket(t, b, tags)
			e.Backdoor.PutObject(t, b, "data")
			for _, purge := range []bool{false, true} {
				NoWrites(t, e, "DeleteBucket of a foreign bucket", func() {
					MustIs(t, "DeleteBucket", e.Admin.DeleteBucket(Context(t), b, e.Own, purge), s3admin.ErrNotOwned)
				})
			}
			if st := ObserveBucket(t, e, b); !st.Exists || st.Empty || st.Owned {
				t.Fatalf("foreign bucket changed: %+v", st)
			}
		}
	}},
	{"DeleteBucket of a bucket another identity created carrying the record's forged marks returns ErrNotOwned and keeps its data", func(t *testing.T, e *Env) {
		b := e.Bucket("forged")
		e.Backdoor.AddTenantBucket(t, b, e.Marks())
		e.Backdoor.TenantPutObject(t, b, "tenant-data")
		for _, purge := range []bool{false, true} {
			NoWrites(t, e, "DeleteBucket of a forged bucket", func() {
				MustIs(t, "DeleteBucket", e.Admin.DeleteBucket(Context(t), b, e.Own, purge), s3admin.ErrNotOwned)
			})
		}
		if st := ObserveBucket(t, e, b); !st.Exists || st.Empty {
			t.Fatalf("the tenant's bucket changed: %+v", st)
		}
	}},
	{"DeleteBucket of a non-empty bucket returns ErrNotEmpty and leaves it", func(t *testing.T, e *Env) {
		b := e.Bucket("full")
		CreateBucket(t, e, b)
		e.Backdoor.PutObject(t, b, "data")
		NoWrites(t, e, "DeleteBucket of a non-empty bucket", func() {
			MustIs(t, "DeleteBucket", e.Admin.DeleteBucket(Context(t), b, e.Own, false), s3admin.ErrNotEmpty)
		})
		if st := ObserveBucket(t, e, b); !st.Exists || st.Empty {
			t.Fatalf("bucket changed: %+v", st)
		}
	}},
	{"DeleteBucket keeps a form upload made behind its fence before any of its requests but the delete itself, and returns ErrNotEmpty", testDeleteKeepsFormUploads},
	{"DeleteBucket with purge deletes a non-empty owned bucket", func(t *testing.T, e *Env) {
		b := e.Bucket("purge")
		CreateBucket(t, e, b)
		e.Backdoor.PutObject(t, b, "a")
		e.Backdoor.PutObject(t, b, "dir/b")
		MustNil(t, "DeleteBucket purge", e.Admin.DeleteBucket(Context(t), b, e.Own, true))
		if st := ObserveBucket(t, e, b); st.Exists {
			t.Fatal("bucket still exists")
		}
	}},
	{"ListMarkedBuckets lists every bucket with an owner tag and its marks, and no unmarked one", func(t *testing.T, e *Env) {
		b1, b2, f1, f2 := e.Bucket("l1"), e.Bucket("l2"), e.Bucket("f1"), e.Bucket("f2")
		CreateBucket(t, e, b2)
		CreateBucket(t, e, b1)
		e.Backdoor.AddBucket(t, f1, nil)
		e.Backdoor.AddBucket(t, f2, map[string]string{names.OwnerTagKey: "another-driver"})
		want := []s3admin.MarkedBucket{
			{Name: f2, Owner: "another-driver"},
			{Name: b1, Owner: e.Own.Owner, Marker: e.Own.Marker},
			{Name: b2, Owner: e.Own.Owner, Marker: e.Own.Marker},
		}
		slices.SortFunc(want, func(a, b s3admin.MarkedBucket) int { return strings.Compare(a.Name, b.Name) })
		if got := ListMarked(t, e); !slices.Equal(got, want) {
			t.Fatalf("marked %v, want %v", got, want)
		}
	}},
	{"ListMarkedBuckets lists a bucket another identity created with the record's marks, which CreateBucket and DeleteBucket still refuse", func(t *testing.T, e *Env) {
		// The listing says where to look, never what is owned: a tenant
		// allowed to tag its bucket can copy any marks onto it.
		b := e.Bucket("copied")
		e.Backdoor.AddTenantBucket(t, b, e.Marks())
		e.Backdoor.TenantPutObject(t, b, "tenant-data")
		if got, want := ListMarked(t, e), []s3admin.MarkedBucket{{Name: b, Owner: e.Own.Owner, Marker: e.Own.Marker}}; !slices.Equal(got, want) {
			t.Fatalf("marked %v, want %v", got, want)
		}
		NoWrites(t, e, "CreateBucket and DeleteBucket of the listed tenant's bucket", func() {
			MustIs(t, "CreateBucket", e.Admin.CreateBucket(Context(t), b, e.Own, s3admin.CreateOptions{}), s3admin.ErrNotOwned)
			MustIs(t, "DeleteBucket", e.Admin.DeleteBucket(Context(t), b, e.Own, true), s3admin.ErrNotOwned)
		})
		if st := ObserveBucket(t, e, b); !st.Exists || st.Empty {
			t.Fatalf("the tenant's bucket changed: %+v", st)
		}
	}},
	{"ListMarkedBuckets shows marks changed behind the client's back, and a bucket whose marks were removed no more", func(t *testing.T, e *Env) {
		moved, cleared := e.Bucket("moved"), e.Bucket("cleared")
		CreateBucket(t, e, moved)
		CreateBucket(t, e, cleared)
		e.Backdoor.SetTags(t, moved, map[string]string{names.OwnerTagKey: e.Owner, names.MarkerTagKey: e.OtherRecord().Marker, "team": "x"})
		e.Backdoor.SetTags(t, cleared, nil)
		want := []s3admin.MarkedBucket{{Name: moved, Owner: e.Owner, Marker: e.OtherRecord().Marker}}
		// SeaweedFS's S3 gateway answers tag reads from a cache its filer
		// subscription refreshes: give it the time a resync would.
		var got []s3admin.MarkedBucket
		for range 20 {
			if got = ListMarked(t, e); slices.Equal(got, want) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("marked %v, want %v", got, want)
	}},
	{"CheckAnonymousDenied succeeds on a secured store", func(t *testing.T, e *Env) {
		MustNil(t, "CheckAnonymousDenied", e.Admin.CheckAnonymousDenied(Context(t)))
	}},
	{"CheckUserWrites succeeds on a store taking user writes, and changes nothing", func(t *testing.T, e *Env) {
		user := e.User("bystander")
		e.Backdoor.AddUser(t, user)
		MustNil(t, "CheckUserWrites", e.Admin.CheckUserWrites(Context(t)))
		MustNil(t, "CheckUserWrites again", e.Admin.CheckUserWrites(Context(t)))
		st, err := e.Admin.ObserveUser(Context(t), user)
		MustNil(t, "ObserveUser", err)
		if !st.Exists {
			t.Fatal("the check of user writes deleted a user")
		}
	}},
}

// testDeleteKeepsFormUploads: the delete fence does not stop browser-form
// uploads, so DeleteBucket's check behind the fence must see them. A form
// upload is made before each request DeleteBucket sends once its fence is
// proven (the probe write, PutObject, is refused), one bucket for each, up
// to the DeleteBucket request itself: one made then is deleted with the
// bucket, which nothing the driver can do prevents (see
// plan.DeleteBucket).
func testDeleteKeepsFormUploads(t *testing.T, e *Env) {
	var mu sync.Mutex
	var ops []string
	e.Backdoor.BeforeRequest(func(op string) {
		mu.Lock()
		defer mu.Unlock()
		ops = append(ops, op)
	})
	b := e.Bucket("form")
	CreateBucket(t, e, b)
	MustNil(t, "DeleteBucket of the empty bucket", e.Admin.DeleteBucket(Context(t), b, e.Own, false))
	e.Backdoor.BeforeRequest(nil)
	probe, del := slices.Index(ops, "PutObject"), len(ops)-1
	for i, op := range ops {
		if op == "PutObject" {
			probe = i // the last probe is the refused one
		}
	}
	if probe < 0 || ops[del] != "DeleteBucket" || del-probe < 2 {
		t.Fatalf("requests of DeleteBucket %v: no fence probe, reads, then the delete", ops)
	}
	// Each point is a request name and how many of that name went before it
	// since the last probe.
	behind := ops[probe+1 : del]
	for i, op := range behind {
		nth := 0
		for _, o := range behind[:i] {
			if o == op {
				nth++
			}
		}
		t.Run(fmt.Sprintf("before %s #%d", op, nth), func(t *testing.T) {
			b := e.Bucket(fmt.Sprintf("form%d", i))
			CreateBucket(t, e, b)
			key := "form-" + op
			var once sync.Once
			seen := -1 // requests of op's name since the last probe; -1: no probe yet
			e.Backdoor.BeforeRequest(func(o string) {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case o == "PutObject":
					seen = 0
				case o == op && seen >= 0:
					if seen == nth {
						once.Do(func() { e.Backdoor.FormUpload(t, b, key) })
					}
					seen++
				}
			})
			err := e.Admin.DeleteBucket(Context(t), b, e.Own, false)
			e.Backdoor.BeforeRequest(nil)
			MustIs(t, "DeleteBucket with a form upload behind the fence", err, s3admin.ErrNotEmpty)
			if st := ObserveBucket(t, e, b); !st.Exists || st.Empty || !st.Owned {
				t.Fatalf("bucket %+v after DeleteBucket, want it owned, holding the upload", st)
			}
		})
	}
}
