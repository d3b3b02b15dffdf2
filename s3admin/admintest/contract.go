package admintest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// Backdoor changes the store behind the Admin's back, as an operator or
// another program would, and reads what the Admin's own methods cannot.
type Backdoor interface {
	// AddBucket creates a bucket as the Admin's own identity (an operator
	// with its key, or a create interrupted before marking) with the given
	// tags (nil: none).
	AddBucket(t *testing.T, name string, tags map[string]string)
	// AddTenantBucket creates a bucket as another identity, a tenant allowed
	// to create and tag buckets, with the given tags (nil: none).
	AddTenantBucket(t *testing.T, name string, tags map[string]string)
	// AddOwnerlessBucket makes a bucket the way an identity allowed only
	// s3:PutObject can: an upload (the directory marker OwnerlessUpload)
	// into the missing bucket, which SeaweedFS makes without recording a
	// creator. That identity then tags it with tags (nil: none).
	AddOwnerlessBucket(t *testing.T, name string, tags map[string]string)
	// TenantPutObject writes an object as that tenant.
	TenantPutObject(t *testing.T, bucket, key string)
	PutObject(t *testing.T, bucket, key string)
	// FormUpload writes an object as the Admin's own identity through a
	// browser form (POST Object with a POST policy), which SeaweedFS accepts
	// in a bucket whose policy denies every write.
	FormUpload(t *testing.T, bucket, key string)
	// BeforeRequest installs fn, called with the operation's name (e.g.
	// "ListObjectsV2") before every bucket request the Admin sends, so that
	// a case can change the store between two requests of one Admin call.
	// nil removes it.
	BeforeRequest(fn func(op string))
	RemoveBucket(t *testing.T, name string)
	// SetTags replaces a bucket's tags as the Admin's own identity (nil:
	// removes them all).
	SetTags(t *testing.T, bucket string, tags map[string]string)
	// AddUser creates a user with one key and no policy; returns the key id.
	AddUser(t *testing.T, name string) string
	AddUserKey(t *testing.T, user string) string
	PutUserPolicy(t *testing.T, user, policyName, doc string)
	DeactivateKey(t *testing.T, user, keyID string)
	// RemoveUser deletes the user and its keys the way the store's own
	// DeleteUser does (SeaweedFS keeps its inline policies).
	RemoveUser(t *testing.T, name string)
	WriteCount() int64

	FeatureBackdoor
}

// FeatureBackdoor reaches a bucket's features behind the Admin's back.
type FeatureBackdoor interface {
	// Filer reports whether the Admin reaches the filer, which alone holds
	// quotas and placement rules (without it they are ErrUnsupported).
	Filer() bool
	// EnforcesQuota reports whether the store refuses writes to a bucket
	// over its quota (SeaweedFS does; the Fake does not model it).
	EnforcesQuota() bool
	// SetQuota writes the quota field of the bucket's entry, as weed shell's
	// s3.bucket.quota does; Quota reads it.
	SetQuota(t *testing.T, bucket string, quota int64)
	Quota(t *testing.T, bucket string) int64
	// SetRule replaces the location rule of the bucket's directory, as weed
	// shell's fs.configure (and, for readOnly, SeaweedFS's quota
	// enforcement) does; Rule reads it (ok false: no rule).
	SetRule(t *testing.T, bucket string, p plan.Placement, readOnly bool)
	Rule(t *testing.T, bucket string) (p plan.Placement, readOnly, ok bool)
	// SetVersioning sets the bucket's versioning status as its holder may.
	SetVersioning(t *testing.T, bucket, status string)
	// Tags reads the bucket's tags.
	Tags(t *testing.T, bucket string) map[string]string
	// PutLockedObject writes a version of key as the admin identity under a
	// COMPLIANCE retention a day ahead; DeleteObjectVersion deletes key's
	// latest version by its id, as the admin identity, and returns the
	// store's answer, classified.
	PutLockedObject(t *testing.T, bucket, key string)
	DeleteObjectVersion(t *testing.T, bucket, key string) error
	// TryPut writes size bytes to key as the admin identity and returns the
	// store's answer, classified (one attempt, no retry).
	TryPut(ctx context.Context, bucket, key string, size int) error
	// DeleteObject deletes key as the admin identity.
	DeleteObject(t *testing.T, bucket, key string)
}

// OwnerlessUpload is the directory marker whose upload makes an ownerless
// bucket (see Backdoor.AddOwnerlessBucket).
const OwnerlessUpload = "upload/"

// Env is one contract case's view: an Admin with its own owner id and user
// prefix, so cases sharing one server never see each other's objects.
type Env struct {
	Admin    s3admin.Admin
	Backdoor Backdoor
	Owner    string
	Prefix   string
	ID       string
	// Own is the Ownership of the case's records; a bucket marked with
	// another record's marker is not theirs.
	Own s3admin.Ownership
}

// OtherRecord is the Ownership of another record of the same installation.
func (e *Env) OtherRecord() s3admin.Ownership {
	return s3admin.Ownership{Owner: e.Owner, Marker: "other-" + e.ID}
}

