package reconcile

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	s3fake "github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/fake"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store/storetest"
)

// A replica that does not lead sees every record change through its
// informers, and must not keep them: its queue would grow with every record
// ever seen. Run queues every record once it leads.
func TestStandbyQueuesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := storetest.FinalizingClientset()
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace("cosi"))
	inf := Informers{Buckets: factory.Core().V1().ConfigMaps().Informer(), Accesses: factory.Core().V1().Secrets().Informer()}
	c, err := NewController(&Reconciler{Store: store.New(client, "cosi")}, inf, ControllerConfig{Workers: 1, ResyncPeriod: time.Hour}, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	defer func() { cancel(); factory.Shutdown() }()
	if !cache.WaitForCacheSync(ctx.Done(), inf.Buckets.HasSynced, inf.Accesses.HasSynced) {
		t.Fatal("caches did not sync")
	}
	st := store.New(client, "cosi")
	for _, n := range []string{"bucket-a", "bucket-b"} {
		b, _, err := st.CreateBucket(ctx, store.BucketSpec{Name: n, BucketID: n})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteBucket(ctx, b.RecordName); err != nil {
			t.Fatal(err)
		}
		c.Enqueue(Key{Kind: store.KindBucket, Name: b.RecordName})
	}
	// Wait until the informer has seen both records.
	for len(inf.Buckets.GetStore().List()) < 2 {
		select {
		case <-ctx.Done():
			t.Fatal("the informer did not see the records")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if n := c.queue.Len(); n != 0 {
		t.Fatalf("a standby replica queued %d keys, want none", n)
	}
}

// fixedBucketAccesses is a BucketAccess listing that returns uids.
type fixedBucketAccesses struct{ uids BucketAccessUIDs }

func (f fixedBucketAccesses) UIDs(context.Context) (BucketAccessUIDs, error) { return f.uids, nil }

// A resync whose SeaweedFS listings fail must still revoke the accesses whose
// BucketAccess was deleted: their keys must not outlive the BucketAccess
// because SeaweedFS cannot be listed.
func TestResyncRevokesDeletedBucketAccessesWhenSeaweedFSCannotBeListed(t *testing.T) {
	for _, failing := range []string{"ListBuckets", "ListUsers"} {
		t.Run(failing, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			client := storetest.FinalizingClientset()
			admin := s3fake.New("cosi-")
			r := &Reconciler{Store: store.New(client, "cosi"), Admin: admin,
				Cfg: Config{UserPrefix: "cosi-", OwnerID: "owner", BlockedInterval: time.Second, UnfinishedInterval: time.Millisecond}}
			const gone, kept = "0f3c7a52-9d61-4c0e-8f7a-2b1d9e6c4a10", "11111111-2222-4333-8444-555555555555"
			records := map[string]string{}
			b, _, err := r.Store.CreateBucket(ctx, store.BucketSpec{Name: "bucket-one", BucketID: "bucket-one"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Reconcile(ctx, Key{Kind: store.KindBucket, Name: b.RecordName}); err != nil {
				t.Fatal(err)
			}
			for _, uid := range []string{gone, kept} {
				id, secret, err := s3admin.GenerateCredentials()
				if err != nil {
					t.Fatal(err)
				}
				spec := store.AccessSpec{Name: "ba-" + uid, BucketID: "bucket-one", Mode: "read-write", User: "cosi-" + names.AccessID("ba-"+uid)}
				a, _, err := r.Store.CreateAccess(ctx, spec, id, secret)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := r.Reconcile(ctx, Key{Kind: store.KindAccess, Name: a.RecordName}); err != nil {
					t.Fatal(err)
				}
				records[uid] = a.RecordName
			}

			factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace("cosi"))
			inf := Informers{Buckets: factory.Core().V1().ConfigMaps().Informer(), Accesses: factory.Core().V1().Secrets().Informer()}
			c, err := NewController(r, inf, ControllerConfig{Workers: 1, ResyncPeriod: time.Hour, CallTimeout: 5 * time.Second,
				BucketAccesses: fixedBucketAccesses{uids: BucketAccessUIDs{kept: true}}}, logr.Discard())
			if err != nil {
				t.Fatal(err)
			}
			factory.Start(ctx.Done())
			defer func() { cancel(); factory.Shutdown() }()
			if !cache.WaitForCacheSync(ctx.Done(), inf.Buckets.HasSynced, inf.Accesses.HasSynced) {
				t.Fatal("caches did not sync")
			}

			admin.SetHook(func(op string) error {
				if op == failing {
					return s3admin.ErrTransient
				}
				return nil
			})
			if _, err := c.resyncOnce(ctx); !errors.Is(err, s3admin.ErrTransient) {
				t.Fatalf("resync: %v, want the listing's transient error", err)
			}
			for uid, deleting := range map[string]bool{gone: true, kept: false} {
				a, err := r.Store.GetAccess(ctx, records[uid])
				if err != nil {
					t.Fatal(err)
				}
				if a.Deleting != deleting {
					t.Errorf("access of BucketAccess %s: deleting %t, want %t", uid, a.Deleting, deleting)
				}
			}
		})
	}
}
