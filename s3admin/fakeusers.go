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

func (fakeUsers) Form() Form { return InlineGrant }

// probeKey: the Fake accepts an active key of the access's user, once the
// probes SetKeyLag asked to refuse it are spent.
func (b fakeUsers) ProbeKey(ctx context.Context, a Access) (bool, error) {
	f := b.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("ListObjectsV2", false); err != nil {
		return false, err
	}
	u := f.users[a.User]
	if u == nil || !slices.ContainsFunc(u.keys, func(k KeyInfo) bool { return k.Id == a.AccessKeyID && k.Active }) {
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
	return KeyAccepted(ctx, fakeUsers{f}, a, f.prefix)
}

func (b fakeUsers) Observe(ctx context.Context, name string, scope Scope) (Observation, error) {
	f := b.f
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.observeUserLocked(name, scope)
}

func (f *Fake) observeUserLocked(name string, scope Scope) (Observation, error) {
	if err := f.op("GetUser", false); err != nil {
		return Observation{}, err
	}
	u := f.users[name]
	if u == nil {
		return Observation{}, nil
	}
	if scope == ScopeExists {
		return Observation{Exists: true}, nil
	}
	if err := f.op("ListAccessKeys", false); err != nil {
		return Observation{}, err
	}
	return Observation{
		Exists:   true,
		Keys:     slices.Clone(u.keys),
		Inline:   maps.Clone(u.inline),
		Attached: slices.Clone(u.attached),
		Groups:   slices.Clone(u.groups),
	}, nil
}

func (b fakeUsers) List(ctx context.Context, prefixes []string) (map[string]Observation, error) {
	f := b.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("ListUsers", false); err != nil {
		return nil, err
	}
	out := map[string]Observation{}
	for n := range f.users {
		if !HasAnyPrefix(n, prefixes) {
			continue
		}
		obs, err := f.observeUserLocked(n, ScopeAll)
		if err != nil {
			return nil, err
		}
		out[n] = obs
	}
	return out, nil
}

// fakeOps names each step as the IAM query API call that makes it, for
// SetHook and the write count.
var fakeOps = map[StepKind]string{
	StepCreateUser: "CreateUser", StepPutGrant: "PutUserPolicy", StepDeleteInline: "DeleteUserPolicy",
	StepDetach: "DetachUserPolicy", StepLeaveGroup: "RemoveUserFromGroup", StepCreateKey: "CreateAccessKey",
	StepActivateKey: "UpdateAccessKey", StepDeleteKey: "DeleteAccessKey", StepDeleteUser: "DeleteUser",
}

func (b fakeUsers) Apply(ctx context.Context, s Step) error {
	f := b.f
	op, ok := fakeOps[s.Kind]
	if !ok {
		return fmt.Errorf("%w: step %s is not one of the IAM query API's", ErrInvalid, s)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[s.User]
	switch {
	case s.Kind == StepCreateUser && u != nil:
		return &Error{Op: op, Kind: ErrAlreadyExists, Code: "EntityAlreadyExists", Status: 409, Err: errors.New("user exists")}
	case s.Kind != StepCreateUser && u == nil:
		return &Error{Op: op, Kind: ErrNotFound, Code: "NoSuchEntity", Status: 404, Err: fmt.Errorf("user %q", s.User)}
	}
	if s.Kind == StepCreateKey {
		if err := f.keyFreeLocked(s.Key.AccessKey); err != nil {
			return err
		}
	}
	if err := f.op(op, true); err != nil {
		return err
	}
	switch s.Kind {
	case StepCreateUser:
		f.users[s.User] = f.newUserLocked(s.User)
	case StepPutGrant:
		u.inline[PolicyName] = s.Doc
		u.lapsed = false
	case StepDeleteInline:
		delete(u.inline, s.Name)
	case StepDetach:
		u.attached = slices.DeleteFunc(u.attached, func(arn string) bool { return arn == s.Name })
	case StepLeaveGroup:
		u.groups = slices.DeleteFunc(u.groups, func(g string) bool { return g == s.Name })
	case StepCreateKey:
		u.keys = append(u.keys, KeyInfo{Id: s.Key.AccessKey, Active: true})
		if f.keyLag > 0 {
			f.keyLagLeft[s.Key.AccessKey] = f.keyLag
		}
	case StepActivateKey:
		for i := range u.keys {
			if u.keys[i].Id == s.Name {
				u.keys[i].Active = true
			}
		}
	case StepDeleteKey:
		u.keys = slices.DeleteFunc(u.keys, func(k KeyInfo) bool { return k.Id == s.Name })
	case StepDeleteUser:
		f.removeUserLocked(s.User)
	}
	return nil
}

// ObserveUser implements Admin.
func (f *Fake) ObserveUser(ctx context.Context, name string) (UserState, error) {
	return ObserveUser(ctx, fakeUsers{f}, name, f.prefix)
}

// fakeKeyWait is how long the Fake's EnsureAccess waits for a lagging key
// (see SetKeyLag): a few probes.
const fakeKeyWait = 50 * time.Millisecond

// EnsureAccess implements Admin with the planner the SeaweedFS client uses.
func (f *Fake) EnsureAccess(ctx context.Context, a Access) (changed bool, err error) {
	if err := ValidateAccess(a, f.prefix); err != nil {
		return false, err
	}
	unlock, err := f.userLocks.Lock(ctx, a.User)
	if err != nil {
		return false, err
	}
	defer unlock()
	if err := CheckGrantBucket(ctx, f.bucketEngine(), a); err != nil {
		return false, err
	}
	return EnsureAccess(ctx, fakeUsers{f}, a, f.prefix, fakeKeyWait)
}

// DeleteUser implements Admin.
func (f *Fake) DeleteUser(ctx context.Context, name, prefix string) error {
	if err := ValidateUserName(name, PrefixOr(prefix, f.prefix)); err != nil {
		return err
	}
	unlock, err := f.userLocks.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return DeleteUser(ctx, fakeUsers{f}, name)
}

// ListOwnedUsers implements Admin.
func (f *Fake) ListOwnedUsers(ctx context.Context, extraPrefixes ...string) ([]UserState, error) {
	return ListUsers(ctx, fakeUsers{f}, f.prefix, extraPrefixes)
}
