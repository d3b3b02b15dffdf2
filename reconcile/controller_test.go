package reconcile

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// A replica that does not lead sees every record change through its
// informers, and must not keep them: its queue would grow with every record
// ever seen. Run queues every record once it leads.
func TestStandbyQueuesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := finalizingClientset()
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
