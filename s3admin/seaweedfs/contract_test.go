package seaweedfs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
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
	// setTags replaces a bucket's tags as the Admin's own identity (nil:
	// removes them all).
	setTags(t *testing.T, bucket string, tags map[string]string)
	// addUser creates a user with one key and no policy; returns the key id.
	addUser(t *testing.T, name string) string
	addUserKey(t *testing.T, user string) string
	putUserPolicy(t *testing.T, user, policyName, doc string)
	deactivateKey(t *testing.T, user, keyID string)
	// removeUser deletes the user and its keys the way the store's own
	// DeleteUser does (SeaweedFS keeps its inline policies).
	removeUser(t *testing.T, name string)
	WriteCount() int64
}

// env is one contract case's view: an Admin with its own owner id and user
// prefix, so cases sharing one server never see each other's objects.
type env struct {
	admin  s3admin.Admin
	bd     backdoor
	owner  string
	prefix string
	id     string
	// own is the Ownership of the case's records; a bucket marked with
	// another record's marker is not theirs.
	own s3admin.Ownership
}

// otherRecord is the Ownership of another record of the same installation.
func (e *env) otherRecord() s3admin.Ownership {
	return s3admin.Ownership{Owner: e.owner, Marker: "other-" + e.id}
}

// marks are own's tags, as a tenant would copy them onto its bucket.
func (e *env) marks() map[string]string {
	return map[string]string{names.OwnerTagKey: e.own.Owner, names.MarkerTagKey: e.own.Marker}
}

func (e *env) bucket(s string) string { return e.id + "-" + s }
func (e *env) User(s string) string   { return e.prefix + s }

// foreignUser is a name outside the reserved prefix.
func (e *env) foreignUser(s string) string { return "ext-" + e.id + "-" + s }

func (e *env) access(t *testing.T, user, bucket string, mode s3admin.Mode) s3admin.Access {
	t.Helper()
	id, secret, err := s3admin.GenerateCredentials()
	if err != nil {
		t.Fatal(err)
	}
	return s3admin.Access{User: user, Bucket: bucket, Mode: mode, AccessKeyID: id, SecretAccessKey: secret, BucketOwner: e.own}
}

// noWrites fails if fn makes any backend write.
func noWrites(t *testing.T, e *env, what string, fn func()) {
	t.Helper()
	before := e.bd.WriteCount()
	fn()
	if n := e.bd.WriteCount() - before; n != 0 {
		t.Fatalf("%s made %d writes, want 0", what, n)
	}
}

func observeUser(t *testing.T, e *env, name string) s3admin.UserState {
	t.Helper()
	st, err := e.admin.ObserveUser(admintest.Context(t), name)
	admintest.MustNil(t, "ObserveUser "+name, err)
	return st
}

func observeBucket(t *testing.T, e *env, name string) s3admin.BucketState {
	t.Helper()
	st, err := e.admin.ObserveBucket(admintest.Context(t), name, e.own)
	admintest.MustNil(t, "ObserveBucket "+name, err)
	return st
}

// wantExactly checks that a user holds exactly the access a describes.
func wantExactly(t *testing.T, e *env, a s3admin.Access) {
	t.Helper()
	st := observeUser(t, e, a.User)
	want := s3admin.UserState{Name: a.User, Exists: true, Owned: true, AccessKeyIDs: []string{a.AccessKeyID},
		Bucket: a.Bucket, Mode: a.Mode, PolicyExact: true}
	if !sameUser(st, want) {
		t.Fatalf("user state\n got %+v\nwant %+v", st, want)
	}
}

func sameUser(s, o s3admin.UserState) bool {
	return s.Name == o.Name && s.Exists == o.Exists && s.Owned == o.Owned &&
		slices.Equal(s.AccessKeyIDs, o.AccessKeyIDs) && s.Bucket == o.Bucket && s.Mode == o.Mode &&
		s.PolicyExact == o.PolicyExact
}

// listMarked is ListMarkedBuckets restricted to the case's own buckets (the
// server is shared by every case).
func listMarked(t *testing.T, e *env) []s3admin.MarkedBucket {
	t.Helper()
	all, err := e.admin.ListMarkedBuckets(admintest.Context(t))
	admintest.MustNil(t, "ListMarkedBuckets", err)
	var mine []s3admin.MarkedBucket
	for _, b := range all {
		if strings.HasPrefix(b.Name, e.id+"-") {
			mine = append(mine, b)
		}
	}
	return mine
}

func createBucket(t *testing.T, e *env, name string) {
	t.Helper()
	admintest.MustNil(t, "CreateBucket "+name, e.admin.CreateBucket(admintest.Context(t), name, e.own))
}

func ensure(t *testing.T, e *env, a s3admin.Access) bool {
	t.Helper()
	changed, err := e.admin.EnsureAccess(admintest.Context(t), a)
	admintest.MustNil(t, "EnsureAccess "+a.String(), err)
	return changed
}

// ensureRemovingUnissued calls EnsureAccess until it no longer reports
// removed unissued keys, and returns how many it removed.
func ensureRemovingUnissued(t *testing.T, e *env, a s3admin.Access) (removed int) {
	t.Helper()
	for range 100 {
		_, err := e.admin.EnsureAccess(admintest.Context(t), a)
		var unissued *s3admin.UnissuedKeysError
		if !errors.As(err, &unissued) {
			admintest.MustNil(t, "EnsureAccess "+a.String(), err)
			return removed
		}
		if unissued.User != a.User || unissued.Removed < 1 || unissued.Removed > s3admin.MaxUnissuedKeyRemovals {
			t.Fatalf("EnsureAccess reported %+v", unissued)
		}
		removed += unissued.Removed
	}
	t.Fatal("EnsureAccess kept reporting unissued keys")
	return removed
}

// contractCase is one sentence of the contract both implementations must
// pass, and the test that shows it.
type contractCase struct {
	name string
	run  func(t *testing.T, e *env)
}

// runContract runs every case of the contract on the Admin setup returns,
// a new one for each case; id tells the cases' objects apart.
func runContract(t *testing.T, setup func(t *testing.T, id string) *env) {
	run := fmt.Sprintf("%04x", time.Now().UnixNano()&0xffff)
	for i, c := range slices.Concat(bucketCases, userCases) {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, setup(t, fmt.Sprintf("ct%s-%02d", run, i)))
		})
	}
}
