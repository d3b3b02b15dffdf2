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

// resync lists SeaweedFS once and compares it with every record: drifted or
// unfinished records are requeued and owned objects without a record are
// collected.
func (c *Controller) resync(ctx context.Context) {
	// A pass lists every user (a few reads each): bound it by the period,
	// not by one reconcile's timeout, so that large installations finish.
	ctx, cancel := context.WithTimeout(ctx, max(c.cfg.CallTimeout, c.cfg.ResyncPeriod))
	defer cancel()
	start := time.Now()
	snap, err := c.resyncOnce(ctx)
	c.cfg.Metrics.ObserveResync(err, time.Since(start), len(snap.Buckets), len(snap.Users))
	if err != nil {
		c.log.Error(err, "resync failed")
	}
}

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
	if snap.Users, err = c.r.Admin.ListOwnedUsers(ctx, earlier...); err != nil {
		return snap, fmt.Errorf("list owned users: %w", err)
	}
	plan := PlanResync(buckets, accesses, snap, c.r.Cfg.UserPrefix, c.r.Cfg.OwnerID)
	for _, k := range plan.Requeue {
		c.queue.Add(k)
	}
	for _, u := range plan.OrphanUsers {
		c.collectUser(ctx, u)
	}
	for _, b := range plan.OrphanBuckets {
		c.collectBucket(ctx, b)
	}
	c.checkAnonymous(ctx, buckets)
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
