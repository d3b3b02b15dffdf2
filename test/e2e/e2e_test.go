package e2e

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/e2e/framework"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

// purgeOnDelete lets the cleanup of every test delete its buckets with their
// objects; the deletion test checks the default (refuse non-empty) itself.
var purgeOnDelete = map[string]string{"purge": "true"}

func TestClaimAndAccessGiveWorkingCredentials(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	bucketClass := createBucketClass(t, framework.DeletionPolicyDelete, purgeOnDelete)
	accessClass := createAccessClass(t, nil)
	createClaim(t, ns, "data", bucketClass)
	bucket := waitClaimReady(t, ns, "data")
	secretName := createAccess(t, ns, "writer", "data", accessClass)
	a := waitAccessGranted(t, ns, "writer", secretName)

	t.Run("the Bucket names the claim, class and driver", func(t *testing.T) {
		if got := framework.Str(bucket, "spec", "driverName"); got != env.settings.DriverName {
			t.Errorf("spec.driverName = %q, want %q", got, env.settings.DriverName)
		}
		if got := framework.Str(bucket, "spec", "bucketClaim", "name"); got != "data" {
			t.Errorf("spec.bucketClaim.name = %q, want data", got)
		}
		// A Bucket name that is a legal S3 name is used unchanged as the S3
		// bucket: the workload only knows the Bucket name.
		if id := framework.Str(bucket, "status", "bucketID"); id != bucket.GetName() {
			t.Errorf("status.bucketID = %q, want the Bucket name %q", id, bucket.GetName())
		}
	})

	t.Run("the credentials Secret holds BucketInfo", func(t *testing.T) {
		info := a.Info
		if info.Spec.BucketName != bucket.GetName() {
			t.Errorf("BucketInfo spec.bucketName = %q, want %q", info.Spec.BucketName, bucket.GetName())
		}
		if info.Spec.AuthenticationType != "Key" {
			t.Errorf("BucketInfo spec.authenticationType = %q, want Key", info.Spec.AuthenticationType)
		}
		if !slices.Equal(info.Spec.Protocols, []string{"S3"}) {
			t.Errorf("BucketInfo spec.protocols = %v, want [S3]", info.Spec.Protocols)
		}
		if !strings.HasPrefix(a.AccountID, "cosi-") {
			t.Errorf("status.accountID = %q, want a cosi- user", a.AccountID)
		}
		switch ep := info.Spec.S3.Endpoint; {
		case ep == framework.PlaceholderEndpoint:
			t.Logf("the sidecar wrote the placeholder endpoint %s and region %s (v0.1.0 ignores the driver's); workloads must be configured with the real endpoint",
				ep, info.Spec.S3.Region)
		case env.settings.Mode == framework.ModeLocal && ep != env.s3Endpoint:
			t.Errorf("BucketInfo endpoint = %q, want %q or the v0.1.0 placeholder", ep, env.s3Endpoint)
		}
	})

	t.Run("the workload can write and read its bucket", func(t *testing.T) {
		requireS3(t, a)
		roundTrip(t, a)
		ctx := testContext(t)
		if _, err := s3check.List(ctx, a.client(), a.bucket()); err != nil {
			t.Errorf("ListObjectsV2: %v", err)
		}
	})

	t.Run("the credentials reach no other bucket", func(t *testing.T) {
		requireS3(t, a)
		ctx := testContext(t)
		other := a.bucket() + "-other"
		if len(other) > 63 {
			other = a.bucket()[:57] + "-other"
		}
		s3check.RequireDenied(t, "PutObject into another bucket", s3check.Put(ctx, a.client(), other, "x", "x"))
		_, err := a.client().PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(a.bucket()), Policy: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
		s3check.RequireDenied(t, "PutBucketPolicy on its own bucket", err)
	})

	t.Run("the driver created one user for the access", func(t *testing.T) {
		if env.adminIAM == nil {
			t.Skip("no admin identity for the backend")
		}
		requireUser(t, a.AccountID, true)
	})

	if env.local != nil {
		t.Run("neither identity was refused anything", func(t *testing.T) {
			if lines := env.local.ProblemLines(); len(lines) > 0 {
				t.Errorf("RBAC refusals or panics in the logs:\n%s", strings.Join(lines, "\n"))
			}
		})
		t.Run("the driver logged its stamped version when the sidecar asked for its info", func(t *testing.T) {
			// make build stamps `git describe` (or "dev" without git).
			if err := env.local.WaitLog(context.Background(), "driver", 5*time.Second,
				`"msg":"driver info requested"`, `"driverName":"`+env.settings.DriverName+`"`, `"version":"`); err != nil {
				t.Error(err)
			}
			log, err := env.local.Driver.Log()
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(log, "\n") {
				if strings.Contains(line, `"msg":"driver info requested"`) && strings.Contains(line, `"version":""`) {
					t.Errorf("the driver logged an empty version: %s", line)
				}
			}
		})
	}
}

