package reconcile

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/metrics"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// notices is a Notifier that keeps what it is told.
type notices struct {
	mu  sync.Mutex
	got []string // "kind name type reason: message"
}

func (n *notices) NotifyBucket(rec *store.Bucket, x Notice) { n.add("bucket", rec.Spec.Name, x) }
func (n *notices) NotifyAccess(rec *store.Access, x Notice) { n.add("access", rec.Spec.Name, x) }
func (n *notices) add(kind, name string, x Notice) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, kind+" "+name+" "+x.Type+" "+x.Reason+": "+x.Message)
}

func (n *notices) take() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	got := n.got
	n.got = nil
	return got
}

// A blocked delete needs an API server that keeps a record with a
// finalizer: test/conformance covers it.
func TestObserverReportsDriftAndRefusals(t *testing.T) {
	ctx, r, admin := newTestReconciler(t)
	m := metrics.New()
	seen := &notices{}
	r.Observer = &Observer{Metrics: m, Notifier: seen}
	reconcile := func(k Key) error {
		t.Helper()
		_, err := r.Reconcile(ctx, k)
		return err
	}

	b, _, err := r.Store.CreateBucket(ctx, store.BucketSpec{Name: "bucket-one", BucketID: "bucket-one"})
	if err != nil {
		t.Fatal(err)
	}
	key := Key{Kind: store.KindBucket, Name: b.RecordName}
	if err := reconcile(key); err != nil {
		t.Fatal(err)
	}
	if got := seen.take(); len(got) != 0 {
		t.Errorf("a first create reported %v, want nothing", got)
	}

	t.Run("a bucket removed out of band and created again is a repaired drift", func(t *testing.T) {
		admin.RemoveBucket("bucket-one")
		if err := reconcile(key); err != nil {
			t.Fatal(err)
		}
		if got := testutil.ToFloat64(m.DriftRepairedCounter(store.KindBucket)); got != 1 {
			t.Errorf("drift repaired = %v, want 1", got)
		}
		want := []string{"bucket bucket-one Normal DriftRepaired: the bucket was missing from SeaweedFS and was created again; the permissions of its accesses are written again"}
		if d := cmp.Diff(want, seen.take()); d != "" {
			t.Errorf("notices (-want +got):\n%s", d)
		}
	})

	t.Run("a refusal by SeaweedFS names the operation, the class and the code", func(t *testing.T) {
		c, _, err := r.Store.CreateBucket(ctx, store.BucketSpec{Name: "bucket-two", BucketID: "bucket-two"})
		if err != nil {
			t.Fatal(err)
		}
		admin.SetHook(func(op string) error {
			if op == "CreateBucket" {
				return &s3admin.Error{Op: "CreateBucket", Kind: s3admin.ErrAccessDenied, Code: "AccessDenied"}
			}
			return nil
		})
		defer admin.SetHook(nil)
		if err := reconcile(Key{Kind: store.KindBucket, Name: c.RecordName}); err == nil {
			t.Fatal("reconcile succeeded against a refusing SeaweedFS")
		}
		got := seen.take()
		if len(got) != 1 || !strings.HasPrefix(got[0], "bucket bucket-two Warning SeaweedFSRefused: SeaweedFS CreateBucket: SeaweedFS refused") || !strings.HasSuffix(got[0], "(AccessDenied)") {
			t.Errorf("notices = %q", got)
		}
	})
}
