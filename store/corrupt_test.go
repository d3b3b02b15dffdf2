package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
)

const (
	testKey    = "AKIDTESTVALUE"
	testSecret = "secret-value-never-logged"
)

// A record edited through the API server is read as corrupt, naming the
// field, whatever was changed: never as absent (absence revokes), and never
// as a record with an empty credential. The error never carries a value.
func TestACorruptRecordIsNamedNeverAbsent(t *testing.T) {
	user := names.User("cosi-", names.AccessID("ba-one"))
	for _, tt := range []struct {
		name      string
		bucket    func(*corev1.ConfigMap)
		access    func(*corev1.Secret)
		wantField string
	}{
		{name: "bucket without its kind label", bucket: func(cm *corev1.ConfigMap) { delete(cm.Labels, LabelKind) }, wantField: "label " + LabelKind},
		{name: "bucket with another kind label", bucket: func(cm *corev1.ConfigMap) { cm.Labels[LabelKind] = KindAccess }, wantField: "label " + LabelKind},
		{name: "bucket without its managed-by label", bucket: func(cm *corev1.ConfigMap) { delete(cm.Labels, LabelManagedBy) }, wantField: "label " + LabelManagedBy},
		{name: "bucket spec not JSON", bucket: func(cm *corev1.ConfigMap) { cm.Data[keySpec] = "{" }, wantField: "spec"},
		{name: "bucket without spec", bucket: func(cm *corev1.ConfigMap) { delete(cm.Data, keySpec) }, wantField: "spec"},
		{name: "bucket spec without bucket id", bucket: func(cm *corev1.ConfigMap) { cm.Data[keySpec] = `{"name":"bucket-one"}` }, wantField: "spec.bucketID"},
		{name: "bucket spec naming another bucket", bucket: func(cm *corev1.ConfigMap) { cm.Data[keySpec] = `{"name":"bucket-one","bucketID":"bucket-two"}` }, wantField: "spec.bucketID"},
		{name: "bucket status not JSON", bucket: func(cm *corev1.ConfigMap) { cm.Data[keyStatus] = "Ready" }, wantField: "status"},
		{name: "access without its kind label", access: func(s *corev1.Secret) { delete(s.Labels, LabelKind) }, wantField: "label " + LabelKind},
		{name: "access without its bucket label", access: func(s *corev1.Secret) { delete(s.Labels, LabelBucketRecord) }, wantField: "label " + LabelBucketRecord},
		{name: "access spec not JSON", access: func(s *corev1.Secret) { s.Data[keySpec] = []byte("not json " + testSecret) }, wantField: "spec"},
		{name: "access spec without user", access: func(s *corev1.Secret) {
			s.Data[keySpec] = []byte(`{"name":"ba-one","bucketID":"bucket-one","mode":"read-write"}`)
		}, wantField: "spec.user"},
		{name: "access spec naming a user of another access", access: func(s *corev1.Secret) {
			s.Data[keySpec] = []byte(`{"name":"ba-one","bucketID":"bucket-one","mode":"read-write","user":"` + names.User("cosi-", names.AccessID("ba-two")) + `"}`)
		}, wantField: "spec.user"},
		{name: "access spec of another grant name", access: func(s *corev1.Secret) {
			s.Data[keySpec] = []byte(`{"name":"ba-two","bucketID":"bucket-one","mode":"read-write","user":"` + user + `"}`)
		}, wantField: "spec.name"},
		{name: "access without key id", access: func(s *corev1.Secret) { delete(s.Data, keyAccessKeyID) }, wantField: keyAccessKeyID},
		{name: "access with an empty secret", access: func(s *corev1.Secret) { s.Data[keySecretAccessKey] = nil }, wantField: keySecretAccessKey},
		{name: "access status not JSON", access: func(s *corev1.Secret) { s.Data[keyStatus] = []byte("{") }, wantField: "status"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			client := fake.NewClientset()
			s := New(client, "cosi")
			b, _, err := s.CreateBucket(ctx, BucketSpec{Name: "bucket-one", BucketID: "bucket-one"})
			if err != nil {
				t.Fatal(err)
			}
			a, _, err := s.CreateAccess(ctx, AccessSpec{Name: "ba-one", BucketID: "bucket-one", Mode: "read-write", User: user}, testKey, testSecret)
			if err != nil {
				t.Fatal(err)
			}
			var get func() error
			var record string
			switch {
			case tt.bucket != nil:
				record = b.RecordName
				cm, err := client.CoreV1().ConfigMaps("cosi").Get(ctx, record, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				tt.bucket(cm)
				if _, err := client.CoreV1().ConfigMaps("cosi").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
				get = func() error { _, err := s.GetBucket(ctx, record); return err }
			default:
				record = a.RecordName
				sec, err := client.CoreV1().Secrets("cosi").Get(ctx, record, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				tt.access(sec)
				if _, err := client.CoreV1().Secrets("cosi").Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
				get = func() error { _, err := s.GetAccess(ctx, record); return err }
			}
			err = get()
			var ce *CorruptError
			if !errors.As(err, &ce) || errors.Is(err, ErrNotFound) {
				t.Fatalf("read: %v, want a CorruptError and not ErrNotFound", err)
			}
			if ce.Field != tt.wantField || ce.Record != record {
				t.Errorf("CorruptError %+v, want field %q of record %s", ce, tt.wantField, record)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.wantField) || strings.Contains(msg, testSecret) || strings.Contains(msg, testKey) {
				t.Errorf("error %q: want it to name %q and hold no credential", msg, tt.wantField)
			}
			// The access's user is known whenever its spec says it: a
			// revocation can remove it.
			if tt.access != nil && tt.wantField != "spec" && !strings.HasPrefix(tt.wantField, "spec.") && ce.User != user {
				t.Errorf("CorruptError names user %q, want %q", ce.User, user)
			}
		})
	}
}

// A corrupt record is marked Failed naming the field, and everything else
// its status held is kept; once repaired it reads as pending (what it was
// before is unknown), not Failed.
func TestACorruptRecordIsMarkedAndReadsPendingOnceRepaired(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := fake.NewClientset()
	s := New(client, "cosi")
	b, _, err := s.CreateBucket(ctx, BucketSpec{Name: "bucket-one", BucketID: "bucket-one"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkCreateAttempted(ctx, b.RecordName, "creating", "owner", "marker"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBucketStatus(ctx, b.RecordName, Status{Phase: PhaseReady}); err != nil {
		t.Fatal(err)
	}
	cms := client.CoreV1().ConfigMaps("cosi")
	cm, err := cms.Get(ctx, b.RecordName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	delete(cm.Labels, LabelKind)
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetBucket(ctx, b.RecordName)
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("read: %v, want a CorruptError", err)
	}
	if err := s.MarkBucketCorrupt(ctx, ce); err != nil {
		t.Fatal(err)
	}
	cm, err = cms.Get(ctx, b.RecordName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := json.Unmarshal([]byte(cm.Data[keyStatus]), &st); err != nil {
		t.Fatal(err)
	}
	if st.Phase != PhaseFailed || st.Reason != ReasonRecordCorrupt || !strings.Contains(st.Message, LabelKind) ||
		st.Marker != "marker" || st.Owner != "owner" || st.Creations != 1 || !st.CreateAttempted {
		t.Fatalf("status %+v, want Failed for the label with the marks and counts kept", st)
	}

	cm.Labels[LabelKind] = KindBucket
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetBucket(ctx, b.RecordName)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != PhasePending || got.Status.Reason != "" || got.Status.Marker != "marker" {
		t.Fatalf("repaired record reads %+v, want pending with its marks", got.Status)
	}

	// A status that cannot be read is not overwritten: it may hold the
	// bucket's marks.
	cm.Data[keyStatus] = "{"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetBucket(ctx, b.RecordName)
	if !errors.As(err, &ce) || ce.Field != keyStatus {
		t.Fatalf("read: %v, want a CorruptError for the status", err)
	}
	if err := s.MarkBucketCorrupt(ctx, ce); err != nil {
		t.Fatal(err)
	}
	after, err := cms.Get(ctx, b.RecordName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Data[keyStatus] != "{" {
		t.Errorf("status overwritten with %q", after.Data[keyStatus])
	}
}
