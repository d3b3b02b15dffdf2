package s3admin

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

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
