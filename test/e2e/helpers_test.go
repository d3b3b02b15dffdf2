package e2e

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/e2e/framework"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// suffix returns n random lower-case letters and digits: object names of
// one test never collide with another's, in a kept cluster either.
func suffix(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls check until it passes or the suite's timeout ends, and then
// fails the test with the last reason.
func waitFor(t *testing.T, what string, check func(context.Context) error) {
	t.Helper()
	if err := waitForErr(what, env.settings.Timeout, check); err != nil {
		t.Fatal(err)
	}
}

func waitForErr(what string, timeout time.Duration, check func(context.Context) error) error {
	began := time.Now()
	// The last reason that was not the deadline itself says what was missing.
	var last error
	err := stack.WaitFor(context.Background(), nil, timeout, func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		err := check(cctx)
		if err != nil && ctx.Err() == nil {
			last = err
		}
		return err
	})
	if err != nil {
		if last == nil {
			last = err
		}
		return fmt.Errorf("waiting for %s: not done after %s: %w", what, time.Since(began).Round(time.Millisecond), last)
	}
	return nil
}

// newNamespace returns a fresh namespace for one test. In cluster mode it is
// deleted at the end; in local mode no namespace controller runs that could
// finish a deletion, and the whole stack goes away anyway.
func newNamespace(t *testing.T) string {
	t.Helper()
	ctx := testContext(t)
	name := "e2e-" + suffix(8)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := env.kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	if env.settings.Mode == framework.ModeCluster {
		t.Cleanup(func() {
			_ = env.kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
		})
	}
	return name
}

// createBucketClass creates a BucketClass and deletes it at the end. Its name
// is short on purpose: the controller v0.1.0 names a Bucket <class><claim
// UID> (36 characters), and only a name of at most 63 characters is used as
// the S3 bucket name unchanged.
func createBucketClass(t *testing.T, deletionPolicy string, params map[string]string) string {
	t.Helper()
	name := "e2e-" + suffix(6)
	createCluster(t, framework.NewBucketClass(name, env.settings.DriverName, deletionPolicy, params))
	return name
}

func createAccessClass(t *testing.T, params map[string]string) string {
	t.Helper()
	name := "e2e-" + suffix(6)
	createCluster(t, framework.NewBucketAccessClass(name, env.settings.DriverName, "Key", params))
	return name
}

func createCluster(t *testing.T, obj *unstructured.Unstructured) {
	t.Helper()
	ctx := testContext(t)
	if _, err := framework.Create(ctx, env.dyn, obj); err != nil {
		t.Fatal(err)
	}
	gvr, _ := framework.GVRFor(obj.GetKind())
	t.Cleanup(func() {
		err := env.dyn.Resource(gvr).Delete(context.Background(), obj.GetName(), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	})
}

// createClaim creates a BucketClaim and, at the end, deletes it and waits
// until it is gone, so that its bucket and users are cleaned up the way a
// user's deletion would.
func createClaim(t *testing.T, ns, name, class string) {
	t.Helper()
	ctx := testContext(t)
	if _, err := framework.Create(ctx, env.dyn, framework.NewBucketClaim(ns, name, class)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteClaimAndWait(t, ns, name, false) })
}

// deleteClaimAndWait deletes a claim and waits until the claim is gone. A
// Bucket left with finalizers afterwards is released (see README: the sidecar
// v0.1.0 never removes them); fatal chooses t.Fatalf over t.Errorf.
func deleteClaimAndWait(t *testing.T, ns, name string, fatal bool) {
	t.Helper()
	report := t.Errorf
	if fatal {
		report = t.Fatalf
	}
	ctx := context.Background()
	claims := env.dyn.Resource(framework.BucketClaimGVR).Namespace(ns)
	claim, err := claims.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		report("get claim %s/%s: %v", ns, name, err)
		return
	}
	bucketName := framework.Str(claim, "status", "bucketName")
	if err := claims.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		report("delete claim %s/%s: %v", ns, name, err)
		return
	}
	err = waitForErr("claim "+ns+"/"+name+" to be gone", env.settings.Timeout, func(ctx context.Context) error {
		c, err := claims.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("still there, finalizers %v", c.GetFinalizers())
	})
	if err != nil {
		report("%v", err)
		return
	}
	if bucketName != "" {
		releaseBucket(t, bucketName)
	}
}

