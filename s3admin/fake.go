package s3admin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Fake is an in-memory Admin for tests of the code that uses Admin. It keeps
// the same contract as SeaweedFS (the contract tests run against both),
// counts writes, and lets a test change state behind the client's back and
// inject errors. It is safe for concurrent use.
type Fake struct {
	prefix string

	mu      sync.Mutex
	buckets map[string]*fakeBucket
	users   map[string]*fakeUser
	// orphanPolicies are inline policies of users removed with RemoveUser,
	// which SeaweedFS keeps and hands to the next user with the same name.
	orphanPolicies map[string]map[string]string
	writes         int64
	hook           func(op string) error
	anonymous      bool
	anonymousObj   AnonymousAccess
}

type fakeBucket struct {
	// creator is the identity that created the bucket; "" for the driver's
	// own (see SeaweedFS.claimBucket).
	creator string
	// fenced: DeleteBucket denied every write (see SeaweedFS.fence).
	fenced  bool
	tags    map[string]string
	objects map[string]bool
}

type fakeUser struct {
	keys     []keyInfo
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
		if b, _, ok := recognisePolicy(u.inline[PolicyName]); ok && b == bucket {
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
	return u != nil && u.inline[PolicyName] != "" && !u.lapsed
}

var _ Admin = (*Fake)(nil)

// NewFake returns an empty Fake owning users named with prefix
// (DefaultUserPrefix if empty).
func NewFake(prefix string) *Fake {
	if prefix == "" {
		prefix = DefaultUserPrefix
	}
	return &Fake{
		prefix:         prefix,
		buckets:        map[string]*fakeBucket{},
		users:          map[string]*fakeUser{},
		orphanPolicies: map[string]map[string]string{},
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
func (f *Fake) AddBucket(name string, tags map[string]string) { f.AddBucketBy("", name, tags) }

// AddBucketBy is AddBucket as another identity, creator ("" is the
// driver's own).
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
		return fmt.Errorf("PutObject: %w: bucket %q", ErrNotFound, bucket)
	}
	if b.fenced {
		return fmt.Errorf("PutObject: %w: bucket %q is being deleted", ErrAccessDenied, bucket)
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
		return fmt.Errorf("AddUser: %w: user %q", ErrAlreadyExists, name)
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
		return fmt.Errorf("DeactivateKey: %w: user %q", ErrNotFound, user)
	}
	for i := range u.keys {
		if u.keys[i].id == keyID {
			u.keys[i].active = false
			return nil
		}
	}
	return fmt.Errorf("DeactivateKey: %w: key %s", ErrNotFound, keyID)
}

// PutUserPolicy sets an inline policy behind the client's back.
func (f *Fake) PutUserPolicy(user, policyName, doc string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[user]
	if u == nil {
		return fmt.Errorf("PutUserPolicy: %w: user %q", ErrNotFound, user)
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
		return fmt.Errorf("AttachUserPolicy: %w: user %q", ErrNotFound, user)
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
	if u := f.users[name]; u != nil {
		if len(u.inline) > 0 {
			f.orphanPolicies[name] = u.inline
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
		return fmt.Errorf("CreateAccessKey: %w: user %q", ErrNotFound, user)
	}
	for _, other := range f.users {
		for _, k := range other.keys {
			if k.id == keyID {
				return &Error{Op: "CreateAccessKey", Kind: ErrAlreadyExists, Code: "EntityAlreadyExists", Status: 409,
					Err: errors.New("AccessKeyId is already in use")}
			}
		}
	}
	u.keys = append(u.keys, keyInfo{id: keyID, active: true})
	return nil
}

// op runs the hook for one backend operation, with f.mu held.
func (f *Fake) op(name string, write bool) error {
	if f.hook != nil {
		if err := f.hook(name); err != nil {
			var e *Error
			if errors.As(err, &e) {
				return err
			}
			return classify(name, err)
		}
	}
	if write {
		f.writes++
	}
	return nil
}

// ---- Admin ----

func (f *Fake) bucketMarksLocked(name string) (exists bool, marks MarkedBucket, err error) {
	if err := f.op("GetBucketTagging", false); err != nil {
		return false, MarkedBucket{}, err
	}
	b := f.buckets[name]
	if b == nil {
		return false, MarkedBucket{}, nil
	}
	return true, MarkedBucket{Name: name, Owner: b.tags[OwnerTagKey], Marker: b.tags[MarkerTagKey]}, nil
}

// claimBucketLocked creates the bucket, or finds it created by the driver's
// identity; a bucket another identity created is ErrNotOwned (see
// SeaweedFS.claimBucket).
func (f *Fake) claimBucketLocked(name string) error {
	b := f.buckets[name]
	if err := f.op("CreateBucket", b == nil); err != nil {
		return err
	}
	switch {
	case b == nil:
		f.buckets[name] = &fakeBucket{tags: map[string]string{}, objects: map[string]bool{}}
	case b.creator != "":
		return newError("CreateBucket", ErrNotOwned, "bucket %q was created by another identity", name)
	}
	return nil
}

// CreateBucket implements Admin.
func (f *Fake) CreateBucket(ctx context.Context, name string, own Ownership) error {
	if err := ValidateBucketName(name); err != nil {
		return err
	}
	if own.Owner == "" {
		return newError("CreateBucket", ErrInvalid, "an owner id is required to mark bucket %q", name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	exists, marks, err := f.bucketMarksLocked(name)
	switch {
	case err != nil:
		return err
	case exists && !adoptable(marks, own):
		return newError("CreateBucket", ErrNotOwned, "bucket %q is marked for another owner or record", name)
	}
	if err := f.claimBucketLocked(name); err != nil {
		return err
	}
	if exists && marks.Owns(own) {
		return nil
	}
	if err := f.op("PutBucketTagging", true); err != nil {
		return err
	}
	f.buckets[name].tags[OwnerTagKey] = own.Owner
	if own.Marker != "" {
		f.buckets[name].tags[MarkerTagKey] = own.Marker
	}
	return nil
}

// ObserveBucket implements Admin.
func (f *Fake) ObserveBucket(ctx context.Context, name string, own Ownership) (BucketState, error) {
	if err := ValidateBucketName(name); err != nil {
		return BucketState{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	exists, marks, err := f.bucketMarksLocked(name)
	if err != nil || !exists {
		return BucketState{}, err
	}
	if err := f.op("ListObjectsV2", false); err != nil {
		return BucketState{}, err
	}
	return BucketState{Exists: true, Owned: marks.Owns(own), Empty: len(f.buckets[name].objects) == 0}, nil
}

// DeleteBucket implements Admin.
func (f *Fake) DeleteBucket(ctx context.Context, name string, own Ownership, purge bool) error {
	if err := ValidateBucketName(name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	exists, marks, err := f.bucketMarksLocked(name)
	if err != nil {
		return err
	}
	if !exists {
		return nil
	}
	if !marks.Owns(own) {
		return newError("DeleteBucket", ErrNotOwned, "bucket %q does not carry this record's marks", name)
	}
	if err := f.claimBucketLocked(name); err != nil {
		return err
	}
	if !purge {
		if err := f.op("ListObjectsV2", false); err != nil {
			return err
		}
		if len(f.buckets[name].objects) > 0 {
			return newError("DeleteBucket", ErrNotEmpty, "bucket %q still holds data", name)
		}
	}
	if !f.buckets[name].fenced {
		if err := f.op("PutBucketPolicy", true); err != nil {
			return err
		}
		f.buckets[name].fenced = true
	}
	if err := f.op("DeleteBucket", true); err != nil {
		return err
	}
	delete(f.buckets, name)
	f.lapseGrantsLocked(name)
	return nil
}

// ListMarkedBuckets implements Admin.
func (f *Fake) ListMarkedBuckets(ctx context.Context) ([]MarkedBucket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("ListBuckets", false); err != nil {
		return nil, err
	}
	var marked []MarkedBucket
	for n, b := range f.buckets {
		if b.tags[OwnerTagKey] != "" {
			marked = append(marked, MarkedBucket{Name: n, Owner: b.tags[OwnerTagKey], Marker: b.tags[MarkerTagKey]})
		}
	}
	slices.SortFunc(marked, func(a, b MarkedBucket) int { return strings.Compare(a.Name, b.Name) })
	return marked, nil
}

func (f *Fake) observeUserLocked(name string) (userObservation, error) {
	if err := f.op("GetUser", false); err != nil {
		return userObservation{}, err
	}
	u := f.users[name]
	if u == nil {
		return userObservation{}, nil
	}
	if err := f.op("ListAccessKeys", false); err != nil {
		return userObservation{}, err
	}
	return userObservation{
		exists:   true,
		keys:     slices.Clone(u.keys),
		inline:   maps.Clone(u.inline),
		attached: slices.Clone(u.attached),
		groups:   slices.Clone(u.groups),
	}, nil
}

// ObserveUser implements Admin.
func (f *Fake) ObserveUser(ctx context.Context, name string) (UserState, error) {
	if !userNameRE.MatchString(name) {
		return UserState{}, fmt.Errorf("%w: user name %q", ErrInvalid, name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	obs, err := f.observeUserLocked(name)
	if err != nil {
		return UserState{}, err
	}
	return obs.state(name, f.prefix), nil
}

// EnsureAccess implements Admin with the same observe-then-write-the-difference
// logic as SeaweedFS.
func (f *Fake) EnsureAccess(ctx context.Context, a Access) (changed bool, err error) {
	if err := validateAccess(a, f.prefix); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	exists, marks, err := f.bucketMarksLocked(a.Bucket)
	if err != nil {
		return false, err
	}
	if !exists {
		return false, newError("EnsureAccess", ErrNotFound, "bucket %q does not exist", a.Bucket)
	}
	if a.BucketOwner.Owner == "" || !marks.Owns(a.BucketOwner) {
		return false, newError("EnsureAccess", ErrNotOwned, "bucket %q does not carry its record's marks", a.Bucket)
	}
	obs, err := f.observeUserLocked(a.User)
	if err != nil {
		return false, err
	}
	if obs.converged(a, f.prefix) && !a.RewritePolicy {
		return false, nil
	}
	wantPolicy, err := PolicyDocument(a.Bucket, a.Mode)
	if err != nil {
		return false, err
	}
	u := f.users[a.User]
	if u == nil {
		if err := f.op("CreateUser", true); err != nil {
			return false, err
		}
		u = f.newUserLocked(a.User)
		f.users[a.User] = u
		changed = true
	}
	want, _ := parsePolicy(wantPolicy)
	if got, ok := parsePolicy(u.inline[PolicyName]); a.RewritePolicy || !ok || !got.equal(want) {
		if err := f.op("PutUserPolicy", true); err != nil {
			return changed, err
		}
		u.inline[PolicyName] = wantPolicy
		u.lapsed = false
		changed = true
	}
	for p := range u.inline {
		if p != PolicyName {
			if err := f.op("DeleteUserPolicy", true); err != nil {
				return changed, err
			}
			delete(u.inline, p)
			changed = true
		}
	}
	for range u.attached {
		if err := f.op("DetachUserPolicy", true); err != nil {
			return changed, err
		}
		changed = true
	}
	u.attached = nil
	for range u.groups {
		if err := f.op("RemoveUserFromGroup", true); err != nil {
			return changed, err
		}
		changed = true
	}
	u.groups = nil
	idx := slices.IndexFunc(u.keys, func(k keyInfo) bool { return k.id == a.AccessKeyID })
	switch {
	case idx < 0:
		if err := f.op("CreateAccessKey", true); err != nil {
			return changed, err
		}
		if err := f.addKeyLocked(a.User, a.AccessKeyID); err != nil {
			return changed, err
		}
		changed = true
	case !u.keys[idx].active:
		if err := f.op("UpdateAccessKey", true); err != nil {
			return changed, err
		}
		u.keys[idx].active = true
		changed = true
	}
	err = removeUnissued(a, u.keys, func(id string) error {
		if err := f.op("DeleteAccessKey", true); err != nil {
			return err
		}
		u.keys = slices.DeleteFunc(u.keys, func(k keyInfo) bool { return k.id == id })
		return nil
	})
	if err != nil {
		return true, err
	}
	return changed, nil
}

// DeleteUser implements Admin.
func (f *Fake) DeleteUser(ctx context.Context, name, prefix string) error {
	if err := validateUserName(name, prefixOr(prefix, f.prefix)); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	obs, err := f.observeUserLocked(name)
	if err != nil || !obs.exists {
		return err
	}
	u := f.users[name]
	for p := range u.inline {
		if err := f.op("DeleteUserPolicy", true); err != nil {
			return err
		}
		delete(u.inline, p)
	}
	for range u.attached {
		if err := f.op("DetachUserPolicy", true); err != nil {
			return err
		}
	}
	u.attached = nil
	if err := f.op("DeleteUser", true); err != nil {
		return err
	}
	delete(f.users, name)
	return nil
}

// ListOwnedUsers implements Admin.
func (f *Fake) ListOwnedUsers(ctx context.Context, extraPrefixes ...string) ([]UserState, error) {
	prefixes := append([]string{f.prefix}, extraPrefixes...)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("ListUsers", false); err != nil {
		return nil, err
	}
	var names []string
	for n := range f.users {
		if hasAnyPrefix(n, prefixes) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	states := make([]UserState, 0, len(names))
	for _, n := range names {
		obs, err := f.observeUserLocked(n)
		if err != nil {
			return nil, err
		}
		states = append(states, obs.state(n, f.prefix))
	}
	return states, nil
}

// CheckAnonymousDenied implements Admin.
func (f *Fake) CheckAnonymousDenied(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("anonymous ListBuckets", false); err != nil {
		return err
	}
	if f.anonymous {
		return newError("anonymous ListBuckets", ErrAnonymousAllowed, "the fake store accepts unsigned requests")
	}
	return nil
}

// SetAnonymousAccess makes CheckAnonymousAccess report a, as a store with an
// anonymous identity would.
func (f *Fake) SetAnonymousAccess(a AnonymousAccess) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.anonymousObj = a
}

// CheckAnonymousAccess implements Admin.
func (f *Fake) CheckAnonymousAccess(ctx context.Context, probe Ownership, sample []string) (AnonymousAccess, error) {
	probe.Marker = ProbeMarker
	if err := f.CreateBucket(ctx, ProbeBucketName(probe.Owner), probe); err != nil {
		return AnonymousAccess{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("anonymous GET", false); err != nil {
		return AnonymousAccess{}, err
	}
	return f.anonymousObj, nil
}
