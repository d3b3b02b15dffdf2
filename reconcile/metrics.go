package reconcile

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	reconcileTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cosi_seaweedfs_reconcile_total",
		Help: "Reconciles of records by kind and result (ok, error, terminal).",
	}, []string{"kind", "result"})
	reconcileDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "cosi_seaweedfs_reconcile_duration_seconds",
		Help:    "Duration of one reconcile by record kind.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"kind"})
	resyncTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cosi_seaweedfs_resync_total",
		Help: "Resync passes (list SeaweedFS, compare with every record) by result.",
	}, []string{"result"})
	resyncDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "cosi_seaweedfs_resync_duration_seconds",
		Help:    "Duration of one successful resync pass.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
	})
	garbageCollected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cosi_seaweedfs_garbage_collected_total",
		Help: "Owned SeaweedFS objects without a record that were removed, by kind.",
	}, []string{"kind"})
)

// Collectors are the reconciler's metrics, for the process's registry.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{reconcileTotal, reconcileDuration, resyncTotal, resyncDuration, garbageCollected,
		anonymousAccess, unissuedKeysRemoved}
}

func observeReconcile(kind string, err error, d time.Duration) {
	result := "ok"
	switch {
	case err != nil && IsTerminal(err):
		result = "terminal"
	case err != nil:
		result = "error"
	}
	reconcileTotal.WithLabelValues(kind, result).Inc()
	reconcileDuration.WithLabelValues(kind).Observe(d.Seconds())
}