// releaseBucket removes the finalizers of a Bucket that is being deleted once
// nothing will remove them any more.
func releaseBucket(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	buckets := env.dyn.Resource(framework.BucketGVR)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		b, err := buckets.Get(ctx, name, metav1.GetOptions{})
		if err != nil || b.GetDeletionTimestamp() == nil || len(b.GetFinalizers()) == 0 {
			return err
		}
		t.Logf("Bucket %s kept finalizers %v after its claim was gone; removing them", name, b.GetFinalizers())
		b.SetFinalizers(nil)
		_, err = buckets.Update(ctx, b, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("release bucket %s: %v", name, err)
	}
}

// createAccess creates a BucketAccess whose Secret is named after it, and
// deletes both at the end.
func createAccess(t *testing.T, ns, name, claim, class string) (secretName string) {
	t.Helper()
	ctx := testContext(t)
	secretName = name + "-creds"
	ba := framework.NewBucketAccess(ns, name, claim, class, secretName)
	if env.settings.PresetFinalizers {
		ba.SetFinalizers([]string{framework.FinalizerBucketAccess})
	}
	if _, err := framework.Create(ctx, env.dyn, ba); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		err := env.dyn.Resource(framework.BucketAccessGVR).Namespace(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete bucketaccess %s/%s: %v", ns, name, err)
		}
		deleteSecret(t, ns, secretName)
	})
	return secretName
}

// deleteSecret deletes a credentials Secret, removing a finalizer the sidecar
// left on it: v0.1.0 never deletes the Secret itself, and removes its
// finalizer only on some BucketAccess updates (concurrently with this).
func deleteSecret(t *testing.T, ns, name string) {
	t.Helper()
	ctx := context.Background()
	secrets := env.kube.CoreV1().Secrets(ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if err != nil || len(s.Finalizers) == 0 {
			return err
		}
		s.Finalizers = nil
		_, err = secrets.Update(ctx, s, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("remove finalizers of secret %s/%s: %v", ns, name, err)
	}
	if err := secrets.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete secret %s/%s: %v", ns, name, err)
	}
}

// waitClaimReady waits until the claim and its Bucket are ready and returns
// the Bucket.
func waitClaimReady(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	var bucket *unstructured.Unstructured
	waitFor(t, "claim "+ns+"/"+name+" to be ready", func(ctx context.Context) error {
		claim, err := env.dyn.Resource(framework.BucketClaimGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		bucketName := framework.Str(claim, "status", "bucketName")
		if bucketName == "" {
			return errors.New("claim has no status.bucketName yet")
		}
		if bucket, err = env.dyn.Resource(framework.BucketGVR).Get(ctx, bucketName, metav1.GetOptions{}); err != nil {
			return err
		}
		if !framework.Bool(bucket, "status", "bucketReady") || framework.Str(bucket, "status", "bucketID") == "" {
			return fmt.Errorf("Bucket %s is not ready yet", bucketName)
		}
		if !framework.Bool(claim, "status", "bucketReady") {
			// With the real controller v0.2.2 a claim can stay unready although
			// its Bucket is ready (it overwrites bucketReady with false); say so.
			return fmt.Errorf("Bucket %s is ready but the claim's status.bucketReady is still false", bucketName)
		}
		return nil
	})
	return bucket
}

// access is a granted BucketAccess as the suite sees it.
type access struct {
	Name       string
	AccountID  string
	SecretName string
	Secret     *corev1.Secret
	Info       *framework.BucketInfo
}

// waitAccessGranted waits until the sidecar marked the access granted and
// wrote its credentials Secret.
func waitAccessGranted(t *testing.T, ns, name, secretName string) *access {
	t.Helper()
	a := &access{Name: name, SecretName: secretName}
	waitFor(t, "bucketaccess "+ns+"/"+name+" to be granted", func(ctx context.Context) error {
		ba, err := env.dyn.Resource(framework.BucketAccessGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !framework.Bool(ba, "status", "accessGranted") {
			return errors.New("status.accessGranted is not true yet")
		}
		if a.AccountID = framework.Str(ba, "status", "accountID"); a.AccountID == "" {
			return errors.New("status.accountID is empty")
		}
		if a.Secret, err = env.kube.CoreV1().Secrets(ns).Get(ctx, secretName, metav1.GetOptions{}); err != nil {
			return fmt.Errorf("credentials secret: %w", err)
		}
		return nil
	})
	info, err := framework.ParseBucketInfo(a.Secret)
	if err != nil {
		t.Fatal(err)
	}
	a.Info = info
	return a
}

// client is the S3 client the workload holding the access would use.
func (a *access) client() *s3.Client { return a.Info.Client(env.s3Endpoint) }

// bucket is the bucket name the workload reads from its Secret.
func (a *access) bucket() string { return a.Info.Spec.BucketName }

// requireS3 skips a test that must talk to S3 as a workload when it cannot:
// in cluster mode with the sidecar v0.1.0 the Secret names a placeholder
// endpoint, and E2E_S3_ENDPOINT must say where S3 really is.
func requireS3(t *testing.T, a *access) {
	t.Helper()
	if env.s3Endpoint == "" && a.Info.Spec.S3.Endpoint == framework.PlaceholderEndpoint {
		t.Skipf("the credentials Secret names %s (sidecar v0.1.0); set %s to run the S3 checks",
			framework.PlaceholderEndpoint, framework.EnvS3Endpoint)
	}
}

// roundTrip writes, reads back and deletes an object as the workload would.
func roundTrip(t *testing.T, a *access) {
	t.Helper()
	ctx := testContext(t)
	c, bucket := a.client(), a.bucket()
	key, body := "e2e/"+suffix(6)+".txt", "written with the credentials of "+a.Name
	if err := s3check.Put(ctx, c, bucket, key, body); err != nil {
		t.Fatalf("PutObject with the issued credentials: %v", err)
	}
	got, err := s3check.Get(ctx, c, bucket, key)
	if err != nil {
		t.Fatalf("GetObject with the issued credentials: %v", err)
	}
	if got != body {
		t.Fatalf("GetObject = %q, want %q", got, body)
	}
	if err := s3check.Delete(ctx, c, bucket, key); err != nil {
		t.Fatalf("DeleteObject with the issued credentials: %v", err)
	}
}

// waitCredentialsRejected waits until S3 refuses the access's key.
func waitCredentialsRejected(t *testing.T, a *access) {
	t.Helper()
	c, bucket := a.client(), a.bucket()
	waitFor(t, "the credentials of "+a.Name+" to be rejected", func(ctx context.Context) error {
		_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(1)})
		if err == nil {
			return errors.New("the credentials still work")
		}
		if s3check.HTTPStatus(err) != http.StatusForbidden {
			return fmt.Errorf("unexpected error: %w", err)
		}
		return nil
	})
}

