package conformance

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

// ---- what SeaweedFS holds ----

// backend is everything SeaweedFS holds that the driver could touch: every
// bucket, every user with its access key ids, the managed policies attached
// to each user that has any, and every managed policy. On the filer path a
// grant is a managed policy (cosi-access-<hash of the user>) attached to the
// user by name, and a policy outlives its user unless it is deleted too: the
// policies show a grant or a revoke that leaves one behind.
//
// Every view reads through the IAM query API with the admin identity on
// both paths: it loads the same credential store the filer's IAM gRPC
// service writes, afresh on each request, and keeps the check independent
// of the driver's own client.
type backend struct {
	Buckets  []string
	Users    map[string][]string
	Attached map[string][]string
	Policies []string
}

func (e *environment) backend(t testing.TB) backend {
	t.Helper()
	out, err := e.s3.ListBuckets(ctx(t), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("admin ListBuckets: %v", err)
	}
	b := backend{Buckets: []string{}, Users: map[string][]string{}, Attached: map[string][]string{}, Policies: e.policies(t)}
	for _, bk := range out.Buckets {
		b.Buckets = append(b.Buckets, aws.ToString(bk.Name))
	}
	slices.Sort(b.Buckets)
	for _, u := range e.users(t) {
		b.Users[u] = e.keyIDs(t, u)
		if p := e.attached(t, u); len(p) > 0 {
			b.Attached[u] = p
		}
	}
	return b
}

// policies lists every managed policy by name, sorted.
func (e *environment) policies(t testing.TB) []string {
	t.Helper()
	names := []string{}
	p := iam.NewListPoliciesPaginator(e.iam, &iam.ListPoliciesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatalf("admin ListPolicies: %v", err)
		}
		for _, pol := range out.Policies {
			names = append(names, aws.ToString(pol.PolicyName))
		}
	}
	slices.Sort(names)
	return names
}

// attached lists the managed policies attached to a user by name, sorted; a
// missing user has none.
func (e *environment) attached(t testing.TB, user string) []string {
	t.Helper()
	names := []string{}
	for _, p := range e.attachedPolicies(t, user) {
		names = append(names, aws.ToString(p.PolicyName))
	}
	slices.Sort(names)
	return names
}

// inline lists a user's inline policies by name, sorted.
func (e *environment) inline(t testing.TB, user string) []string {
	t.Helper()
	names := []string{}
	p := iam.NewListUserPoliciesPaginator(e.iam, &iam.ListUserPoliciesInput{UserName: aws.String(user)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatalf("admin ListUserPolicies(%s): %v", user, err)
		}
		names = append(names, page.PolicyNames...)
	}
	slices.Sort(names)
	return names
}

func (e *environment) attachedPolicies(t testing.TB, user string) []iamtypes.AttachedPolicy {
	t.Helper()
	var out []iamtypes.AttachedPolicy
	p := iam.NewListAttachedUserPoliciesPaginator(e.iam, &iam.ListAttachedUserPoliciesInput{UserName: aws.String(user)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		var missing *iamtypes.NoSuchEntityException
		if errors.As(err, &missing) {
			return nil
		}
		if err != nil {
			t.Fatalf("admin ListAttachedUserPolicies(%s): %v", user, err)
		}
		out = append(out, page.AttachedPolicies...)
	}
	return out
}

func (e *environment) users(t testing.TB) []string {
	t.Helper()
	var names []string
	var marker *string
	for {
		out, err := e.iam.ListUsers(ctx(t), &iam.ListUsersInput{Marker: marker})
		if err != nil {
			t.Fatalf("admin ListUsers: %v", err)
		}
		for _, u := range out.Users {
			names = append(names, aws.ToString(u.UserName))
		}
		if !out.IsTruncated || out.Marker == nil {
			break
		}
		marker = out.Marker
	}
	slices.Sort(names)
	return names
}

// keyIDs lists a user's access key ids, sorted; a missing user has none.
func (e *environment) keyIDs(t testing.TB, user string) []string {
	t.Helper()
	out, err := e.iam.ListAccessKeys(ctx(t), &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatalf("admin ListAccessKeys(%s): %v", user, err)
	}
	ids := []string{}
	for _, k := range out.AccessKeyMetadata {
		ids = append(ids, aws.ToString(k.AccessKeyId))
	}
	slices.Sort(ids)
	return ids
}

func (e *environment) userExists(t testing.TB, user string) bool {
	t.Helper()
	_, err := e.iam.GetUser(ctx(t), &iam.GetUserInput{UserName: aws.String(user)})
	var missing *iamtypes.NoSuchEntityException
	if errors.As(err, &missing) {
		return false
	}
	if err != nil {
		t.Fatalf("admin GetUser(%s): %v", user, err)
	}
	return true
}

func (e *environment) bucketExists(t testing.TB, bucket string) bool {
	t.Helper()
	_, err := e.s3.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	var nf *s3types.NotFound
	if errors.As(err, &nf) {
		return false
	}
	if err != nil {
		t.Fatalf("admin HeadBucket(%s): %v", bucket, err)
	}
	return true
}

// owner returns the bucket's owner tag, "" when it has none.
func (e *environment) owner(t testing.TB, bucket string) string {
	t.Helper()
	o, err := e.ownerOf(t, bucket)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// ownerOf is owner that returns the error, for checks that poll.
func (e *environment) ownerOf(t testing.TB, bucket string) (string, error) {
	t.Helper()
	out, err := e.s3.GetBucketTagging(ctx(t), &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	if s3check.ErrorCode(err) == "NoSuchTagSet" {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("admin GetBucketTagging(%s): %w", bucket, err)
	}
	for _, tag := range out.TagSet {
		if aws.ToString(tag.Key) == ownerTag {
			return aws.ToString(tag.Value), nil
		}
	}
	return "", nil
}

// foreignBucket creates a bucket with the admin identity, outside the
// driver, holding one object; it is removed when the test ends.
func (e *environment) foreignBucket(t testing.TB, name string) {
	t.Helper()
	if _, err := e.s3.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("admin CreateBucket(%s): %v", name, err)
	}
	t.Cleanup(func() {
		e.emptyBucket(t, name)
		if _, err := e.s3.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(name)}); err != nil && s3check.ErrorCode(err) != "NoSuchBucket" {
			t.Errorf("clean-up: admin DeleteBucket(%s): %v", name, err)
		}
	})
	e.putObject(t, name, "foreign.txt", "not the driver's")
}

