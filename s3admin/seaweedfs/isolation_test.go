package seaweedfs

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// isoEnv is a SeaweedFS Admin with its own owner and prefix, and cleanup of
// everything named with its id.
func isoEnv(t *testing.T, tag string) *admintest.Env {
	t.Helper()
	id := fmt.Sprintf("%s%04x", tag, time.Now().UnixNano()&0xffff)
	return newSeaweedEnv(t, id)
}

// userPaths are the two ways the client can manage users: the IAM query API
// and the filer's IAM gRPC service.
var userPaths = []struct {
	name   string
	newEnv func(t *testing.T, id string) *admintest.Env
}{
	{"iam", newSeaweedEnv},
	{"filer", newSeaweedFilerEnv},
}

// onEachUserPath runs test once per user path, each with an env of its own.
func onEachUserPath(t *testing.T, tag string, test func(t *testing.T, e *admintest.Env)) {
	for _, p := range userPaths {
		t.Run(p.name, func(t *testing.T) {
			test(t, p.newEnv(t, fmt.Sprintf("%s%04x", tag, time.Now().UnixNano()&0xffff)))
		})
	}
}

// userS3 is an S3 client signing with a user's key; no retries, so a refusal
// shows as it is.
func userS3(a s3admin.Access) *s3.Client {
	return stack.NewS3Client(seaweed.Endpoint, seaweed.Region, a.AccessKeyID, a.SecretAccessKey,
		func(o *s3.Options) { o.RetryMaxAttempts = 1 })
}

// s3ops are the object calls of one client on one bucket. Each returns only
// the error: whether S3 allowed the call is all the isolation checks judge.
type s3ops struct {
	t      *testing.T
	c      *s3.Client
	ctx    context.Context
	bucket string
}

func (o s3ops) put(key string) error { return s3check.Put(o.ctx, o.c, o.bucket, key, "v-"+key) }

func (o s3ops) get(key string) error {
	_, err := s3check.Get(o.ctx, o.c, o.bucket, key)
	return err
}

func (o s3ops) List() error {
	_, err := s3check.List(o.ctx, o.c, o.bucket)
	return err
}

func (o s3ops) del(key string) error { return s3check.Delete(o.ctx, o.c, o.bucket, key) }

func (o s3ops) location() error {
	_, err := o.c.GetBucketLocation(o.ctx, &s3.GetBucketLocationInput{Bucket: aws.String(o.bucket)})
	return err
}

// multipart runs a two-part upload with the listing calls in between and
// returns the first error and which step failed.
func (o s3ops) multipart(key string) (string, error) {
	up, err := o.c.CreateMultipartUpload(o.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(o.bucket), Key: aws.String(key)})
	if err != nil {
		return "CreateMultipartUpload", err
	}
	part := bytes.Repeat([]byte("p"), 5<<20)
	var parts []s3types.CompletedPart
	for i := int32(1); i <= 2; i++ {
		body := part
		if i == 2 {
			body = []byte("tail")
		}
		p, err := o.c.UploadPart(o.ctx, &s3.UploadPartInput{Bucket: aws.String(o.bucket), Key: aws.String(key),
			UploadId: up.UploadId, PartNumber: aws.Int32(i), Body: bytes.NewReader(body)})
		if err != nil {
			return "UploadPart", err
		}
		parts = append(parts, s3types.CompletedPart{ETag: p.ETag, PartNumber: aws.Int32(i)})
	}
	if _, err := o.c.ListMultipartUploads(o.ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(o.bucket)}); err != nil {
		return "ListMultipartUploads", err
	}
	if _, err := o.c.ListParts(o.ctx, &s3.ListPartsInput{Bucket: aws.String(o.bucket), Key: aws.String(key), UploadId: up.UploadId}); err != nil {
		return "ListParts", err
	}
	if _, err := o.c.CompleteMultipartUpload(o.ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(o.bucket), Key: aws.String(key),
		UploadId: up.UploadId, MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		return "CompleteMultipartUpload", err
	}
	// A second upload is aborted.
	up2, err := o.c.CreateMultipartUpload(o.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(o.bucket), Key: aws.String(key + ".aborted")})
	if err != nil {
		return "CreateMultipartUpload", err
	}
	if _, err := o.c.AbortMultipartUpload(o.ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(o.bucket), Key: aws.String(key + ".aborted"), UploadId: up2.UploadId}); err != nil {
		return "AbortMultipartUpload", err
	}
	return "", nil
}

