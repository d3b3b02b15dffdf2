// Package metrics holds the driver's Prometheus metrics: one Metrics per
// running driver, registered in that driver's own registry, so that two
// drivers in one process (tests) never share or double-register a series.
// README.md ("Operating") lists every metric and what to do when it moves.
package metrics

import (
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes the driver's own metric names.
const Namespace = "cosi_seaweedfs"

// Metrics are the driver's collectors. The zero of a *Metrics (nil) is valid
// and records nothing, so that components built without metrics (unit tests)
// need no special case.
type Metrics struct {
	Registry *prometheus.Registry
	// GRPC counts and times the COSI calls, by service, method and code
	// (go-grpc-middleware's Prometheus provider); its interceptor goes on the
	// gRPC server.
	GRPC *grpcprom.ServerMetrics

	reconcileTotal    *prometheus.CounterVec
	reconcileDuration *prometheus.HistogramVec
	resyncTotal       *prometheus.CounterVec
	resyncDuration    prometheus.Histogram
	garbageCollected  *prometheus.CounterVec
	driftRepaired     *prometheus.CounterVec
	backendObjects    *prometheus.GaugeVec
	leader            prometheus.Gauge
	backendCalls      *prometheus.CounterVec
	backendDuration   *prometheus.HistogramVec
	readyCheck        *prometheus.GaugeVec
	anonymousAccess   *prometheus.GaugeVec
	unissuedKeys      prometheus.Counter
	bucketUsed        *prometheus.GaugeVec
	bucketQuota       *prometheus.GaugeVec

	workqueue *workqueueProvider
}

// New returns the driver's metrics, registered together with the Go runtime
// and process collectors in a new registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		GRPC: grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
			grpcprom.WithHistogramBuckets(prometheus.ExponentialBuckets(0.001, 2, 16)))),
		reconcileTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "reconcile_total",
			Help: "Reconciles of records by kind and result (ok, error, terminal).",
		}, []string{"kind", "result"}),
		reconcileDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "reconcile_duration_seconds",
			Help:    "Duration of one reconcile by record kind.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"kind"}),
		resyncTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "resync_total",
			Help: "Resync passes (list SeaweedFS, compare with every record) by result (ok, error).",
		}, []string{"result"}),
		resyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "resync_duration_seconds",
			Help:    "Duration of one successful resync pass.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		garbageCollected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "garbage_collected_total",
			Help: "Objects collected by the resync, by kind: owned SeaweedFS buckets and users without a record, and access records whose BucketAccess is gone.",
		}, []string{"kind"}),
		driftRepaired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "drift_repaired_total",
			Help: "Converged records whose SeaweedFS objects had changed out of band and were repaired, by kind.",
		}, []string{"kind"}),
		backendObjects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "backend_objects",
			Help: "Objects this driver owns in SeaweedFS by kind (bucket, user), as of the last successful resync.",
		}, []string{"kind"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "leader",
			Help: "1 while this replica holds the leader Lease and reconciles, else 0.",
		}),
		backendCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "seaweedfs_requests_total",
			Help: "Calls to the SeaweedFS S3 and IAM APIs by service, operation and outcome (ok, notFound, denied, conflict, rejected, serverError, unreachable, canceled).",
		}, []string{"service", "operation", "outcome"}),
		backendDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "seaweedfs_request_duration_seconds",
			Help:    "Duration of calls to SeaweedFS, SDK retries included, by service and operation.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 14),
		}, []string{"service", "operation"}),
		readyCheck: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "ready_check",
			Help: "Result of each readiness check when last run: 1 passing, 0 failing.",
		}, []string{"check"}),
		anonymousAccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "anonymous_access",
			Help: "1 when the last check found that unsigned requests may do the operation (read, list, write) in the driver's buckets.",
		}, []string{"operation"}),
		unissuedKeys: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "unissued_keys_removed_total",
			Help: "Access keys removed from the driver's users that the driver did not issue (self-minted or added by hand).",
		}),
		bucketUsed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "bucket_used_bytes",
			Help: "Bytes SeaweedFS counts against the quota of a bucket whose BucketClass sets maxSize (its volumes' bytes, until a vacuum reclaims deleted ones), as last observed.",
		}, []string{"bucket"}),
		bucketQuota: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "bucket_quota_bytes",
			Help: "The SeaweedFS quota of a bucket whose BucketClass sets maxSize.",
		}, []string{"bucket"}),
	}
	m.workqueue = newWorkqueueProvider()
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.GRPC,
		m.reconcileTotal, m.reconcileDuration, m.resyncTotal, m.resyncDuration,
		m.garbageCollected, m.driftRepaired, m.backendObjects, m.leader,
		m.backendCalls, m.backendDuration, m.readyCheck, m.anonymousAccess, m.unissuedKeys,
		m.bucketUsed, m.bucketQuota,
	)
	m.Registry.MustRegister(m.workqueue.collectors()...)
	// Series that exist from the start read 0 instead of being absent, so
	// that rate() and alerts see the first increase.
	for _, kind := range []string{"bucket", "access"} {
		m.driftRepaired.WithLabelValues(kind)
		for _, result := range []string{"ok", "error", "terminal"} {
			m.reconcileTotal.WithLabelValues(kind, result)
		}
	}
	for _, kind := range []string{"bucket", "user", "access"} {
		m.garbageCollected.WithLabelValues(kind)
	}
	for _, result := range []string{"ok", "error"} {
		m.resyncTotal.WithLabelValues(result)
	}
	return m
}

