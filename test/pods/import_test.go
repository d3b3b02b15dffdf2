package pods

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/grpcapi"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/e2e/framework"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

// The release of TestChartOnANode allows accesses on the buckets of the
// tenant below whose names match importGlob (chart value importBuckets);
// its other buckets (tenant-other-*) match nothing.
const (
	importGlob    = "tenant-imported-*"
	tenantName    = "tenant-pods"
	tenantPattern = "tenant-*"
	// tenantObject is what the tenant wrote into its buckets before any
	// import.
	tenantObject, tenantBody = "tenant.txt", "the tenant's"
)

// importValues are the helm arguments that give the release importGlob.
func importValues() []string {
	return []string{"--set", "importBuckets={" + importGlob + "}"}
}

// TestImportedBucketFromPods imports a bucket another SeaweedFS identity
// made, as an admin does with the COSI objects of README "Existing
// buckets": a Bucket with spec.existingBucketID, a BucketClaim naming it in
// spec.existingBucketName (bound by the controller stand-in as the
// controller v0.2.2 binds it), and a BucketAccess. A workload pod reads the
// tenant's object and writes its own with the credentials Secret. Deleting
// the BucketAccess removes the driver's user; deleting the claim deletes the
// Bucket (v0.2.2), for which the sidecar calls DriverDeleteBucket (policy
// Delete): the tenant's bucket stays with both objects and its tags. A
// BucketAccess on a tenant bucket no glob matches is never granted, and
// deleting its claim leaves that bucket too.
func TestImportedBucketFromPods(t *testing.T) {
	ctx := context.Background()
	const ns = "imported"
	if err := deploymentAvailable(ctx, releaseNamespace, release); err != nil {
		t.Fatalf("the chart's Deployment is not available (TestChartOnANode installs it): %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			driverLogs(t, releaseNamespace)
		}
	})
	if _, err := env.node.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sw := env.seaweed
	tn := newTenant(t, sw)
	suffix := randomHex(4)
	imported, other := "tenant-imported-"+suffix, "tenant-other-"+suffix
	tags := map[string]string{"team": "data"}
	for _, b := range []string{imported, other} {
		tenantBucket(t, sw, tn, b, tags)
	}

	start := time.Now()
	importBucket(t, imported, ns, "legacy")
	createStaticClaim(t, ns, "legacy", imported)
	if id := waitClaimReady(t, ns, "legacy"); id != imported {
		t.Fatalf("the claim's Bucket has bucketID %q, want %q", id, imported)
	}
	a := grant(t, sw, ns, "legacy", "legacy", accessClass)
	if got := a.info.Spec.BucketName; got != imported {
		t.Fatalf("the credentials Secret names bucket %q, want %q", got, imported)
	}
	t.Logf("bucket %s imported: Bucket ready, claim bound, access %s granted in %s", imported, a.accountID, time.Since(start).Round(time.Millisecond))
	requireTags(t, sw, imported, tags)

	t.Run("a workload pod reads the tenant's object and writes its own", func(t *testing.T) {
		logs := runWorkload(t, ns, "imported-round-trip", a, "readwrite", "--existing="+tenantObject, "--keep")
		if !strings.Contains(logs, fmt.Sprintf("read existing %s/%s: %q", imported, tenantObject, tenantBody)) ||
			!strings.Contains(logs, "round trip ok: wrote, read back and kept") {
			t.Errorf("workload output: %s", logs)
		}
	})
	workloadBody := "written from a pod with the credentials of " + a.info.Metadata.Name

	t.Run("a BucketAccess on a bucket no glob matches is never granted", func(t *testing.T) {
		importBucket(t, other, ns, "other")
		createStaticClaim(t, ns, "other", other)
		waitClaimReady(t, ns, "other")
		// Without the finalizer the sidecar v0.1.0 needs for a grant's
		// status write: this one must never be granted, and its deletion
		// must not wait for a sidecar that never grants it.
		ba := framework.NewBucketAccess(ns, "other", "other", accessClass, "other-creds")
		if _, err := framework.Create(ctx, env.node.Dynamic, ba); err != nil {
			t.Fatal(err)
		}
		line := waitDriverLog(t, func(l driverLogLine) bool {
			return l.Msg == "grpc call" && strings.HasSuffix(l.Method, "/DriverGrantBucketAccess") && l.BucketID == other
		})
		if line.Code != "PermissionDenied" || !strings.Contains(line.Message, grpcapi.SettingImportBuckets) {
			t.Errorf("the grant on %s answered %s %q, want PermissionDenied naming %s", other, line.Code, line.Message, grpcapi.SettingImportBuckets)
		}
		got, err := env.node.Dynamic.Resource(framework.BucketAccessGVR).Namespace(ns).Get(ctx, "other", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if framework.Bool(got, "status", "accessGranted") {
			t.Error("the BucketAccess on a bucket no glob matches was granted")
		}
		if _, err := env.node.Client.CoreV1().Secrets(ns).Get(ctx, "other-creds", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("a credentials Secret exists for the refused BucketAccess (%v)", err)
		}
		if err := env.node.Dynamic.Resource(framework.BucketAccessGVR).Namespace(ns).Delete(ctx, "other", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		deleteClaim(t, ns, "other")
		forgetBucket(t, other)
		requireTenantObject(t, sw, other)
		requireTags(t, sw, other, tags)
	})

	t.Run("deleting the BucketAccess removes the driver's user and keeps the bucket", func(t *testing.T) {
		revoke(t, ns, a)
		waitT(t, time.Minute, "the driver's user "+a.accountID+" gone", func(ctx context.Context) error {
			users, err := seaweedUsers(ctx)
			if err != nil {
				return err
			}
			if slices.Contains(users, a.accountID) {
				return errors.New("still in SeaweedFS")
			}
			return nil
		})
		requireTenantObject(t, sw, imported)
	})

	t.Run("deleting the claim deletes the Bucket, DriverDeleteBucket answers OK, and the tenant's bucket stays as it was", func(t *testing.T) {
		deleteClaim(t, ns, "legacy")
		line := waitDriverLog(t, func(l driverLogLine) bool {
			return l.Msg == "grpc call" && strings.HasSuffix(l.Method, "/DriverDeleteBucket") && l.BucketID == imported && l.Code == "OK"
		})
		t.Logf("DriverDeleteBucket(%s): %s in %v", imported, line.Code, line.Duration)
		waitGone(t, time.Minute, "the driver's record of "+imported, func(ctx context.Context) (string, error) {
			_, err := env.node.Client.CoreV1().ConfigMaps(releaseNamespace).Get(ctx, names.BucketRecord(imported), metav1.GetOptions{})
			return "", err
		})
		forgetBucket(t, imported)
		if _, err := sw.admin().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(imported)}); err != nil {
			t.Fatalf("the imported bucket is gone: %v", err)
		}
		requireTenantObject(t, sw, imported)
		if body, err := s3check.Get(ctx, sw.admin(), imported, "workload/object.txt"); err != nil || body != workloadBody {
			t.Errorf("the workload's object after the deletion: %q, %v", body, err)
		}
		requireTags(t, sw, imported, tags)
	})
}

