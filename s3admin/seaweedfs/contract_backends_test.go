package seaweedfs

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/iamapi"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

// ---- SeaweedFS ----

// rawClients talks to the test SeaweedFS with the admin key directly, for
// changes behind the Admin's back and for checks the Admin cannot make.
type rawClients struct {
	s3  *s3.Client
	iam *iam.Client
}

func newRawClients() rawClients {
	return rawClients{
		s3: seaweed.S3Client(),
		iam: iam.New(iam.Options{
			Region:       seaweed.Region,
			BaseEndpoint: aws.String(seaweed.Endpoint),
			Credentials:  credentials.NewStaticCredentialsProvider(seaweed.AccessKey, seaweed.SecretKey, ""),
		}),
	}
}

type seaweedBackdoor struct {
	raw   rawClients
	admin *SeaweedFS
	// before is the BeforeRequest function, run by the admin's requests
	// (see requestSeam).
	before *atomic.Pointer[func(op string)]
}

// newSeaweedAdminOn is an Admin for prefix managing users through the filer's
// IAM gRPC service at filerAddr, or the IAM query API if it is empty; apiOptions
// are added to its requests' middleware.
func newSeaweedAdminOn(t testing.TB, prefix, filerAddr string, apiOptions ...func(*middleware.Stack) error) *SeaweedFS {
	t.Helper()
	a, err := NewSeaweedFS(Config{
		Endpoint:         seaweed.Endpoint,
		Region:           seaweed.Region,
		AccessKeyID:      seaweed.AccessKey,
		SecretAccessKey:  seaweed.SecretKey,
		UserPrefix:       prefix,
		CallTimeout:      30 * time.Second,
		FilerGRPCAddress: filerAddr,
		APIOptions:       apiOptions,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func newSeaweedEnv(t *testing.T, id string) *admintest.Env { return newSeaweedEnvOn(t, id, "") }

// newSeaweedFilerEnv is newSeaweedEnv with users managed through the filer.
func newSeaweedFilerEnv(t *testing.T, id string) *admintest.Env {
	return newSeaweedEnvOn(t, id, seaweed.FilerGRPCAddress())
}

func newSeaweedEnvOn(t *testing.T, id, filerAddr string) *admintest.Env {
	owner := "owner-" + id
	prefix := "cosi-" + id + "-"
	before := new(atomic.Pointer[func(op string)])
	admin := newSeaweedAdminOn(t, prefix, filerAddr, requestSeam(before))
	bd := &seaweedBackdoor{raw: newRawClients(), admin: admin, before: before}
	e := &admintest.Env{Admin: admin, Backdoor: bd, Owner: owner, Prefix: prefix, ID: id,
		Own: s3admin.Ownership{Owner: owner, Marker: "marker-" + id}}
	// Every IAM write in SeaweedFS costs O(number of users): leave no users
	// behind for the next case.
	t.Cleanup(func() { bd.cleanup(t, e) })
	return e
}

func (b *seaweedBackdoor) cleanup(t *testing.T, e *admintest.Env) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	users, _ := b.raw.iam.ListUsers(ctx, &iam.ListUsersInput{})
	if users != nil {
		for _, u := range users.Users {
			n := aws.ToString(u.UserName)
			if strings.Contains(n, e.ID) {
				rawDeleteUserCompletely(ctx, b.raw, n)
				if b.admin.filer != nil {
					_ = b.admin.filer.DeletePolicy(ctx, names.AccessPolicy(n))
				}
			}
		}
	}
	buckets, _ := b.raw.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
	if buckets != nil {
		for _, bk := range buckets.Buckets {
			if n := aws.ToString(bk.Name); strings.HasPrefix(n, e.ID+"-") {
				rawPurgeBucket(ctx, b.raw, n)
			}
		}
	}
}

// rawDeleteUserCompletely deletes policies, keys and the user.
func rawDeleteUserCompletely(ctx context.Context, raw rawClients, name string) {
	if ps, err := raw.iam.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String(name)}); err == nil {
		for _, p := range ps.PolicyNames {
			_, _ = raw.iam.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(p)})
		}
	}
	if ks, err := raw.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(name)}); err == nil {
		for _, k := range ks.AccessKeyMetadata {
			_, _ = raw.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(name), AccessKeyId: k.AccessKeyId})
		}
	}
	_, _ = raw.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(name)})
}

func rawPurgeBucket(ctx context.Context, raw rawClients, name string) {
	if keys, err := s3check.List(ctx, raw.s3, name); err == nil {
		for _, key := range keys {
			_ = s3check.Delete(ctx, raw.s3, name, key)
		}
	}
	_, _ = raw.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
}

