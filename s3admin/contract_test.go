package s3admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

// backdoor changes the store behind the Admin's back, as an operator or
// another program would, and reads what the Admin's own methods cannot.
type backdoor interface {
	// addBucket creates a bucket as the Admin's own identity (an operator
	// with its key, or a create interrupted before marking) with the given
	// tags (nil: none).
	addBucket(t *testing.T, name string, tags map[string]string)
	// addTenantBucket creates a bucket as another identity, a tenant allowed
	// to create and tag buckets, with the given tags (nil: none).
	addTenantBucket(t *testing.T, name string, tags map[string]string)
	// tenantPutObject writes an object as that tenant.
	tenantPutObject(t *testing.T, bucket, key string)
	putObject(t *testing.T, bucket, key string)
	removeBucket(t *testing.T, name string)
	// addUser creates a user with one key and no policy; returns the key id.
	addUser(t *testing.T, name string) string
	addUserKey(t *testing.T, user string) string
	putUserPolicy(t *testing.T, user, policyName, doc string)
	deactivateKey(t *testing.T, user, keyID string)
	// removeUser deletes the user and its keys the way the store's own
	// DeleteUser does (SeaweedFS keeps its inline policies).
	removeUser(t *testing.T, name string)
	writes() int64
}

// env is one contract case's view: an Admin with its own owner id and user
// prefix, so cases sharing one server never see each other's objects.
type env struct {
	admin  Admin
	bd     backdoor
	owner  string
	prefix string
	id     string
	// own is the Ownership of the case's records; a bucket marked with
	// another record's marker is not theirs.
	own Ownership
}

// otherRecord is the Ownership of another record of the same installation.
func (e *env) otherRecord() Ownership { return Ownership{Owner: e.owner, Marker: "other-" + e.id} }

// marks are own's tags, as a tenant would copy them onto its bucket.
func (e *env) marks() map[string]string {
	return map[string]string{OwnerTagKey: e.own.Owner, MarkerTagKey: e.own.Marker}
}

func (e *env) bucket(s string) string { return e.id + "-" + s }
func (e *env) user(s string) string   { return e.prefix + s }

// foreignUser is a name outside the reserved prefix.
func (e *env) foreignUser(s string) string { return "ext-" + e.id + "-" + s }

func (e *env) access(t *testing.T, user, bucket string, mode Mode) Access {
	t.Helper()
	id, secret, err := GenerateCredentials()
	if err != nil {
		t.Fatal(err)
	}
	return Access{User: user, Bucket: bucket, Mode: mode, AccessKeyID: id, SecretAccessKey: secret, BucketOwner: e.own}
}

