package reconcile

import (
	"context"
	"math/rand/v2"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// unissuedKeysRemoved counts access keys removed from the driver's users
// that the driver did not issue: keys the users minted for themselves
// (SeaweedFS lets every user manage its own keys) or added by hand.
var unissuedKeysRemoved = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "cosi_seaweedfs_unissued_keys_removed_total",
	Help: "Access keys removed from the driver's users that the driver did not issue (self-minted or added by hand).",
})

// anonymousAccess is 1 for each operation unsigned requests may do in the
// driver's buckets, as the last check found.
var anonymousAccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "cosi_seaweedfs_anonymous_access",
	Help: "1 when the last check found that unsigned requests may do the operation (read, list, write) in the driver's buckets.",
}, []string{"operation"})

// anonymousSample is how many of the driver's buckets each check reads and
// lists anonymously besides the probe bucket.
const anonymousSample = 3

// AnonymousCheck is the outcome of the last anonymous-access check.
type AnonymousCheck struct {
	// Checked: a check has completed since the reconciler started.
	Checked bool
	Access  s3admin.AnonymousAccess
}

// Anonymous returns the last anonymous-access check. Every resync checks
// what unsigned requests may do in the driver's buckets: SeaweedFS refusing
// an unsigned request to its API as a whole says nothing of an "anonymous"
// identity, a bucket policy or an ACL opening objects to everybody.
func (c *Controller) Anonymous() AnonymousCheck {
	if p := c.anonymous.Load(); p != nil {
		return *p
	}
	return AnonymousCheck{}
}

// checkAnonymous probes the installation's probe bucket and a few of the
// driver's buckets, and reports a change in the log and the metric.
func (c *Controller) checkAnonymous(ctx context.Context, buckets []*store.Bucket) {
	var ready []string
	for _, b := range buckets {
		if b.Status.Phase == store.PhaseReady && !b.Deleting {
			ready = append(ready, b.Spec.BucketID)
		}
	}
	rand.Shuffle(len(ready), func(i, j int) { ready[i], ready[j] = ready[j], ready[i] })
	got, err := c.r.Admin.CheckAnonymousAccess(ctx, s3admin.Ownership{Owner: c.r.Cfg.OwnerID}, ready[:min(len(ready), anonymousSample)])
	if err != nil {
		c.log.Error(err, "cannot check what anonymous requests may do")
		return
	}
	for op, allowed := range map[string]bool{"read": got.Read, "list": got.List, "write": got.Write} {
		v := 0.0
		if allowed {
			v = 1
		}
		anonymousAccess.WithLabelValues(op).Set(v)
	}
	prev := c.Anonymous()
	c.anonymous.Store(&AnonymousCheck{Checked: true, Access: got})
	switch {
	case got.Any():
		// Every resync, not only on a change: this is what an operator must fix.
		c.log.Error(nil, "anonymous requests may access the driver's buckets: remove the grants of SeaweedFS's anonymous identity (and any public bucket policy or ACL)",
			"allowed", got.String())
	case prev.Checked && prev.Access.Any():
		c.log.Info("anonymous requests are refused again in the driver's buckets")
	}
}
