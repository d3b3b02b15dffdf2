package conformance

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientretry "k8s.io/client-go/util/retry"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// ---- records edited through the API server ----

// reasonRecordCorrupt is the status and Event reason of a record that cannot
// be read, as documented.
const reasonRecordCorrupt = "RecordCorrupt"

// editAccessRecord changes an access record as somebody with write access to
// the driver's namespace could, on a fresh read (the driver writes statuses
// meanwhile).
func (e *environment) editAccessRecord(t testing.TB, name string, edit func(*corev1.Secret)) {
	t.Helper()
	secrets := e.kube.CoreV1().Secrets(driverNamespace)
	err := clientretry.RetryOnConflict(clientretry.DefaultRetry, func() error {
		sec, err := secrets.Get(ctx(t), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		edit(sec)
		_, err = secrets.Update(ctx(t), sec, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("edit access record %s: %v", name, err)
	}
}

func (e *environment) editBucketRecord(t testing.TB, name string, edit func(*corev1.ConfigMap)) {
	t.Helper()
	cms := e.kube.CoreV1().ConfigMaps(driverNamespace)
	err := clientretry.RetryOnConflict(clientretry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx(t), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		edit(cm)
		_, err = cms.Update(ctx(t), cm, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("edit bucket record %s: %v", name, err)
	}
}

// requireCorruptStatus waits for the record's status to say it is Failed
// because it is corrupt, naming field.
func (e *environment) requireCorruptStatus(t testing.TB, kind, name, field string) {
	t.Helper()
	stack.Eventually(t, repairWithin, func() error {
		var raw string
		switch kind {
		case store.KindBucket:
			cm, err := e.kube.CoreV1().ConfigMaps(driverNamespace).Get(ctx(t), name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			raw = cm.Data["status"]
		default:
			sec, err := e.kube.CoreV1().Secrets(driverNamespace).Get(ctx(t), name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			raw = string(sec.Data["status"])
		}
		var st store.Status
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			return fmt.Errorf("status %q: %w", raw, err)
		}
		if st.Phase != store.PhaseFailed || st.Reason != reasonRecordCorrupt || !strings.Contains(st.Message, field) {
			return fmt.Errorf("status %+v, want Failed, reason %s, a message naming %s", st, reasonRecordCorrupt, field)
		}
		return nil
	})
}

// errorIDRE finds the log line an answer points to.
var errorIDRE = regexp.MustCompile(`errorID ([0-9a-f]+)`)

// requireLogLine fails the test unless an answer that sends its caller to
// the driver log names a line of it by its errorID, and that line holds
// every one of words.
func requireLogLine(t testing.TB, what string, err error, words ...string) {
	t.Helper()
	msg := status.Convert(err).Message()
	if !strings.Contains(msg, "driver log") {
		return
	}
	m := errorIDRE.FindStringSubmatch(msg)
	if m == nil {
		t.Errorf("%s answered %q: it points to the driver log but names no line of it", what, msg)
		return
	}
	log := logSince(t, env.driver, 0)
	for line := range strings.SplitSeq(log, "\n") {
		if !strings.Contains(line, `"errorID":"`+m[1]+`"`) {
			continue
		}
		for _, w := range words {
			if !strings.Contains(line, w) {
				t.Errorf("%s: the log line with errorID %s does not mention %q: %s", what, m[1], w, line)
			}
		}
		return
	}
	t.Errorf("%s answered %q: the driver log has no line with errorID %s", what, msg, m[1])
}

// An access record whose spec is no longer JSON (edited through the API
// server) cannot be read, but its name still says which user it stands for:
// revoking it removes that user, and the key stops working. The revocation
// must not fail forever while the key keeps working.
func TestRevokeOfAnAccessWhoseSpecIsNotJSONRemovesItsUser(t *testing.T) {
	e := mustEnv(t)
	bucket := e.mustCreateBucket(t, bucketName(), nil)
	a := e.mustGrant(t, bucket, nil)
	rec := accessRecordOf(a)
	e.editAccessRecord(t, rec, func(sec *corev1.Secret) { sec.Data["spec"] = []byte("{this is not JSON") })

	err := e.revoke(t, bucket, a.account)
	requireLogLine(t, "DriverRevokeBucketAccess", err, rec)
	requireOK(t, err, "DriverRevokeBucketAccess of an access whose record's spec is not JSON")
	if e.userExists(t, a.account) {
		t.Errorf("user %s still exists", a.account)
	}
	requireKeyRejected(t, a, bucket)
	if e.accessRecordExists(t, rec) {
		t.Errorf("access record %s still exists", rec)
	}
}

// An access record that lost its key id cannot give a credential: a repeated
// Grant answers FAILED_PRECONDITION naming the field, never OK with an empty
// key. The key the workload already holds keeps working (the corruption
// revokes nothing), and a Revoke still removes the user.
func TestARepeatedGrantOfAnAccessWithoutItsKeyIDAnswersNoCredential(t *testing.T) {
	e := mustEnv(t)
	bucket := e.mustCreateBucket(t, bucketName(), nil)
	name, _ := e.bucketAccess(t)
	req := grantRequest(bucket, name, nil)
	resp, err := e.grant(t, req)
	requireOK(t, err, "DriverGrantBucketAccess")
	a := accessFrom(resp)
	rec := accessRecordOf(a)
	e.editAccessRecord(t, rec, func(sec *corev1.Secret) { delete(sec.Data, "accessKeyID") })

	resp, err = e.grant(t, req)
	if creds := resp.GetCredentials(); len(creds) > 0 {
		t.Errorf("the repeated grant answered credentials: key id %q", creds["s3"].GetSecrets()["accessKeyID"])
	}
	requireLogLine(t, "the repeated DriverGrantBucketAccess", err, rec, "accessKeyID")
	requireCode(t, err, codes.FailedPrecondition, rec, "accessKeyID")
	e.requireCorruptStatus(t, store.KindAccess, rec, "accessKeyID")
	e.requireEvent(t, driverNamespace, "Secret", rec, reasonRecordCorrupt)
	if _, err := s3check.List(ctx(t), a.s3(), bucket); err != nil {
		t.Errorf("the key the workload holds no longer works: %v", err)
	}

	requireOK(t, e.revoke(t, bucket, a.account), "DriverRevokeBucketAccess")
	if e.userExists(t, a.account) {
		t.Errorf("user %s still exists", a.account)
	}
	requireKeyRejected(t, a, bucket)
}

// A bucket record that lost its kind label is still the bucket's record: it
// is not taken as absent, so none of its accesses is revoked and its bucket
// is not collected as an orphan. It is Failed naming the label, with an
// Event; the calls on it answer FAILED_PRECONDITION; once the label is back
// the bucket is ready again.
func TestABucketRecordThatLostItsKindLabelRevokesNothing(t *testing.T) {
	e := mustEnv(t)
	bucket := e.mustCreateBucket(t, bucketName(), nil)
	a := e.mustGrant(t, bucket, nil)
	brec := names.BucketRecord(bucket)
	e.editBucketRecord(t, brec, func(cm *corev1.ConfigMap) { delete(cm.Labels, store.LabelKind) })
	// Restored before the clean-up deletes the bucket (clean-ups run last
	// registered first), should the test stop early.
	t.Cleanup(func() {
		e.editBucketRecord(t, brec, func(cm *corev1.ConfigMap) { cm.Labels[store.LabelKind] = store.KindBucket })
	})

	// Long enough for two resync passes and the reconciles they queue.
	time.Sleep(2*resyncPeriod + time.Second)
	if !e.accessRecordExists(t, accessRecordOf(a)) {
		t.Fatal("the access record was deleted")
	}
	sec, err := e.kube.CoreV1().Secrets(driverNamespace).Get(ctx(t), accessRecordOf(a), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sec.DeletionTimestamp != nil {
		t.Error("the access was revoked")
	}
	if !e.userExists(t, a.account) {
		t.Error("the access's user was deleted")
	}
	if !e.bucketExists(t, bucket) {
		t.Fatal("the bucket was deleted")
	}
	if _, err := s3check.List(ctx(t), a.s3(), bucket); err != nil {
		t.Errorf("the access's key no longer works: %v", err)
	}
	e.requireCorruptStatus(t, store.KindBucket, brec, store.LabelKind)
	e.requireEvent(t, driverNamespace, "ConfigMap", brec, reasonRecordCorrupt)

	_, err = e.grant(t, grantRequest(bucket, accessName(), nil))
	requireLogLine(t, "DriverGrantBucketAccess", err, brec, store.LabelKind)
	requireCode(t, err, codes.FailedPrecondition, brec, store.LabelKind)
	_, err = e.driver.Provisioner().DriverDeleteBucket(ctx(t), &cosi.DriverDeleteBucketRequest{BucketId: bucket})
	requireLogLine(t, "DriverDeleteBucket", err, brec, store.LabelKind)
	requireCode(t, err, codes.FailedPrecondition, brec, store.LabelKind)

	e.editBucketRecord(t, brec, func(cm *corev1.ConfigMap) { cm.Labels[store.LabelKind] = store.KindBucket })
	stack.Eventually(t, repairWithin, func() error {
		cm, err := e.kube.CoreV1().ConfigMaps(driverNamespace).Get(ctx(t), brec, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var st store.Status
		if err := json.Unmarshal([]byte(cm.Data["status"]), &st); err != nil || st.Phase != store.PhaseReady {
			return fmt.Errorf("status %q, want Ready once the label is back", cm.Data["status"])
		}
		return nil
	})
	if _, err := s3check.List(ctx(t), a.s3(), bucket); err != nil {
		t.Errorf("the access's key no longer works: %v", err)
	}
}

// Every answer that sends its caller to the driver log names the line it
// means, and the log holds that line with the error: here for each call on
// a bucket whose record's spec is no longer JSON.
func TestAnswersThatPointToTheDriverLogNameALineItHolds(t *testing.T) {
	e := mustEnv(t)
	name := bucketName()
	bucket := e.mustCreateBucket(t, name, nil)
	brec := names.BucketRecord(bucket)
	var spec string
	e.editBucketRecord(t, brec, func(cm *corev1.ConfigMap) { spec, cm.Data["spec"] = cm.Data["spec"], "[" })
	t.Cleanup(func() { e.editBucketRecord(t, brec, func(cm *corev1.ConfigMap) { cm.Data["spec"] = spec }) })

	pointed := 0
	for what, call := range map[string]func() error{
		"DriverGrantBucketAccess": func() error {
			_, err := e.grant(t, grantRequest(bucket, accessName(), nil))
			return err
		},
		"DriverCreateBucket": func() error {
			_, err := e.createBucket(t, name, nil)
			return err
		},
		"DriverDeleteBucket": func() error {
			_, err := e.driver.Provisioner().DriverDeleteBucket(ctx(t), &cosi.DriverDeleteBucketRequest{BucketId: bucket})
			return err
		},
	} {
		err := call()
		if err == nil {
			t.Errorf("%s on a bucket whose record's spec is not JSON answered OK", what)
			continue
		}
		if strings.Contains(status.Convert(err).Message(), "driver log") {
			pointed++
		}
		requireLogLine(t, what, err, brec, `"field":"spec"`)
	}
	if pointed == 0 {
		t.Error("no answer pointed to the driver log")
	}
	// The record itself says what is wrong, and so does an Event on it.
	e.requireCorruptStatus(t, store.KindBucket, brec, "spec")
	e.requireEvent(t, driverNamespace, "ConfigMap", brec, reasonRecordCorrupt)
}