var testCtx = func(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustNil(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustIs(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

// noWrites fails if fn makes any backend write.
func noWrites(t *testing.T, e *env, what string, fn func()) {
	t.Helper()
	before := e.bd.writes()
	fn()
	if n := e.bd.writes() - before; n != 0 {
		t.Fatalf("%s made %d writes, want 0", what, n)
	}
}

func observeUser(t *testing.T, e *env, name string) UserState {
	t.Helper()
	st, err := e.admin.ObserveUser(testCtx(t), name)
	mustNil(t, "ObserveUser "+name, err)
	return st
}

func observeBucket(t *testing.T, e *env, name string) BucketState {
	t.Helper()
	st, err := e.admin.ObserveBucket(testCtx(t), name, e.own)
	mustNil(t, "ObserveBucket "+name, err)
	return st
}

// wantExactly checks that a user holds exactly the access a describes.
func wantExactly(t *testing.T, e *env, a Access) {
	t.Helper()
	st := observeUser(t, e, a.User)
	want := UserState{Name: a.User, Exists: true, Owned: true, AccessKeyIDs: []string{a.AccessKeyID},
		Bucket: a.Bucket, Mode: a.Mode, PolicyExact: true}
	if !st.equal(want) {
		t.Fatalf("user state\n got %+v\nwant %+v", st, want)
	}
}

func (s UserState) equal(o UserState) bool {
	return s.Name == o.Name && s.Exists == o.Exists && s.Owned == o.Owned &&
		slices.Equal(s.AccessKeyIDs, o.AccessKeyIDs) && s.Bucket == o.Bucket && s.Mode == o.Mode &&
		s.PolicyExact == o.PolicyExact
}

// listMarked is ListMarkedBuckets restricted to the case's own buckets (the
// server is shared by every case).
func listMarked(t *testing.T, e *env) []MarkedBucket {
	t.Helper()
	all, err := e.admin.ListMarkedBuckets(testCtx(t))
	mustNil(t, "ListMarkedBuckets", err)
	var mine []MarkedBucket
	for _, b := range all {
		if strings.HasPrefix(b.Name, e.id+"-") {
			mine = append(mine, b)
		}
	}
	return mine
}

func createBucket(t *testing.T, e *env, name string) {
	t.Helper()
	mustNil(t, "CreateBucket "+name, e.admin.CreateBucket(testCtx(t), name, e.own))
}

func ensure(t *testing.T, e *env, a Access) bool {
	t.Helper()
	changed, err := e.admin.EnsureAccess(testCtx(t), a)
	mustNil(t, "EnsureAccess "+a.String(), err)
	return changed
}

// ensureRemovingUnissued calls EnsureAccess until it no longer reports
// removed unissued keys, and returns how many it removed.
func ensureRemovingUnissued(t *testing.T, e *env, a Access) (removed int) {
	t.Helper()
	for range 100 {
		_, err := e.admin.EnsureAccess(testCtx(t), a)
		var unissued *UnissuedKeysError
		if !errors.As(err, &unissued) {
			mustNil(t, "EnsureAccess "+a.String(), err)
			return removed
		}
		if unissued.User != a.User || unissued.Removed < 1 || unissued.Removed > MaxUnissuedKeyRemovals {
			t.Fatalf("EnsureAccess reported %+v", unissued)
		}
		removed += unissued.Removed
	}
	t.Fatal("EnsureAccess kept reporting unissued keys")
	return removed
}

// contractCases is the one table both implementations must pass. Each name
// is a sentence of the contract.
var contractCases = []struct {
	name string
	run  func(t *testing.T, e *env)
}{
	{"CreateBucket creates an empty bucket carrying the record's marks", func(t *testing.T, e *env) {
		b := e.bucket("new")
		createBucket(t, e, b)
		if st := observeBucket(t, e, b); st != (BucketState{Exists: true, Owned: true, Empty: true}) {
			t.Fatalf("state %+v", st)
		}
		st, err := e.admin.ObserveBucket(testCtx(t), b, e.otherRecord())
		mustNil(t, "ObserveBucket", err)
		if st.Owned {
			t.Fatal("the bucket reads as owned by another record of the same owner")
		}
	}},
	{"CreateBucket twice leaves one marked bucket and writes nothing the second time", func(t *testing.T, e *env) {
		b := e.bucket("twice")
		createBucket(t, e, b)
		noWrites(t, e, "second CreateBucket", func() { createBucket(t, e, b) })
		marked := listMarked(t, e)
		if want := []MarkedBucket{{Name: b, Owner: e.own.Owner, Marker: e.own.Marker}}; !slices.Equal(marked, want) {
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
			mustIs(t, "CreateBucket", e.admin.CreateBucket(testCtx(t), b, e.own), ErrNotOwned)
		})
		if marked := listMarked(t, e); len(marked) != 0 {
			t.Fatalf("the tenant's bucket was marked: %v", marked)
		}
	}},
	{"CreateBucket of a bucket another identity created carrying the record's forged marks returns ErrNotOwned", func(t *testing.T, e *env) {
		b := e.bucket("forged")
		e.bd.addTenantBucket(t, b, e.marks())
		noWrites(t, e, "CreateBucket of a forged bucket", func() {
			mustIs(t, "CreateBucket", e.admin.CreateBucket(testCtx(t), b, e.own), ErrNotOwned)
		})
	}},
	{"CreateBucket of a bucket marked for another owner or record returns ErrNotOwned", func(t *testing.T, e *env) {
		for i, tags := range []map[string]string{
			{OwnerTagKey: "another-driver"},
			{OwnerTagKey: e.owner, MarkerTagKey: e.otherRecord().Marker},
		} {
			b := e.bucket(fmt.Sprintf("other%d", i))
			e.bd.addBucket(t, b, tags)
			noWrites(t, e, "CreateBucket", func() {
				mustIs(t, "CreateBucket", e.admin.CreateBucket(testCtx(t), b, e.own), ErrNotOwned)
			})
		}
	}},
	{"CreateBucket with an invalid name returns ErrInvalid", func(t *testing.T, e *env) {
		for _, n := range []string{"", "ab", "Upper", "a_b", strings.Repeat("a", 64), "a..b", "-ab"} {
			noWrites(t, e, "CreateBucket "+n, func() {
				mustIs(t, "CreateBucket "+n, e.admin.CreateBucket(testCtx(t), n, e.own), ErrInvalid)
			})
		}
	}},
	{"ObserveBucket of a missing bucket reports it absent", func(t *testing.T, e *env) {
		if st := observeBucket(t, e, e.bucket("missing")); st != (BucketState{}) {
			t.Fatalf("state %+v", st)
		}
	}},
	{"ObserveBucket sees an object put behind the client's back", func(t *testing.T, e *env) {
		b := e.bucket("obj")
		createBucket(t, e, b)
		e.bd.putObject(t, b, "k")
		if st := observeBucket(t, e, b); st != (BucketState{Exists: true, Owned: true, Empty: false}) {
			t.Fatalf("state %+v", st)
		}
	}},
	{"DeleteBucket of a missing bucket succeeds", func(t *testing.T, e *env) {
		noWrites(t, e, "DeleteBucket of a missing bucket", func() {
			mustNil(t, "DeleteBucket", e.admin.DeleteBucket(testCtx(t), e.bucket("missing"), e.own, false))
		})
	}},
	{"DeleteBucket of an owned empty bucket deletes it", func(t *testing.T, e *env) {
		b := e.bucket("del")
		createBucket(t, e, b)
		mustNil(t, "DeleteBucket", e.admin.DeleteBucket(testCtx(t), b, e.own, false))
		if st := observeBucket(t, e, b); st.Exists {
			t.Fatal("bucket still exists")
		}
	}},
	{"DeleteBucket of an unmarked or otherwise marked bucket returns ErrNotOwned and leaves it", func(t *testing.T, e *env) {
		for i, tags := range []map[string]string{nil, {OwnerTagKey: e.owner, MarkerTagKey: e.otherRecord().Marker}} {
			b := e.bucket(fmt.Sprintf("foreign%d", i))
			e.bd.addBucket(t, b, tags)
			e.bd.putObject(t, b, "data")
			for _, purge := range []bool{false, true} {
				noWrites(t, e, "DeleteBucket of a foreign bucket", func() {
					mustIs(t, "DeleteBucket", e.admin.DeleteBucket(testCtx(t), b, e.own, purge), ErrNotOwned)
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
				mustIs(t, "DeleteBucket", e.admin.DeleteBucket(testCtx(t), b, e.own, purge), ErrNotOwned)
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
			mustIs(t, "DeleteBucket", e.admin.DeleteBucket(testCtx(t), b, e.own, false), ErrNotEmpty)
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
		mustNil(t, "DeleteBucket purge", e.admin.DeleteBucket(testCtx(t), b, e.own, true))
		if st := observeBucket(t, e, b); st.Exists {
			t.Fatal("bucket still exists")
		}
	}},
	{"ListMarkedBuckets lists every bucket with an owner tag and its marks, and no unmarked one", func(t *testing.T, e *env) {
		b1, b2, f1, f2 := e.bucket("l1"), e.bucket("l2"), e.bucket("f1"), e.bucket("f2")
		createBucket(t, e, b2)
		createBucket(t, e, b1)
		e.bd.addBucket(t, f1, nil)
		e.bd.addBucket(t, f2, map[string]string{OwnerTagKey: "another-driver"})
		want := []MarkedBucket{
			{Name: f2, Owner: "another-driver"},
			{Name: b1, Owner: e.own.Owner, Marker: e.own.Marker},
			{Name: b2, Owner: e.own.Owner, Marker: e.own.Marker},
		}
		slices.SortFunc(want, func(a, b MarkedBucket) int { return strings.Compare(a.Name, b.Name) })
		if got := listMarked(t, e); !slices.Equal(got, want) {
			t.Fatalf("marked %v, want %v", got, want)
		}
	}},
	{"EnsureAccess creates a user with exactly the key and policy", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.user("new"), b, ModeReadWrite)
		if !ensure(t, e, a) {
			t.Fatal("EnsureAccess of a new user reported no change")
		}
		wantExactly(t, e, a)
	}},
	{"EnsureAccess twice makes no write the second time", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		for _, m := range []Mode{ModeReadWrite, ModeReadOnly, ModeWriteOnly} {
			a := e.access(t, e.user(string(m)), b, m)
			ensure(t, e, a)
			noWrites(t, e, "converged EnsureAccess", func() {
				if ensure(t, e, a) {
					t.Fatal("converged EnsureAccess reported a change")
				}
			})
		}
	}},
	{"EnsureAccess with RewritePolicy writes the policy of a converged access again, and nothing else", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.user("rewrite"), b, ModeReadOnly)
		ensure(t, e, a)
		a.RewritePolicy = true
		before := e.bd.writes()
		if !ensure(t, e, a) {
			t.Fatal("EnsureAccess with RewritePolicy reported no change")
		}
		if n := e.bd.writes() - before; n != 1 {
			t.Fatalf("%d writes, want 1 (the policy)", n)
		}
		wantExactly(t, e, a)
	}},
	{"EnsureAccess replaces a different key", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.user("rekey"), b, ModeReadOnly)
		ensure(t, e, a)
		a2 := e.access(t, a.User, b, ModeReadOnly)
		if n := ensureRemovingUnissued(t, e, a2); n != 1 {
			t.Fatalf("removed %d other keys, want the replaced one", n)
		}
		wantExactly(t, e, a2)
	}},
	{"EnsureAccess replaces a different mode", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.user("remode"), b, ModeReadWrite)
		ensure(t, e, a)
		a.Mode = ModeWriteOnly
		if !ensure(t, e, a) {
			t.Fatal("no change reported")
		}
		wantExactly(t, e, a)
	}},
	{"EnsureAccess replaces a second bucket", func(t *testing.T, e *env) {
		b1, b2 := e.bucket("one"), e.bucket("two")
		createBucket(t, e, b1)
		createBucket(t, e, b2)
		a := e.access(t, e.user("move"), b1, ModeReadWrite)
		ensure(t, e, a)
		a.Bucket = b2
		ensure(t, e, a)
		wantExactly(t, e, a)
	}},
	{"EnsureAccess removes keys and policies added behind the client's back", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.user("drift"), b, ModeReadOnly)
		ensure(t, e, a)
		e.bd.addUserKey(t, a.User)
		wide, _ := PolicyDocument(e.bucket("other"), ModeReadWrite)
		e.bd.putUserPolicy(t, a.User, "extra", wide)
		if st := observeUser(t, e, a.User); st.PolicyExact || len(st.AccessKeyIDs) != 2 {
			t.Fatalf("drift not observed: %+v", st)
		}
		if n := ensureRemovingUnissued(t, e, a); n != 1 {
			t.Fatalf("removed %d unissued keys, want 1", n)
		}
		wantExactly(t, e, a)
	}},
	{"EnsureAccess removes a bounded number of unissued keys per call and names the user, never a key", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.user("mint"), b, ModeReadOnly)
		ensure(t, e, a)
		extra := MaxUnissuedKeyRemovals + 3
		var ids []string
		for range extra {
			ids = append(ids, e.bd.addUserKey(t, a.User))
		}
		_, err := e.admin.EnsureAccess(testCtx(t), a)
		var unissued *UnissuedKeysError
		if !errors.As(err, &unissued) || !errors.Is(err, ErrUnfinished) {
			t.Fatalf("EnsureAccess: %v, want an UnissuedKeysError", err)
		}
		if *unissued != (UnissuedKeysError{User: a.User, Removed: MaxUnissuedKeyRemovals, Remaining: 3}) {
			t.Fatalf("reported %+v, want %d removed and 3 left", unissued, MaxUnissuedKeyRemovals)
		}
		for _, id := range append(ids, a.AccessKeyID) {
			if strings.Contains(err.Error(), id) {
				t.Fatalf("the error names a key: %v", err)
			}
		}
		if n := ensureRemovingUnissued(t, e, a); n != 3 {
			t.Fatalf("removed %d more, want 3", n)
		}
		wantExactly(t, e, a)
	}},
	{"DeleteUser of a user holding many keys costs one write per policy and one for the user", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.user("many"), b, ModeReadOnly)
		ensure(t, e, a)
		for range MaxUnissuedKeyRemovals + 3 {
			e.bd.addUserKey(t, a.User)
		}
		before := e.bd.writes()
		mustNil(t, "DeleteUser", e.admin.DeleteUser(testCtx(t), a.User, ""))
		if n := e.bd.writes() - before; n != 2 {
			t.Fatalf("DeleteUser made %d writes, want 2 (the policy, the user)", n)
		}
		if st := observeUser(t, e, a.User); st.Exists || len(st.AccessKeyIDs) != 0 {
			t.Fatalf("user after DeleteUser: %+v", st)
		}
	}},
	{"EnsureAccess rewrites a policy changed behind the client's back", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.user("tamper"), b, ModeReadOnly)
		ensure(t, e, a)
		wide, _ := PolicyDocument(b, ModeReadWrite)
		e.bd.putUserPolicy(t, a.User, PolicyName, wide)
		// The IAM query API path reads the changed grant; the filer path
		// writes its grant elsewhere and reads the user as not exact.
		if st := observeUser(t, e, a.User); st.Mode != ModeReadWrite && st.PolicyExact {
			t.Fatalf("tampered policy not observed: %+v", st)
		}
		ensure(t, e, a)
		wantExactly(t, e, a)
	}},
	{"EnsureAccess reactivates its key deactivated behind the client's back", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.user("inactive"), b, ModeReadOnly)
		ensure(t, e, a)
		e.bd.deactivateKey(t, a.User, a.AccessKeyID)
		if !ensure(t, e, a) {
			t.Fatal("no change reported")
		}
		noWrites(t, e, "converged EnsureAccess", func() { ensure(t, e, a) })
		wantExactly(t, e, a)
	}},
	{"EnsureAccess recreates a user deleted behind the client's back", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.user("gone"), b, ModeReadWrite)
		ensure(t, e, a)
		e.bd.removeUser(t, a.User)
		if !ensure(t, e, a) {
			t.Fatal("no change reported")
		}
		wantExactly(t, e, a)
	}},
	{"A user re-created behind the client's back inherits the inline policies of a deleted namesake", func(t *testing.T, e *env) {
		// The store quirk DeleteUser's ordering exists for.
		name := e.user("quirk")
		e.bd.addUser(t, name)
		wide, _ := PolicyDocument(e.bucket("secret"), ModeReadWrite)
		e.bd.putUserPolicy(t, name, PolicyName, wide)
		e.bd.removeUser(t, name)
		e.bd.addUser(t, name)
		if st := observeUser(t, e, name); st.Bucket != e.bucket("secret") || st.Mode != ModeReadWrite {
			t.Fatalf("namesake did not inherit the policy: %+v", st)
		}
	}},
	{"EnsureAccess of a new user drops policies inherited from a deleted namesake", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		name := e.user("heir")
		e.bd.addUser(t, name)
		wide, _ := PolicyDocument(e.bucket("secret"), ModeReadWrite)
		e.bd.putUserPolicy(t, name, "leftover", wide)
		e.bd.removeUser(t, name)
		a := e.access(t, name, b, ModeReadOnly)
		ensure(t, e, a)
		wantExactly(t, e, a)
	}},
	{"EnsureAccess on a foreign bucket returns ErrNotOwned and writes nothing", func(t *testing.T, e *env) {
		b := e.bucket("foreign")
		e.bd.addBucket(t, b, nil)
		a := e.access(t, e.user("x"), b, ModeReadOnly)
		noWrites(t, e, "EnsureAccess on a foreign bucket", func() {
			_, err := e.admin.EnsureAccess(testCtx(t), a)
			mustIs(t, "EnsureAccess", err, ErrNotOwned)
		})
		if st := observeUser(t, e, a.User); st.Exists {
			t.Fatal("user created")
		}
	}},
	{"EnsureAccess on a missing bucket returns ErrNotFound and writes nothing", func(t *testing.T, e *env) {
		a := e.access(t, e.user("x"), e.bucket("missing"), ModeReadOnly)
		noWrites(t, e, "EnsureAccess on a missing bucket", func() {
			_, err := e.admin.EnsureAccess(testCtx(t), a)
			mustIs(t, "EnsureAccess", err, ErrNotFound)
		})
	}},
	{"EnsureAccess of a user without the prefix returns ErrNotOwned and leaves it", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		name := e.foreignUser("u")
		key := e.bd.addUser(t, name)
		a := e.access(t, name, b, ModeReadWrite)
		noWrites(t, e, "EnsureAccess of a foreign user", func() {
			_, err := e.admin.EnsureAccess(testCtx(t), a)
			mustIs(t, "EnsureAccess", err, ErrNotOwned)
		})
		st := observeUser(t, e, name)
		if st.Owned || !slices.Equal(st.AccessKeyIDs, []string{key}) || st.Bucket != "" {
			t.Fatalf("foreign user changed: %+v", st)
		}
	}},
	{"EnsureAccess with a key id another user holds returns ErrAlreadyExists", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		theirs := e.bd.addUser(t, e.foreignUser("holder"))
		a := e.access(t, e.user("thief"), b, ModeReadOnly)
		a.AccessKeyID = theirs
		_, err := e.admin.EnsureAccess(testCtx(t), a)
		mustIs(t, "EnsureAccess", err, ErrAlreadyExists)
		if st := observeUser(t, e, e.foreignUser("holder")); !slices.Equal(st.AccessKeyIDs, []string{theirs}) {
			t.Fatalf("holder's keys changed: %+v", st)
		}
	}},
	{"EnsureAccess rejects invalid input with ErrInvalid and writes nothing", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		good := e.access(t, e.user("v"), b, ModeReadOnly)
		bad := map[string]Access{}
		a := good
		a.Mode = "admin"
		bad["mode"] = a
		a = good
		a.AccessKeyID = "AB"
		bad["short key id"] = a
		a = good
		a.AccessKeyID = "ABC-DEF"
		bad["key id punctuation"] = a
		a = good
		a.SecretAccessKey = "short"
		bad["short secret"] = a
		a = good
		a.SecretAccessKey = "has space in it"
		bad["secret with space"] = a
		a = good
		a.Bucket = "Bad_Bucket"
		bad["bucket"] = a
		a = good
		a.User = e.prefix + "a/b"
		bad["user with slash"] = a
		for what, a := range bad {
			noWrites(t, e, what, func() {
				_, err := e.admin.EnsureAccess(testCtx(t), a)
				mustIs(t, what, err, ErrInvalid)
			})
		}
	}},
	{"DeleteUser of a missing user succeeds", func(t *testing.T, e *env) {
		noWrites(t, e, "DeleteUser of a missing user", func() {
			mustNil(t, "DeleteUser", e.admin.DeleteUser(testCtx(t), e.user("missing"), ""))
		})
	}},
	{"DeleteUser removes policies, keys and the user, so a namesake starts clean", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a := e.access(t, e.user("del"), b, ModeReadWrite)
		ensure(t, e, a)
		mustNil(t, "DeleteUser", e.admin.DeleteUser(testCtx(t), a.User, ""))
		if st := observeUser(t, e, a.User); st.Exists {
			t.Fatalf("user still exists: %+v", st)
		}
		// A user re-created behind our back must not inherit the old policy.
		e.bd.addUser(t, a.User)
		if st := observeUser(t, e, a.User); st.Bucket != "" || st.Mode != "" {
			t.Fatalf("new namesake inherited the old grant: %+v", st)
		}
	}},
	{"DeleteUser of a foreign user returns ErrNotOwned and leaves it", func(t *testing.T, e *env) {
		name := e.foreignUser("keep")
		key := e.bd.addUser(t, name)
		noWrites(t, e, "DeleteUser of a foreign user", func() {
			mustIs(t, "DeleteUser", e.admin.DeleteUser(testCtx(t), name, ""), ErrNotOwned)
		})
		if st := observeUser(t, e, name); !st.Exists || !slices.Equal(st.AccessKeyIDs, []string{key}) {
			t.Fatalf("foreign user changed: %+v", st)
		}
	}},
	{"A user named under an earlier prefix is converged, listed and deleted when the call names that prefix, and only then", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		earlier := "was-" + e.id + "-"
		a := e.access(t, earlier+"u", b, ModeReadWrite)
		_, err := e.admin.EnsureAccess(testCtx(t), a)
		mustIs(t, "EnsureAccess without the recorded prefix", err, ErrNotOwned)
		a.UserPrefix = earlier
		ensure(t, e, a)
		noWrites(t, e, "converged EnsureAccess", func() { ensure(t, e, a) })
		users, err := e.admin.ListOwnedUsers(testCtx(t))
		mustNil(t, "ListOwnedUsers", err)
		if slices.ContainsFunc(users, func(u UserState) bool { return u.Name == a.User }) {
			t.Fatal("ListOwnedUsers without the earlier prefix lists the user")
		}
		users, err = e.admin.ListOwnedUsers(testCtx(t), earlier)
		mustNil(t, "ListOwnedUsers", err)
		if !slices.ContainsFunc(users, func(u UserState) bool {
			return u.Name == a.User && u.Bucket == b && slices.Equal(u.AccessKeyIDs, []string{a.AccessKeyID})
		}) {
			t.Fatalf("ListOwnedUsers with the earlier prefix: %+v, want %s", users, a.User)
		}
		mustIs(t, "DeleteUser without the recorded prefix", e.admin.DeleteUser(testCtx(t), a.User, ""), ErrNotOwned)
		mustNil(t, "DeleteUser", e.admin.DeleteUser(testCtx(t), a.User, earlier))
		if st := observeUser(t, e, a.User); st.Exists {
			t.Fatalf("user still exists: %+v", st)
		}
	}},
	{"ListOwnedUsers lists owned users only, with their state", func(t *testing.T, e *env) {
		b := e.bucket("b")
		createBucket(t, e, b)
		a1 := e.access(t, e.user("l1"), b, ModeReadOnly)
		a2 := e.access(t, e.user("l2"), b, ModeWriteOnly)
		ensure(t, e, a2)
		ensure(t, e, a1)
		e.bd.addUser(t, e.foreignUser("l3"))
		users, err := e.admin.ListOwnedUsers(testCtx(t))
		mustNil(t, "ListOwnedUsers", err)
		if len(users) != 2 {
			t.Fatalf("owned users %+v, want 2", users)
		}
		for i, a := range []Access{a1, a2} {
			want := UserState{Name: a.User, Exists: true, Owned: true, AccessKeyIDs: []string{a.AccessKeyID},
				Bucket: b, Mode: a.Mode, PolicyExact: true}
			if !users[i].equal(want) {
				t.Errorf("user %d\n got %+v\nwant %+v", i, users[i], want)
			}
		}
	}},
	{"ObserveUser reports a foreign user as not owned", func(t *testing.T, e *env) {
		name := e.foreignUser("seen")
		key := e.bd.addUser(t, name)
		st := observeUser(t, e, name)
		want := UserState{Name: name, Exists: true, AccessKeyIDs: []string{key}}
		if !st.equal(want) {
			t.Fatalf("got %+v, want %+v", st, want)
		}
	}},
	{"CheckAnonymousDenied succeeds on a secured store", func(t *testing.T, e *env) {
		mustNil(t, "CheckAnonymousDenied", e.admin.CheckAnonymousDenied(testCtx(t)))
	}},
}

