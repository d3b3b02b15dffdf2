package conformance

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/grpcapi"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/driver"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

var accountRE = regexp.MustCompile("^" + regexp.QuoteMeta(userPrefix) + "[0-9a-f]{32}$")

func TestGrantBucketAccess(t *testing.T) {
	e := mustEnv(t)
	bucket := e.mustCreateBucket(t, bucketName(), nil)

	t.Run("Grant on a bucket the driver does not know returns NOT_FOUND and records nothing", func(t *testing.T) {
		foreign := "foreign-" + randomHex(12)
		e.foreignBucket(t, foreign)
		beforeB, beforeR := e.backend(t), e.records(t)
		for _, id := range []string{bucketName(), foreign} {
			_, err := e.grant(t, grantRequest(id, accessName(), nil))
			requireCode(t, err, codes.NotFound, id)
		}
		if d := cmp.Diff(beforeB, e.backend(t)); d != "" {
			t.Errorf("SeaweedFS changed (-before +after):\n%s", d)
		}
		if d := cmp.Diff(beforeR, e.records(t)); d != "" {
			t.Errorf("records changed (-before +after):\n%s", d)
		}
	})

	t.Run("Grant with authentication type IAM or Unknown returns INVALID_ARGUMENT asking for Key", func(t *testing.T) {
		for _, at := range []cosi.AuthenticationType{cosi.AuthenticationType_IAM, cosi.AuthenticationType_UnknownAuthenticationType} {
			req := grantRequest(bucket, accessName(), nil)
			req.AuthenticationType = at
			_, err := e.grant(t, req)
			requireCode(t, err, codes.InvalidArgument, "authenticationType", "Key")
		}
	})

	var first access
	name, _ := e.bucketAccess(t)
	t.Run("Grant returns a non-empty account_id and exactly one s3 credentials entry with accessKeyID, accessSecretKey, endpoint and region", func(t *testing.T) {
		resp, err := e.grant(t, grantRequest(bucket, name, nil))
		requireOK(t, err, "DriverGrantBucketAccess")
		first = accessFrom(resp)
		if !accountRE.MatchString(resp.GetAccountId()) {
			t.Errorf("account_id = %q, want %s<32 hex>", resp.GetAccountId(), userPrefix)
		}
		if got := slices.Sorted(maps.Keys(resp.GetCredentials())); !slices.Equal(got, []string{"s3"}) {
			t.Fatalf("credentials entries = %v, want exactly [s3]", got)
		}
		secrets := resp.GetCredentials()["s3"].GetSecrets()
		if got, want := slices.Sorted(maps.Keys(secrets)), []string{"accessKeyID", "accessSecretKey", "endpoint", "region"}; !slices.Equal(got, want) {
			t.Errorf("s3 credential keys = %v, want %v", got, want)
		}
		for k, v := range secrets {
			if v == "" {
				t.Errorf("credential %s is empty", k)
			}
		}
		if first.endpoint != e.stack.Seaweed.Endpoint || first.region != e.stack.Seaweed.Region {
			t.Errorf("endpoint, region = %q, %q; want %q, %q", first.endpoint, first.region, e.stack.Seaweed.Endpoint, e.stack.Seaweed.Region)
		}
		if got := e.keyIDs(t, first.account); !slices.Equal(got, []string{first.keyID}) {
			t.Errorf("keys of user %s = %v, want exactly the returned %s", first.account, got, first.keyID)
		}
		if err := s3check.Put(ctx(t), first.s3(), bucket, "hello.txt", "hello"); err != nil {
			t.Errorf("put with the returned credentials: %v", err)
		}
	})
	if first.account == "" {
		t.Fatal("no grant to go on with")
	}

	t.Run("The credentials are recorded in a Secret only, never in labels, annotations or the bucket record", func(t *testing.T) {
		rec := accessRecordOf(first)
		sec, err := e.kube.CoreV1().Secrets(driverNamespace).Get(ctx(t), rec, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("access record %s: %v", rec, err)
		}
		if sec.Labels[labelManagedBy] != managedBy || !slices.Contains(sec.Finalizers, finalizer) {
			t.Errorf("access record labels %v, finalizers %v", sec.Labels, sec.Finalizers)
		}
		var found bool
		for _, v := range sec.Data {
			found = found || bytes.Contains(v, []byte(first.secret))
		}
		if !found {
			t.Errorf("the secret key is not in access record %s", rec)
		}
		meta := fmt.Sprint(sec.Labels, sec.Annotations)
		cms, err := e.kube.CoreV1().ConfigMaps(driverNamespace).List(ctx(t), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, cm := range cms.Items {
			meta += fmt.Sprint(cm.Data, cm.Labels, cm.Annotations)
		}
		if strings.Contains(meta, first.secret) {
			t.Errorf("the secret key appears in labels, annotations or a ConfigMap")
		}
	})

	t.Run("The user's permissions are one policy, in the form of the driver's user path", func(t *testing.T) {
		inline, attached := e.inline(t, first.account), e.attached(t, first.account)
		if e.path == stack.FilerGRPC {
			// The IAM gRPC service reads no inline policy: the grant is a
			// managed policy of the access's own, attached by name.
			if len(inline) != 0 || len(attached) != 1 || !slices.Contains(e.policies(t), attached[0]) {
				t.Errorf("user %s: inline policies %v, attached %v; want one existing managed policy only", first.account, inline, attached)
			}
			return
		}
		if len(inline) != 1 || len(attached) != 0 {
			t.Errorf("user %s: inline policies %v, attached %v; want one inline policy only", first.account, inline, attached)
		}
	})

	t.Run("Grant repeated 10 times returns byte-identical credentials and keeps one user with one key", func(t *testing.T) {
		beforeB, beforeR := e.backend(t), e.records(t)
		for i := range 10 {
			resp, err := e.grant(t, grantRequest(bucket, name, nil))
			requireOK(t, err, fmt.Sprintf("repeat %d", i+1))
			if !bytes.Equal(driver.Wire(t, resp), driver.Wire(t, first.resp)) {
				t.Fatalf("repeat %d returned other credentials than the first call", i+1)
			}
		}
		if d := cmp.Diff(beforeB, e.backend(t)); d != "" {
			t.Errorf("SeaweedFS changed (-before +after):\n%s", d)
		}
		if d := cmp.Diff(beforeR, e.records(t)); d != "" {
			t.Errorf("records changed (-before +after):\n%s", d)
		}
		if got := e.keyIDs(t, first.account); !slices.Equal(got, []string{first.keyID}) {
			t.Errorf("keys of user %s = %v, want exactly %s", first.account, got, first.keyID)
		}
	})

	t.Run("Grant with the same name for another bucket or with other parameters returns FAILED_PRECONDITION, never ALREADY_EXISTS", func(t *testing.T) {
		other := e.mustCreateBucket(t, bucketName(), nil)
		beforeB := e.backend(t)
		for _, req := range []*cosi.DriverGrantBucketAccessRequest{
			grantRequest(other, name, nil),
			grantRequest(bucket, name, map[string]string{grpcapi.ParamMode: "read-only"}),
		} {
			_, err := e.grant(t, req)
			requireCode(t, err, codes.FailedPrecondition, name)
		}
		if d := cmp.Diff(beforeB, e.backend(t)); d != "" {
			t.Errorf("SeaweedFS changed (-before +after):\n%s", d)
		}
		// The original access is intact: same key, still read-write on its bucket only.
		if err := s3check.Put(ctx(t), first.s3(), bucket, "still.txt", "here"); err != nil {
			t.Errorf("put with the original credentials: %v", err)
		}
		_, err := s3check.List(ctx(t), first.s3(), other)
		s3check.RequireDenied(t, "list of the other bucket with the original credentials", err)
	})
}