// newTenant creates another SeaweedFS identity, not an admin, allowed every
// S3 action on the buckets tenantPattern matches, once SeaweedFS knows its
// key; it is deleted when the test ends.
func newTenant(t *testing.T, sw *seaweed) *s3.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ic := sw.iam()
	t.Cleanup(func() {
		// Its key first: SeaweedFS refuses to delete a user holding one.
		if keys, err := ic.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(tenantName)}); err == nil {
			for _, k := range keys.AccessKeyMetadata {
				_, _ = ic.DeleteAccessKey(context.Background(), &iam.DeleteAccessKeyInput{UserName: aws.String(tenantName), AccessKeyId: k.AccessKeyId})
			}
		}
		if _, err := ic.DeleteUser(context.Background(), &iam.DeleteUserInput{UserName: aws.String(tenantName)}); err != nil {
			t.Logf("delete tenant %s: %v", tenantName, err)
		}
	})
	tn, err := s3check.NewTenant(ctx, ic, "http://"+sw.s3IP+":8333", "us-east-1", tenantName, tenantPattern,
		s3check.WithHTTPClient(nodeHTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	return tn.S3
}

// iam is an IAM client of SeaweedFS with the admin identity.
func (sw *seaweed) iam() *iam.Client {
	return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + sw.s3IP + ":8333"),
		Credentials: credentials.NewStaticCredentialsProvider(sw.adminKey, sw.adminSec, ""),
		HTTPClient:  nodeHTTPClient()})
}