func TestContract(t *testing.T) {
	run := fmt.Sprintf("%04x", time.Now().UnixNano()&0xffff)
	impls := []struct {
		name  string
		setup func(t *testing.T, id string) *env
	}{
		{"fake", newFakeEnv},
		{"seaweedfs", newSeaweedEnv},
		{"seaweedfs-filer", newSeaweedFilerEnv},
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			for i, c := range contractCases {
				t.Run(c.name, func(t *testing.T) {
					c.run(t, impl.setup(t, fmt.Sprintf("ct%s-%02d", run, i)))
				})
			}
		})
	}
}

// ---- fake ----

type fakeBackdoor struct{ f *Fake }

func newFakeEnv(t *testing.T, id string) *env {
	owner := "owner-" + id
	prefix := "cosi-" + id + "-"
	f := NewFake(prefix)
	return &env{admin: f, bd: fakeBackdoor{f}, owner: owner, prefix: prefix, id: id,
		own: Ownership{Owner: owner, Marker: "marker-" + id}}
}

func (b fakeBackdoor) addBucket(t *testing.T, name string, tags map[string]string) {
	b.f.AddBucket(name, tags)
}
func (b fakeBackdoor) addTenantBucket(t *testing.T, name string, tags map[string]string) {
	b.f.AddBucketBy("tenant", name, tags)
}
func (b fakeBackdoor) tenantPutObject(t *testing.T, bucket, key string) {
	mustNil(t, "PutObject", b.f.PutObject(bucket, key))
}
func (b fakeBackdoor) putObject(t *testing.T, bucket, key string) {
	mustNil(t, "PutObject", b.f.PutObject(bucket, key))
}
func (b fakeBackdoor) removeBucket(t *testing.T, name string) { b.f.RemoveBucket(name) }
func (b fakeBackdoor) addUser(t *testing.T, name string) string {
	id, _, _ := GenerateCredentials()
	mustNil(t, "AddUser", b.f.AddUser(name, id))
	return id
}
func (b fakeBackdoor) addUserKey(t *testing.T, user string) string {
	id, _, _ := GenerateCredentials()
	mustNil(t, "AddUserKey", b.f.AddUserKey(user, id))
	return id
}
func (b fakeBackdoor) putUserPolicy(t *testing.T, user, name, doc string) {
	mustNil(t, "PutUserPolicy", b.f.PutUserPolicy(user, name, doc))
}
func (b fakeBackdoor) deactivateKey(t *testing.T, user, keyID string) {
	mustNil(t, "DeactivateKey", b.f.DeactivateKey(user, keyID))
}
func (b fakeBackdoor) removeUser(t *testing.T, name string) { b.f.RemoveUser(name) }
func (b fakeBackdoor) writes() int64                        { return b.f.Writes() }