// Marks are Own's tags, as a tenant would copy them onto its bucket.
func (e *Env) Marks() map[string]string {
	return map[string]string{names.OwnerTagKey: e.Own.Owner, names.MarkerTagKey: e.Own.Marker}
}

// Bucket is the name of the case's bucket s.
func (e *Env) Bucket(s string) string { return e.ID + "-" + s }

// User is the name of the case's user s, inside the reserved prefix.
func (e *Env) User(s string) string { return e.Prefix + s }

// ForeignUser is a name outside the reserved prefix.
func (e *Env) ForeignUser(s string) string { return "ext-" + e.ID + "-" + s }

// Access is a grant of mode on bucket to user with a new key, for the case's records.
func (e *Env) Access(t *testing.T, user, bucket string, mode s3admin.Mode) s3admin.Access {
	t.Helper()
	id, secret, err := s3admin.GenerateCredentials()
	if err != nil {
		t.Fatal(err)
	}
	return s3admin.Access{User: user, Bucket: bucket, Mode: mode, AccessKeyID: id, SecretAccessKey: secret, BucketOwner: e.Own}
}

// NoWrites fails if fn makes any backend write.
func NoWrites(t *testing.T, e *Env, what string, fn func()) {
	t.Helper()
	before := e.Backdoor.WriteCount()
	fn()
	if n := e.Backdoor.WriteCount() - before; n != 0 {
		t.Fatalf("%s made %d writes, want 0", what, n)
	}
}

// ObserveUser is the Admin's view of a user; it fails the test on an error.
func ObserveUser(t *testing.T, e *Env, name string) s3admin.UserState {
	t.Helper()
	st, err := e.Admin.ObserveUser(Context(t), name)
	MustNil(t, "ObserveUser "+name, err)
	return st
}

// ObserveBucket is the Admin's view of a bucket for the case's records; it
// fails the test on an error.
func ObserveBucket(t *testing.T, e *Env, name string) s3admin.BucketState {
	t.Helper()
	st, err := e.Admin.ObserveBucket(Context(t), name, e.Own)
	MustNil(t, "ObserveBucket "+name, err)
	return st
}

// WantExactly checks that a user holds exactly the access a describes.
func WantExactly(t *testing.T, e *Env, a s3admin.Access) {
	t.Helper()
	st := ObserveUser(t, e, a.User)
	want := s3admin.UserState{Name: a.User, Exists: true, Owned: true, AccessKeyIDs: []string{a.AccessKeyID},
		Bucket: a.Bucket, Mode: a.Mode, PolicyExact: true}
	if !SameUser(st, want) {
		t.Fatalf("user state\n got %+v\nwant %+v", st, want)
	}
}

// SameUser compares the parts of two user states the contract speaks of.
func SameUser(s, o s3admin.UserState) bool {
	return s.Name == o.Name && s.Exists == o.Exists && s.Owned == o.Owned &&
		slices.Equal(s.AccessKeyIDs, o.AccessKeyIDs) && s.Bucket == o.Bucket && s.Mode == o.Mode &&
		s.PolicyExact == o.PolicyExact
}

// ListMarked is ListMarkedBuckets restricted to the case's own buckets (the
// server is shared by every case).
func ListMarked(t *testing.T, e *Env) []s3admin.MarkedBucket {
	t.Helper()
	all, err := e.Admin.ListMarkedBuckets(Context(t))
	MustNil(t, "ListMarkedBuckets", err)
	var mine []s3admin.MarkedBucket
	for _, b := range all {
		if strings.HasPrefix(b.Name, e.ID+"-") {
			mine = append(mine, b)
		}
	}
	return mine
}

// CreateBucket creates a bucket for the case's records; it fails the test on
// an error.
func CreateBucket(t *testing.T, e *Env, name string) {
	t.Helper()
	MustNil(t, "CreateBucket "+name, e.Admin.CreateBucket(Context(t), name, e.Own, s3admin.CreateOptions{}))
}

// Ensure is EnsureAccess failing the test on an error; it returns whether
// anything changed.
func Ensure(t *testing.T, e *Env, a s3admin.Access) bool {
	t.Helper()
	changed, err := e.Admin.EnsureAccess(Context(t), a)
	MustNil(t, "EnsureAccess "+a.String(), err)
	return changed
}

// EnsureRemovingUnissued calls EnsureAccess until it no longer reports
// removed unissued keys, and returns how many it removed.
func EnsureRemovingUnissued(t *testing.T, e *Env, a s3admin.Access) (removed int) {
	t.Helper()
	for range 100 {
		_, err := e.Admin.EnsureAccess(Context(t), a)
		var unissued *s3admin.UnissuedKeysError
		if !errors.As(err, &unissued) {
			MustNil(t, "EnsureAccess "+a.String(), err)
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
	run  func(t *testing.T, e *Env)
}

// Run runs every case of the contract on the Admin setup returns,
// a new one for each case; id tells the cases' objects apart.
func Run(t *testing.T, setup func(t *testing.T, id string) *Env) {
	run := fmt.Sprintf("%04x", time.Now().UnixNano()&0xffff)
	for i, c := range slices.Concat(bucketCases, featureCases, userCases) {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, setup(t, fmt.Sprintf("ct%s-%02d", run, i)))
		})
	}
}