func TestReadOnlyAccessDeniesWrites(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	bucketClass := createBucketClass(t, framework.DeletionPolicyDelete, purgeOnDelete)
	rwClass := createAccessClass(t, nil)
	roClass := createAccessClass(t, map[string]string{"mode": "read-only"})
	createClaim(t, ns, "shared", bucketClass)
	waitClaimReady(t, ns, "shared")
	rw := waitAccessGranted(t, ns, "writer", createAccess(t, ns, "writer", "shared", rwClass))
	ro := waitAccessGranted(t, ns, "reader", createAccess(t, ns, "reader", "shared", roClass))
	if rw.AccountID == ro.AccountID || rw.Info.Spec.S3.AccessKeyID == ro.Info.Spec.S3.AccessKeyID {
		t.Fatalf("two accesses share an account or a key: %s, %s", rw.AccountID, ro.AccountID)
	}
	requireS3(t, ro)

	ctx := testContext(t)
	if err := s3check.Put(ctx, rw.client(), rw.bucket(), "report.txt", "v1"); err != nil {
		t.Fatalf("PutObject as the writer: %v", err)
	}
	got, err := s3check.Get(ctx, ro.client(), ro.bucket(), "report.txt")
	if err != nil || got != "v1" {
		t.Fatalf("GetObject as the reader = %q, %v; want v1", got, err)
	}
	if _, err := s3check.List(ctx, ro.client(), ro.bucket()); err != nil {
		t.Errorf("ListObjectsV2 as the reader: %v", err)
	}
	s3check.RequireDenied(t, "PutObject as the reader", s3check.Put(ctx, ro.client(), ro.bucket(), "report.txt", "v2"))
	s3check.RequireDenied(t, "DeleteObject as the reader", s3check.Delete(ctx, ro.client(), ro.bucket(), "report.txt"))
	if got, err := s3check.Get(ctx, rw.client(), rw.bucket(), "report.txt"); err != nil || got != "v1" {
		t.Errorf("after the denied writes the object is %q, %v; want v1", got, err)
	}
}

func TestDeletedBucketAccessIsRevoked(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	bucketClass := createBucketClass(t, framework.DeletionPolicyDelete, purgeOnDelete)
	accessClass := createAccessClass(t, nil)
	createClaim(t, ns, "data", bucketClass)
	waitClaimReady(t, ns, "data")
	keep := waitAccessGranted(t, ns, "keep", createAccess(t, ns, "keep", "data", accessClass))
	gone := waitAccessGranted(t, ns, "gone", createAccess(t, ns, "gone", "data", accessClass))
	requireS3(t, gone)
	roundTrip(t, gone)

	ctx := testContext(t)
	accesses := env.dyn.Resource(framework.BucketAccessGVR).Namespace(ns)
	if err := accesses.Delete(ctx, "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete bucketaccess: %v", err)
	}
	began := time.Now()
	waitFor(t, "bucketaccess gone to disappear", func(ctx context.Context) error {
		ba, err := accesses.Get(ctx, "gone", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("still there, finalizers %v", ba.GetFinalizers())
	})
	// The sidecar v0.1.0 never calls DriverRevokeBucketAccess: only the
	// driver's collection of accesses whose BucketAccess is gone ends this.
	waitCredentialsRejected(t, gone)
	requireUser(t, gone.AccountID, false)
	t.Logf("revoked %s after %s", gone.AccountID, time.Since(began).Round(time.Millisecond))

	if _, err := env.kube.CoreV1().Secrets(ns).Get(ctx, gone.SecretName, metav1.GetOptions{}); err == nil {
		t.Logf("the credentials Secret %s is still there: the sidecar does not delete it (v0.1.0 never does)", gone.SecretName)
	}

	// The other access of the same bucket is untouched.
	roundTrip(t, keep)
	requireUser(t, keep.AccountID, true)
}

