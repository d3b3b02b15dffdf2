package seaweedfs

import (
	"context"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/engine"
)

// userBackend is the backend of the configured user path.
func (c *SeaweedFS) userBackend() engine.UserBackend {
	if c.filer != nil {
		return c.fc.Users()
	}
	return c.ic.Users()
}

// EnsureAccess implements Admin.
func (c *SeaweedFS) EnsureAccess(ctx context.Context, a s3admin.Access) (changed bool, err error) {
	if err := s3admin.ValidateAccess(a, c.cfg.UserPrefix); err != nil {
		return false, err
	}
	unlock, err := c.users.Lock(ctx, a.User)
	if err != nil {
		return false, err
	}
	defer unlock()
	if err := engine.CheckGrantBucket(ctx, c.bucketEngine(), a); err != nil {
		return false, err
	}
	return engine.EnsureAccess(ctx, c.userBackend(), a, c.cfg.UserPrefix, c.cfg.KeyWait)
}

// KeyAccepted implements Admin.
func (c *SeaweedFS) KeyAccepted(ctx context.Context, a s3admin.Access) (bool, error) {
	return engine.KeyAccepted(ctx, c.userBackend(), a, c.cfg.UserPrefix)
}

// ObserveUser implements Admin. Any user can be observed; only owned users
// can be changed.
func (c *SeaweedFS) ObserveUser(ctx context.Context, name string) (s3admin.UserState, error) {
	return engine.ObserveUser(ctx, c.userBackend(), name, c.cfg.UserPrefix)
}

// DeleteUser implements Admin.
func (c *SeaweedFS) DeleteUser(ctx context.Context, name, prefix string) error {
	if err := s3admin.ValidateUserName(name, s3admin.PrefixOr(prefix, c.cfg.UserPrefix)); err != nil {
		return err
	}
	unlock, err := c.users.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return engine.DeleteUser(ctx, c.userBackend(), name)
}

// CheckUserWrites implements Admin. Only the IAM query API path needs the
// gateway's IAM writes for grants; the filer path writes users, keys and
// policies through the filer's IAM service, which the gateway's setting
// does not govern, so a read-only gateway is no reason for it to be unready.
func (c *SeaweedFS) CheckUserWrites(ctx context.Context) error {
	if c.filer != nil {
		return nil
	}
	return c.ic.CheckUserWrites(ctx, c.cfg.UserPrefix)
}

// ListOwnedUsers implements Admin.
func (c *SeaweedFS) ListOwnedUsers(ctx context.Context, extraPrefixes ...string) ([]s3admin.UserState, error) {
	return engine.ListUsers(ctx, c.userBackend(), c.cfg.UserPrefix, extraPrefixes)
}

// ListOwnedUsersWindow implements Admin.
func (c *SeaweedFS) ListOwnedUsersWindow(ctx context.Context, w s3admin.UserWindow, extraPrefixes ...string) (s3admin.UserListing, error) {
	return engine.ListUsersWindow(ctx, c.userBackend(), c.cfg.UserPrefix, extraPrefixes, w)
}
