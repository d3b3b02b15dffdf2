package fake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/smithy-go"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/engine"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// fakeUsers is the Fake's userBackend: users, keys and inline policies in
// memory, behaving as SeaweedFS's IAM query API does (a new user inherits
// the inline policies a deleted namesake left, a key id is unique across
// identities, a grant lapses when its bucket is deleted). The rules of what
// to change are the planner's, shared with the real paths.
type fakeUsers struct{ f *Fake }

func (fakeUsers) Form() plan.Form { return plan.InlineGrant }

// ProbeKey: the Fake accepts an active key of the access's user, once the
// probes SetKeyLag asked to refuse it are spent, and the key of a deleted
// user until the probes SetRevokeLag asked to accept it are.
func (b fakeUsers) ProbeKey(ctx context.Context, a s3admin.Access) (bool, error) {
	f := b.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("ListObjectsV2", false); err != nil {
		return false, err
	}
	u := f.users[a.User]
	if u == nil && f.revokeLagLeft[a.AccessKeyID] > 0 {
		f.revokeLagLeft[a.AccessKeyID]--
		return true, nil
	}
	if u == nil || !slices.ContainsFunc(u.keys, func(k plan.KeyInfo) bool { return k.Id == a.AccessKeyID && k.Active }) {
		return false, nil
	}
	if f.keyLagLeft[a.AccessKeyID] > 0 {
		f.keyLagLeft[a.AccessKeyID]--
		return false, nil
	}
	return true, nil
}

// SetRevokeLag makes the keys of every user deleted from now on accepted by
// their next n probes, as SeaweedFS accepts a deleted user's key until its
// gateway has reloaded.
func (f *Fake) SetRevokeLag(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revokeLag = n
}

// SetKeyLag makes every key created from now on refused by its next n
// probes, as SeaweedFS refuses a new key until its gateway has reloaded.
func (f *Fake) SetKeyLag(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keyLag = n
}

// KeyAccepted implements Admin.
func (f *Fake) KeyAccepted(ctx context.Context, a s3admin.Access) (bool, error) {
	return engine.KeyAccepted(ctx, fakeUsers{f}, a, f.prefix)
}

func (b fakeUsers) Observe(ctx context.Context, name string, scope engine.Scope) (plan.Observation, error) {
	f := b.f
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.observeUserLocked(name, scope)
}

func (f *Fake) observeUserLocked(name string, scope engine.Scope) (plan.Observation, error) {
	if err := f.op("GetUser", false); err != nil {
		return plan.Observation{}, err
	}
	u := f.users[name]
	if u == nil {
		return plan.Observation{}, nil
	}
	if scope == engine.ScopeExists {
		return plan.Observation{Exists: true}, nil
	}
	if err := f.op("ListAccessKeys", false); err != nil {
		return plan.Observation{}, err
	}
	return plan.Observation{
		Exists:   true,
		Keys:     slices.Clone(u.keys),
		Inline:   maps.Clone(u.inline),
		Attached: slices.Clone(u.attached),
		Groups:   slices.Clone(u.groups),
	}, nil
}

// List names the users in one read, then observes the window's one by
// one, as the IAM query API does.
func (b fakeUsers) List(ctx context.Context, prefixes []string, w s3admin.UserWindow) (engine.Listing, error) {
	f := b.f
	f.mu.Lock()
	if err := f.op("ListUsers", false); err != nil {
		f.mu.Unlock()
		return engine.Listing{}, err
	}
	var names []string
	for n := range f.users {
		if s3admin.HasAnyPrefix(n, prefixes) {
			names = append(names, n)
		}
	}
	f.mu.Unlock()
	slices.Sort(names)
	return engine.ObserveWindow(ctx, b, names, w)
}

// fakeOps names each step as the IAM query API call that makes it, for
// SetHook and the write count.
var fakeOps = map[plan.StepKind]string{
	plan.StepCreateUser: "CreateUser", plan.StepPutGrant: "PutUserPolicy", plan.StepDeleteInline: "DeleteUserPolicy",
	plan.StepDetach: "DetachUserPolicy", plan.StepLeaveGroup: "RemoveUserFromGroup", plan.StepCreateKey: "CreateAccessKey",
	plan.StepActivateKey: "UpdateAccessKey", plan.StepDeleteKey: "DeleteAccessKey", plan.StepDeleteUser: "DeleteUser",
}

