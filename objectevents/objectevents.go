// Package objectevents records the reconciler's Notices as Kubernetes Events
// on the COSI objects a record belongs to, where the users of a bucket look:
// the Bucket (cluster-scoped) and the BucketClaim it was made for, and the
// BucketAccess of an access.
//
// It uses the events.k8s.io/v1 API through client-go's events recorder, which
// aggregates repeats of one Event into a series (one object with a count),
// so a bucket blocked on every resync does not flood the API server. RBAC:
// create and patch on events.k8s.io events in every namespace (an Event lives
// in its object's namespace; those of the cluster-scoped Bucket in
// "default"), get on buckets (to find the Bucket's UID and claim) and list on
// bucketaccesses (to find a BucketAccess from the ba-<UID> grant name).
package objectevents

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/events"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/reconcile"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// ReportingController names the driver in every Event it records.
const ReportingController = "cosi-seaweedfs.io/driver"

const (
	apiVersion = "objectstorage.k8s.io/v1alpha1"
	// queueSize bounds the Notices waiting to be resolved and recorded; more
	// are dropped (the same condition is reported again on the next
	// reconcile).
	queueSize = 256
	// resolveTimeout bounds the API reads that find a Notice's objects.
	resolveTimeout = 10 * time.Second
	// cacheSize bounds the remembered objects per request name.
	cacheSize = 2048
	// missingFor is how long a name whose objects were not found is not
	// looked up again: finding a BucketAccess lists them all.
	missingFor = 5 * time.Minute
)

var bucketResource = schema.GroupVersionResource{Group: "objectstorage.k8s.io", Version: "v1alpha1", Resource: "buckets"}

// Recorder implements reconcile.Notifier.
type Recorder struct {
	broadcaster events.EventBroadcaster
	recorder    events.EventRecorder
	dyn         dynamic.Interface
	meta        metadata.Interface
	log         logr.Logger
	queue       chan notice

	mu    sync.Mutex
	cache map[string]cached
}

// cached is what was found for one request name; a name with no objects
// is remembered only until the time given.
type cached struct {
	targets []target
	until   time.Time
}

var _ reconcile.Notifier = (*Recorder)(nil)

// notice is one Notice for the objects behind a request name.
type notice struct {
	kind string // store.KindBucket or store.KindAccess, or either after recordKindPrefix
	name string // the COSI request name: Bucket name or ba-<BucketAccess UID>; the record's name after recordKindPrefix
	// namespace and uid are the record's (after recordKindPrefix).
	namespace string
	uid       types.UID
	n         reconcile.Notice
}

// target is one object an Event goes on, and the object it relates to.
type target struct {
	regarding *corev1.ObjectReference
	related   *corev1.ObjectReference
}

// New returns a Recorder; Run starts it. client-go names the replica in
// each Event's reportingInstance by its host name (the pod name).
func New(client kubernetes.Interface, dyn dynamic.Interface, meta metadata.Interface, log logr.Logger) *Recorder {
	b := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	return &Recorder{
		broadcaster: b,
		recorder:    b.NewRecorder(scheme.Scheme, ReportingController),
		dyn:         dyn,
		meta:        meta,
		log:         log,
		queue:       make(chan notice, queueSize),
		cache:       map[string]cached{},
	}
}

// Run records Notices until ctx ends, then flushes what the broadcaster
// holds.
func (r *Recorder) Run(ctx context.Context) error {
	if err := r.broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
		return err
	}
	defer r.broadcaster.Shutdown()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-r.queue:
			r.record(ctx, n)
		}
	}
}

// NotifyBucket implements reconcile.Notifier.
func (r *Recorder) NotifyBucket(rec *store.Bucket, n reconcile.Notice) {
	r.enqueue(notice{kind: store.KindBucket, name: rec.Spec.Name, n: n})
}

// NotifyAccess implements reconcile.Notifier.
func (r *Recorder) NotifyAccess(rec *store.Access, n reconcile.Notice) {
	r.enqueue(notice{kind: store.KindAccess, name: rec.Spec.Name, n: n})
}

