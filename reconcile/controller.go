package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/uuid"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/metrics"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// RecordRateLimiter is the workqueue rate limiter for record keys: per-key
// exponential backoff from 250 ms to 1 min for failures (a backend outage must
// not turn into a hot loop), under an overall 20 qps / burst 100 token bucket
// so that a resync that requeues many records does not flood SeaweedFS.
func RecordRateLimiter() workqueue.TypedRateLimiter[Key] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[Key](250*time.Millisecond, time.Minute),
		&workqueue.TypedBucketRateLimiter[Key]{Limiter: rate.NewLimiter(rate.Limit(20), 100)},
	)
}

// Informers are the shared informers on the driver's records.
type Informers struct {
	Buckets  cache.SharedIndexInformer // ConfigMaps labelled as bucket records
	Accesses cache.SharedIndexInformer // Secrets labelled as access records
}

// ControllerConfig holds the loop's settings.
type ControllerConfig struct {
	Workers int
	// ResyncPeriod: how often SeaweedFS is listed and compared with every
	// record. SeaweedFS emits no events, so this is the only way drift (a
	// bucket or user removed out of band) is seen.
	ResyncPeriod time.Duration
	// CallTimeout bounds one Reconcile (and one resync pass).
	CallTimeout time.Duration
	// ResyncUsers is how many users one resync pass observes where each
	// user costs calls of its own (the IAM query API path), and how many
	// users without a record it deletes at most; zero means
	// DefaultResyncUsers. Every user is observed within ceil(users /
	// ResyncUsers) passes, as long as that many observations fit into half
	// of what remains of a pass after the records and buckets.
	ResyncUsers int
	// BucketAccesses, when set, lets the resync revoke accesses whose
	// BucketAccess was deleted without a DriverRevokeBucketAccess call.
	BucketAccesses BucketAccesses
	// OnAnonymousCheck, when set, is told the outcome of every
	// anonymous-access check (for readiness).
	OnAnonymousCheck func(AnonymousCheck)
	// Metrics, when set, counts reconciles and resyncs and gets the
	// workqueue's metrics.
	Metrics *metrics.Metrics
}

// Controller runs Reconcile for record keys from a rate-limited workqueue.
type Controller struct {
	r     *Reconciler
	inf   Informers
	cfg   ControllerConfig
	log   logr.Logger
	queue workqueue.TypedRateLimitingInterface[Key]

	bucketAccesses BucketAccesses
	// running: Run is reconciling (this replica leads). Events are queued
	// only then.
	running atomic.Bool
	// anonymous is the last anonymous-access check (see Anonymous).
	anonymous atomic.Pointer[AnonymousCheck]
	// userCursor is the last user the previous resync pass's window reached:
	// the next window starts after it. Only the resync goroutine uses it; a
	// new leader starts from the first user.
	userCursor string
}