func (b fakeUsers) Apply(ctx context.Context, s plan.Step) error {
	f := b.f
	op, ok := fakeOps[s.Kind]
	if !ok {
		return fmt.Errorf("%w: step %s is not one of the IAM query API's", s3admin.ErrInvalid, s)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[s.User]
	switch {
	case s.Kind == plan.StepCreateUser && u != nil:
		return s3admin.Classify(op, &smithy.GenericAPIError{Code: "EntityAlreadyExists", Message: "user exists"})
	case s.Kind != plan.StepCreateUser && u == nil:
		return s3admin.Classify(op, &smithy.GenericAPIError{Code: "NoSuchEntity", Message: fmt.Sprintf("user %q", s.User)})
	}
	if s.Kind == plan.StepCreateKey {
		if err := f.keyFreeLocked(s.Key.AccessKey); err != nil {
			return err
		}
	}
	if err := f.op(op, true); err != nil {
		return err
	}
	switch s.Kind {
	case plan.StepCreateUser:
		f.users[s.User] = f.newUserLocked(s.User)
	case plan.StepPutGrant:
		u.inline[s3admin.PolicyName] = s.Doc
		u.lapsed = false
	case plan.StepDeleteInline:
		delete(u.inline, s.Name)
	case plan.StepDetach:
		u.attached = slices.DeleteFunc(u.attached, func(arn string) bool { return arn == s.Name })
	case plan.StepLeaveGroup:
		u.groups = slices.DeleteFunc(u.groups, func(g string) bool { return g == s.Name })
	case plan.StepCreateKey:
		u.keys = append(u.keys, plan.KeyInfo{Id: s.Key.AccessKey, Active: true})
		if f.keyLag > 0 {
			f.keyLagLeft[s.Key.AccessKey] = f.keyLag
		}
	case plan.StepActivateKey:
		for i := range u.keys {
			if u.keys[i].Id == s.Name {
				u.keys[i].Active = true
			}
		}
	case plan.StepDeleteKey:
		u.keys = slices.DeleteFunc(u.keys, func(k plan.KeyInfo) bool { return k.Id == s.Name })
	case plan.StepDeleteUser:
		f.removeUserLocked(s.User)
	}
	return nil
}

// ObserveUser implements Admin.
func (f *Fake) ObserveUser(ctx context.Context, name string) (s3admin.UserState, error) {
	return engine.ObserveUser(ctx, fakeUsers{f}, name, f.prefix)
}

// fakeKeyWait is how long the Fake's EnsureAccess waits for a lagging key
// (see SetKeyLag): a few probes.
const fakeKeyWait = 50 * time.Millisecond

// EnsureAccess implements Admin with the planner the SeaweedFS client uses.
func (f *Fake) EnsureAccess(ctx context.Context, a s3admin.Access) (changed bool, err error) {
	if err := s3admin.ValidateAccess(a, f.prefix); err != nil {
		return false, err
	}
	unlock, err := f.userLocks.Lock(ctx, a.User)
	if err != nil {
		return false, err
	}
	defer unlock()
	if err := engine.CheckGrantBucket(ctx, f.bucketEngine(), a); err != nil {
		return false, err
	}
	return engine.EnsureAccess(ctx, fakeUsers{f}, a, f.prefix, fakeKeyWait)
}

// DeleteUser implements Admin.
func (f *Fake) DeleteUser(ctx context.Context, name, prefix string) error {
	if err := s3admin.ValidateUserName(name, s3admin.PrefixOr(prefix, f.prefix)); err != nil {
		return err
	}
	unlock, err := f.userLocks.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return engine.DeleteUser(ctx, fakeUsers{f}, name)
}

// ListOwnedUsers implements Admin.
func (f *Fake) ListOwnedUsers(ctx context.Context, extraPrefixes ...string) ([]s3admin.UserState, error) {
	return engine.ListUsers(ctx, fakeUsers{f}, f.prefix, extraPrefixes)
}

// ListOwnedUsersWindow implements Admin.
func (f *Fake) ListOwnedUsersWindow(ctx context.Context, w s3admin.UserWindow, extraPrefixes ...string) (s3admin.UserListing, error) {
	return engine.ListUsersWindow(ctx, fakeUsers{f}, f.prefix, extraPrefixes, w)
}
