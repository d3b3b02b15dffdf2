package iamapi

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/calls"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/engine"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// iamClient is the IAM query API path's client: the IAM API for users,
// keys and grants, and S3 to probe a key.
type Client struct {
	*calls.Calls
	IAM *iam.Client
	S3  *s3.Client
}

// observeUser reads the user and, unless scope asks only whether it exists,
// its keys, inline policies, attached policies and groups. A user deleted
// half-way reads as missing.
func (c *Client) observeUser(ctx context.Context, name string, scope engine.Scope) (plan.Observation, error) {
	obs := plan.Observation{Inline: map[string]string{}}
	if scope == engine.ScopeListed {
		// Every IAM call makes SeaweedFS read its whole configuration: a
		// listing's users are not read once more. ListUserPolicies answers
		// NoSuchEntity for one deleted since.
		obs.Exists = true
		err := c.observeUserDetails(ctx, name, &obs)
		if errors.Is(err, s3admin.ErrNotFound) {
			return plan.Observation{}, nil
		}
		return obs, err
	}
	err := c.Call(ctx, "GetUser", func(ctx context.Context) error {
		_, err := c.IAM.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(name)})
		return err
	})
	if errors.Is(err, s3admin.ErrNotFound) {
		return plan.Observation{}, nil
	}
	if err != nil {
		return obs, err
	}
	obs.Exists = true
	if scope == engine.ScopeExists {
		return obs, nil
	}

	err = c.observeUserDetails(ctx, name, &obs)
	if errors.Is(err, s3admin.ErrNotFound) {
		return plan.Observation{}, nil
	}
	return obs, err
}

func (c *Client) observeUserDetails(ctx context.Context, name string, obs *plan.Observation) error {
	// ListAccessKeys must always carry UserName: without it SeaweedFS lists
	// the caller's own keys.
	var marker *string
	for {
		out, err := calls.Read(ctx, c, "ListAccessKeys", func(ctx context.Context) (*iam.ListAccessKeysOutput, error) {
			return c.IAM.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(name), Marker: marker})
		})
		if err != nil {
			return err
		}
		for _, k := range out.AccessKeyMetadata {
			obs.Keys = append(obs.Keys, plan.KeyInfo{
				Id: aws.ToString(k.AccessKeyId),
				// An empty status is Active in SeaweedFS.
				Active: k.Status == "" || k.Status == iamtypes.StatusTypeActive,
			})
		}
		if !out.IsTruncated || out.Marker == nil {
			break
		}
		marker = out.Marker
	}

	var policyNames []string
	marker = nil
	for {
		out, err := calls.Read(ctx, c, "ListUserPolicies", func(ctx context.Context) (*iam.ListUserPoliciesOutput, error) {
			return c.IAM.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String(name), Marker: marker})
		})
		if err != nil {
			return err
		}
		policyNames = append(policyNames, out.PolicyNames...)
		if !out.IsTruncated || out.Marker == nil {
			break
		}
		marker = out.Marker
	}
	for _, p := range policyNames {
		out, err := calls.Read(ctx, c, "GetUserPolicy", func(ctx context.Context) (*iam.GetUserPolicyOutput, error) {
			return c.IAM.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(p)})
		})
		if err != nil {
			return err
		}
		obs.Inline[p] = aws.ToString(out.PolicyDocument)
	}

	marker = nil
	for {
		out, err := calls.Read(ctx, c, "ListAttachedUserPolicies", func(ctx context.Context) (*iam.ListAttachedUserPoliciesOutput, error) {
			return c.IAM.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String(name), Marker: marker})
		})
		if err != nil {
			return err
		}
		for _, p := range out.AttachedPolicies {
			obs.Attached = append(obs.Attached, aws.ToString(p.PolicyArn))
		}
		if !out.IsTruncated || out.Marker == nil {
			break
		}
		marker = out.Marker
	}

	marker = nil
	for {
		out, err := calls.Read(ctx, c, "ListGroupsForUser", func(ctx context.Context) (*iam.ListGroupsForUserOutput, error) {
			return c.IAM.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: aws.String(name), Marker: marker})
		})
		if err != nil {
			return err
		}
		for _, g := range out.Groups {
			obs.Groups = append(obs.Groups, aws.ToString(g.GroupName))
		}
		if !out.IsTruncated || out.Marker == nil {
			break
		}
		marker = out.Marker
	}
	return nil
}