// ---- SeaweedFS ----

// rawClients talks to the test SeaweedFS with the admin key directly, for
// changes behind the Admin's back and for checks the Admin cannot make.
type rawClients struct {
	s3  *s3.Client
	iam *iam.Client
}

func newRawClients() rawClients {
	return rawClients{
		s3: seaweed.S3Client(),
		iam: iam.New(iam.Options{
			Region:       seaweed.Region,
			BaseEndpoint: aws.String(seaweed.Endpoint),
			Credentials:  credentials.NewStaticCredentialsProvider(seaweed.AccessKey, seaweed.SecretKey, ""),
		}),
	}
}

type seaweedBackdoor struct {
	raw   rawClients
	admin *SeaweedFS
}

func newSeaweedAdmin(t testing.TB, prefix string) *SeaweedFS {
	t.Helper()
	return newSeaweedAdminOn(t, prefix, "")
}

// newSeaweedAdminOn is newSeaweedAdmin managing users through the filer's
// IAM gRPC service at filerAddr, or the IAM query API if it is empty.
func newSeaweedAdminOn(t testing.TB, prefix, filerAddr string) *SeaweedFS {
	t.Helper()
	a, err := NewSeaweedFS(Config{
		Endpoint:         seaweed.Endpoint,
		Region:           seaweed.Region,
		AccessKeyID:      seaweed.AccessKey,
		SecretAccessKey:  seaweed.SecretKey,
		UserPrefix:       prefix,
		CallTimeout:      30 * time.Second,
		FilerGRPCAddress: filerAddr,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func newSeaweedEnv(t *testing.T, id string) *env { return newSeaweedEnvOn(t, id, "") }

// newSeaweedFilerEnv is newSeaweedEnv with users managed through the filer.
func newSeaweedFilerEnv(t *testing.T, id string) *env {
	return newSeaweedEnvOn(t, id, seaweed.FilerGRPCAddress())
}

func newSeaweedEnvOn(t *testing.T, id, filerAddr string) *env {
	owner := "owner-" + id
	prefix := "cosi-" + id + "-"
	admin := newSeaweedAdminOn(t, prefix, filerAddr)
	bd := &seaweedBackdoor{raw: newRawClients(), admin: admin}
	e := &env{admin: admin, bd: bd, owner: owner, prefix: prefix, id: id,
		own: Ownership{Owner: owner, Marker: "marker-" + id}}
	// Every IAM write in SeaweedFS costs O(number of users): leave no users
	// behind for the next case.
	t.Cleanup(func() { bd.cleanup(t, e) })
	return e
}

func (b *seaweedBackdoor) cleanup(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	users, _ := b.raw.iam.ListUsers(ctx, &iam.ListUsersInput{})
	if users != nil {
		for _, u := range users.Users {
			n := aws.ToString(u.UserName)
			if strings.Contains(n, e.id) {
				rawDeleteUserCompletely(ctx, b.raw, n)
				if b.admin.filer != nil {
					_ = b.admin.filer.DeletePolicy(ctx, accessPolicyName(n))
				}
			}
		}
	}
	buckets, _ := b.raw.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
	if buckets != nil {
		for _, bk := range buckets.Buckets {
			if n := aws.ToString(bk.Name); strings.HasPrefix(n, e.id+"-") {
				rawPurgeBucket(ctx, b.raw, n)
			}
		}
	}
}

// rawDeleteUserCompletely deletes policies, keys and the user.
func rawDeleteUserCompletely(ctx context.Context, raw rawClients, name string) {
	if ps, err := raw.iam.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String(name)}); err == nil {
		for _, p := range ps.PolicyNames {
			_, _ = raw.iam.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(p)})
		}
	}
	if ks, err := raw.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(name)}); err == nil {
		for _, k := range ks.AccessKeyMetadata {
			_, _ = raw.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(name), AccessKeyId: k.AccessKeyId})
		}
	}
	_, _ = raw.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(name)})
}