// ObserveReconcile counts one reconcile of a record kind.
func (m *Metrics) ObserveReconcile(kind, result string, d time.Duration) {
	if m == nil {
		return
	}
	m.reconcileTotal.WithLabelValues(kind, result).Inc()
	m.reconcileDuration.WithLabelValues(kind).Observe(d.Seconds())
}

// ObserveResync counts one resync pass; on success it also records its
// duration and how many buckets and users the driver owns in SeaweedFS.
func (m *Metrics) ObserveResync(err error, d time.Duration, buckets, users int) {
	if m == nil {
		return
	}
	if err != nil {
		m.resyncTotal.WithLabelValues("error").Inc()
		return
	}
	m.resyncTotal.WithLabelValues("ok").Inc()
	m.resyncDuration.Observe(d.Seconds())
	m.backendObjects.WithLabelValues("bucket").Set(float64(buckets))
	m.backendObjects.WithLabelValues("user").Set(float64(users))
}

// GarbageCollected counts one collected object of a kind (bucket, user, access).
func (m *Metrics) GarbageCollected(kind string) {
	if m == nil {
		return
	}
	m.garbageCollected.WithLabelValues(kind).Inc()
}

// DriftRepaired counts one repaired record of a kind (bucket, access).
func (m *Metrics) DriftRepaired(kind string) {
	if m == nil {
		return
	}
	m.driftRepaired.WithLabelValues(kind).Inc()
}

// SetLeader records whether this replica reconciles.
func (m *Metrics) SetLeader(leading bool) {
	if m == nil {
		return
	}
	v := 0.0
	if leading {
		v = 1
	} else {
		// Only the leader reads usage: a replica that stops leading drops
		// its figures rather than export them unrefreshed beside the new
		// leader's.
		m.bucketUsed.Reset()
		m.bucketQuota.Reset()
	}
	m.leader.Set(v)
}

// SetReadyCheck records the outcome of one readiness check.
func (m *Metrics) SetReadyCheck(name string, ok bool) {
	if m == nil {
		return
	}
	v := 0.0
	if ok {
		v = 1
	}
	m.readyCheck.WithLabelValues(name).Set(v)
}

// SetAnonymousAccess records whether unsigned requests may do operation
// (read, list, write) in the driver's buckets.
func (m *Metrics) SetAnonymousAccess(operation string, allowed bool) {
	if m == nil {
		return
	}
	v := 0.0
	if allowed {
		v = 1
	}
	m.anonymousAccess.WithLabelValues(operation).Set(v)
}

// UnissuedKeysRemoved counts access keys removed from the driver's users
// that the driver did not issue.
func (m *Metrics) UnissuedKeysRemoved(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.unissuedKeys.Add(float64(n))
}

// DriftRepairedCounter is the drift counter of one kind, for tests.
func (m *Metrics) DriftRepairedCounter(kind string) prometheus.Counter {
	return m.driftRepaired.WithLabelValues(kind)
}

// SetBucketUsage records a bucket's quota and what SeaweedFS counts
// against it; used < 0 (unknown) keeps the last figure.
func (m *Metrics) SetBucketUsage(bucket string, used, quota int64) {
	if m == nil {
		return
	}
	if used >= 0 {
		m.bucketUsed.WithLabelValues(bucket).Set(float64(used))
	}
	m.bucketQuota.WithLabelValues(bucket).Set(float64(quota))
}

// ForgetBucket drops the series of a bucket that is gone, or whose
// quota this replica no longer watches.
func (m *Metrics) ForgetBucket(bucket string) {
	if m == nil {
		return
	}
	m.bucketUsed.DeleteLabelValues(bucket)
	m.bucketQuota.DeleteLabelValues(bucket)
}