// tenantBucket creates bucket as the tenant, tags it and writes the
// tenant's object into it. The admin empties and deletes it when the test
// ends: later tests count SeaweedFS's buckets.
func tenantBucket(t *testing.T, sw *seaweed, tn *s3.Client, bucket string, tags map[string]string) {
	t.Helper()
	ctx := context.Background()
	if _, err := tn.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("tenant CreateBucket(%s): %v", bucket, err)
	}
	t.Cleanup(func() { removeBucket(t, sw, bucket) })
	var set []s3types.Tag
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	if _, err := tn.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket), Tagging: &s3types.Tagging{TagSet: set}}); err != nil {
		t.Fatalf("tenant PutBucketTagging(%s): %v", bucket, err)
	}
	if err := s3check.Put(ctx, tn, bucket, tenantObject, tenantBody); err != nil {
		t.Fatalf("tenant PutObject(%s): %v", bucket, err)
	}
}

func removeBucket(t *testing.T, sw *seaweed, bucket string) {
	ctx := context.Background()
	keys, err := s3check.List(ctx, sw.admin(), bucket)
	if err != nil {
		t.Logf("list %s to remove it: %v", bucket, err)
		return
	}
	for _, k := range keys {
		if err := s3check.Delete(ctx, sw.admin(), bucket, k); err != nil {
			t.Logf("delete %s/%s: %v", bucket, k, err)
		}
	}
	if _, err := sw.admin().DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Logf("delete bucket %s: %v", bucket, err)
	}
}

// importBucket creates the cluster-scoped Bucket an admin writes to import
// bucket for the claim ns/claim and waits until the sidecar marks it ready
// (v0.1.0 and v0.2.2 do so without calling the driver). The COSI CRDs
// (v0.1.0 and v0.2.2 alike) require spec.bucketClaim: a Bucket made by hand
// names the claim it is meant for, which the controller completes with the
// claim's UID when it binds. It is named after the SeaweedFS bucket:
// the sidecar writes the Bucket's name, not its bucketID, into the
// credentials Secret's BucketInfo. Its deletion policy is Delete so that
// the sidecar calls DriverDeleteBucket when it goes, which for an imported
// bucket only revokes its accesses.
func importBucket(t *testing.T, bucket, ns, claim string) {
	t.Helper()
	b := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": framework.APIVersion,
		"kind":       "Bucket",
		"metadata":   map[string]any{"name": bucket},
		"spec": map[string]any{
			"driverName":       driverName,
			"bucketClassName":  bucketClass,
			"deletionPolicy":   framework.DeletionPolicyDelete,
			"existingBucketID": bucket,
			"protocols":        []any{"S3"},
			"bucketClaim":      map[string]any{"name": claim, "namespace": ns},
		},
	}}
	// The sidecar v0.1.0 adds this finalizer with an update and then writes
	// the status from its stale copy, which conflicts forever; present
	// from the start, its update changes nothing (see framework.Controller).
	b.SetFinalizers([]string{framework.FinalizerBucket})
	if _, err := framework.Create(context.Background(), env.node.Dynamic, b); err != nil {
		t.Fatal(err)
	}
	waitT(t, 2*time.Minute, "Bucket "+bucket+" ready", func(ctx context.Context) error {
		got, err := env.node.Dynamic.Resource(framework.BucketGVR).Get(ctx, bucket, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !framework.Bool(got, "status", "bucketReady") || framework.Str(got, "status", "bucketID") != bucket {
			return fmt.Errorf("status %v", got.Object["status"])
		}
		return nil
	})
}