// bucketAdminDenied checks that the user cannot manage buckets: create,
// delete, or change policy, ACL, versioning, CORS or tags (the tags hold the
// ownership mark).
func bucketAdminDenied(t *testing.T, ctx context.Context, c *s3.Client, bucket, fresh string) {
	t.Helper()
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(fresh)})
	s3check.RequireDenied(t, "CreateBucket", err)
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	s3check.RequireDenied(t, "DeleteBucket", err)
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/*"}]}`)})
	s3check.RequireDenied(t, "PutBucketPolicy", err)
	_, err = c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)})
	s3check.RequireDenied(t, "DeleteBucketPolicy", err)
	_, err = c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(bucket), ACL: s3types.BucketCannedACLPublicRead})
	s3check.RequireDenied(t, "PutBucketAcl", err)
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
	s3check.RequireDenied(t, "PutBucketVersioning", err)
	_, err = c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(bucket), CORSConfiguration: &s3types.CORSConfiguration{
		CORSRules: []s3types.CORSRule{{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"*"}}}}})
	s3check.RequireDenied(t, "PutBucketCors", err)
	_, err = c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket), Tagging: &s3types.Tagging{
		TagSet: []s3types.Tag{{Key: aws.String(names.OwnerTagKey), Value: aws.String("someone-else")}}}})
	s3check.RequireDenied(t, "PutBucketTagging", err)
	_, err = c.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String(bucket)})
	s3check.RequireDenied(t, "DeleteBucketTagging", err)
	_, err = c.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(bucket), Key: aws.String("seed"), ACL: s3types.ObjectCannedACLPublicRead})
	s3check.RequireDenied(t, "PutObjectAcl", err)
}

// TestIsolation checks with real S3 requests what each mode's credentials can
// and cannot do.
func TestIsolation(t *testing.T) { onEachUserPath(t, "iso", testIsolation) }

func testIsolation(t *testing.T, e *admintest.Env) {
	ctx := admintest.Context(t)
	b, c := e.Bucket("b"), e.Bucket("c")
	// Buckets whose names start with b's name: a policy on arn:aws:s3:::b*
	// would cover them.
	bOther, b2 := b+"-other", b+"2"
	for _, n := range []string{b, c, bOther, b2} {
		admintest.CreateBucket(t, e, n)
		e.Backdoor.PutObject(t, n, "seed")
	}
	rw := e.Access(t, e.User("rw"), b, s3admin.ModeReadWrite)
	ro := e.Access(t, e.User("ro"), b, s3admin.ModeReadOnly)
	wo := e.Access(t, e.User("wo"), b, s3admin.ModeWriteOnly)
	for _, a := range []s3admin.Access{rw, ro, wo} {
		admintest.Ensure(t, e, a)
	}
	ops := func(a s3admin.Access, bucket string) s3ops {
		return s3ops{t: t, c: userS3(a), ctx: ctx, bucket: bucket}
	}

	t.Run("read-write works on its bucket", func(t *testing.T) {
		o := ops(rw, b)
		s3check.RequireAllowed(t, "PutObject", o.put("rw.txt"))
		s3check.RequireAllowed(t, "GetObject", o.get("rw.txt"))
		s3check.RequireAllowed(t, "GetObject of a seeded object", o.get("seed"))
		s3check.RequireAllowed(t, "ListObjectsV2", o.List())
		s3check.RequireAllowed(t, "GetBucketLocation", o.location())
		step, err := o.multipart("rw-multi")
		s3check.RequireAllowed(t, "multipart upload, "+step, err)
		s3check.RequireAllowed(t, "DeleteObject", o.del("rw.txt"))
	})
	t.Run("read-write is denied on other buckets, including prefix-named ones", func(t *testing.T) {
		for _, other := range []string{c, bOther, b2} {
			o := ops(rw, other)
			s3check.RequireDenied(t, "PutObject on "+other, o.put("x"))
			s3check.RequireDenied(t, "GetObject on "+other, o.get("seed"))
			s3check.RequireDenied(t, "ListObjectsV2 on "+other, o.List())
			s3check.RequireDenied(t, "DeleteObject on "+other, o.del("seed"))
		}
	})
	t.Run("read-only can read and list but not write or delete", func(t *testing.T) {
		o := ops(ro, b)
		s3check.RequireAllowed(t, "GetObject", o.get("seed"))
		s3check.RequireAllowed(t, "ListObjectsV2", o.List())
		s3check.RequireAllowed(t, "GetBucketLocation", o.location())
		s3check.RequireDenied(t, "PutObject", o.put("ro.txt"))
		s3check.RequireDenied(t, "DeleteObject", o.del("seed"))
		_, err := o.multipart("ro-multi")
		s3check.RequireDenied(t, "CreateMultipartUpload", err)
		s3check.RequireDenied(t, "GetObject on "+c, ops(ro, c).get("seed"))
	})
	t.Run("write-only can upload but not read, list or delete", func(t *testing.T) {
		o := ops(wo, b)
		s3check.RequireAllowed(t, "PutObject", o.put("wo.txt"))
		step, err := o.multipart("wo-multi")
		s3check.RequireAllowed(t, "multipart upload, "+step, err)
		s3check.RequireAllowed(t, "GetBucketLocation", o.location())
		s3check.RequireDenied(t, "GetObject", o.get("wo.txt"))
		s3check.RequireDenied(t, "GetObject of a seeded object", o.get("seed"))
		s3check.RequireDenied(t, "ListObjectsV2", o.List())
		s3check.RequireDenied(t, "DeleteObject", o.del("seed"))
		s3check.RequireDenied(t, "PutObject on "+c, ops(wo, c).put("x"))
	})
	t.Run("no mode can manage buckets", func(t *testing.T) {
		for _, a := range []s3admin.Access{rw, ro, wo} {
			t.Run(string(a.Mode), func(t *testing.T) {
				bucketAdminDenied(t, ctx, userS3(a), b, e.Bucket("new-"+string(a.Mode)))
			})
		}
		if st := admintest.ObserveBucket(t, e, b); !st.Owned {
			t.Fatalf("owner mark lost: %+v", st)
		}
	})
	t.Run("no mode can manage other users", func(t *testing.T) {
		for _, a := range []s3admin.Access{rw, ro, wo} {
			ic := iam.New(iam.Options{Region: seaweed.Region, BaseEndpoint: aws.String(seaweed.Endpoint),
				Credentials: credentials.NewStaticCredentialsProvider(a.AccessKeyID, a.SecretAccessKey, ""), RetryMaxAttempts: 1})
			_, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(e.User("evil-" + string(a.Mode)))})
			s3check.RequireDenied(t, string(a.Mode)+" CreateUser", err)
			_, err = ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(a.User), PolicyName: aws.String("more"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})
			s3check.RequireDenied(t, string(a.Mode)+" PutUserPolicy on itself", err)
			other := ro
			if a == ro {
				other = rw
			}
			_, err = ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(other.User)})
			s3check.RequireDenied(t, string(a.Mode)+" CreateAccessKey for another user", err)
			_, err = ic.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(other.User), AccessKeyId: aws.String(other.AccessKeyID)})
			s3check.RequireDenied(t, string(a.Mode)+" DeleteAccessKey of another user", err)
			_, err = ic.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(other.User)})
			s3check.RequireDenied(t, string(a.Mode)+" DeleteUser of another user", err)
		}
		for _, a := range []s3admin.Access{rw, ro, wo} {
			admintest.WantExactly(t, e, a)
		}
	})
	t.Run("a key a user mints for itself is removed by the next EnsureAccess", func(t *testing.T) {
		// SeaweedFS lets every user manage its own access keys (self-service,
		// like AWS's default for console users). The extra key has the same
		// rights, but it is not the one the driver handed out and would
		// survive a key rotation, so EnsureAccess removes it.
		ic := iam.New(iam.Options{Region: seaweed.Region, BaseEndpoint: aws.String(seaweed.Endpoint),
			Credentials: credentials.NewStaticCredentialsProvider(ro.AccessKeyID, ro.SecretAccessKey, ""), RetryMaxAttempts: 1})
		out, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
		if err != nil {
			t.Logf("self-service CreateAccessKey refused (%v): nothing to remove", err)
			return
		}
		minted := s3admin.Access{AccessKeyID: aws.ToString(out.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(out.AccessKey.SecretAccessKey)}
		t.Logf("a read-only user minted its own key %s", minted.AccessKeyID)
		s3check.RequireAllowed(t, "GetObject with the minted key", ops(minted, b).get("seed"))
		if st := admintest.ObserveUser(t, e, ro.User); len(st.AccessKeyIDs) != 2 {
			t.Fatalf("minted key not observed: %+v", st)
		}
		if n := admintest.EnsureRemovingUnissued(t, e, ro); n != 1 {
			t.Fatalf("EnsureAccess removed %d minted keys, want 1", n)
		}
		admintest.WantExactly(t, e, ro)
		s3check.RequireRejected(t, "GetObject with the removed minted key", ops(minted, b).get("seed"))
	})
	t.Run("a replaced key is rejected at once", func(t *testing.T) {
		old := rw
		rw2 := e.Access(t, rw.User, b, s3admin.ModeReadWrite)
		admintest.EnsureRemovingUnissued(t, e, rw2)
		s3check.RequireRejected(t, "ListObjectsV2 with the old key", ops(old, b).List())
		s3check.RequireAllowed(t, "ListObjectsV2 with the new key", ops(rw2, b).List())
		rw = rw2
	})
	t.Run("a changed mode takes effect at once", func(t *testing.T) {
		a := wo
		a.Mode = s3admin.ModeReadOnly
		admintest.Ensure(t, e, a)
		s3check.RequireAllowed(t, "GetObject after write-only became read-only", ops(a, b).get("seed"))
		s3check.RequireDenied(t, "PutObject after write-only became read-only", ops(a, b).put("late"))
		wo = a
	})
	t.Run("an access to a bucket deleted and created again works after its policy is rewritten", func(t *testing.T) {
		// SeaweedFS takes the permissions scoped to a bucket away from every
		// user when the bucket is deleted; the stored policy document stays.
		d := e.Bucket("again")
		admintest.CreateBucket(t, e, d)
		a := e.Access(t, e.User("again"), d, s3admin.ModeReadWrite)
		admintest.Ensure(t, e, a)
		s3check.RequireAllowed(t, "PutObject before the bucket is deleted", ops(a, d).put("before"))
		e.Backdoor.RemoveBucket(t, d)
		admintest.CreateBucket(t, e, d)
		a.RewritePolicy = true
		if !admintest.Ensure(t, e, a) {
			t.Fatal("EnsureAccess with RewritePolicy reported no change")
		}
		admintest.WantExactly(t, e, a)
		s3check.RequireAllowed(t, "PutObject after the policy was rewritten", ops(a, d).put("after"))
		s3check.RequireAllowed(t, "GetObject after the policy was rewritten", ops(a, d).get("after"))
	})
	t.Run("after DeleteUser the key is rejected", func(t *testing.T) {
		admintest.MustNil(t, "DeleteUser", e.Admin.DeleteUser(ctx, ro.User, ""))
		// SeaweedFS reloads the identities its S3 authentication uses after
		// every IAM write, unordered with the write's own update: a reload
		// can show the deleted user for a moment.
		err := ops(ro, b).get("seed")
		for deadline := time.Now().Add(2 * time.Second); err == nil && time.Now().Before(deadline); err = ops(ro, b).get("seed") {
			time.Sleep(100 * time.Millisecond)
		}
		s3check.RequireRejected(t, "GetObject with a deleted user's key", err)
	})
}
