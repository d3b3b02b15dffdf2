package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

const (
	// callTimeout bounds one gRPC call. It is longer than the driver's own
	// wait, so a slow call ends with the driver's UNAVAILABLE, never with
	// this deadline.
	callTimeout = waitTimeout + 10*time.Second
	// retryFor bounds how long a test goes on retrying UNAVAILABLE.
	retryFor = 90 * time.Second
	// repairWithin is how soon drift must be repaired and garbage collected:
	// a few resync periods, plus the backend writes of the repair itself.
	repairWithin = 5 * resyncPeriod
	// Labels and finalizer every record carries, as documented.
	labelManagedBy = "app.kubernetes.io/managed-by"
	managedBy      = "cosi-seaweedfs"
	finalizer      = "cosi-seaweedfs.io/backend"
	// ownerTag marks the buckets the driver created; its value is the
	// driver's owner id (environment.ownerID).
	ownerTag = names.OwnerTagKey
)

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)[:n]
}

// uid returns a random UUID-shaped string, like a Kubernetes object UID.
func uid() string {
	h := randomHex(32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// bucketName is a Bucket name as the COSI controller v0.2 makes it.
func bucketName() string { return "bucket-" + uid() }

// accessName is a Grant name as the sidecar makes it (ba-<BucketAccess UID>)
// for a BucketAccess that does not exist: for calls that must not record
// anything, or that a test revokes itself.
func accessName() string { return "ba-" + uid() }

// bucketAccess creates a BucketAccess, as a user would, and returns the
// Grant name the sidecar sends for it and the object's name. The driver
// revokes accesses whose BucketAccess is gone, so an access a test keeps
// needs one. It is deleted when the test ends.
func (e *environment) bucketAccess(t testing.TB) (grantName, objectName string) {
	t.Helper()
	ba := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "objectstorage.k8s.io/v1alpha1",
		"kind":       "BucketAccess",
		"metadata":   map[string]any{"generateName": "conformance-", "namespace": workloadNamespace},
		"spec": map[string]any{
			"bucketAccessClassName": "conformance",
			"bucketClaimName":       "conformance",
			"credentialsSecretName": "conformance",
		},
	}}
	out, err := e.stack.Kube.Dynamic.Resource(bucketAccessResource).Namespace(workloadNamespace).Create(ctx(t), ba, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create BucketAccess: %v", err)
	}
	t.Cleanup(func() { e.deleteBucketAccess(t, out.GetName()) })
	return "ba-" + string(out.GetUID()), out.GetName()
}

func (e *environment) deleteBucketAccess(t testing.TB, objectName string) {
	t.Helper()
	err := e.stack.Kube.Dynamic.Resource(bucketAccessResource).Namespace(workloadNamespace).Delete(ctx(t), objectName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete BucketAccess %s: %v", objectName, err)
	}
}

// ctx returns a context for one step of a test.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return c
}

// ---- gRPC calls ----