// NotifyRecord implements reconcile.RecordNotifier: the Event goes on the
// record itself (the ConfigMap or Secret in the driver's namespace), for a
// record that cannot be read and so names no COSI object.
func (r *Recorder) NotifyRecord(kind, namespace, record string, uid types.UID, n reconcile.Notice) {
	r.enqueue(notice{kind: recordKindPrefix + kind, namespace: namespace, name: record, uid: uid, n: n})
}

// recordKindPrefix marks a notice about a record itself (see NotifyRecord).
const recordKindPrefix = "record/"

func (r *Recorder) enqueue(n notice) {
	select {
	case r.queue <- n:
	default:
		r.log.V(1).Info("event dropped: too many pending", "reason", n.n.Reason, "name", n.name)
	}
}

func (r *Recorder) record(ctx context.Context, n notice) {
	var targets []target
	var err error
	switch n.kind {
	case recordKindPrefix + store.KindBucket:
		targets = []target{{regarding: &corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: n.namespace, Name: n.name, UID: n.uid}}}
	case recordKindPrefix + store.KindAccess:
		targets = []target{{regarding: &corev1.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: n.namespace, Name: n.name, UID: n.uid}}}
	default:
		targets, err = r.targets(ctx, n.kind, n.name)
	}
	if err != nil {
		r.log.V(1).Info("cannot find the objects of an event", "reason", n.n.Reason, "name", n.name, "error", err.Error())
		return
	}
	for _, t := range targets {
		var related runtime.Object
		if t.related != nil {
			related = t.related
		}
		r.recorder.Eventf(t.regarding, related, n.n.Type, n.n.Reason, n.n.Action, "%s", n.n.Message)
	}
}

func (r *Recorder) targets(ctx context.Context, kind, name string) ([]target, error) {
	key := kind + "/" + name
	r.mu.Lock()
	c, ok := r.cache[key]
	r.mu.Unlock()
	if ok && (c.until.IsZero() || time.Now().Before(c.until)) {
		return c.targets, nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	var t []target
	var err error
	switch kind {
	case store.KindBucket:
		t, err = r.bucketTargets(ctx, name)
	case store.KindAccess:
		t, err = r.accessTargets(ctx, name)
	}
	if err != nil {
		return nil, err
	}
	c = cached{targets: t}
	if len(t) == 0 {
		c.until = time.Now().Add(missingFor)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= cacheSize {
		clear(r.cache)
	}
	r.cache[key] = c
	return t, nil
}

// bucketTargets finds the Bucket by name and, from its spec, the BucketClaim
// it was made for. A Bucket that does not exist (the request came from a
// test client, or the Bucket is gone) has no targets.
func (r *Recorder) bucketTargets(ctx context.Context, name string) ([]target, error) {
	obj, err := r.dyn.Resource(bucketResource).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	bucket := &corev1.ObjectReference{APIVersion: apiVersion, Kind: "Bucket", Name: obj.GetName(), UID: obj.GetUID()}
	targets := []target{{regarding: bucket}}
	claim, _, _ := unstructured.NestedStringMap(obj.Object, "spec", "bucketClaim")
	if claim["name"] != "" && claim["namespace"] != "" {
		targets = append(targets, target{
			regarding: &corev1.ObjectReference{APIVersion: apiVersion, Kind: "BucketClaim",
				Namespace: claim["namespace"], Name: claim["name"], UID: types.UID(claim["uid"])},
			related: bucket,
		})
	}
	return targets, nil
}

// accessTargets finds the BucketAccess whose UID the grant name carries.
// Listing is the only way from a UID to an object; the result is
// remembered, and Events on accesses are rare.
func (r *Recorder) accessTargets(ctx context.Context, name string) ([]target, error) {
	uid, ok := names.BucketAccessUID(name)
	if !ok {
		return nil, nil // not a sidecar's grant: no BucketAccess to find
	}
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := r.meta.Resource(reconcile.BucketAccessResource).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for _, item := range list.Items {
			if string(item.UID) == uid {
				return []target{{regarding: &corev1.ObjectReference{APIVersion: apiVersion, Kind: "BucketAccess",
					Namespace: item.Namespace, Name: item.Name, UID: item.UID}}}, nil
			}
		}
		if list.Continue == "" {
			return nil, nil
		}
		opts.Continue = list.Continue
	}
}