func TestDeletionPolicy(t *testing.T) {
	setup(t)

	t.Run("Delete removes the emptied bucket, every user and every policy", func(t *testing.T) {
		var before []string
		if env.adminIAM != nil {
			var err error
			if before, err = policies(testContext(t)); err != nil {
				t.Fatal(err)
			}
		}
		ns := newNamespace(t)
		bucketClass := createBucketClass(t, framework.DeletionPolicyDelete, nil)
		accessClass := createAccessClass(t, nil)
		createClaim(t, ns, "scratch", bucketClass)
		bucket := waitClaimReady(t, ns, "scratch")
		a := waitAccessGranted(t, ns, "a", createAccess(t, ns, "a", "scratch", accessClass))
		b := waitAccessGranted(t, ns, "b", createAccess(t, ns, "b", "scratch", accessClass))
		requireS3(t, a)
		roundTrip(t, a) // leaves the bucket empty

		deleteClaimAndWait(t, ns, "scratch", true)
		waitCredentialsRejected(t, a)
		waitCredentialsRejected(t, b)
		requireUser(t, a.AccountID, false)
		requireUser(t, b.AccountID, false)
		requireBucket(t, framework.Str(bucket, "status", "bucketID"), false)
		if env.adminIAM != nil {
			waitFor(t, "the accesses' policies to be gone", func(ctx context.Context) error {
				after, err := policies(ctx)
				if err != nil {
					return err
				}
				// Only what appeared since counts: in a shared cluster
				// others may remove policies of their own meanwhile.
				var left []string
				for _, p := range after {
					if !slices.Contains(before, p) {
						left = append(left, p)
					}
				}
				if len(left) > 0 {
					return fmt.Errorf("managed policies created since the claim are still there: %v", left)
				}
				return nil
			})
		}
	})

	t.Run("Delete with purge removes a bucket with its objects", func(t *testing.T) {
		ns := newNamespace(t)
		bucketClass := createBucketClass(t, framework.DeletionPolicyDelete, purgeOnDelete)
		accessClass := createAccessClass(t, nil)
		createClaim(t, ns, "full", bucketClass)
		bucket := waitClaimReady(t, ns, "full")
		a := waitAccessGranted(t, ns, "a", createAccess(t, ns, "a", "full", accessClass))
		requireS3(t, a)
		ctx := testContext(t)
		if err := s3check.Put(ctx, a.client(), a.bucket(), "left-behind.txt", "x"); err != nil {
			t.Fatalf("PutObject: %v", err)
		}

		deleteClaimAndWait(t, ns, "full", true)
		waitCredentialsRejected(t, a)
		requireUser(t, a.AccountID, false)
		requireBucket(t, framework.Str(bucket, "status", "bucketID"), false)
	})

	t.Run("Retain keeps the bucket and its objects", func(t *testing.T) {
		if env.adminS3 == nil {
			// Without it the suite could neither see nor remove the bucket
			// that is kept on purpose.
			t.Skipf("no admin identity for the backend (%s, %s)", envAdminAccessKey, envAdminSecretKey)
		}
		ns := newNamespace(t)
		bucketClass := createBucketClass(t, framework.DeletionPolicyRetain, nil)
		accessClass := createAccessClass(t, nil)
		createClaim(t, ns, "keep", bucketClass)
		bucket := waitClaimReady(t, ns, "keep")
		bucketID := framework.Str(bucket, "status", "bucketID")
		a := waitAccessGranted(t, ns, "a", createAccess(t, ns, "a", "keep", accessClass))
		requireS3(t, a)
		ctx := testContext(t)
		if err := s3check.Put(ctx, a.client(), a.bucket(), "precious.txt", "keep me"); err != nil {
			t.Fatalf("PutObject: %v", err)
		}

		deleteClaimAndWait(t, ns, "keep", true)
		// Give the driver two resyncs in which it could (wrongly) act.
		time.Sleep(5 * time.Second)
		requireBucket(t, bucketID, true)
		got, err := s3check.Get(ctx, env.adminS3, bucketID, "precious.txt")
		if err != nil || got != "keep me" {
			t.Errorf("retained object = %q, %v; want %q", got, err, "keep me")
		}
		// The sidecar deletes the BucketAccesses of a deleted Bucket
		// whatever the policy, so the access is revoked like any other whose
		// BucketAccess is gone; the bucket stays.
		waitCredentialsRejected(t, a)
		requireUser(t, a.AccountID, false)
		t.Cleanup(func() { purgeRetained(t, bucketID) })
	})
}

// purgeRetained removes a retained bucket and its objects with the admin
// identity, so that a cluster run leaves nothing behind.
func purgeRetained(t *testing.T, bucket string) {
	ctx := context.Background()
	keys, err := s3check.List(ctx, env.adminS3, bucket)
	if err != nil {
		t.Logf("list retained bucket %s: %v", bucket, err)
		return
	}
	for _, key := range keys {
		_ = s3check.Delete(ctx, env.adminS3, bucket, key)
	}
	if _, err := env.adminS3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Logf("delete retained bucket %s: %v", bucket, err)
	}
}