func (e *environment) putObject(t testing.TB, bucket, key, body string) {
	t.Helper()
	if err := s3check.Put(ctx(t), e.s3, bucket, key, body); err != nil {
		t.Fatalf("admin PutObject(%s/%s): %v", bucket, key, err)
	}
}

// objectBody reads an object with the admin identity.
func (e *environment) objectBody(t testing.TB, bucket, key string) (string, error) {
	t.Helper()
	return s3check.Get(ctx(t), e.s3, bucket, key)
}

// emptyBucket deletes every object of a bucket with the admin identity; a
// missing bucket is fine.
func (e *environment) emptyBucket(t testing.TB, bucket string) {
	t.Helper()
	keys, err := s3check.List(ctx(t), e.s3, bucket)
	if s3check.ErrorCode(err) == "NoSuchBucket" {
		return
	}
	if err != nil {
		t.Errorf("admin ListObjectsV2(%s): %v", bucket, err)
		return
	}
	for _, key := range keys {
		if err := s3check.Delete(ctx(t), e.s3, bucket, key); err != nil {
			t.Errorf("admin DeleteObject(%s/%s): %v", bucket, key, err)
		}
	}
}

// deleteUserOutOfBand removes a user the way an operator would with the IAM
// API: it detaches its managed policies (the filer path's grant; the policy
// itself stays, as an operator who only removes the user leaves it), deletes
// its inline policies (the IAM query API path's grant) and its keys, then
// the user.
func (e *environment) deleteUserOutOfBand(t testing.TB, user string) {
	t.Helper()
	for _, p := range e.attachedPolicies(t, user) {
		if _, err := e.iam.DetachUserPolicy(ctx(t), &iam.DetachUserPolicyInput{UserName: aws.String(user), PolicyArn: p.PolicyArn}); err != nil {
			t.Fatalf("admin DetachUserPolicy(%s, %s): %v", user, aws.ToString(p.PolicyName), err)
		}
	}
	pols, err := e.iam.ListUserPolicies(ctx(t), &iam.ListUserPoliciesInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatalf("admin ListUserPolicies(%s): %v", user, err)
	}
	for _, p := range pols.PolicyNames {
		if _, err := e.iam.DeleteUserPolicy(ctx(t), &iam.DeleteUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(p)}); err != nil {
			t.Fatalf("admin DeleteUserPolicy(%s, %s): %v", user, p, err)
		}
	}
	for _, id := range e.keyIDs(t, user) {
		if _, err := e.iam.DeleteAccessKey(ctx(t), &iam.DeleteAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(id)}); err != nil {
			t.Fatalf("admin DeleteAccessKey(%s): %v", user, err)
		}
	}
	if _, err := e.iam.DeleteUser(ctx(t), &iam.DeleteUserInput{UserName: aws.String(user)}); err != nil {
		t.Fatalf("admin DeleteUser(%s): %v", user, err)
	}
}
