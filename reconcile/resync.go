package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// DefaultResyncUsers is ControllerConfig.ResyncUsers when unset.
const DefaultResyncUsers = 100

// resyncUsers is how many users one pass observes (and at most collects).
func (c *Controller) resyncUsers() int {
	if c.cfg.ResyncUsers > 0 {
		return c.cfg.ResyncUsers
	}
	return DefaultResyncUsers
}

// resyncBound bounds one pass: the period, not one reconcile's timeout, so
// that large installations finish.
func (c *Controller) resyncBound() time.Duration { return max(c.cfg.CallTimeout, c.cfg.ResyncPeriod) }

// resync lists SeaweedFS once and compares it with every record: drifted or
// unfinished records are requeued and owned objects without a record are
// collected.
func (c *Controller) resync(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, c.resyncBound())
	defer cancel()
	start := time.Now()
	snap, err := c.resyncOnce(ctx)
	c.cfg.Metrics.ObserveResync(err, time.Since(start), len(snap.Buckets), len(snap.Users)+len(snap.Unobserved))
	if err != nil {
		c.log.Error(err, "resync failed")
	}
}

// resyncOnce is one pass. Its cost in SeaweedFS calls does not grow with
// the number of users on either path: the IAM query API path lists the
// users' names in one call and observes a window of them (several calls
// each, every one of which makes SeaweedFS read its whole configuration),
// the next window on the next pass (see userCursor). What needs only the
// names runs every pass: a user missing from SeaweedFS is repaired, and a
// user without a record collected, within one period.
func (c *Controller) resyncOnce(ctx context.Context) (Snapshot, error) {
	// Records first: a record read before the BucketAccess listing proves its
	// BucketAccess existed before it (see PlanRevocations).
	var buckets []*store.Bucket
	for _, obj := range c.inf.Buckets.GetStore().List() {
		if b, err := store.BucketFromConfigMap(obj.(*corev1.ConfigMap)); err == nil {
			buckets = append(buckets, b)
		}
	}
	var accesses []*store.Access
	for _, obj := range c.inf.Accesses.GetStore().List() {
		if a, err := store.AccessFromSecret(obj.(*corev1.Secret)); err == nil {
			accesses = append(accesses, a)
		}
	}
	// Deleted BucketAccesses are collected from the Kubernetes side alone,
	// before SeaweedFS is listed: a key whose BucketAccess is gone must stop
	// working even while SeaweedFS cannot be listed, or takes the whole
	// period to list.
	c.collectDeletedBucketAccesses(ctx, buckets, accesses)
	// The anonymous check needs only the records: it goes before the
	// listings, which neither a failure nor a slow SeaweedFS can then keep
	// it from.
	c.checkAnonymous(ctx, buckets)

	var snap Snapshot
	var err error
	if snap.Buckets, err = c.r.Admin.ListMarkedBuckets(ctx); err != nil {
		return snap, fmt.Errorf("list marked buckets: %w", err)
	}
	// Users named under an earlier configured prefix are still the users of
	// their records: list them too.
	var earlier []string
	for _, a := range accesses {
		if p, ok := UserPrefixOf(a); ok && p != c.r.Cfg.UserPrefix && !slices.Contains(earlier, p) {
			earlier = append(earlier, p)
		}
	}
	// The listing and its window's observations may take at most half of
	// what remains of the pass: the rest is for collecting what the names
	// show.
	remaining := c.resyncBound()
	if d, ok := ctx.Deadline(); ok {
		remaining = time.Until(d)
	}
	wctx, cancel := context.WithTimeout(ctx, remaining/2)
	listing, observeErr := c.r.Admin.ListOwnedUsersWindow(wctx, s3admin.UserWindow{After: c.userCursor, Limit: c.resyncUsers()}, earlier...)
	cancel()
	if listing.Names == nil && observeErr != nil {
		return snap, fmt.Errorf("list owned users: %w", observeErr)
	}
	if observeErr != nil && wctx.Err() != nil && ctx.Err() == nil {
		// Out of its time, not failed: the next pass goes on from here.
		c.log.V(1).Info("resync observed part of its window of users; the next pass goes on after the last one",
			"observed", len(listing.Users), "window", c.resyncUsers())
		observeErr = nil
	}
	// The next window starts after the last user this one reached.
	after := c.userCursor
	if listing.Last != "" {
		c.userCursor = listing.Last
	}
	snap.Users = listing.Users
	observed := map[string]bool{}
	for _, u := range listing.Users {
		observed[u.Name] = true
	}
	for _, n := range listing.Names {
		if !observed[n] {
			snap.Unobserved = append(snap.Unobserved, n)
		}
	}

	plan := PlanResync(buckets, accesses, snap, c.r.Cfg.UserPrefix, c.r.Cfg.OwnerID)
	for _, k := range plan.Requeue {
		c.queue.Add(k)
	}
	// At most a window's worth of users is deleted per pass (each deletion
	// costs an observation and several writes), taken from where this
	// pass's window began, so that users whose deletion keeps failing do
	// not hold back the others.
	collect := s3admin.UserWindow{After: after, Limit: c.resyncUsers()}
	for _, u := range collect.Pick(plan.OrphanUsers) {
		c.collectUser(ctx, u)
	}
	for _, b := range plan.OrphanBuckets {
		c.collectBucket(ctx, b)
	}
	if observeErr != nil {
		return snap, fmt.Errorf("observe owned users: %w", observeErr)
	}
	return snap, nil
}

