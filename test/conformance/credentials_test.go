package conformance

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/grpcapi"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

// TestCredentialsScope: the credentials of an access reach their own bucket,
// in their own mode, and nothing else.
func TestCredentialsScope(t *testing.T) {
	e := mustEnv(t)
	name := bucketName()
	own := e.mustCreateBucket(t, name, map[string]string{grpcapi.ParamPurge: "true"})
	// Buckets of the same driver, two of them named with own's name as a
	// prefix: a policy with a wildcard after the bucket name would reach them.
	others := []string{
		e.mustCreateBucket(t, bucketName(), nil),
		e.mustCreateBucket(t, name+"-other", nil),
		e.mustCreateBucket(t, name+"2", nil),
	}
	for _, b := range others {
		e.putObject(t, b, "secret.txt", "not yours")
	}
	e.putObject(t, own, "seed.txt", "seed")
	rw := e.mustGrant(t, own, nil)
	ro := e.mustGrant(t, own, map[string]string{grpcapi.ParamMode: "read-only"})
	wo := e.mustGrant(t, own, map[string]string{grpcapi.ParamMode: "write-only"})

	t.Run("Read-write credentials can put, get, list and delete objects in their own bucket", func(t *testing.T) {
		c := rw.s3()
		if err := s3check.Put(ctx(t), c, own, "rw.txt", "written"); err != nil {
			t.Fatalf("put: %v", err)
		}
		if body, err := s3check.Get(ctx(t), c, own, "rw.txt"); err != nil || body != "written" {
			t.Errorf("get: %q, %v", body, err)
		}
		keys, err := s3check.List(ctx(t), c, own)
		if err != nil || !slices.Contains(keys, "rw.txt") {
			t.Errorf("list: %v, %v", keys, err)
		}
		if err := s3check.Delete(ctx(t), c, own, "rw.txt"); err != nil {
			t.Errorf("delete: %v", err)
		}
	})

	t.Run("Credentials are denied on every other bucket, including those whose names start with their bucket's name", func(t *testing.T) {
		for _, a := range []access{rw, ro, wo} {
			c := a.s3()
			for _, b := range others {
				_, err := s3check.List(ctx(t), c, b)
				s3check.RequireDenied(t, fmt.Sprintf("%s list %s", a.account, b), err)
				_, err = s3check.Get(ctx(t), c, b, "secret.txt")
				s3check.RequireDenied(t, fmt.Sprintf("%s get %s/secret.txt", a.account, b), err)
				s3check.RequireDenied(t, fmt.Sprintf("%s put into %s", a.account, b), s3check.Put(ctx(t), c, b, "intruder.txt", "x"))
			}
		}
	})

	t.Run("Read-only credentials can get and list but cannot put or delete", func(t *testing.T) {
		c := ro.s3()
		if body, err := s3check.Get(ctx(t), c, own, "seed.txt"); err != nil || body != "seed" {
			t.Errorf("get: %q, %v", body, err)
		}
		if _, err := s3check.List(ctx(t), c, own); err != nil {
			t.Errorf("list: %v", err)
		}
		s3check.RequireDenied(t, "read-only put", s3check.Put(ctx(t), c, own, "ro.txt", "x"))
		s3check.RequireDenied(t, "read-only delete", s3check.Delete(ctx(t), c, own, "seed.txt"))
	})

	t.Run("Write-only credentials can put but cannot get or list", func(t *testing.T) {
		c := wo.s3()
		if err := s3check.Put(ctx(t), c, own, "wo.txt", "dropped"); err != nil {
			t.Errorf("put: %v", err)
		}
		_, err := s3check.Get(ctx(t), c, own, "seed.txt")
		s3check.RequireDenied(t, "write-only get", err)
		_, err = s3check.List(ctx(t), c, own)
		s3check.RequireDenied(t, "write-only list", err)
	})

	t.Run("Credentials cannot make their bucket public or delete it", func(t *testing.T) {
		c := rw.s3()
		public := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`, own)
		_, err := c.PutBucketPolicy(ctx(t), &s3.PutBucketPolicyInput{Bucket: aws.String(own), Policy: aws.String(public)})
		s3check.RequireDenied(t, "PutBucketPolicy", err)
		_, err = c.PutBucketAcl(ctx(t), &s3.PutBucketAclInput{Bucket: aws.String(own), ACL: s3types.BucketCannedACLPublicRead})
		s3check.RequireDenied(t, "PutBucketAcl", err)
		_, err = c.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(own)})
		s3check.RequireDenied(t, "DeleteBucket", err)
		if !e.bucketExists(t, own) {
			t.Fatalf("bucket %s is gone", own)
		}
	})

	t.Run("Revoked credentials are rejected", func(t *testing.T) {
		requireOK(t, e.revoke(t, own, ro.account), "DriverRevokeBucketAccess")
		requireKeyRejected(t, ro, own)
		// The bucket's other accesses are untouched.
		if _, err := s3check.List(ctx(t), rw.s3(), own); err != nil {
			t.Errorf("read-write list after revoking the read-only access: %v", err)
		}
	})

	t.Run("Deleting the bucket removes the users of its accesses", func(t *testing.T) {
		requireOK(t, e.deleteBucket(t, own), "DriverDeleteBucket")
		for _, a := range []access{rw, wo} {
			if e.userExists(t, a.account) {
				t.Errorf("user %s still exists", a.account)
			}
			requireKeyRejected(t, a, others[0])
		}
	})
}
