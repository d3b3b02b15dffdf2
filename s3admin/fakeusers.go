package s3admin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// fakeUsers is the Fake's userBackend: users, keys and inline policies in
// memory, behaving as SeaweedFS's IAM query API does (a new user inherits
// the inline policies a deleted namesake left, a key id is unique across
// identities, a grant lapses when its bucket is deleted). The rules of what
// to change are the planner's, shared with the real paths.
type fakeUsers struct{ f *Fake }

func (fakeUsers) form() grantForm { return inlineGrant }

// probeKey: the Fake accepts an active key of the access's user, once the
// probes SetKeyLag asked to refuse it are spent.
func (b fakeUsers) probeKey(ctx context.Context, a Access) (bool, error) {
	f := b.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("ListObjectsV2", false); err != nil {
		return false, err
	}
	u := f.users[a.User]
	if u == nil || !slices.ContainsFunc(u.keys, func(k keyInfo) bool { return k.id == a.AccessKeyID && k.active }) {
		return false, nil
	}
	if f.keyLagLeft[a.AccessKeyID] > 0 {
		f.keyLagLeft[a.AccessKeyID]--
		return false, nil
	}
	return true, nil
}

// SetKeyLag makes every key created from now on refused by its next n
// probes, as SeaweedFS refuses a new key until its gateway has reloaded.
func (f *Fake) SetKeyLag(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keyLag = n
}

// KeyAccepted implements Admin.
func (f *Fake) KeyAccepted(ctx context.Context, a Access) (bool, error) {
	return keyAccepted(ctx, fakeUsers{f}, a, f.prefix)
}

func (b fakeUsers) observe(ctx context.Context, name string, scope observeScope) (userObservation, error) {
	f := b.f
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.observeUserLocked(name, scope)
}

func (f *Fake) observeUserLocked(name string, scope observeScope) (userObservation, error) {
	if err := f.op("GetUser", false); err != nil {
		return userObservation{}, err
	}
	u := f.users[name]
	if u == nil {
		return userObservation{}, nil
	}
	if scope == scopeExists {
		return userObservation{exists: true}, nil
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

func (b fakeUsers) list(ctx context.Context, prefixes []string) (map[string]userObservation, error) {
	f := b.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("ListUsers", false); err != nil {
		return nil, err
	}
	out := map[string]userObservation{}
	for n := range f.users {
		if !hasAnyPrefix(n, prefixes) {
			continue
		}
		obs, err := f.observeUserLocked(n, scopeAll)
		if err != nil {
			return nil, err
		}
		out[n] = obs
	}
	return out, nil
}

// fakeOps names each step as the IAM query API call that makes it, for
// SetHook and the write count.
var fakeOps = map[stepKind]string{
	stepCreateUser: "CreateUser", stepPutGrant: "PutUserPolicy", stepDeleteInline: "DeleteUserPolicy",
	stepDetach: "DetachUserPolicy", stepLeaveGroup: "RemoveUserFromGroup", stepCreateKey: "CreateAccessKey",
	stepActivateKey: "UpdateAccessKey", stepDeleteKey: "DeleteAccessKey", stepDeleteUser: "DeleteUser",
}

func (b fakeUsers) apply(ctx context.Context, s userStep) error {
	f := b.f
	op, ok := fakeOps[s.kind]
	if !ok {
		return fmt.Errorf("%w: step %s is not one of the IAM query API's", ErrInvalid, s)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[s.user]
	switch {
	case s.kind == stepCreateUser && u != nil:
		return &Error{Op: op, Kind: ErrAlreadyExists, Code: "EntityAlreadyExists", Status: 409, Err: errors.New("user exists")}
	case s.kind != stepCreateUser && u == nil:
		return &Error{Op: op, Kind: ErrNotFound, Code: "NoSuchEntity", Status: 404, Err: fmt.Errorf("user %q", s.user)}
	}
	if s.kind == stepCreateKey {
		if err := f.keyFreeLocked(s.key.accessKey); err != nil {
			return err
		}
	}
	if err := f.op(op, true); err != nil {
		return err
	}
	switch s.kind {
	case stepCreateUser:
		f.users[s.user] = f.newUserLocked(s.user)
	case stepPutGrant:
		u.inline[PolicyName] = s.doc
		u.lapsed = false
	case stepDeleteInline:
		delete(u.inline, s.name)
	case stepDetach:
		u.attached = slices.DeleteFunc(u.attached, func(arn string) bool { return arn == s.name })
	case stepLeaveGroup:
		u.groups = slices.DeleteFunc(u.groups, func(g string) bool { return g == s.name })
	case stepCreateKey:
		u.keys = append(u.keys, keyInfo{id: s.key.accessKey, active: true})
		if f.keyLag > 0 {
			f.keyLagLeft[s.key.accessKey] = f.keyLag
		}
	case stepActivateKey:
		for i := range u.keys {
			if u.keys[i].id == s.name {
				u.keys[i].active = true
			}
		}
	case stepDeleteKey:
		u.keys = slices.DeleteFunc(u.keys, func(k keyInfo) bool { return k.id == s.name })
	case stepDeleteUser:
		f.removeUserLocked(s.user)
	}
	return nil
}

// ObserveUser implements Admin.
func (f *Fake) ObserveUser(ctx context.Context, name string) (UserState, error) {
	return observeUserState(ctx, fakeUsers{f}, name, f.prefix)
}

// fakeKeyWait is how long the Fake's EnsureAccess waits for a lagging key
// (see SetKeyLag): a few probes.
const fakeKeyWait = 50 * time.Millisecond

// EnsureAccess implements Admin with the planner the SeaweedFS client uses.
func (f *Fake) EnsureAccess(ctx context.Context, a Access) (changed bool, err error) {
	if err := validateAccess(a, f.prefix); err != nil {
		return false, err
	}
	unlock, err := f.userLocks.lock(ctx, a.User)
	if err != nil {
		return false, err
	}
	defer unlock()
	if err := checkGrantBucket(ctx, f.bucketEngine(), a); err != nil {
		return false, err
	}
	return ensureAccess(ctx, fakeUsers{f}, a, f.prefix, fakeKeyWait)
}

// DeleteUser implements Admin.
func (f *Fake) DeleteUser(ctx context.Context, name, prefix string) error {
	if err := validateUserName(name, prefixOr(prefix, f.prefix)); err != nil {
		return err
	}
	unlock, err := f.userLocks.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return deleteUser(ctx, fakeUsers{f}, name)
}

// ListOwnedUsers implements Admin.
func (f *Fake) ListOwnedUsers(ctx context.Context, extraPrefixes ...string) ([]UserState, error) {
	return listUsers(ctx, fakeUsers{f}, f.prefix, extraPrefixes)
}