func rawPurgeBucket(ctx context.Context, raw rawClients, name string) {
	if keys, err := s3check.List(ctx, raw.s3, name); err == nil {
		for _, key := range keys {
			_ = s3check.Delete(ctx, raw.s3, name, key)
		}
	}
	_, _ = raw.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
}

func (b *seaweedBackdoor) addBucket(t *testing.T, name string, tags map[string]string) {
	t.Helper()
	ctx := testCtx(t)
	_, err := b.raw.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	mustNil(t, "raw CreateBucket", err)
	if len(tags) > 0 {
		var set []s3types.Tag
		for k, v := range tags {
			set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		_, err = b.raw.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(name), Tagging: &s3types.Tagging{TagSet: set}})
		mustNil(t, "raw PutBucketTagging", err)
	}
}

func (b *seaweedBackdoor) putObject(t *testing.T, bucket, key string) {
	t.Helper()
	mustNil(t, "raw PutObject", s3check.Put(testCtx(t), b.raw.s3, bucket, key, "data"))
}

func (b *seaweedBackdoor) removeBucket(t *testing.T, name string) {
	rawPurgeBucket(testCtx(t), b.raw, name)
}

func (b *seaweedBackdoor) addUser(t *testing.T, name string) string {
	t.Helper()
	_, err := b.raw.iam.CreateUser(testCtx(t), &iam.CreateUserInput{UserName: aws.String(name)})
	mustNil(t, "raw CreateUser", err)
	return b.addUserKey(t, name)
}