// retry calls fn the way the provisioner sidecar does: while the driver
// answers UNAVAILABLE ("recorded, still being applied") the call is repeated
// with exponential backoff from 100 ms, capped at 2 s. It returns the first
// other answer and how many UNAVAILABLE answers came before it.
func retry[T any](t testing.TB, fn func(context.Context) (T, error)) (T, int, error) {
	t.Helper()
	deadline := time.Now().Add(retryFor)
	backoff := 100 * time.Millisecond
	for unavailable := 0; ; unavailable++ {
		c, cancel := context.WithTimeout(context.Background(), callTimeout)
		resp, err := fn(c)
		cancel()
		if status.Code(err) != codes.Unavailable || time.Now().After(deadline) {
			return resp, unavailable, err
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (e *environment) createBucket(t testing.TB, name string, params map[string]string) (*cosi.DriverCreateBucketResponse, error) {
	t.Helper()
	resp, _, err := retry(t, func(c context.Context) (*cosi.DriverCreateBucketResponse, error) {
		return e.driver.Provisioner().DriverCreateBucket(c, &cosi.DriverCreateBucketRequest{Name: name, Parameters: params})
	})
	return resp, err
}

// mustCreateBucket creates a bucket through the driver and deletes it when
// the test ends. It returns the bucket_id.
func (e *environment) mustCreateBucket(t testing.TB, name string, params map[string]string) string {
	t.Helper()
	resp, err := e.createBucket(t, name, params)
	if err != nil {
		t.Fatalf("DriverCreateBucket(%s): %v", name, err)
	}
	id := resp.GetBucketId()
	t.Cleanup(func() { e.cleanupBucket(t, id) })
	return id
}

// cleanupBucket empties a bucket with the admin identity and deletes it
// through the driver, which also revokes its accesses: fewer users keep every
// later IAM write cheap.
func (e *environment) cleanupBucket(t testing.TB, id string) {
	t.Helper()
	e.emptyBucket(t, id)
	if err := e.deleteBucket(t, id); err != nil {
		t.Errorf("clean-up: DriverDeleteBucket(%s): %v", id, err)
	}
}

func (e *environment) deleteBucket(t testing.TB, id string) error {
	t.Helper()
	_, _, err := retry(t, func(c context.Context) (*cosi.DriverDeleteBucketResponse, error) {
		return e.driver.Provisioner().DriverDeleteBucket(c, &cosi.DriverDeleteBucketRequest{BucketId: id})
	})
	return err
}

func grantRequest(bucketID, name string, params map[string]string) *cosi.DriverGrantBucketAccessRequest {
	return &cosi.DriverGrantBucketAccessRequest{
		BucketId:           bucketID,
		Name:               name,
		AuthenticationType: cosi.AuthenticationType_Key,
		Parameters:         params,
	}
}

func (e *environment) grant(t testing.TB, req *cosi.DriverGrantBucketAccessRequest) (*cosi.DriverGrantBucketAccessResponse, error) {
	t.Helper()
	resp, _, err := retry(t, func(c context.Context) (*cosi.DriverGrantBucketAccessResponse, error) {
		return e.driver.Provisioner().DriverGrantBucketAccess(c, req)
	})
	for _, cred := range resp.GetCredentials() {
		rememberSecret(cred.GetSecrets()["accessSecretKey"])
	}
	return resp, err
}

// access is a granted access as a workload sees it.
type access struct {
	account  string
	keyID    string
	secret   string
	endpoint string
	region   string
	resp     *cosi.DriverGrantBucketAccessResponse
}

func accessFrom(resp *cosi.DriverGrantBucketAccessResponse) access {
	s := resp.GetCredentials()["s3"].GetSecrets()
	return access{
		account:  resp.GetAccountId(),
		keyID:    s["accessKeyID"],
		secret:   s["accessSecretKey"],
		endpoint: s["endpoint"],
		region:   s["region"],
		resp:     resp,
	}
}

// s3 returns an S3 client that uses only what the Grant returned.
func (a access) s3() *s3.Client {
	return stack.NewS3Client(a.endpoint, a.region, a.keyID, a.secret, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
}

// mustGrant grants access to bucketID with the given BucketAccessClass
// parameters.
func (e *environment) mustGrant(t testing.TB, bucketID string, params map[string]string) access {
	t.Helper()
	name, _ := e.bucketAccess(t)
	resp, err := e.grant(t, grantRequest(bucketID, name, params))
	if err != nil {
		t.Fatalf("DriverGrantBucketAccess(%s): %v", bucketID, err)
	}
	return accessFrom(resp)
}

func (e *environment) revoke(t testing.TB, bucketID, account string) error {
	t.Helper()
	_, _, err := retry(t, func(c context.Context) (*cosi.DriverRevokeBucketAccessResponse, error) {
		return e.driver.Provisioner().DriverRevokeBucketAccess(c, &cosi.DriverRevokeBucketAccessRequest{BucketId: bucketID, AccountId: account})
	})
	return err
}

// requireCode fails the test unless err carries code and its message holds
// every one of words.
func requireCode(t testing.TB, err error, code codes.Code, words ...string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("got %v (%q), want %v", st.Code(), st.Message(), code)
	}
	for _, w := range words {
		if !strings.Contains(st.Message(), w) {
			t.Errorf("message %q does not mention %q", st.Message(), w)
		}
	}
}

func requireOK(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: got %v, want OK", what, err)
	}
}

// ---- what the store holds ----

// records are the names of the driver's records in its namespace.
type records struct {
	Buckets  []string // ConfigMaps
	Accesses []string // Secrets
}

func (e *environment) records(t testing.TB) records {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: labelManagedBy + "=" + managedBy}
	cms, err := e.kube.CoreV1().ConfigMaps(driverNamespace).List(ctx(t), sel)
	if err != nil {
		t.Fatalf("list bucket records: %v", err)
	}
	secs, err := e.kube.CoreV1().Secrets(driverNamespace).List(ctx(t), sel)
	if err != nil {
		t.Fatalf("list access records: %v", err)
	}
	r := records{Buckets: []string{}, Accesses: []string{}}
	for _, cm := range cms.Items {
		r.Buckets = append(r.Buckets, cm.Name)
	}
	for _, s := range secs.Items {
		r.Accesses = append(r.Accesses, s.Name)
	}
	slices.Sort(r.Buckets)
	slices.Sort(r.Accesses)
	return r
}

// bucketRecordExists reports whether the bucket record exists, in any state.
func (e *environment) bucketRecordExists(t testing.TB, name string) bool {
	t.Helper()
	_, err := e.kube.CoreV1().ConfigMaps(driverNamespace).Get(ctx(t), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("get bucket record %s: %v", name, err)
	}
	return true
}

func (e *environment) accessRecordExists(t testing.TB, name string) bool {
	t.Helper()
	_, err := e.kube.CoreV1().Secrets(driverNamespace).Get(ctx(t), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("get access record %s: %v", name, err)
	}
	return true
}

// requireKeyRejected fails the test unless SeaweedFS no longer knows the
// access key at all (as opposed to denying it by policy). SeaweedFS reloads
// the identities its S3 authentication uses from the filer after every IAM
// write, unordered with the write's own update, so for a moment a reload can
// still show the key: it is tried for up to two seconds.
func requireKeyRejected(t testing.TB, a access, bucket string) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, err = s3check.List(ctx(t), a.s3(), bucket)
		if s3check.ErrorCode(err) == "InvalidAccessKeyId" || time.Now().After(deadline) {
			break
		}
	}
	s3check.RequireRejected(t, "ListObjectsV2 with a revoked key", err)
	if code := s3check.ErrorCode(err); err != nil && code != "InvalidAccessKeyId" {
		t.Errorf("ListObjectsV2 with a revoked key: error code %q, want InvalidAccessKeyId", code)
	}
}

// added returns the elements of after that are not in before.
func added(before, after []string) []string {
	out := []string{}
	for _, s := range after {
		if !slices.Contains(before, s) {
			out = append(out, s)
		}
	}
	return out
}
