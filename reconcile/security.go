package reconcile

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// anonymousSample is how many of the driver's buckets each check reads,
// lists and writes anonymously besides the probe bucket.
const anonymousSample = 3

// Err is nil unless the check found the driver's buckets open to unsigned
// requests; it says which operations (for readiness).
func (a AnonymousCheck) Err() error {
	if !a.Access.Any() {
		return nil
	}
	return fmt.Errorf("anonymous requests may access the driver's buckets (%s)", a.Access.String())
}

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
		// An imported bucket is whoever made it's: its openness is theirs
		// to decide, and the write probe would put an object into it.
		if b.Status.Phase == store.PhaseReady && !b.Deleting && !b.Spec.Imported {
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
		c.r.Observer.metrics().SetAnonymousAccess(op, allowed)
	}
	prev := c.Anonymous()
	check := AnonymousCheck{Checked: true, Access: got}
	c.anonymous.Store(&check)
	if c.cfg.OnAnonymousCheck != nil {
		c.cfg.OnAnonymousCheck(check)
	}
	switch {
	case got.Any():
		// Every resync, not only on a change: this is what an operator must fix.
		c.log.Error(nil, "anonymous requests may access the driver's buckets: remove the grants of SeaweedFS's anonymous identity (and any public bucket policy or ACL)",
			"allowed", got.String())
	case prev.Checked && prev.Access.Any():
		c.log.Info("anonymous requests are refused again in the driver's buckets")
	}
	if len(got.Left) > 0 {
		// Every resync too, until the delete works: an object in a tenant's
		// bucket that the tenant did not write.
		c.log.Error(nil, "objects the anonymous check wrote could not be deleted; each check tries again: allow the admin identity to delete them, or delete them",
			"objects", got.Left)
	}
}