// ProbeKey makes one request signed with the access's key and reports
// whether SeaweedFS's S3 authentication knows the key. SeaweedFS reloads the
// identities it authenticates with after each IAM write, asynchronously and
// unordered with the write itself, so a key handed to a workload at once
// could be refused as unknown. Any answer but "unknown key" or "bad
// signature" proves the key known: a listing, or AccessDenied for a
// write-only key.
func (c *Client) ProbeKey(ctx context.Context, a s3admin.Access) (bool, error) {
	probe := s3.New(c.S3.Options(), func(o *s3.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(a.AccessKeyID, a.SecretAccessKey, "")
		o.RetryMaxAttempts = 1
	})
	err := c.Call(ctx, "ListObjectsV2", func(ctx context.Context) error {
		_, err := probe.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(a.Bucket), MaxKeys: aws.Int32(1)})
		return err
	})
	return KeyKnown(err)
}

// KeyKnown reads the answer to a request signed with a key: known when the
// request succeeded or was refused for what it asked (AccessDenied), not
// known when S3 does not know the key or its secret. Both refusals are 403s
// that classify as ErrAccessDenied, so the codes decide, and they go first.
// Any other error is returned.
func KeyKnown(err error) (bool, error) {
	switch {
	case calls.IsCode(err, "InvalidAccessKeyId"), calls.IsCode(err, "SignatureDoesNotMatch"):
		return false, nil
	case err == nil, errors.Is(err, s3admin.ErrAccessDenied):
		return true, nil
	default:
		return false, err
	}
}

// CreateAccessKey creates the caller-supplied key. SeaweedFS before 4.22
// ignores the supplied fields and generates its own key; that key is deleted
// again and the server reported as too old.
func (c *Client) CreateAccessKey(ctx context.Context, a s3admin.Access) error {
	var out *iam.CreateAccessKeyOutput
	err := c.IAMMutate(ctx, "CreateAccessKey", func(ctx context.Context) error {
		var err error
		out, err = c.IAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(a.User)},
			WithSuppliedAccessKey(a.AccessKeyID, a.SecretAccessKey))
		return err
	})
	if err != nil {
		return err
	}
	if out.AccessKey == nil || aws.ToString(out.AccessKey.AccessKeyId) != a.AccessKeyID {
		if out.AccessKey != nil && out.AccessKey.AccessKeyId != nil {
			_ = c.deleteAccessKey(ctx, a.User, aws.ToString(out.AccessKey.AccessKeyId))
		}
		return s3admin.NewError("CreateAccessKey", s3admin.ErrInvalid,
			"the server ignored the caller-supplied access key: SeaweedFS 4.22 or newer is required")
	}
	return nil
}

func (c *Client) deleteAccessKey(ctx context.Context, user, id string) error {
	err := c.IAMMutate(ctx, "DeleteAccessKey", func(ctx context.Context) error {
		_, err := c.IAM.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(id)})
		return err
	})
	if errors.Is(err, s3admin.ErrNotFound) {
		return nil
	}
	return err
}

func (c *Client) DeleteUserPolicy(ctx context.Context, user, policy string) error {
	err := c.IAMMutate(ctx, "DeleteUserPolicy", func(ctx context.Context) error {
		_, err := c.IAM.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(policy)})
		return err
	})
	if errors.Is(err, s3admin.ErrNotFound) {
		return nil
	}
	return err
}

// iamUsers is the IAM query API's userBackend: the grant is the user's
// inline policy, keys are created and deleted one by one, and every write
// rewrites every identity (see iamMutate).
type users struct{ c *Client }

func (users) Form() plan.Form { return plan.InlineGrant }

func (b users) Observe(ctx context.Context, name string, scope engine.Scope) (plan.Observation, error) {
	return b.c.observeUser(ctx, name, scope)
}

func (b users) ProbeKey(ctx context.Context, a s3admin.Access) (bool, error) {
	return b.c.ProbeKey(ctx, a)
}

