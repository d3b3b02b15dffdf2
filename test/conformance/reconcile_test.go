package conformance

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// TestDriftRepairAndGarbageCollection: the sidecar never calls again for a
// ready Bucket or BucketAccess, so what is changed in SeaweedFS behind the
// driver's back is repaired by the driver's own resync, within a few resync
// periods; what the driver owns without a record is removed; what it does not
// own is never touched.
func TestDriftRepairAndGarbageCollection(t *testing.T) {
	e := mustEnv(t)
	bucket := e.mustCreateBucket(t, bucketName(), nil)
	a := e.mustGrant(t, bucket, nil)

	t.Run("A bucket deleted out of band is re-created and marked as the driver's", func(t *testing.T) {
		if _, err := e.s3.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatalf("admin DeleteBucket: %v", err)
		}
		stack.Eventually(t, repairWithin, func() error {
			if !e.bucketExists(t, bucket) {
				return fmt.Errorf("bucket %s was not re-created", bucket)
			}
			// Right after the deletion the gateway may still answer
			// HeadBucket from its cache while the bucket's entry is gone
			// (NoSuchBucket): not re-created yet.
			o, err := e.ownerOf(t, bucket)
			if err != nil {
				return err
			}
			if o != e.ownerID {
				return fmt.Errorf("re-created bucket has owner tag %q", o)
			}
			return nil
		})
		stack.Eventually(t, repairWithin, func() error {
			return s3check.Put(ctx(t), a.s3(), bucket, "after-repair.txt", "ok")
		})
	})

	t.Run("A user deleted out of band is re-created with the same credentials", func(t *testing.T) {
		e.deleteUserOutOfBand(t, a.account)
		stack.Eventually(t, repairWithin, func() error {
			if !e.userExists(t, a.account) {
				return fmt.Errorf("user %s was not re-created", a.account)
			}
			if keys := e.keyIDs(t, a.account); !slices.Equal(keys, []string{a.keyID}) {
				return fmt.Errorf("keys of the re-created user = %v, want the recorded %s", keys, a.keyID)
			}
			return nil
		})
		// The workload's existing Secret works again without any change.
		stack.Eventually(t, repairWithin, func() error {
			if err := s3check.Put(ctx(t), a.s3(), bucket, "old-key.txt", "works"); err != nil {
				return fmt.Errorf("put with the original key: %w", err)
			}
			return nil
		})
	})

	t.Run("An access whose BucketAccess was deleted without a Revoke call is revoked", func(t *testing.T) {
		// The COSI sidecar v0.1.0 never calls Revoke: only the driver's own
		// resync keeps a deleted BucketAccess from leaving a working key.
		grantName, object := e.bucketAccess(t)
		resp, err := e.grant(t, grantRequest(bucket, grantName, nil))
		requireOK(t, err, "DriverGrantBucketAccess")
		gone := accessFrom(resp)
		if _, err := s3check.List(ctx(t), gone.s3(), bucket); err != nil {
			t.Fatalf("list before the BucketAccess is deleted: %v", err)
		}
		e.deleteBucketAccess(t, object)
		stack.Eventually(t, repairWithin, func() error {
			if e.userExists(t, gone.account) {
				return fmt.Errorf("user %s of the deleted BucketAccess still exists", gone.account)
			}
			if rec := accessRecordOf(gone); e.accessRecordExists(t, rec) {
				return fmt.Errorf("access record %s still exists", rec)
			}
			return nil
		})
		requireKeyRejected(t, gone, bucket)
		// An access whose BucketAccess still exists is kept.
		if _, err := s3check.List(ctx(t), a.s3(), bucket); err != nil {
			t.Errorf("the other access of the bucket stopped working: %v", err)
		}
	})

	t.Run("An owned user without a record is deleted; a foreign user and a foreign bucket are untouched", func(t *testing.T) {
		orphan := userPrefix + randomHex(32)
		e.createUserOutOfBand(t, orphan)
		const alice = "alice"
		aliceKey := e.createUserOutOfBand(t, alice)
		t.Cleanup(func() { e.deleteUserOutOfBand(t, alice) })
		foreign := "foreign-" + randomHex(12)
		e.foreignBucket(t, foreign)

		stack.Eventually(t, repairWithin, func() error {
			if e.userExists(t, orphan) {
				return fmt.Errorf("owned user %s without a record still exists", orphan)
			}
			return nil
		})
		// Collection happened, so a resync ran; one more resync period shows
		// it does not reach further later either.
		time.Sleep(resyncPeriod + resyncPeriod/2)
		if keys := e.keyIDs(t, alice); !e.userExists(t, alice) || !slices.Equal(keys, []string{aliceKey}) {
			t.Errorf("foreign user %s: keys %v, want her own key %s", alice, keys, aliceKey)
		}
		if !e.bucketExists(t, foreign) {
			t.Fatalf("foreign bucket %s is gone", foreign)
		}
		if body, err := e.objectBody(t, foreign, "foreign.txt"); err != nil || body != "not the driver's" {
			t.Errorf("the foreign bucket's object: %q, %v", body, err)
		}
		if o := e.owner(t, foreign); o != "" {
			t.Errorf("foreign bucket got owner tag %q", o)
		}
	})

	t.Run("An access whose bucket record was removed out of band is revoked", func(t *testing.T) {
		orphanBucket := e.mustCreateBucket(t, bucketName(), nil)
		orphan := e.mustGrant(t, orphanBucket, nil)
		// Remove the bucket record the way no driver path does: drop the
		// finalizer, then delete it.
		rec := names.BucketRecord(orphanBucket)
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		if _, err := e.kube.CoreV1().ConfigMaps(driverNamespace).Patch(ctx(t), rec, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatalf("remove finalizer: %v", err)
		}
		if err := e.kube.CoreV1().ConfigMaps(driverNamespace).Delete(ctx(t), rec, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("delete bucket record: %v", err)
		}
		stack.Eventually(t, repairWithin, func() error {
			if e.userExists(t, orphan.account) {
				return fmt.Errorf("user %s of the access still exists", orphan.account)
			}
			if e.accessRecordExists(t, names.AccessRecord(strings.TrimPrefix(orphan.account, userPrefix))) {
				return errors.New("the access record still exists")
			}
			return nil
		})
		if err := s3check.Put(ctx(t), orphan.s3(), orphanBucket, "x.txt", "x"); err == nil {
			t.Error("the revoked key can still write")
		}
	})

	// Without a record, only the creator SeaweedFS recorded proves a bucket
	// the driver's, and only the filer shows it: on the IAM query API path
	// such buckets are left in place (see plan.Claimed).
	t.Run("An owned empty bucket without a record is deleted where its creator can be read (and kept otherwise); an owned bucket holding data is kept", func(t *testing.T) {
		empty, full := "orphan-"+randomHex(12), "orphan-"+randomHex(12)
		for _, b := range []string{empty, full} {
			e.foreignBucket(t, b)
			_, err := e.s3.PutBucketTagging(ctx(t), &s3.PutBucketTaggingInput{
				Bucket:  aws.String(b),
				Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String(ownerTag), Value: aws.String(e.ownerID)}}},
			})
			if err != nil {
				t.Fatalf("admin PutBucketTagging(%s): %v", b, err)
			}
		}
		e.emptyBucket(t, empty)
		if e.path == stack.FilerGRPC {
			stack.Eventually(t, repairWithin, func() error {
				if e.bucketExists(t, empty) {
					return errors.New("the empty owned bucket without a record still exists")
				}
				return nil
			})
		} else {
			// Long enough for two resync passes to have looked at it.
			time.Sleep(2*resyncPeriod + time.Second)
			if !e.bucketExists(t, empty) {
				t.Error("an empty bucket without record was collected although its creator cannot be read on this path")
			}
		}
		time.Sleep(resyncPeriod)
		if body, err := e.objectBody(t, full, "foreign.txt"); err != nil || body != "not the driver's" {
			t.Errorf("the owned bucket holding data lost it: %q, %v", body, err)
		}
	})
}

// createUserOutOfBand creates a user with one key through the admin IAM API
// and returns the key id.
func (e *environment) createUserOutOfBand(t *testing.T, user string) string {
	t.Helper()
	if _, err := e.iam.CreateUser(ctx(t), &iam.CreateUserInput{UserName: aws.String(user)}); err != nil {
		t.Fatalf("admin CreateUser(%s): %v", user, err)
	}
	out, err := e.iam.CreateAccessKey(ctx(t), &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatalf("admin CreateAccessKey(%s): %v", user, err)
	}
	return aws.ToString(out.AccessKey.AccessKeyId)
}