func TestRestartChangesNothing(t *testing.T) {
	setup(t)
	if env.restart == nil {
		t.Skip(errNoRestart)
	}
	ns := newNamespace(t)
	bucketClass := createBucketClass(t, framework.DeletionPolicyDelete, purgeOnDelete)
	accessClass := createAccessClass(t, nil)
	createClaim(t, ns, "data", bucketClass)
	waitClaimReady(t, ns, "data")
	first := waitAccessGranted(t, ns, "first", createAccess(t, ns, "first", "data", accessClass))
	requireS3(t, first)
	roundTrip(t, first)
	ctx := testContext(t)
	var before []string
	if env.adminIAM != nil {
		var err error
		if before, err = users(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// A second access is asked for while the components are down or being
	// replaced: the sidecar's first attempts fail, a later one succeeds.
	var secondSecret string
	began := time.Now()
	if err := env.restart(t, func() {
		secondSecret = createAccess(t, ns, "second", "data", accessClass)
		awaitFailedGrant(t, "second")
	}); err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Logf("restarted the driver and the sidecar in %s", time.Since(began).Round(time.Millisecond))
	second := waitAccessGranted(t, ns, "second", secondSecret)
	t.Logf("the access asked for during the restart was granted %s after the restart began", time.Since(began).Round(time.Millisecond))

	t.Run("the first access keeps its Secret and its key", func(t *testing.T) {
		s, err := env.kube.CoreV1().Secrets(ns).Get(ctx, first.SecretName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(s.Data[framework.BucketInfoKey], first.Secret.Data[framework.BucketInfoKey]) {
			t.Error("the credentials Secret of the first access changed across the restart")
		}
		roundTrip(t, first)
	})
	t.Run("the second access works", func(t *testing.T) { roundTrip(t, second) })

	t.Run("the users are the same plus the new one", func(t *testing.T) {
		if env.adminIAM == nil {
			t.Skip("no admin identity for the backend")
		}
		// Wait past two resyncs: a driver that lost track of a user would
		// collect or recreate it in one.
		time.Sleep(5 * time.Second)
		after, err := users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := append(slices.Clone(before), second.AccountID)
		slices.Sort(want)
		if !slices.Equal(after, want) {
			t.Errorf("users after the restart:\n  %v\nwant:\n  %v", after, want)
		}
	})

	if env.local != nil {
		t.Run("a driver restart alone is picked up by the running sidecar", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			env.local.StopDriver()
			thirdSecret := createAccess(t, ns, "third", "data", accessClass)
			awaitFailedGrant(t, "third")
			if err := env.local.StartDriver(ctx); err != nil {
				t.Fatalf("start driver: %v", err)
			}
			third := waitAccessGranted(t, ns, "third", thirdSecret)
			roundTrip(t, third)
			roundTrip(t, first)
		})
	}
}

func TestLongBucketNameIsMapped(t *testing.T) {
	setup(t)
	if env.settings.Mode == framework.ModeCluster {
		// The controller v0.2 names Buckets bucket-<claim UID>, never too long.
		t.Skip("depends on the controller v0.1.0 naming the suite uses in local mode")
	}
	ns := newNamespace(t)
	// <class name><claim UID> is 36 characters longer than the class name:
	// well over the 63 characters S3 allows.
	name := "e2e-a-bucket-class-with-a-long-name-" + suffix(6)
	createCluster(t, framework.NewBucketClass(name, env.settings.DriverName, framework.DeletionPolicyDelete, purgeOnDelete))
	accessClass := createAccessClass(t, nil)
	createClaim(t, ns, "long", name)
	bucket := waitClaimReady(t, ns, "long")
	id := framework.Str(bucket, "status", "bucketID")
	if len(id) > 63 || id == bucket.GetName() {
		t.Fatalf("Bucket %s (%d characters) got bucketID %q, want a mapped name of at most 63", bucket.GetName(), len(bucket.GetName()), id)
	}
	requireBucket(t, id, true)
	a := waitAccessGranted(t, ns, "a", createAccess(t, ns, "a", "long", accessClass))
	// The workload only finds the Bucket name in BucketInfo; the S3 name is
	// in the Bucket's status.bucketID, which it cannot read.
	if a.Info.Spec.BucketName != bucket.GetName() {
		t.Errorf("BucketInfo bucketName = %q, want the Bucket name", a.Info.Spec.BucketName)
	}
	ctx := testContext(t)
	if err := s3check.Put(ctx, a.client(), id, "k", "v"); err != nil {
		t.Errorf("PutObject into the mapped bucket %s: %v", id, err)
	}
}

// awaitFailedGrant waits, in local mode, until the sidecar has tried to grant
// the access and failed because the driver was down, so that what follows
// really is a retry.
func awaitFailedGrant(t *testing.T, accessName string) {
	t.Helper()
	if env.local == nil {
		return
	}
	err := env.local.WaitLog(context.Background(), "sidecar", 30*time.Second,
		`"Failed to grant access"`, `bucketAccess="`+accessName+`"`)
	if err != nil {
		t.Fatalf("the sidecar did not try to grant %s while the driver was down: %v", accessName, err)
	}
}