// collectDeletedBucketAccesses revokes the accesses whose BucketAccess no
// longer exists. Revoking deletes the record; its reconcile then removes the
// user (see Access), so nothing here waits for SeaweedFS.
func (c *Controller) collectDeletedBucketAccesses(ctx context.Context, buckets []*store.Bucket, accesses []*store.Access) {
	if c.bucketAccesses == nil {
		return
	}
	uids, err := c.bucketAccesses.UIDs(ctx)
	if err != nil {
		// Without the listing nothing is revoked; the rest of the pass goes on.
		c.log.Error(err, "cannot list BucketAccesses; accesses of deleted BucketAccesses are not collected this pass")
		return
	}
	accessByName := map[string]*store.Access{}
	for _, a := range accesses {
		accessByName[a.RecordName] = a
	}
	for _, name := range PlanRevocations(accesses, uids) {
		if err := c.r.Store.DeleteAccess(ctx, name); err != nil {
			c.log.Error(err, "cannot revoke access of a deleted BucketAccess", "record", name)
			continue
		}
		c.cfg.Metrics.GarbageCollected(store.KindAccess)
		c.log.Info("revoking access whose BucketAccess is gone", "record", name)
		c.credentialsCollected(buckets, accessByName[name])
	}
}

// credentialsCollected tells the users of the access's bucket that its
// credentials were revoked: the BucketAccess itself is gone.
func (c *Controller) credentialsCollected(buckets []*store.Bucket, a *store.Access) {
	if a == nil {
		return
	}
	for _, b := range buckets {
		if b.Spec.BucketID == a.Spec.BucketID {
			c.r.Observer.notifyBucket(b, Notice{Type: EventNormal, Reason: ReasonCredentialsCollected, Action: "Revoke",
				Message: fmt.Sprintf("the credentials of access %s were revoked: its BucketAccess no longer exists", a.Spec.Name)})
			return
		}
	}
}

// collectUser deletes an owned user that no access record asks for. The cache
// said the record is missing; a cache can lag behind a fresh grant, so the
// record is read from the API server before anything is deleted.
func (c *Controller) collectUser(ctx context.Context, user string) {
	_, id, _ := names.AccessIDOf(user) // an orphan's name was checked by PlanResync
	_, err := c.r.Store.GetAccess(ctx, names.AccessRecord(id))
	if !errors.Is(err, store.ErrNotFound) {
		return // the record exists (or we cannot tell): keep the user
	}
	if err := c.r.Admin.DeleteUser(ctx, user, ""); err != nil {
		c.log.Error(err, "garbage collection of user failed", "user", user)
		return
	}
	c.cfg.Metrics.GarbageCollected("user")
	c.log.Info("garbage-collected user without access record", "user", user)
}

// collectBucket deletes a bucket marked with the installation's owner id
// that has no record, but only when it is empty (data is never deleted
// without a record asking for it) and SeaweedFS says the driver created it
// (anyone allowed to tag a bucket can copy the marks onto their own).
func (c *Controller) collectBucket(ctx context.Context, mb s3admin.MarkedBucket) {
	bucket := mb.Name
	_, err := c.r.Store.GetBucket(ctx, names.BucketRecord(bucket))
	if !errors.Is(err, store.ErrNotFound) {
		return
	}
	// Unrecorded: without a record, only the creator SeaweedFS recorded can
	// prove the bucket the driver's (see plan.Claimed); where it cannot be
	// read (no filer), no such bucket is collected.
	err = c.r.Admin.DeleteBucket(ctx, bucket, s3admin.Ownership{Owner: mb.Owner, Marker: mb.Marker, Unrecorded: true}, false)
	switch {
	case errors.Is(err, s3admin.ErrNotOwned):
		c.log.Info("bucket carrying this installation's owner tag is not proven created by this driver; left in place", "bucket", bucket, "reason", err.Error())
	case errors.Is(err, s3admin.ErrNotEmpty):
		c.log.Info("owned bucket without record is not empty; left in place", "bucket", bucket)
	case err != nil:
		c.log.Error(err, "garbage collection of bucket failed", "bucket", bucket)
	default:
		c.cfg.Metrics.GarbageCollected(store.KindBucket)
		c.log.Info("garbage-collected empty bucket without record", "bucket", bucket)
	}
}
