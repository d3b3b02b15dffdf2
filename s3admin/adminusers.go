package s3admin

import (
	"context"
)

// userBackend is the backend of the configured user path.
func (c *SeaweedFS) userBackend() userBackend {
	if c.filer != nil {
		return filerUsers{c}
	}
	return iamUsers{c}
}

// EnsureAccess implements Admin.
func (c *SeaweedFS) EnsureAccess(ctx context.Context, a Access) (changed bool, err error) {
	if err := validateAccess(a, c.cfg.UserPrefix); err != nil {
		return false, err
	}
	unlock, err := c.users.lock(ctx, a.User)
	if err != nil {
		return false, err
	}
	defer unlock()
	if err := checkGrantBucket(ctx, c.bucketEngine(), a); err != nil {
		return false, err
	}
	return ensureAccess(ctx, c.userBackend(), a, c.cfg.UserPrefix, c.cfg.KeyWait)
}

// KeyAccepted implements Admin.
func (c *SeaweedFS) KeyAccepted(ctx context.Context, a Access) (bool, error) {
	return keyAccepted(ctx, c.userBackend(), a, c.cfg.UserPrefix)
}

// ObserveUser implements Admin. Any user can be observed; only owned users
// can be changed.
func (c *SeaweedFS) ObserveUser(ctx context.Context, name string) (UserState, error) {
	return observeUserState(ctx, c.userBackend(), name, c.cfg.UserPrefix)
}

// DeleteUser implements Admin.
func (c *SeaweedFS) DeleteUser(ctx context.Context, name, prefix string) error {
	if err := validateUserName(name, prefixOr(prefix, c.cfg.UserPrefix)); err != nil {
		return err
	}
	unlock, err := c.users.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return deleteUser(ctx, c.userBackend(), name)
}

// ListOwnedUsers implements Admin.
func (c *SeaweedFS) ListOwnedUsers(ctx context.Context, extraPrefixes ...string) ([]UserState, error) {
	return listUsers(ctx, c.userBackend(), c.cfg.UserPrefix, extraPrefixes)
}