func createStaticClaim(t *testing.T, ns, name, bucket string) {
	t.Helper()
	c := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": framework.APIVersion,
		"kind":       "BucketClaim",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec":       map[string]any{"existingBucketName": bucket, "protocols": []any{"S3"}},
	}}
	if _, err := framework.Create(context.Background(), env.node.Dynamic, c); err != nil {
		t.Fatal(err)
	}
}

// forgetBucket checks that the Bucket of a deleted claim is being deleted
// (the controller v0.2.2 deletes it) and removes the finalizers the sidecar
// v0.1.0 leaves on it, so that it goes.
func forgetBucket(t *testing.T, bucket string) {
	t.Helper()
	buckets := env.node.Dynamic.Resource(framework.BucketGVR)
	b, err := buckets.Get(context.Background(), bucket, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if b.GetDeletionTimestamp() == nil {
		t.Fatalf("Bucket %s is not being deleted after its claim was", bucket)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		b, err := buckets.Get(context.Background(), bucket, metav1.GetOptions{})
		if err != nil {
			return err
		}
		b.SetFinalizers(nil)
		_, err = buckets.Update(context.Background(), b, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	waitGone(t, time.Minute, "Bucket "+bucket, func(ctx context.Context) (string, error) {
		_, err := buckets.Get(ctx, bucket, metav1.GetOptions{})
		return "", err
	})
}

func requireTenantObject(t *testing.T, sw *seaweed, bucket string) {
	t.Helper()
	if body, err := s3check.Get(context.Background(), sw.admin(), bucket, tenantObject); err != nil || body != tenantBody {
		t.Fatalf("the tenant's object in %s: %q, %v", bucket, body, err)
	}
}

func requireTags(t *testing.T, sw *seaweed, bucket string, want map[string]string) {
	t.Helper()
	out, err := sw.admin().GetBucketTagging(context.Background(), &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("GetBucketTagging(%s): %v", bucket, err)
	}
	got := map[string]string{}
	for _, tg := range out.TagSet {
		got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("the tags of %s are %v, want %v", bucket, got, want)
	}
}

// driverLogLine is what the driver's JSON log line "grpc call" says of one
// call.
type driverLogLine struct {
	Msg      string `json:"msg"`
	Method   string `json:"method"`
	Code     string `json:"code"`
	BucketID string `json:"bucketID"`
	Message  string `json:"message"`
	Duration any    `json:"duration"`
}

// waitDriverLog waits until a line of the driver containers' logs matches.
func waitDriverLog(t *testing.T, match func(driverLogLine) bool) driverLogLine {
	t.Helper()
	var found driverLogLine
	waitT(t, 2*time.Minute, "a matching driver log line", func(ctx context.Context) error {
		d, err := env.node.Client.AppsV1().Deployments(releaseNamespace).Get(ctx, release, metav1.GetOptions{})
		if err != nil {
			return err
		}
		pods, err := env.node.Client.CoreV1().Pods(releaseNamespace).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(d.Spec.Selector)})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			raw, err := env.node.Client.CoreV1().Pods(releaseNamespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: "driver"}).DoRaw(ctx)
			if err != nil {
				return err
			}
			sc := bufio.NewScanner(bytes.NewReader(raw))
			sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
			for sc.Scan() {
				var l driverLogLine
				if json.Unmarshal(sc.Bytes(), &l) == nil && match(l) {
					found = l
					return nil
				}
			}
		}
		return errors.New("no such line yet")
	})
	return found
}
