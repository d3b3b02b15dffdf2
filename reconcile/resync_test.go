package reconcile

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	s3fake "github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/fake"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store/storetest"
)

// resyncEnv is a controller over n converged accesses of one bucket, on a
// fake API server and a fake SeaweedFS whose calls it counts.
type resyncEnv struct {
	c       *Controller
	r       *Reconciler
	admin   *s3fake.Fake
	records []*store.Access

	mu    sync.Mutex
	calls int
}

func newResyncEnv(ctx context.Context, t *testing.T, n int, cfg ControllerConfig) *resyncEnv {
	t.Helper()
	client := storetest.FinalizingClientset()
	admin := s3fake.New("cosi-")
	r := &Reconciler{Store: store.New(client, "cosi"), Admin: admin,
		Cfg: Config{UserPrefix: "cosi-", OwnerID: "owner", BlockedInterval: time.Second, UnfinishedInterval: time.Millisecond}}
	e := &resyncEnv{r: r, admin: admin}
	b, _, err := r.Store.CreateBucket(ctx, store.BucketSpec{Name: "bucket-one", BucketID: "bucket-one"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(ctx, Key{Kind: store.KindBucket, Name: b.RecordName}); err != nil {
		t.Fatal(err)
	}
	// Granted 8 at a time: a grant mostly waits (for the key to be accepted).
	e.records = make([]*store.Access, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id, secret, err := s3admin.GenerateCredentials()
			if err != nil {
				errs <- err
				return
			}
			name := fmt.Sprintf("ba-%05d", i)
			spec := store.AccessSpec{Name: name, BucketID: "bucket-one", Mode: "read-write", User: "cosi-" + names.AccessID(name)}
			a, _, err := r.Store.CreateAccess(ctx, spec, id, secret)
			if err != nil {
				errs <- err
				return
			}
			e.records[i] = a
			errs <- readyAfterReconciles(ctx, r, a.RecordName)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace("cosi"))
	inf := Informers{Buckets: factory.Core().V1().ConfigMaps().Informer(), Accesses: factory.Core().V1().Secrets().Informer()}
	cfg.Workers, cfg.ResyncPeriod, cfg.CallTimeout = 1, time.Hour, 5*time.Second
	if e.c, err = NewController(r, inf, cfg, logr.Discard()); err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	t.Cleanup(factory.Shutdown)
	if !cache.WaitForCacheSync(ctx.Done(), inf.Buckets.HasSynced, inf.Accesses.HasSynced) {
		t.Fatal("caches did not sync")
	}
	// Until the cache holds every access as Ready: one it still holds as
	// pending would be queued by the pass.
	for ready := 0; ready < n; {
		select {
		case <-ctx.Done():
			t.Fatal("the informer did not see every record ready")
		case <-time.After(10 * time.Millisecond):
		}
		ready = 0
		for _, obj := range inf.Accesses.GetStore().List() {
			if a, err := store.AccessFromSecret(obj.(*corev1.Secret)); err == nil && a.Status.Phase == store.PhaseReady {
				ready++
			}
		}
	}
	admin.SetHook(func(string) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.calls++
		return nil
	})
	return e
}

// readyAfterReconciles reconciles an access record until it is Ready, as
// the controller's queue would (a key the fake does not accept within the
// wait leaves it pending for a poll).
func readyAfterReconciles(ctx context.Context, r *Reconciler, record string) error {
	for range 20 {
		if _, err := r.Reconcile(ctx, Key{Kind: store.KindAccess, Name: record}); err != nil {
			return err
		}
		a, err := r.Store.GetAccess(ctx, record)
		if err != nil {
			return err
		}
		if a.Status.Phase == store.PhaseReady {
			return nil
		}
	}
	return fmt.Errorf("access %s not ready after 20 reconciles", record)
}

// pass runs one resync pass and returns the SeaweedFS calls it made and
// the keys it queued.
func (e *resyncEnv) pass(ctx context.Context, t *testing.T) (int, map[Key]bool) {
	t.Helper()
	e.mu.Lock()
	e.calls = 0
	e.mu.Unlock()
	if _, err := e.c.resyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	calls := e.calls
	e.mu.Unlock()
	queued := map[Key]bool{}
	for e.c.queue.Len() > 0 {
		k, _ := e.c.queue.Get()
		queued[k] = true
		e.c.queue.Done(k)
		e.c.queue.Forget(k)
	}
	return calls, queued
}

// On the IAM query API path every user costs calls of its own, and each of
// them makes SeaweedFS read its whole configuration: a pass that observed
// every user ran past its bound at about a thousand accesses, and what
// follows the listing (collection, drift repair) never ran. A pass's calls
// must not grow with the number of users.
func TestResyncCallsPerPassDoNotGrowWithTheUsers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	perPass := map[int]int{}
	for _, n := range []int{120, 360} {
		e := newResyncEnv(ctx, t, n, ControllerConfig{})
		calls, queued := e.pass(ctx, t)
		if len(queued) != 0 {
			t.Fatalf("%d converged accesses: the pass queued %v", n, queued)
		}
		perPass[n] = calls
	}
	t.Logf("SeaweedFS calls per resync pass: %d at 120 users, %d at 360", perPass[120], perPass[360])
	if perPass[360] > perPass[120] {
		t.Fatalf("SeaweedFS calls per resync pass: %d at 120 users, %d at 360; want no growth with the users", perPass[120], perPass[360])
	}
}