// List reads the user names, then observes the users w picks one by one:
// several reads per user (the IAM query API has no call that returns users
// with their keys and policies, and SeaweedFS reads its whole configuration
// for each call).
func (b users) List(ctx context.Context, prefixes []string, w s3admin.UserWindow) (engine.Listing, error) {
	c := b.c
	var names []string
	var marker *string
	for {
		page, err := calls.Read(ctx, c, "ListUsers", func(ctx context.Context) (*iam.ListUsersOutput, error) {
			return c.IAM.ListUsers(ctx, &iam.ListUsersInput{Marker: marker})
		})
		if err != nil {
			return engine.Listing{}, err
		}
		for _, u := range page.Users {
			if n := aws.ToString(u.UserName); s3admin.HasAnyPrefix(n, prefixes) {
				names = append(names, n)
			}
		}
		if !page.IsTruncated || page.Marker == nil {
			break
		}
		marker = page.Marker
	}
	slices.Sort(names)
	return engine.ObserveWindow(ctx, b, slices.Compact(names), w)
}

func (b users) Apply(ctx context.Context, s plan.Step) error {
	c, user := b.c, aws.String(s.User)
	switch s.Kind {
	case plan.StepCreateUser:
		return c.IAMMutate(ctx, "CreateUser", func(ctx context.Context) error {
			_, err := c.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: user})
			return err
		})
	case plan.StepPutGrant:
		return c.IAMMutate(ctx, "PutUserPolicy", func(ctx context.Context) error {
			_, err := c.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user, PolicyName: aws.String(s3admin.PolicyName), PolicyDocument: aws.String(s.Doc)})
			return err
		})
	case plan.StepDeleteInline:
		return c.DeleteUserPolicy(ctx, s.User, s.Name)
	case plan.StepDetach:
		return c.IAMMutate(ctx, "DetachUserPolicy", func(ctx context.Context) error {
			_, err := c.IAM.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: user, PolicyArn: aws.String(s.Name)})
			return err
		})
	case plan.StepLeaveGroup:
		return c.RemoveFromGroup(ctx, s.User, s.Name)
	case plan.StepCreateKey:
		return c.CreateAccessKey(ctx, s3admin.Access{User: s.User, AccessKeyID: s.Key.AccessKey, SecretAccessKey: s.Key.SecretKey})
	case plan.StepActivateKey:
		return c.IAMMutate(ctx, "UpdateAccessKey", func(ctx context.Context) error {
			_, err := c.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: user, AccessKeyId: aws.String(s.Name), Status: iamtypes.StatusTypeActive})
			return err
		})
	case plan.StepDeleteKey:
		return c.deleteAccessKey(ctx, s.User, s.Name)
	case plan.StepDeleteUser:
		return c.IAMMutate(ctx, "DeleteUser", func(ctx context.Context) error {
			_, err := c.IAM.DeleteUser(ctx, &iam.DeleteUserInput{UserName: user})
			return err
		})
	}
	return fmt.Errorf("%w: step %s is not one of the IAM query API's", s3admin.ErrInvalid, s)
}

// CheckUserWrites deletes a user no one can have made (names.UserWriteProbe):
// a store that takes IAM writes answers NoSuchEntity and changes nothing; one
// serving IAM read-only refuses every write before looking at it. A refusal
// is ErrAccessDenied with the hint naming the setting (see
// calls.WriteDenied); it also covers an admin identity without IAM rights.
func (c *Client) CheckUserWrites(ctx context.Context, prefix string) error {
	err := c.IAMMutate(ctx, "DeleteUser", func(ctx context.Context) error {
		_, err := c.IAM.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(names.UserWriteProbe(prefix))})
		return err
	})
	if errors.Is(err, s3admin.ErrNotFound) {
		return nil
	}
	return err
}

// RemoveFromGroup takes the user out of a group through the IAM query API
// (the IAM gRPC service has no call for it). Membership is the user's
// property; the group itself is not touched.
func (c *Client) RemoveFromGroup(ctx context.Context, user, group string) error {
	err := c.IAMMutate(ctx, "RemoveUserFromGroup", func(ctx context.Context) error {
		_, err := c.IAM.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: aws.String(user), GroupName: aws.String(group)})
		return err
	})
	if errors.Is(err, s3admin.ErrNotFound) {
		return nil
	}
	return err
}

// Users is this path's engine.UserBackend.
func (c *Client) Users() engine.UserBackend { return users{c} }