// userExists asks SeaweedFS's IAM API whether a user exists.
func userExists(ctx context.Context, name string) (bool, error) {
	_, err := env.adminIAM.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(name)})
	var nse *iamtypes.NoSuchEntityException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &nse):
		return false, nil
	}
	return false, fmt.Errorf("GetUser %s: %w", name, err)
}

// users lists every SeaweedFS user name, sorted.
func users(ctx context.Context) ([]string, error) {
	var names []string
	p := iam.NewListUsersPaginator(env.adminIAM, &iam.ListUsersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListUsers: %w", err)
		}
		for _, u := range page.Users {
			names = append(names, aws.ToString(u.UserName))
		}
	}
	sort.Strings(names)
	return names, nil
}

// policies lists every SeaweedFS managed policy by name, sorted. On the
// filer path each access's grant is one (named after its user), which must
// go when the access does.
func policies(ctx context.Context) ([]string, error) {
	names := []string{}
	p := iam.NewListPoliciesPaginator(env.adminIAM, &iam.ListPoliciesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListPolicies: %w", err)
		}
		for _, pol := range page.Policies {
			names = append(names, aws.ToString(pol.PolicyName))
		}
	}
	sort.Strings(names)
	return names, nil
}

// bucketExists asks SeaweedFS with the admin identity whether a bucket exists.
func bucketExists(ctx context.Context, name string) (bool, error) {
	_, err := env.adminS3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
	switch {
	case err == nil:
		return true, nil
	case s3check.HTTPStatus(err) == http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("HeadBucket %s: %w", name, err)
}

// requireUser checks, when the suite can see the backend, that the user of
// an access exists (want true) or is gone (want false), waiting for it.
func requireUser(t *testing.T, accountID string, want bool) {
	t.Helper()
	if env.adminIAM == nil {
		return
	}
	state := map[bool]string{true: "exist", false: "be gone"}[want]
	waitFor(t, "user "+accountID+" to "+state, func(ctx context.Context) error {
		got, err := userExists(ctx, accountID)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("user exists = %v", got)
		}
		return nil
	})
}

// requireBucket checks, when the suite can see the backend, that a bucket
// exists (want true) or is gone (want false), waiting for it.
func requireBucket(t *testing.T, name string, want bool) {
	t.Helper()
	if env.adminS3 == nil {
		return
	}
	state := map[bool]string{true: "exist", false: "be gone"}[want]
	waitFor(t, "bucket "+name+" to "+state, func(ctx context.Context) error {
		got, err := bucketExists(ctx, name)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("bucket exists = %v", got)
		}
		return nil
	})
}