// Each pass observes a window of users, the next window on the next pass:
// drift only an observation shows (here a key nobody issued) is found for
// every user within ceil(users/window) passes, and no pass looks at more
// than a window. What the names alone show is acted on at once, whatever
// the window: a user removed out of band is repaired and a user without a
// record collected on the first pass.
func TestResyncVisitsEveryUserWithinItsWindowCount(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const users, window = 25, 4
	e := newResyncEnv(ctx, t, users, ControllerConfig{ResyncUsers: window})
	for i, a := range e.records {
		if err := e.admin.AddUserKey(a.Spec.User, fmt.Sprintf("UNISSUED%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	removed := e.records[users-1]
	e.admin.RemoveUser(removed.Spec.User)
	orphan := "cosi-" + names.AccessID("ba-without-record")
	if err := e.admin.AddUser(orphan); err != nil {
		t.Fatal(err)
	}

	seen := map[Key]bool{}
	passes := (users + window - 1) / window
	for p := range passes {
		_, queued := e.pass(ctx, t)
		if p == 0 {
			if k := (Key{Kind: store.KindAccess, Name: removed.RecordName}); !queued[k] {
				t.Errorf("first pass: the access of the user removed out of band is not queued (queued %v)", queued)
			}
			if st, err := e.admin.ObserveUser(ctx, orphan); err != nil || st.Exists {
				t.Errorf("first pass: the user without a record is still there (%+v, %v)", st, err)
			}
		}
		// The window, and the removed user's access, found by its name.
		if len(queued) > window+1 {
			t.Errorf("pass %d queued %d accesses, more than its window of %d and the removed user's", p+1, len(queued), window)
		}
		for k := range queued {
			seen[k] = true
		}
	}
	for _, a := range e.records {
		if k := (Key{Kind: store.KindAccess, Name: a.RecordName}); !seen[k] {
			t.Errorf("access %s with an unissued key was not queued within %d passes", a.Spec.Name, passes)
		}
	}
}

// A SeaweedFS too slow to read the whole window within half of the pass
// cuts the window short, not the pass: users without a record are still
// collected, the pass succeeds, and the next pass goes on after the last
// user read.
func TestResyncWindowCutShortStillCollectsAndGoesOn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const users, window = 20, 5
	e := newResyncEnv(ctx, t, users, ControllerConfig{ResyncUsers: window})
	orphan := "cosi-" + names.AccessID("ba-without-record")
	if err := e.admin.AddUser(orphan); err != nil {
		t.Fatal(err)
	}
	e.admin.SetHook(func(op string) error {
		if op == "GetUser" {
			// A second pass has half a second to read users: not all 5.
			time.Sleep(150 * time.Millisecond)
		}
		return nil
	})
	passCtx, passCancel := context.WithTimeout(ctx, time.Second)
	_, err := e.c.resyncOnce(passCtx)
	passCancel()
	if err != nil {
		t.Fatalf("a pass whose window was cut short failed: %v", err)
	}
	cursor := e.c.userCursor
	if cursor == "" {
		t.Fatal("the cut window left no place to go on from")
	}
	var listed []string
	for _, a := range e.records {
		listed = append(listed, a.Spec.User)
	}
	listed = append(listed, orphan)
	slices.Sort(listed)
	if i := slices.Index(listed, cursor); i < 0 || i >= len(listed)-1 {
		t.Fatalf("the cut window stopped at %q, want a user before the last of %v", cursor, listed)
	}
	e.admin.SetHook(nil)
	if st, err := e.admin.ObserveUser(ctx, orphan); err != nil || st.Exists {
		t.Errorf("the user without a record is still there after the cut pass (%+v, %v)", st, err)
	}
	if _, err := e.c.resyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	listed = slices.DeleteFunc(listed, func(n string) bool { return n == orphan })
	next := s3admin.UserWindow{After: cursor, Limit: window}
	if want := next.Pick(listed)[window-1]; e.c.userCursor != want {
		t.Fatalf("the next pass ended at %q, want %q: the window of %d after %q", e.c.userCursor, want, window, cursor)
	}
}