func (b *seaweedBackdoor) addUserKey(t *testing.T, user string) string {
	t.Helper()
	id, secret, err := GenerateCredentials()
	mustNil(t, "GenerateCredentials", err)
	_, err = b.raw.iam.CreateAccessKey(testCtx(t), &iam.CreateAccessKeyInput{UserName: aws.String(user)}, withSuppliedAccessKey(id, secret))
	mustNil(t, "raw CreateAccessKey", err)
	return id
}

func (b *seaweedBackdoor) putUserPolicy(t *testing.T, user, name, doc string) {
	t.Helper()
	_, err := b.raw.iam.PutUserPolicy(testCtx(t), &iam.PutUserPolicyInput{
		UserName: aws.String(user), PolicyName: aws.String(name), PolicyDocument: aws.String(doc),
	})
	mustNil(t, "raw PutUserPolicy", err)
}

func (b *seaweedBackdoor) deactivateKey(t *testing.T, user, keyID string) {
	t.Helper()
	_, err := b.raw.iam.UpdateAccessKey(testCtx(t), &iam.UpdateAccessKeyInput{
		UserName: aws.String(user), AccessKeyId: aws.String(keyID), Status: iamtypes.StatusTypeInactive,
	})
	mustNil(t, "raw UpdateAccessKey", err)
}

// removeUser deletes keys and user but, like SeaweedFS's DeleteUser, not the
// inline policies.
func (b *seaweedBackdoor) removeUser(t *testing.T, name string) {
	t.Helper()
	ctx := testCtx(t)
	ks, err := b.raw.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(name)})
	mustNil(t, "raw ListAccessKeys", err)
	for _, k := range ks.AccessKeyMetadata {
		_, err := b.raw.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(name), AccessKeyId: k.AccessKeyId})
		mustNil(t, "raw DeleteAccessKey", err)
	}
	_, err = b.raw.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(name)})
	mustNil(t, "raw DeleteUser", err)
}

func (b *seaweedBackdoor) writes() int64 { return b.admin.Writes() }
