package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store/storetest"
)

// recordNotices is a notices that also takes Notices on records.
type recordNotices struct{ notices }

func (n *recordNotices) NotifyRecord(kind, _, record string, _ types.UID, x Notice) {
	n.add("record/"+kind, record, x)
}

// corruptEnv is newTestReconciler with the API server at hand, to edit
// records as somebody with access to the driver's namespace could.
func corruptEnv(t *testing.T) (context.Context, *Reconciler, kubernetes.Interface, *recordNotices) {
	ctx, r, _ := newTestReconciler(t)
	client := storetest.FinalizingClientset()
	r.Store = store.New(client, "cosi")
	seen := &recordNotices{}
	r.Observer = &Observer{Notifier: seen}
	return ctx, r, client, seen
}

func editSecret(ctx context.Context, t *testing.T, c kubernetes.Interface, name string, edit func(*corev1.Secret)) {
	t.Helper()
	sec, err := c.CoreV1().Secrets("cosi").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	edit(sec)
	if _, err := c.CoreV1().Secrets("cosi").Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func editConfigMap(ctx context.Context, t *testing.T, c kubernetes.Interface, name string, edit func(*corev1.ConfigMap)) {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps("cosi").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	edit(cm)
	if _, err := c.CoreV1().ConfigMaps("cosi").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func rawStatus(t *testing.T, data string) store.Status {
	t.Helper()
	var st store.Status
	if err := json.Unmarshal([]byte(data), &st); err != nil {
		t.Fatalf("status %q: %v", data, err)
	}
	return st
}

// A corrupt access is Failed naming the field, with an Event on the record,
// and nothing is changed in SeaweedFS: its user and key stay as they were.
func TestACorruptAccessIsFailedAndItsUserLeftAlone(t *testing.T) {
	ctx, r, client, seen := corruptEnv(t)
	a, key := readyAccess(ctx, t, r)
	a, err := r.Store.GetAccess(ctx, a.RecordName) // as reconciled
	if err != nil || a.Status.BucketCreations == 0 {
		t.Fatalf("access %+v, %v: want it written for the bucket's creation", a, err)
	}
	editSecret(ctx, t, client, a.RecordName, func(s *corev1.Secret) { s.Data["spec"] = []byte("{") })
	res, err := r.Reconcile(ctx, key)
	if err != nil || res != (Result{}) {
		t.Fatalf("reconcile: %+v, %v; want done (the record's change queues it again)", res, err)
	}
	u, err := r.Admin.ObserveUser(ctx, a.Spec.User)
	if err != nil || !u.Exists || !Converged(a, u) {
		t.Fatalf("user %+v, %v: want it as it was", u, err)
	}
	sec, err := client.CoreV1().Secrets("cosi").Get(ctx, a.RecordName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := rawStatus(t, string(sec.Data["status"])); st.Phase != store.PhaseFailed || st.Reason != store.ReasonRecordCorrupt ||
		!strings.Contains(st.Message, "spec") || st.BucketCreations != a.Status.BucketCreations {
		t.Errorf("status %+v, want Failed naming the spec, the bucket creation kept", st)
	}
	got := seen.take()
	if len(got) != 1 || !strings.HasPrefix(got[0], "record/access "+a.RecordName+" Warning "+ReasonRecordCorrupt+": the record's spec ") {
		t.Errorf("notices %q, want one warning on the record naming the spec", got)
	}
}

// A revoked access whose spec cannot be read still loses its user (named by
// the record's access id), and the record then goes.
func TestARevokedCorruptAccessLosesItsUser(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*corev1.Secret)
	}{
		{name: "spec not JSON", edit: func(s *corev1.Secret) { s.Data["spec"] = []byte("not json") }},
		{name: "no key id", edit: func(s *corev1.Secret) { delete(s.Data, "accessKeyID") }},
		{name: "no kind label", edit: func(s *corev1.Secret) { delete(s.Labels, store.LabelKind) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, r, client, _ := corruptEnv(t)
			a, key := readyAccess(ctx, t, r)
			editSecret(ctx, t, client, a.RecordName, tt.edit)
			if err := r.Store.DeleteAccess(ctx, a.RecordName); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Reconcile(ctx, key); err != nil {
				t.Fatalf("reconcile: %v", err)
			}
			if u, err := r.Admin.ObserveUser(ctx, a.Spec.User); err != nil || u.Exists {
				t.Fatalf("user %+v, %v; want it deleted", u, err)
			}
			if _, err := client.CoreV1().Secrets("cosi").Get(ctx, a.RecordName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("record: %v, want it released and gone", err)
			}
		})
	}
}

// A bucket record that lost its kind label is not absent: its accesses are
// not revoked, and it is Failed naming the label. Once the label is back it
// is ready again and so are they.
func TestABucketRecordWithoutItsLabelRevokesNothing(t *testing.T) {
	ctx, r, client, seen := corruptEnv(t)
	a, key := readyAccess(ctx, t, r)
	bucketKey := Key{Kind: store.KindBucket, Name: names.BucketRecord(a.Spec.BucketID)}
	editConfigMap(ctx, t, client, bucketKey.Name, func(cm *corev1.ConfigMap) { delete(cm.Labels, store.LabelKind) })

	_, err := r.Reconcile(ctx, key)
	var ce *store.CorruptError
	if !IsTerminal(err) || !errors.As(err, &ce) {
		t.Fatalf("reconcile access: %v, want a terminal CorruptError", err)
	}
	got, err := r.Store.GetAccess(ctx, a.RecordName)
	if err != nil || got.Deleting {
		t.Fatalf("access %+v, %v: want it kept, not revoked", got, err)
	}
	if u, err := r.Admin.ObserveUser(ctx, a.Spec.User); err != nil || !Converged(a, u) {
		t.Fatalf("user %+v, %v: want it as it was", u, err)
	}
	if _, err := r.Reconcile(ctx, bucketKey); err != nil {
		t.Fatalf("reconcile bucket: %v", err)
	}
	cm, err := client.CoreV1().ConfigMaps("cosi").Get(ctx, bucketKey.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := rawStatus(t, cm.Data["status"]); st.Phase != store.PhaseFailed || !strings.Contains(st.Message, store.LabelKind) || st.Marker == "" {
		t.Errorf("bucket status %+v, want Failed naming the label, its marker kept", st)
	}
	if got := seen.take(); len(got) != 1 || !strings.HasPrefix(got[0], "record/bucket "+bucketKey.Name+" Warning "+ReasonRecordCorrupt) {
		t.Errorf("notices %q, want one warning on the bucket record", got)
	}

	editConfigMap(ctx, t, client, bucketKey.Name, func(cm *corev1.ConfigMap) { cm.Labels[store.LabelKind] = store.KindBucket })
	for _, k := range []Key{bucketKey, key} {
		if _, err := r.Reconcile(ctx, k); err != nil {
			t.Fatalf("reconcile %s: %v", k, err)
		}
	}
	b, err := r.Store.GetBucket(ctx, bucketKey.Name)
	if err != nil || b.Status.Phase != store.PhaseReady {
		t.Fatalf("bucket %+v, %v: want Ready once the label is back", b, err)
	}
}

// Deleting a bucket revokes its accesses, corrupt ones too: they are found
// by the bucket label, not read.
func TestDeletingABucketRevokesItsCorruptAccess(t *testing.T) {
	ctx, r, client, _ := corruptEnv(t)
	a, key := readyAccess(ctx, t, r)
	bucketKey := Key{Kind: store.KindBucket, Name: names.BucketRecord(a.Spec.BucketID)}
	editSecret(ctx, t, client, a.RecordName, func(s *corev1.Secret) { s.Data["spec"] = []byte("[]") })
	if err := r.Store.DeleteBucket(ctx, bucketKey.Name); err != nil {
		t.Fatal(err)
	}
	for _, k := range []Key{bucketKey, key, bucketKey} {
		if _, err := r.Reconcile(ctx, k); err != nil {
			t.Fatalf("reconcile %s: %v", k, err)
		}
	}
	if u, err := r.Admin.ObserveUser(ctx, a.Spec.User); err != nil || u.Exists {
		t.Fatalf("user %+v, %v; want it deleted", u, err)
	}
	if _, err := r.Store.GetBucket(ctx, bucketKey.Name); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bucket record: %v, want it gone", err)
	}
}
