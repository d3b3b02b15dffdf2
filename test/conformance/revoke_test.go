package conformance

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/google/go-cmp/cmp"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

func TestRevokeBucketAccess(t *testing.T) {
	e := mustEnv(t)
	bucket := e.mustCreateBucket(t, bucketName(), nil)

	t.Run("Revoke of an account the driver never issued returns OK and touches nothing", func(t *testing.T) {
		beforeB, beforeR := e.backend(t), e.records(t)
		for _, account := range []string{userPrefix + randomHex(32), "alice", userPrefix + "not-ours"} {
			requireOK(t, e.revoke(t, bucket, account), "DriverRevokeBucketAccess("+account+")")
		}
		if d := cmp.Diff(beforeB, e.backend(t)); d != "" {
			t.Errorf("SeaweedFS changed (-before +after):\n%s", d)
		}
		if d := cmp.Diff(beforeR, e.records(t)); d != "" {
			t.Errorf("records changed (-before +after):\n%s", d)
		}
	})

	t.Run("Revoke removes the user, all its keys and its policies, and the old keys are rejected", func(t *testing.T) {
		beforeGrant := e.backend(t)
		a := e.mustGrant(t, bucket, nil)
		if _, err := s3check.List(ctx(t), a.s3(), bucket); err != nil {
			t.Fatalf("list before revoking: %v", err)
		}
		// A second key added out of band must go with the user too.
		extra, err := e.iam.CreateAccessKey(ctx(t), &iam.CreateAccessKeyInput{UserName: aws.String(a.account)})
		if err != nil {
			t.Fatalf("admin CreateAccessKey: %v", err)
		}
		extraAccess := a
		extraAccess.keyID = aws.ToString(extra.AccessKey.AccessKeyId)
		extraAccess.secret = aws.ToString(extra.AccessKey.SecretAccessKey)

		requireOK(t, e.revoke(t, bucket, a.account), "DriverRevokeBucketAccess")
		// At once, not eventually: Revoke answers only after SeaweedFS
		// refuses the key (its gateway takes the deleted user in
		// asynchronously).
		_, err = s3check.List(ctx(t), a.s3(), bucket)
		if code := s3check.ErrorCode(err); code != "InvalidAccessKeyId" {
			t.Errorf("the first request with the revoked key after Revoke answered: %v (code %q), want InvalidAccessKeyId", err, code)
		}
		if e.userExists(t, a.account) {
			t.Errorf("user %s still exists", a.account)
		}
		if keys := e.keyIDs(t, a.account); len(keys) != 0 {
			t.Errorf("user %s still has keys %v", a.account, keys)
		}
		// On the filer path the grant was a managed policy of its own: it
		// must go with the user, or every revoked access leaves one behind.
		if d := cmp.Diff(beforeGrant, e.backend(t)); d != "" {
			t.Errorf("SeaweedFS is not as before the grant (-before +after):\n%s", d)
		}
		requireKeyRejected(t, a, bucket)
		requireKeyRejected(t, extraAccess, bucket)
		if rec := accessRecordOf(a); e.accessRecordExists(t, rec) {
			t.Errorf("access record %s still exists", rec)
		}

		t.Run("A repeated Revoke returns OK", func(t *testing.T) {
			beforeB := e.backend(t)
			requireOK(t, e.revoke(t, bucket, a.account), "second DriverRevokeBucketAccess")
			if d := cmp.Diff(beforeB, e.backend(t)); d != "" {
				t.Errorf("SeaweedFS changed (-before +after):\n%s", d)
			}
		})
	})
}