func (b *seaweedBackdoor) AddBucket(t *testing.T, name string, tags map[string]string) {
	t.Helper()
	ctx := admintest.Context(t)
	_, err := b.raw.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	admintest.MustNil(t, "raw CreateBucket", err)
	if len(tags) > 0 {
		var set []s3types.Tag
		for k, v := range tags {
			set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		_, err = b.raw.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(name), Tagging: &s3types.Tagging{TagSet: set}})
		admintest.MustNil(t, "raw PutBucketTagging", err)
	}
}

func (b *seaweedBackdoor) SetTags(t *testing.T, bucket string, tags map[string]string) {
	t.Helper()
	ctx := admintest.Context(t)
	if len(tags) == 0 {
		_, err := b.raw.s3.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String(bucket)})
		admintest.MustNil(t, "raw DeleteBucketTagging", err)
		return
	}
	_, err := b.raw.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket), Tagging: &s3types.Tagging{TagSet: tagSet(tags)}})
	admintest.MustNil(t, "raw PutBucketTagging", err)
}

func (b *seaweedBackdoor) PutObject(t *testing.T, bucket, key string) {
	t.Helper()
	admintest.MustNil(t, "raw PutObject", s3check.Put(admintest.Context(t), b.raw.s3, bucket, key, "data"))
}

func (b *seaweedBackdoor) RemoveBucket(t *testing.T, name string) {
	rawPurgeBucket(admintest.Context(t), b.raw, name)
}

func (b *seaweedBackdoor) AddUser(t *testing.T, name string) string {
	t.Helper()
	_, err := b.raw.iam.CreateUser(admintest.Context(t), &iam.CreateUserInput{UserName: aws.String(name)})
	admintest.MustNil(t, "raw CreateUser", err)
	return b.AddUserKey(t, name)
}

func (b *seaweedBackdoor) AddUserKey(t *testing.T, user string) string {
	t.Helper()
	id, secret, err := s3admin.GenerateCredentials()
	admintest.MustNil(t, "GenerateCredentials", err)
	_, err = b.raw.iam.CreateAccessKey(admintest.Context(t), &iam.CreateAccessKeyInput{UserName: aws.String(user)}, iamapi.WithSuppliedAccessKey(id, secret))
	admintest.MustNil(t, "raw CreateAccessKey", err)
	return id
}

func (b *seaweedBackdoor) PutUserPolicy(t *testing.T, user, name, doc string) {
	t.Helper()
	_, err := b.raw.iam.PutUserPolicy(admintest.Context(t), &iam.PutUserPolicyInput{
		UserName: aws.String(user), PolicyName: aws.String(name), PolicyDocument: aws.String(doc),
	})
	admintest.MustNil(t, "raw PutUserPolicy", err)
}

func (b *seaweedBackdoor) DeactivateKey(t *testing.T, user, keyID string) {
	t.Helper()
	_, err := b.raw.iam.UpdateAccessKey(admintest.Context(t), &iam.UpdateAccessKeyInput{
		UserName: aws.String(user), AccessKeyId: aws.String(keyID), Status: iamtypes.StatusTypeInactive,
	})
	admintest.MustNil(t, "raw UpdateAccessKey", err)
}

// RemoveUser deletes keys and user but, like SeaweedFS's DeleteUser, not the
// inline policies.
func (b *seaweedBackdoor) RemoveUser(t *testing.T, name string) {
	t.Helper()
	ctx := admintest.Context(t)
	ks, err := b.raw.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(name)})
	admintest.MustNil(t, "raw ListAccessKeys", err)
	for _, k := range ks.AccessKeyMetadata {
		_, err := b.raw.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(name), AccessKeyId: k.AccessKeyId})
		admintest.MustNil(t, "raw DeleteAccessKey", err)
	}
	_, err = b.raw.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(name)})
	admintest.MustNil(t, "raw DeleteUser", err)
}

func (b *seaweedBackdoor) WriteCount() int64 { return b.admin.Writes() }

func (b *seaweedBackdoor) FormUpload(t *testing.T, bucket, key string) {
	t.Helper()
	admintest.MustNil(t, "admin form upload", formUpload(admintest.Context(t), seaweed.AccessKey, seaweed.SecretKey, bucket, key, "form data"))
}

func (b *seaweedBackdoor) BeforeRequest(fn func(op string)) {
	if fn == nil {
		b.before.Store(nil)
		return
	}
	b.before.Store(&fn)
}

// requestSeam runs the function fn holds, if any, with the operation's name
// before each request, ahead of its signing and sending.
func requestSeam(fn *atomic.Pointer[func(op string)]) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("beforeRequest", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if f := fn.Load(); f != nil {
				(*f)(middleware.GetOperationName(ctx))
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	}
}
