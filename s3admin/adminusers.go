package s3admin

import (
	"context"
)

// userBackend is the backend of the configured user path.
func (c *SeaweedFS) userBackend() UserBackend {
	if c.filer != nil {
		return filerUsers{c}
	}
	return iamUsers{c}
}

// EnsureAccess implements Admin.
func (c *SeaweedFS) EnsureAccess(ctx context.Context, a Access) (changed bool, err error) {
	if err := ValidateAccess(a, c.cfg.UserPrefix); err != nil {
		return false, err
	}
	unlock, err := c.users.Lock(ctx, a.User)
	if err != nil {
		return false, err
	}
	defer unlock()
	if err := CheckGrantBucket(ctx, c.bucketEngine(), a); err != nil {
		return false, err
	}
	return EnsureAccess(ctx, c.userBackend(), a, c.cfg.UserPrefix, c.cfg.KeyWait)
}

// KeyAccepted implements Admin.
func (c *SeaweedFS) KeyAccepted(ctx context.Context, a Access) (bool, error) {
	return KeyAccepted(ctx, c.userBackend(), a, c.cfg.UserPrefix)
}

// ObserveUser implements Admin. Any user can be observed; only owned users
// can be changed.
func (c *SeaweedFS) ObserveUser(ctx context.Context, name string) (UserState, error) {
	return ObserveUser(ctx, c.userBackend(), name, c.cfg.UserPrefix)
}

// DeleteUser implements Admin.
func (c *SeaweedFS) DeleteUser(ctx context.Context, name, prefix string) error {
	if err := ValidateUserName(name, PrefixOr(prefix, c.cfg.UserPrefix)); err != nil {
		return err
	}
	unlock, err := c.users.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return DeleteUser(ctx, c.userBackend(), name)
}

// ListOwnedUsers implements Admin.
func (c *SeaweedFS) ListOwnedUsers(ctx context.Context, extraPrefixes ...string) ([]UserState, error) {
	return ListUsers(ctx, c.userBackend(), c.cfg.UserPrefix, extraPrefixes)
}
