package s3admin

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// maxEnsureRounds bounds observe-and-fix rounds. One round fixes everything
// that was observed; the next only confirms it, unless something changed
// behind our back in between (or a new user inherited policies a deleted
// namesake left behind).
const maxEnsureRounds = 4

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

	// Granting on a bucket the driver does not own would change who can read
	// someone else's data; granting on a missing bucket would pre-authorize
	// whoever creates that name next.
	exists, marks, _, err := c.bucketMarks(ctx, a.Bucket, a.BucketOwner)
	if err != nil {
		return false, err
	}
	if !exists {
		return false, newError("EnsureAccess", ErrNotFound, "bucket %q does not exist", a.Bucket)
	}
	if a.BucketOwner.Owner == "" || !marks.Owns(a.BucketOwner) {
		return false, newError("EnsureAccess", ErrNotOwned, "bucket %q does not carry its record's marks", a.Bucket)
	}

	if c.filer != nil {
		return c.ensureFilerAccess(ctx, a)
	}
	wantPolicy, err := PolicyDocument(a.Bucket, a.Mode)
	if err != nil {
		return false, err
	}
	want, _ := parsePolicy(wantPolicy)
	rewrite := a.RewritePolicy
	keyConflicts := 0
	for range maxEnsureRounds {
		obs, err := c.observeUser(ctx, a.User)
		if err != nil {
			return changed, err
		}
		if obs.converged(a, c.cfg.UserPrefix) && !rewrite {
			if changed {
				return changed, c.keyAccepted(ctx, a)
			}
			return changed, nil
		}
		if !obs.exists {
			err := c.iamMutate(ctx, "CreateUser", func(ctx context.Context) error {
				_, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(a.User)})
				return err
			})
			if err != nil && !errors.Is(err, ErrAlreadyExists) {
				return changed, err
			}
			changed = true
			// A fresh user has no keys or policies of its own, but may have
			// inherited inline policies of a deleted user with the same name;
			// the read-back in the next round finds and removes them.
			obs = userObservation{exists: true, inline: map[string]string{}}
		}

		// Policy before keys: when the bucket or mode changes, the old grant is
		// replaced before any new key exists, and PutUserPolicy replaces it in
		// one step, so there is no moment with both or neither.
		if got, ok := parsePolicy(obs.inline[PolicyName]); rewrite || !ok || !got.equal(want) {
			err := c.iamMutate(ctx, "PutUserPolicy", func(ctx context.Context) error {
				_, err := c.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{
					UserName: aws.String(a.User), PolicyName: aws.String(PolicyName), PolicyDocument: aws.String(wantPolicy),
				})
				return err
			})
			if err != nil {
				return changed, err
			}
			changed, rewrite = true, false
		}
		// Anything else granting the user access was not written by this
		// client for this access; the user is ours, so remove it.
		for p := range obs.inline {
			if p == PolicyName {
				continue
			}
			if err := c.deleteUserPolicy(ctx, a.User, p); err != nil {
				return changed, err
			}
			changed = true
		}
		for _, arn := range obs.attached {
			err := c.iamMutate(ctx, "DetachUserPolicy", func(ctx context.Context) error {
				_, err := c.iam.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String(a.User), PolicyArn: aws.String(arn)})
				return err
			})
			if err != nil && !errors.Is(err, ErrNotFound) {
				return changed, err
			}
			changed = true
		}
		for _, g := range obs.groups {
			// Membership is the user's property (SeaweedFS's DeleteUser drops
			// it too); the group itself is not touched.
			err := c.iamMutate(ctx, "RemoveUserFromGroup", func(ctx context.Context) error {
				_, err := c.iam.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: aws.String(a.User), GroupName: aws.String(g)})
				return err
			})
			if err != nil && !errors.Is(err, ErrNotFound) {
				return changed, err
			}
			changed = true
		}

		// New key before removing old ones, so the user is never without a
		// working key while being converged.
		var have *keyInfo
		for i := range obs.keys {
			if obs.keys[i].id == a.AccessKeyID {
				have = &obs.keys[i]
			}
		}
		switch {
		case have == nil:
			err := c.createAccessKey(ctx, a)
			if errors.Is(err, ErrAlreadyExists) {
				// Either our own earlier attempt succeeded after all (the next
				// observation shows the key on this user) or the key id
				// belongs to another identity; a second conflict settles it.
				keyConflicts++
				if keyConflicts > 1 {
					return changed, newError("CreateAccessKey", ErrAlreadyExists,
						"access key id %s is in use by another identity", a.AccessKeyID)
				}
				continue
			}
			if err != nil {
				return changed, err
			}
			changed = true
		case !have.active:
			err := c.iamMutate(ctx, "UpdateAccessKey", func(ctx context.Context) error {
				_, err := c.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{
					UserName: aws.String(a.User), AccessKeyId: aws.String(a.AccessKeyID), Status: iamtypes.StatusTypeActive,
				})
				return err
			})
			if err != nil {
				return changed, err
			}
			changed = true
		}
		if err := removeUnissued(a, obs.keys, func(id string) error { return c.deleteAccessKey(ctx, a.User, id) }); err != nil {
			return true, err
		}
	}
	return changed, newError("EnsureAccess", ErrTransient,
		"user %q did not converge after %d rounds: it is being changed concurrently", a.User, maxEnsureRounds)
}