// NewController wires a Reconciler to the informers.
func NewController(r *Reconciler, inf Informers, cfg ControllerConfig, log logr.Logger) (*Controller, error) {
	c := &Controller{
		r:   r,
		inf: inf,
		cfg: cfg,
		log: log,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(RecordRateLimiter(),
			workqueue.TypedRateLimitingQueueConfig[Key]{Name: "records", MetricsProvider: cfg.Metrics.Workqueue()}),
		bucketAccesses: cfg.BucketAccesses,
	}
	for kind, inf := range map[string]cache.SharedIndexInformer{store.KindBucket: inf.Buckets, store.KindAccess: inf.Accesses} {
		kind := kind
		_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { c.enqueueObject(kind, obj) },
			UpdateFunc: func(old, obj any) {
				// The reconciler's own status writes need no reconcile; a
				// blocked record's status changes on every check (see
				// store.Status.CheckedAt) and would otherwise feed itself.
				if !store.StatusOnlyChange(old, obj) {
					c.enqueueObject(kind, obj)
				}
				if kind == store.KindBucket {
					c.enqueueAccessesOfReady(old, obj)
				}
			},
			DeleteFunc: func(obj any) {
				c.enqueueObject(kind, obj)
				if kind == store.KindAccess {
					// A bucket being deleted waits for its accesses to go.
					c.enqueueBucketOf(obj)
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("add %s event handler: %w", kind, err)
		}
	}
	return c, nil
}

func (c *Controller) enqueueObject(kind string, obj any) {
	if !c.running.Load() {
		// Not leading: Run queues every record when it starts, and a queue
		// fed meanwhile would only grow with records that may be long gone.
		return
	}
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	name, err := cache.ObjectToName(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(Key{Kind: kind, Name: name.Name})
}

// enqueueBucketOf queues the bucket record an access record belongs to.
func (c *Controller) enqueueBucketOf(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if sec, ok := obj.(*corev1.Secret); ok && c.running.Load() {
		if b := sec.Labels[store.LabelBucketRecord]; b != "" {
			c.queue.Add(Key{Kind: store.KindBucket, Name: b})
		}
	}
}

// enqueueAccessesOfReady queues every access of a bucket record that just
// turned Ready. Its accesses may be waiting for it, or, after the bucket was
// created again, must be written again: SeaweedFS dropped their permissions
// with the earlier bucket (see store.Status.Creations). Queued now rather than
// found by the next resync, a workload's key is broken for about one resync
// period, not two.
func (c *Controller) enqueueAccessesOfReady(oldObj, newObj any) {
	if !c.running.Load() {
		return
	}
	o, ok := oldObj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	n, ok := newObj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	before, err := store.BucketFromConfigMap(o)
	if err != nil {
		return
	}
	after, err := store.BucketFromConfigMap(n)
	if err != nil || before.Status.Phase == store.PhaseReady || after.Status.Phase != store.PhaseReady {
		return
	}
	for _, obj := range c.inf.Accesses.GetStore().List() {
		if sec, ok := obj.(*corev1.Secret); ok && sec.Labels[store.LabelBucketRecord] == n.Name {
			c.queue.Add(Key{Kind: store.KindAccess, Name: sec.Name})
		}
	}
}

// Enqueue asks for a key to be reconciled soon (a handler's nudge). A
// replica that is not leading ignores it: the leader's informers see the
// same change.
func (c *Controller) Enqueue(k Key) {
	if c.running.Load() {
		c.queue.Add(k)
	}
}

// Run reconciles until ctx ends. The informers must already be running.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), c.inf.Buckets.HasSynced, c.inf.Accesses.HasSynced) {
		return errors.New("record caches did not sync")
	}
	c.running.Store(true)
	defer c.running.Store(false)
	c.log.Info("reconciler started", "workers", c.cfg.Workers, "resyncPeriod", c.cfg.ResyncPeriod)
	// Every record is looked at once on start: whatever a previous leader left
	// half-done is finished.
	for _, k := range c.cachedKeys() {
		c.queue.Add(k)
	}
	var wg sync.WaitGroup
	for range c.cfg.Workers {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	wg.Go(func() {
		wait.UntilWithContext(ctx, c.resync, c.cfg.ResyncPeriod)
	})
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	return nil
}

func (c *Controller) cachedKeys() []Key {
	var keys []Key
	for _, obj := range c.inf.Buckets.GetStore().List() {
		keys = append(keys, Key{Kind: store.KindBucket, Name: obj.(*corev1.ConfigMap).Name})
	}
	for _, obj := range c.inf.Accesses.GetStore().List() {
		keys = append(keys, Key{Kind: store.KindAccess, Name: obj.(*corev1.Secret).Name})
	}
	return keys
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)

	// The reconcile id ties together every line one reconcile logs (its
	// applied steps at V(1), its error).
	log := c.log.WithValues("kind", key.Kind, "record", key.Name, "reconcileID", uuid.NewString())
	callCtx, cancel := context.WithTimeout(logr.NewContext(ctx, log), c.cfg.CallTimeout)
	start := time.Now()
	res, err := c.r.Reconcile(callCtx, key)
	cancel()
	c.cfg.Metrics.ObserveReconcile(key.Kind, resultOf(err), time.Since(start))
	switch {
	case err != nil && IsTerminal(err):
		// Retrying cannot help; the next change or resync looks again.
		log.Error(err, "reconcile failed permanently")
		c.queue.Forget(key)
	case err != nil:
		log.Error(err, "reconcile failed, will retry", "retries", c.queue.NumRequeues(key))
		c.queue.AddRateLimited(key)
	case res.Requeue:
		// Not forgotten: the key's backoff grows while it keeps waiting.
		c.queue.AddRateLimited(key)
	case res.RequeueAfter > 0:
		c.queue.Forget(key)
		c.queue.AddAfter(key, res.RequeueAfter)
	default:
		c.queue.Forget(key)
	}
	return true
}
