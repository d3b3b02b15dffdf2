package grpcapi

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

func (env *handlerEnv) editAccess(ctx context.Context, t *testing.T, name string, edit func(*corev1.Secret)) {
	t.Helper()
	sec, err := env.client.CoreV1().Secrets(testNamespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	edit(sec)
	if _, err := env.client.CoreV1().Secrets(testNamespace).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (env *handlerEnv) editBucket(ctx context.Context, t *testing.T, name string, edit func(*corev1.ConfigMap)) {
	t.Helper()
	cm, err := env.client.CoreV1().ConfigMaps(testNamespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	edit(cm)
	if _, err := env.client.CoreV1().ConfigMaps(testNamespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

var errorIDRE = regexp.MustCompile(`errorID ([0-9a-f]+)`)

// requireLogLine fails the test unless err points to the driver log by an
// errorID and the server logged that line with every one of words.
func requireLogLine(t *testing.T, env *handlerEnv, err error, words ...string) {
	t.Helper()
	msg := status.Convert(err).Message()
	m := errorIDRE.FindStringSubmatch(msg)
	if !strings.Contains(msg, "driver log") || m == nil {
		t.Fatalf("answer %q names no line of the driver log", msg)
	}
	for _, line := range env.logLines() {
		if strings.Contains(line, `"errorID":"`+m[1]+`"`) {
			for _, w := range append(words, `"msg":"`+LogRequestFailed+`"`) {
				if !strings.Contains(line, w) {
					t.Errorf("log line %s does not mention %q", line, w)
				}
			}
			return
		}
	}
	t.Fatalf("no log line with errorID %s in %q", m[1], env.logLines())
}

// A Revoke of an access whose record's spec is not JSON still revokes: the
// user the record's name derives is deleted and the record goes.
func TestRevokeOfAnAccessWhoseSpecIsNotJSON(t *testing.T) {
	ctx, env := newHandlerEnv(t)
	bucketID := createBucket(ctx, t, env, "bucket-a", nil)
	resp := grant(ctx, t, env, bucketID, "ba-one")
	record := names.AccessRecord(names.AccessID("ba-one"))
	env.editAccess(ctx, t, record, func(s *corev1.Secret) { s.Data["spec"] = []byte("{") })

	_, err := env.srv.DriverRevokeBucketAccess(ctx, &cosi.DriverRevokeBucketAccessRequest{BucketId: bucketID, AccountId: resp.GetAccountId()})
	wantCode(t, err, codes.OK)
	if u, err := env.admin.ObserveUser(ctx, resp.GetAccountId()); err != nil || u.Exists {
		t.Fatalf("user %+v, %v; want it deleted", u, err)
	}
	if _, err := env.client.CoreV1().Secrets(testNamespace).Get(ctx, record, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("record: %v, want it gone", err)
	}
}

// A repeated Grant of an access whose record lost a credential never answers
// OK with an empty or partial one: FAILED_PRECONDITION names the field and
// the log line it points to.
func TestARepeatedGrantOfAnAccessWithoutACredential(t *testing.T) {
	for _, field := range []string{"accessKeyID", "secretAccessKey"} {
		t.Run(field, func(t *testing.T) {
			ctx, env := newHandlerEnv(t)
			bucketID := createBucket(ctx, t, env, "bucket-a", nil)
			first := grant(ctx, t, env, bucketID, "ba-one")
			secret := first.GetCredentials()[credS3].GetSecrets()[credAccessSecretKey]
			record := names.AccessRecord(names.AccessID("ba-one"))
			env.editAccess(ctx, t, record, func(s *corev1.Secret) { delete(s.Data, field) })

			resp, err := env.srv.DriverGrantBucketAccess(ctx, &cosi.DriverGrantBucketAccessRequest{BucketId: bucketID, Name: "ba-one",
				AuthenticationType: cosi.AuthenticationType_Key})
			if resp != nil {
				t.Errorf("answered %d credentials", len(resp.GetCredentials()))
			}
			wantCode(t, err, codes.FailedPrecondition)
			if msg := status.Convert(err).Message(); !strings.Contains(msg, field) || !strings.Contains(msg, record) {
				t.Errorf("message %q does not name the field and the record", msg)
			}
			requireLogLine(t, env, err, record, `"field":"`+field+`"`)
			for _, line := range env.logLines() {
				if strings.Contains(line, secret) {
					t.Errorf("a log line holds the secret key: %s", line)
				}
			}
		})
	}
}

// A bucket record that lost its kind label is not absent: Grant and Delete
// answer FAILED_PRECONDITION naming the label, and nothing is revoked or
// deleted.
func TestABucketRecordWithoutItsKindLabel(t *testing.T) {
	ctx, env := newHandlerEnv(t)
	bucketID := createBucket(ctx, t, env, "bucket-a", nil)
	first := grant(ctx, t, env, bucketID, "ba-one")
	env.editBucket(ctx, t, names.BucketRecord(bucketID), func(cm *corev1.ConfigMap) { delete(cm.Labels, store.LabelKind) })

	_, err := env.srv.DriverGrantBucketAccess(ctx, &cosi.DriverGrantBucketAccessRequest{BucketId: bucketID, Name: "ba-one",
		AuthenticationType: cosi.AuthenticationType_Key})
	wantCode(t, err, codes.FailedPrecondition)
	requireLogLine(t, env, err, store.LabelKind)
	_, err = env.srv.DriverDeleteBucket(ctx, &cosi.DriverDeleteBucketRequest{BucketId: bucketID})
	wantCode(t, err, codes.FailedPrecondition)
	requireLogLine(t, env, err, store.LabelKind)

	a, err := env.srv.store.GetAccess(ctx, names.AccessRecord(names.AccessID("ba-one")))
	if err != nil || a.Deleting {
		t.Fatalf("access %+v, %v; want it kept", a, err)
	}
	if u, err := env.admin.ObserveUser(ctx, first.GetAccountId()); err != nil || !u.Exists {
		t.Fatalf("user %+v, %v; want it kept", u, err)
	}
	if b, err := env.admin.ObserveBucket(ctx, bucketID, s3admin.Ownership{}); err != nil || !b.Exists {
		t.Fatalf("bucket %+v, %v; want it kept", b, err)
	}
}

// An INTERNAL answer sends its caller to the driver log, and the driver
// logged the error there, under the errorID the answer gives.
func TestAnInternalAnswerNamesItsLogLine(t *testing.T) {
	ctx, env := newHandlerEnv(t)
	env.client.PrependReactor("get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewBadRequest("a cause only the log shows")
	})
	_, err := env.srv.DriverDeleteBucket(ctx, &cosi.DriverDeleteBucketRequest{BucketId: "bucket-a"})
	wantCode(t, err, codes.Internal)
	if strings.Contains(status.Convert(err).Message(), "a cause only the log shows") {
		t.Error("the answer carries the cause")
	}
	requireLogLine(t, env, err, "a cause only the log shows")
}
