package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// Record phases as exported: store's phases, with the empty (pending) phase
// named, and Deleting for records whose deletion is under way.
const (
	PhasePending  = "Pending"
	PhaseDeleting = "Deleting"
)

// recordsCollector reads the informer caches of the records at scrape time:
// nothing to keep in step with the reconciler, and every replica (not only
// the leader) reports the same numbers.
type recordsCollector struct {
	buckets, accesses cache.Store
	now               func() time.Time
	count             *prometheus.Desc
	oldest            *prometheus.Desc
}

// RegisterRecords adds the record gauges, computed from the informer caches
// of bucket records (ConfigMaps) and access records (Secrets).
func (m *Metrics) RegisterRecords(buckets, accesses cache.Store) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(&recordsCollector{
		buckets: buckets, accesses: accesses, now: time.Now,
		count: prometheus.NewDesc(Namespace+"_records", "Records by kind (bucket, access) and phase (Pending, Ready, Blocked, Failed, Deleting).",
			[]string{"kind", "phase"}, nil),
		oldest: prometheus.NewDesc(Namespace+"_oldest_unconverged_record_age_seconds",
			"Age of the oldest record by kind that is not Ready: since its deletion was asked for, its last phase change, or its creation; 0 when every record is Ready.",
			[]string{"kind"}, nil),
	})
}

func (c *recordsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.count
	ch <- c.oldest
}

func (c *recordsCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	emit := func(kind string, states []recordState) {
		counts := map[string]int{PhasePending: 0, string(store.PhaseReady): 0, string(store.PhaseBlocked): 0, string(store.PhaseFailed): 0, PhaseDeleting: 0}
		var oldest time.Duration
		for _, s := range states {
			counts[s.phase]++
			if s.phase != string(store.PhaseReady) {
				oldest = max(oldest, now.Sub(s.since))
			}
		}
		for phase, n := range counts {
			ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(n), kind, phase)
		}
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, oldest.Seconds(), kind)
	}
	var buckets, accesses []recordState
	for _, obj := range c.buckets.List() {
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok {
			continue
		}
		if b, err := store.BucketFromConfigMap(cm); err == nil {
			buckets = append(buckets, stateOf(&cm.ObjectMeta, b.Status))
		} else if corrupt(err) {
			buckets = append(buckets, corruptState(&cm.ObjectMeta))
		}
	}
	for _, obj := range c.accesses.List() {
		sec, ok := obj.(*corev1.Secret)
		if !ok {
			continue
		}
		if a, err := store.AccessFromSecret(sec); err == nil {
			accesses = append(accesses, stateOf(&sec.ObjectMeta, a.Status))
		} else if corrupt(err) {
			accesses = append(accesses, corruptState(&sec.ObjectMeta))
		}
	}
	emit(store.KindBucket, buckets)
	emit(store.KindAccess, accesses)
}

func corrupt(err error) bool {
	var ce *store.CorruptError
	return errors.As(err, &ce)
}

// corruptState counts a record that cannot be read as Failed (its status
// says so once the reconciler has looked at it), for as long as it exists:
// when it became corrupt is not known.
func corruptState(meta *metav1.ObjectMeta) recordState {
	return recordState{string(store.PhaseFailed), meta.CreationTimestamp.Time}
}

type recordState struct {
	phase string
	since time.Time
}

func stateOf(meta *metav1.ObjectMeta, st store.Status) recordState {
	switch {
	case meta.DeletionTimestamp != nil:
		return recordState{PhaseDeleting, meta.DeletionTimestamp.Time}
	case st.Phase == store.PhasePending:
		return recordState{PhasePending, sinceOf(meta, st)}
	default:
		return recordState{string(st.Phase), sinceOf(meta, st)}
	}
}

func sinceOf(meta *metav1.ObjectMeta, st store.Status) time.Time {
	if !st.LastTransition.IsZero() {
		return st.LastTransition
	}
	return meta.CreationTimestamp.Time
}
