package fake

import (
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/aws/smithy-go"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/engine"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// Fake is an in-memory Admin for tests of the code that uses Admin. It keeps
// the same contract as SeaweedFS (the contract tests run against both),
// counts writes, and lets a test change state behind the client's back and
// inject errors. It is safe for concurrent use.
type Fake struct {
	prefix string

	// userLocks serializes observe-then-write per user, as in SeaweedFS.
	userLocks engine.KeyedMutex
	// bucketLocks does the same per bucket (see bucketEngine).
	bucketLocks engine.KeyedMutex

	mu      sync.Mutex
	buckets map[string]*fakeBucket
	users   map[string]*fakeUser
	// orphanPolicies are inline policies of users removed with RemoveUser,
	// which SeaweedFS keeps and hands to the next user with the same name.
	orphanPolicies map[string]map[string]string
	writes         int64
	hook           func(op string) error
	// beforeRequest: see SetBeforeRequest.
	beforeRequest func(op string)
	anonymous     bool
	anonymousObj  s3admin.AnonymousAccess
	// userWritesDisabled: see SetUserWritesDisabled.
	userWritesDisabled bool
	// keyLag and keyLagLeft: see SetKeyLag.
	keyLag     int
	keyLagLeft map[string]int
	// creatorsHidden: see HideCreators.
	creatorsHidden bool
	// rules are the location rules of the filer configuration, by the
	// name of the bucket whose directory they are for. They outlive their
	// bucket, as in SeaweedFS.
	rules map[string]fakeRule
	// revokeLag and revokeLagLeft: see SetRevokeLag.
	revokeLag     int
	revokeLagLeft map[string]int
}

// driverIdentity is the SeaweedFS identity the Fake's Admin methods act as.
const driverIdentity = "driver"

type fakeBucket struct {
	// creator is the identity SeaweedFS recorded as the bucket's creator:
	// driverIdentity for the driver's own, "" for none (a bucket made by an
	// upload into a missing bucket; see plan.Claimed).
	creator string
	// fenced: DeleteBucket denied every write (see engine.Buckets.Fence).
	fenced  bool
	tags    map[string]string
	objects map[string]bool
	// sizes are the sizes of objects written with PutObjectSized (others
	// count as empty); locked are the keys under a retention no request
	// can delete before it ends.
	sizes  map[string]int64
	locked map[string]bool
	// quota is the quota field of the bucket's entry in the filer.
	quota int64
	// versioning is "", "Enabled" or "Suspended"; objectLock: created
	// with object lock.
	versioning string
	objectLock bool
}

// fakeRule is a location rule of the filer configuration: the fields the
// driver manages, and the read-only flag SeaweedFS's quota enforcement
// flips, which stands for every field the driver must keep.
type fakeRule struct {
	plan.Placement
	ReadOnly bool
}

type fakeUser struct {
	keys     []plan.KeyInfo
	inline   map[string]string
	attached []string
	groups   []string
	// lapsed: the user's bucket was deleted, which takes its permissions
	// away while the stored policy document stays (see Access.RewritePolicy).
	lapsed bool
}

// lapseGrantsLocked takes away the permissions of every user whose policy
// names bucket, as SeaweedFS does when the bucket is deleted.
func (f *Fake) lapseGrantsLocked(bucket string) {
	for _, u := range f.users {
		if b, _, ok := plan.RecognisePolicy(u.inline[s3admin.PolicyName]); ok && b == bucket {
			u.lapsed = true
		}
	}
}

// InForce reports whether the user exists and the permissions of its stored
// policy are in force: false once the bucket the policy names was deleted,
// until the policy is written again.
func (f *Fake) InForce(user string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[user]
	return u != nil && u.inline[s3admin.PolicyName] != "" && !u.lapsed
}

var _ s3admin.Admin = (*Fake)(nil)

// New returns an empty Fake owning users named with prefix
// (names.DefaultUserPrefix if empty).
func New(prefix string) *Fake {
	if prefix == "" {
		prefix = names.DefaultUserPrefix
	}
	return &Fake{
		prefix:         prefix,
		buckets:        map[string]*fakeBucket{},
		users:          map[string]*fakeUser{},
		orphanPolicies: map[string]map[string]string{},
		keyLagLeft:     map[string]int{},
		revokeLagLeft:  map[string]int{},
		rules:          map[string]fakeRule{},
	}
}

// Writes returns how many mutating backend operations the Admin methods made.
// Changes made through the Fake's own injection methods are not counted.
func (f *Fake) Writes() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// UserPrefix returns the reserved name prefix of owned users.
func (f *Fake) UserPrefix() string { return f.prefix }

// SetHook installs fn, called before every backend operation with its name
// (e.g. "CreateUser", "GetBucketTagging"); a non-nil result fails that
// operation with the error, classified as the real client would classify it.
// Use it to inject timeouts or refusals. nil removes the hook.
func (f *Fake) SetHook(fn func(op string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = fn
}

// SetBeforeRequest installs fn, called before every bucket request of the
// Admin with its name, without any of the Fake's locks held: fn may change
// the store (PutObject, FormUpload) between two requests of one Admin call,
// as another client of SeaweedFS may. nil removes it.
func (f *Fake) SetBeforeRequest(fn func(op string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.beforeRequest = fn
}

// SetAnonymousAllowed makes CheckAnonymousDenied fail, as a store without
// identities would.
func (f *Fake) SetAnonymousAllowed(allowed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.anonymous = allowed
}

// AddBucket creates a bucket behind the client's back, as the driver's own
// identity (an operator holding its key, or an interrupted create), with the
// given tags (nil: none). It replaces an existing one.
func (f *Fake) AddBucket(name string, tags map[string]string) {
	f.AddBucketBy(driverIdentity, name, tags)
}

// AddOwnerlessBucket makes a bucket the way an identity allowed only
// s3:PutObject makes one in SeaweedFS: an upload of key into the missing
// bucket creates it without recording a creator.
func (f *Fake) AddOwnerlessBucket(name, key string) {
	f.AddBucketBy("", name, nil)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buckets[name].objects[key] = true
}

// HideCreators makes the Fake a SeaweedFS reached through its S3 API alone,
// which never shows who created a bucket, nor holds quotas or placement
// rules (those are the filer's).
func (f *Fake) HideCreators() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creatorsHidden = true
}

// AddBucketBy is AddBucket as another identity, creator ("": a bucket that
// records no creator; see AddOwnerlessBucket).
func (f *Fake) AddBucketBy(creator, name string, tags map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buckets[name] = &fakeBucket{creator: creator, tags: maps.Clone(tags), objects: map[string]bool{}}
	if f.buckets[name].tags == nil {
		f.buckets[name].tags = map[string]string{}
	}
}

// RemoveBucket deletes a bucket and its contents behind the client's back.
func (f *Fake) RemoveBucket(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.buckets, name)
	f.lapseGrantsLocked(name)
}

// PutObject stores an object behind the client's back.
func (f *Fake) PutObject(bucket, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.buckets[bucket]
	if b == nil {
		return fmt.Errorf("PutObject: %w: bucket %q", s3admin.ErrNotFound, bucket)
	}
	if b.fenced {
		return fmt.Errorf("PutObject: %w: bucket %q is being deleted", s3admin.ErrAccessDenied, bucket)
	}
	b.objects[key] = true
	return nil
}

// FormUpload stores an object behind the client's back through a browser
// form (POST Object), which SeaweedFS accepts in a fenced bucket too: its
// handler for form uploads never reads the bucket policy.
func (f *Fake) FormUpload(bucket, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.buckets[bucket]
	if b == nil {
		// SeaweedFS makes the missing bucket's directory again, with no
		// creator recorded; the Fake does not model such a bucket.
		return fmt.Errorf("FormUpload: %w: bucket %q", s3admin.ErrNotFound, bucket)
	}
	b.objects[key] = true
	return nil
}

// AddUser creates a user behind the client's back, with the given keys and
// no policy. It inherits orphaned policies of a removed namesake, as in
// SeaweedFS.
func (f *Fake) AddUser(name string, keyIDs ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.users[name] != nil {
		return fmt.Errorf("AddUser: %w: user %q", s3admin.ErrAlreadyExists, name)
	}
	f.users[name] = f.newUserLocked(name)
	for _, k := range keyIDs {
		if err := f.addKeyLocked(name, k); err != nil {
			return err
		}
	}
	return nil
}

// AddUserKey adds an access key to a user behind the client's back.
func (f *Fake) AddUserKey(user, keyID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addKeyLocked(user, keyID)
}

// DeactivateKey marks a user's key inactive behind the client's back, as the
// user itself may do through SeaweedFS's self-service UpdateAccessKey.
func (f *Fake) DeactivateKey(user, keyID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[user]
	if u == nil {
		return fmt.Errorf("DeactivateKey: %w: user %q", s3admin.ErrNotFound, user)
	}
	for i := range u.keys {
		if u.keys[i].Id == keyID {
			u.keys[i].Active = false
			return nil
		}
	}
	return fmt.Errorf("DeactivateKey: %w: key %s", s3admin.ErrNotFound, keyID)
}

// PutUserPolicy sets an inline policy behind the client's back.
func (f *Fake) PutUserPolicy(user, policyName, doc string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[user]
	if u == nil {
		return fmt.Errorf("PutUserPolicy: %w: user %q", s3admin.ErrNotFound, user)
	}
	u.inline[policyName] = doc
	u.lapsed = false
	return nil
}

// AttachUserPolicy attaches a managed policy behind the client's back.
func (f *Fake) AttachUserPolicy(user, policyARN string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[user]
	if u == nil {
		return fmt.Errorf("AttachUserPolicy: %w: user %q", s3admin.ErrNotFound, user)
	}
	u.attached = append(u.attached, policyARN)
	return nil
}

// RemoveUser deletes a user and its keys behind the client's back the way
// SeaweedFS's own DeleteUser does: its inline policies stay behind and go to
// the next user created with the same name.
func (f *Fake) RemoveUser(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removeUserLocked(name)
}

func (f *Fake) removeUserLocked(name string) {
	if u := f.users[name]; u != nil {
		if len(u.inline) > 0 {
			f.orphanPolicies[name] = u.inline
		}
		if f.revokeLag > 0 {
			for _, k := range u.keys {
				if k.Active {
					f.revokeLagLeft[k.Id] = f.revokeLag
				}
			}
		}
		delete(f.users, name)
	}
}

func (f *Fake) newUserLocked(name string) *fakeUser {
	u := &fakeUser{inline: map[string]string{}}
	if orphans := f.orphanPolicies[name]; orphans != nil {
		u.inline = orphans
		delete(f.orphanPolicies, name)
	}
	return u
}

func (f *Fake) addKeyLocked(user, keyID string) error {
	u := f.users[user]
	if u == nil {
		return fmt.Errorf("CreateAccessKey: %w: user %q", s3admin.ErrNotFound, user)
	}
	if err := f.keyFreeLocked(keyID); err != nil {
		return err
	}
	u.keys = append(u.keys, plan.KeyInfo{Id: keyID, Active: true})
	return nil
}

// keyFreeLocked refuses a key id another identity holds, as SeaweedFS does.
func (f *Fake) keyFreeLocked(keyID string) error {
	for _, other := range f.users {
		for _, k := range other.keys {
			if k.Id == keyID {
				return s3admin.Classify("CreateAccessKey", &smithy.GenericAPIError{Code: "EntityAlreadyExists", Message: "AccessKeyId is already in use"})
			}
		}
	}
	return nil
}

// op runs the hook for one backend operation, with f.mu held.
func (f *Fake) op(name string, write bool) error {
	if f.hook != nil {
		if err := f.hook(name); err != nil {
			var e *s3admin.Error
			if errors.As(err, &e) {
				return err
			}
			return s3admin.Classify(name, err)
		}
	}
	if write {
		f.writes++
	}
	return nil
}
