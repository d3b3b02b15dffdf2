package reconcile

import (
	"slices"
	"strings"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/bucketclass"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// Step is one backend or record change. Apply runs the steps of a plan in
// order; every step is idempotent, so a plan interrupted by a crash is simply
// planned and applied again.
type Step string

const (
	// StepMarkCreateAttempted records, before the bucket is created, that the
	// driver is about to create it (see store.Status.CreateAttempted), with
	// the marks the bucket is to carry (store.Status.Marker).
	StepMarkCreateAttempted Step = "MarkCreateAttempted"
	// StepCreateBucket creates the bucket, or adopts the one an interrupted
	// attempt created, and marks it (see s3admin.Admin.CreateBucket).
	StepCreateBucket Step = "CreateBucket"
	// StepEnsureFeatures converges the bucket's quota, placement and
	// versioning to its class (see s3admin.BucketFeatureAdmin).
	StepEnsureFeatures Step = "EnsureFeatures"
	// StepRemovePlacement removes the placement rule of a deleted bucket
	// from the filer configuration, where it would outlive the bucket.
	StepRemovePlacement Step = "RemovePlacement"
	// StepRevokeAccesses marks every access record of the bucket for deletion.
	StepRevokeAccesses Step = "RevokeAccesses"
	StepDeleteBucket   Step = "DeleteBucket"
	StepEnsureAccess   Step = "EnsureAccess"
	// StepRewriteAccess is StepEnsureAccess that also writes the policy again
	// when SeaweedFS already stores it: the bucket was created since the
	// access was last written, and SeaweedFS dropped the access's permissions
	// when the earlier bucket was deleted (see store.Status.Creations).
	StepRewriteAccess Step = "RewriteAccess"
	StepDeleteUser    Step = "DeleteUser"
	// StepConfirmKey asks SeaweedFS once whether it accepts a written
	// access's key (see store.ReasonKeyPending).
	StepConfirmKey Step = "ConfirmKey"
	// StepConfirmRevoked asks SeaweedFS once whether it still accepts the
	// key of an access whose user is deleted (see
	// store.ReasonRevocationPending).
	StepConfirmRevoked Step = "ConfirmRevoked"
	// StepRevokeSelf marks the access record itself for deletion.
	StepRevokeSelf Step = "RevokeSelf"
	// StepRelease removes the record's finalizer: the record may now go.
	StepRelease Step = "Release"
)

// Plan is what to do for one record: steps, then the status to record.
type Plan struct {
	Steps []Step
	// Status is recorded after every step succeeded. Nil when the record is
	// released (it is going away) or nothing is to be said.
	Status *store.Status
	// Wait: the record depends on something still converging (other records);
	// look again shortly.
	Wait bool
}

// BucketObserved is what the reconciler saw for a bucket record.
type BucketObserved struct {
	// Bucket is observed with the record's Ownership: Owned means the bucket
	// carries the record's marks.
	Bucket s3admin.BucketState
	// Accesses is the number of access records that still name the bucket
	// (read from the API server, not a cache).
	Accesses int
	// Features is what SeaweedFS holds for the features the record's class
	// asks for, read for a bucket that exists and carries the record's
	// marks; FeaturesUnsupported: this driver cannot read or set them (a
	// quota or placement without the filer).
	Features            s3admin.BucketFeatureState
	FeaturesUnsupported bool
}

// FeaturesOf is what the record's class asks of its bucket. The
// parameters were validated when the record was made; a record whose
// parameters no longer parse (edited by hand) asks for nothing, and its
// reconcile reports it (see Reconciler.reconcileBucket).
func FeaturesOf(rec *store.Bucket) s3admin.BucketFeatures {
	c, err := bucketclass.Parse(rec.Spec.Parameters)
	if err != nil {
		return s3admin.BucketFeatures{}
	}
	return c.Features
}

// Ownership is what marks a record's bucket as the record's: the owner id
// and marker recorded with it, and for a record from before markers, the
// installation's owner id alone.
func Ownership(rec *store.Bucket, ownerID string) s3admin.Ownership {
	if rec.Spec.Imported {
		return s3admin.Ownership{Imported: true}
	}
	if rec.Status.Owner != "" {
		ownerID = rec.Status.Owner
	}
	return s3admin.Ownership{Owner: ownerID, Marker: rec.Status.Marker, Interrupted: adoptable(rec)}
}

// adoptable reports whether a bucket without the record's marks may still be
// the record's: the record says an attempt to create it was under way and
// the record has not been ready since, so the driver may have stopped
// between creating and marking. SeaweedFS then decides (StepCreateBucket
// adopts only a bucket the driver's own identity created; see
// plan.Claimed). A bucket that loses its marks after the record was ready
// was changed or re-created by somebody else; without a recorded attempt it
// was always somebody else's. Neither is touched.
func adoptable(rec *store.Bucket) bool {
	return rec.Status.CreateAttempted && rec.Status.Phase != store.PhaseReady && rec.Status.Phase != store.PhaseFailed &&
		rec.Status.Reason != store.ReasonBucketLostMarker
}

func status(phase store.Phase, reason, message string, createAttempted bool) *store.Status {
	return &store.Status{Phase: phase, Reason: reason, Message: message, CreateAttempted: createAttempted}
}

// PlanBucket compares a bucket record with what SeaweedFS holds.
func PlanBucket(rec *store.Bucket, obs BucketObserved) Plan {
	if rec.Spec.Imported {
		return planImported(rec, obs)
	}
	features := FeaturesOf(rec)
	attempted := rec.Status.CreateAttempted
	// The marks prove a bucket is the record's only when the record has a
	// marker of its own, which nobody can have put on a bucket before the
	// record chose it. A record from before markers has none: its bucket's
	// owner tag counts only because the record was ready with it already.
	// For a new record an owner tag alone proves nothing (anyone allowed to
	// tag a bucket can write it).
	owned := obs.Bucket.Exists && obs.Bucket.Owned && (rec.Status.Marker != "" || rec.Status.Phase == store.PhaseReady)
	adoptable := adoptable(rec)
	ours := owned || (obs.Bucket.Exists && adoptable)

	if rec.Deleting {
		switch {
		case obs.Accesses > 0:
			// Revoke first so nothing can write while we check emptiness.
			return Plan{Steps: []Step{StepRevokeAccesses}, Wait: true}
		case !obs.Bucket.Exists:
			// Gone already (a crash after the delete, or removed outside
			// the driver): only the rule a bucket of the record's may have
			// had is left. A record that never attempted a create never had
			// one, nor did one that failed because the name was somebody
			// else's (their bucket's rule is theirs, gone or not).
			return Plan{Steps: withPlacementRemoved(features, attempted && rec.Status.Phase != store.PhaseFailed, StepRelease)}
		case !ours:
			// Never ours: nothing in SeaweedFS to remove, and the rule
			// for the name is whoever holds it now's.
			return Plan{Steps: []Step{StepRelease}}
		case !obs.Bucket.Empty && !rec.Spec.Purge:
			// SeaweedFS would delete the data with the bucket; refuse unless the
			// BucketClass asked for purge. Rechecked every resync.
			msg := "bucket is not empty and its BucketClass does not set purge"
			if features.ObjectLock {
				// Purge is refused for object-lock classes (bucketclass):
				// only the end of each retention, and a delete, empty it.
				msg = "bucket is not empty; it has object lock, so its versions can be deleted only once their retention ends"
			}
			return Plan{Status: status(store.PhaseBlocked, store.ReasonBucketNotEmpty, msg, attempted)}
		case !owned:
			// Ours by record but never marked: adopt it (only if SeaweedFS
			// says the driver created it) so that the delete, which checks the
			// marks, accepts it.
			return Plan{Steps: withPlacementRemoved(features, true, StepCreateBucket, StepDeleteBucket, StepRelease)}
		default:
			return Plan{Steps: withPlacementRemoved(features, true, StepDeleteBucket, StepRelease)}
		}
	}

	ready := status(store.PhaseReady, "", "", true)
	// A ready bucket was created at least once. Records from before
	// creations were counted read 0 and move to 1, so that their accesses
	// are written once more: one of them may have lapsed already.
	ready.Creations = max(rec.Status.Creations, 1)
	if features.QuotaBytes > 0 {
		ready.QuotaBytes, ready.UsedBytes = features.QuotaBytes, rec.Status.UsedBytes
		if owned && !obs.FeaturesUnsupported && obs.Features.UsedBytes >= 0 {
			ready.UsedBytes = obs.Features.UsedBytes
		}
	}
	// Every creation is followed by the features: the bucket's own
	// observation, made before it existed, says nothing of them.
	create := []Step{StepCreateBucket}
	if !features.Zero() {
		create = append(create, StepEnsureFeatures)
	}
	if owned && features.ObjectLock && !obs.FeaturesUnsupported && !obs.Features.ObjectLock {
		// Object lock is set only by the request that creates a bucket:
		// one adopted after an interrupted create keeps what that request
		// carried. Nothing can add it; the status says so.
		ready.Reason, ready.Message = store.ReasonObjectLockMissing,
			"the BucketClass asks for object lock, and the bucket was created without it (SeaweedFS sets it only at creation)"
	}
	switch {
	case owned && obs.FeaturesUnsupported && rec.Status.Phase == store.PhaseReady:
		// The class asks for a quota or placement that this driver can no
		// longer read or set: the bucket, handed out already, stays
		// usable, and says why its limits are not kept.
		ready.Reason, ready.Message = store.ReasonFeaturesUnsupported, featuresUnsupported+"; they are not kept"
		return Plan{Status: ready}
	case owned && obs.FeaturesUnsupported:
		// Never handed out: a bucket without the limits its class promises
		// is not answered as created. Rechecked every resync.
		return Plan{Status: status(store.PhaseBlocked, store.ReasonFeaturesUnsupported, featuresUnsupported, true)}
	case owned && !obs.Features.Holds(features):
		// Set, or changed behind the driver's back: set (back) what the
		// class asks for.
		return Plan{Steps: []Step{StepEnsureFeatures}, Status: ready}
	case owned:
		return Plan{Status: ready}
	case rec.Status.Phase == store.PhaseFailed:
		// Terminal: the name belongs to somebody else.
		return Plan{Status: status(store.PhaseFailed, rec.Status.Reason, rec.Status.Message, attempted)}
	case obs.Bucket.Exists && adoptable && rec.Status.Marker == "":
		// The attempt is recorded again, which gives the record its marker,
		// before SeaweedFS is asked.
		return Plan{Steps: append([]Step{StepMarkCreateAttempted}, create...), Status: ready}
	case obs.Bucket.Exists && adoptable:
		// Everything the attempt needs is recorded already: recording it
		// again would count one more creation (and so one more policy write
		// for each access) on every restart of a driver killed before it
		// marks the bucket, and the bucket exists, so no creation is lost.
		// The features follow, as after every creation.
		return Plan{Steps: create, Status: ready}
	case obs.Bucket.Exists && attempted:
		return Plan{Status: status(store.PhaseBlocked, store.ReasonBucketLostMarker,
			"the bucket lost this driver's ownership marks (changed or re-created outside the driver); it is left untouched", true)}
	case obs.Bucket.Exists:
		return Plan{Status: notOwned(false)}
	default:
		// New, or created before and now missing: record the attempt (which
		// also takes the record out of Ready, see adoptable, counts the
		// creation and records the marks), then create. CreateBucket marks
		// the bucket as the record's in the same call.
		return Plan{Steps: append([]Step{StepMarkCreateAttempted}, create...), Status: ready}
	}
}

// withPlacementRemoved puts StepRemovePlacement before the last of steps
// (the release) when the bucket may have had a rule: the rule is in the
// filer configuration, not in the bucket, and outlives it. A class with
// placement wrote one; a class with a quota has one too once SeaweedFS's
// quota enforcement turned the bucket read-only, which SeaweedFS never
// clears for a bucket without a quota, so the next bucket of the name
// would be read-only for good.
func withPlacementRemoved(f s3admin.BucketFeatures, written bool, steps ...Step) []Step {
	if !f.NeedsFiler() || !written {
		return steps
	}
	last := len(steps) - 1
	return append(append(steps[:last:last], StepRemovePlacement), steps[last])
}

// planImported is PlanBucket for a bucket the driver did not create
// (store.BucketSpec.Imported): it is only looked at. Deleting the record
// revokes its accesses and nothing else; the bucket, its data, tags,
// quota and rules stay as its owner made them.
func planImported(rec *store.Bucket, obs BucketObserved) Plan {
	switch {
	case rec.Deleting && obs.Accesses > 0:
		return Plan{Steps: []Step{StepRevokeAccesses}, Wait: true}
	case rec.Deleting:
		return Plan{Steps: []Step{StepRelease}}
	case !obs.Bucket.Exists:
		// Its accesses wait (Ready is what they are written on); rechecked
		// every resync, as the owner may create it again.
		return Plan{Status: status(store.PhaseBlocked, store.ReasonImportedBucketMissing,
			"the imported bucket does not exist in SeaweedFS", false)}
	}
	// One creation, always: the driver cannot see whether the bucket was
	// deleted and created again behind its back (see
	// store.Status.Creations), so its accesses are written once and then
	// compared by what SeaweedFS stores.
	ready := status(store.PhaseReady, "", "", false)
	ready.Creations = 1
	return Plan{Status: ready}
}

// featuresUnsupported says, in one constant sentence, why a class's quota
// or placement cannot be kept; the driver log says which.
const featuresUnsupported = "the BucketClass asks for a quota or placement, which the driver cannot set: it does not reach the SeaweedFS filer (--filer-grpc-address) or cannot read its configuration (/etc/seaweedfs/filer.conf); see the driver log"

// notOwned is the terminal status of a record whose bucket name belongs to
// somebody else.
func notOwned(attempted bool) *store.Status {
	return status(store.PhaseFailed, store.ReasonBucketNotOwned,
		"a bucket with this name exists in SeaweedFS and was not created by this driver", attempted)
}

// AccessObserved is what the reconciler saw for an access record.
type AccessObserved struct {
	// Bucket is the bucket record of the access; nil when there is none.
	Bucket *store.Bucket
	User   s3admin.UserState
}

// Converged reports whether SeaweedFS holds exactly the access the record asks
// for: one key, the recorded one, and exactly one bucket's policy in the
// recorded mode.
func Converged(rec *store.Access, u s3admin.UserState) bool {
	return u.Exists &&
		slices.Equal(u.AccessKeyIDs, []string{rec.AccessKeyID}) &&
		u.Bucket == rec.Spec.BucketID &&
		string(u.Mode) == rec.Spec.Mode &&
		u.PolicyExact
}

// Access compares an access record with what SeaweedFS holds.
func Access(rec *store.Access, obs AccessObserved) Plan {
	if rec.Deleting {
		// The record, which holds the key, goes only once SeaweedFS refuses
		// the key: its S3 gateways take a deleted user in asynchronously, and
		// a revocation answered while the workload's key still works is no
		// revocation. A user already gone (a restart after the delete) is
		// confirmed all the same.
		if obs.User.Exists {
			return Plan{Steps: []Step{StepDeleteUser, StepConfirmRevoked, StepRelease}}
		}
		return Plan{Steps: []Step{StepConfirmRevoked, StepRelease}}
	}
	switch {
	case obs.Bucket == nil:
		// Grant never records an access for a bucket without a record, and a
		// bucket's deletion revokes its accesses before its record goes; a
		// record removed some other way leaves an access that must not
		// outlive it. The bucket record's absence was read from the API
		// server, not a cache.
		return Plan{Steps: []Step{StepRevokeSelf}, Wait: true}
	case obs.Bucket.Deleting:
		// The bucket's deletion revokes this access.
		return Plan{Status: accessStatus(rec, store.PhaseFailed, store.ReasonBucketGone, "the bucket of this access is deleted or being deleted")}
	case obs.Bucket.Status.Phase != store.PhaseReady:
		// No polling: the bucket record turning Ready queues its accesses
		// (and every resync requeues accesses that are not Ready), so a
		// bucket that cannot be created again does not cost a read per
		// access every few hundred milliseconds.
		return Plan{Status: accessStatus(rec, store.PhasePending, "", "waiting for the bucket to be ready")}
	}
	ready := accessStatus(rec, store.PhaseReady, "", "")
	ready.BucketCreations = obs.Bucket.Status.Creations
	switch {
	case rec.Status.BucketCreations != obs.Bucket.Status.Creations:
		// Written for an earlier creation of the bucket (or never written):
		// what SeaweedFS stores may not be in force.
		return Plan{Steps: []Step{StepRewriteAccess}, Status: ready}
	case rec.Status.Reason == store.ReasonKeyPending && rec.Status.Phase != store.PhaseReady && Converged(rec, obs.User):
		// Written, and the key not yet seen accepted: only ask. Writing
		// again would queue one more reload of every identity in each S3
		// gateway, the very thing the key is waiting behind.
		return Plan{Steps: []Step{StepConfirmKey}, Status: ready}
	case Converged(rec, obs.User):
		return Plan{Status: ready}
	default:
		return Plan{Steps: []Step{StepEnsureAccess}, Status: ready}
	}
}

// accessStatus keeps the bucket creation the access was last written for.
func accessStatus(rec *store.Access, phase store.Phase, reason, message string) *store.Status {
	st := status(phase, reason, message, false)
	st.BucketCreations = rec.Status.BucketCreations
	return st
}

// Snapshot is one listing of SeaweedFS: the buckets carrying an owner tag,
// with their marks, and the users carrying the prefix, observed or only
// named.
type Snapshot struct {
	Buckets []s3admin.MarkedBucket
	// Users are the users observed.
	Users []s3admin.UserState
	// Unobserved are the names of the users listed but not observed (outside
	// this pass's window): known to exist, their state unknown.
	Unobserved []string
}

// ResyncPlan is the outcome of comparing all records with a Snapshot.
type ResyncPlan struct {
	// Requeue: records that are not converged or have drifted.
	Requeue []Key
	// OrphanUsers: owned users without an access record. They are deleted
	// only after a direct read confirms the record is gone.
	OrphanUsers []string
	// OrphanBuckets: buckets marked with the installation's owner id without
	// a bucket record; deleted only when empty, after a direct read confirms
	// the record is gone, and only if SeaweedFS says the driver created them
	// (the marks alone can be forged).
	OrphanBuckets []s3admin.MarkedBucket
}

// UserPrefixOf returns the prefix an access record's user was named with:
// the user is that prefix and the access id derived from the grant name. It
// is what the driver acts on for this access, whatever the configured prefix
// is now, so that changing the prefix never strands a credential. ok is
// false for a record whose user is not named after its own access id.
func UserPrefixOf(rec *store.Access) (prefix string, ok bool) {
	prefix, ok = strings.CutSuffix(rec.Spec.User, names.AccessID(rec.Spec.Name))
	return prefix, ok && prefix != ""
}

// BucketAccessUIDs is the set of BucketAccess UIDs listed from the API server
// after the records were read; nil when unknown (not listed, or the COSI CRDs
// are not installed), in which case nothing is revoked for this reason.
type BucketAccessUIDs map[string]bool

// PlanRevocations returns the access records whose BucketAccess no longer
// exists (the COSI sidecar v0.1.0 never calls DriverRevokeBucketAccess),
// sorted. It needs nothing from SeaweedFS, so that a backend that cannot be
// listed never keeps a deleted BucketAccess's key alive.
//
// The records must have been read before the UIDs were listed: a record then
// proves its BucketAccess existed before the listing, so a UID missing from
// the listing means the BucketAccess is really gone. nil uids (not listed)
// revoke nothing.
func PlanRevocations(accesses []*store.Access, uids BucketAccessUIDs) []string {
	if uids == nil {
		return nil
	}
	var revoke []string
	for _, a := range accesses {
		if uid, ok := names.BucketAccessUID(a.Spec.Name); ok && !uids[uid] && !a.Deleting {
			revoke = append(revoke, a.RecordName)
		}
	}
	slices.Sort(revoke)
	return revoke
}

// PlanResync compares every record with one listing of the backend. An
// orphan is only a candidate: it is collected after a direct read of its
// record from the API server (see Controller.collectUser).
func PlanResync(buckets []*store.Bucket, accesses []*store.Access, snap Snapshot, userPrefix, ownerID string) ResyncPlan {
	var p ResyncPlan
	marked := map[string]s3admin.MarkedBucket{}
	for _, b := range snap.Buckets {
		marked[b.Name] = b
	}
	recorded := map[string]bool{}
	creations := map[string]int64{}
	for _, b := range buckets {
		recorded[b.Spec.BucketID] = true
		creations[b.Spec.BucketID] = b.Status.Creations
		m, ok := marked[b.Spec.BucketID]
		drifted := b.Status.Phase == store.PhaseReady && (!ok || !m.Owns(Ownership(b, ownerID)))
		// A bucket's features live outside this listing (its filer entry,
		// the filer configuration, its versioning), and its usage grows
		// without any event: a bucket with features is looked at on every
		// pass, which repairs them and refreshes its usage.
		watched := b.Status.Phase == store.PhaseReady && !FeaturesOf(b).Zero()
		if b.Deleting || drifted || watched || (b.Status.Phase != store.PhaseReady && b.Status.Phase != store.PhaseFailed) {
			p.Requeue = append(p.Requeue, Key{Kind: store.KindBucket, Name: b.RecordName})
		}
	}
	for _, b := range snap.Buckets {
		// The probe bucket has no record by design (see
		// names.ProbeBucket).
		if b.Owner == ownerID && !recorded[b.Name] && b.Marker != names.ProbeMarker {
			p.OrphanBuckets = append(p.OrphanBuckets, b)
		}
	}

	users := map[string]s3admin.UserState{}
	for _, u := range snap.Users {
		users[u.Name] = u
	}
	unobserved := map[string]bool{}
	for _, n := range snap.Unobserved {
		unobserved[n] = true
	}
	wanted := map[string]bool{}
	for _, a := range accesses {
		wanted[a.Spec.User] = true
		// Written for an earlier creation of its bucket: SeaweedFS may no
		// longer enforce what it still stores (see store.Status.Creations).
		stale := recorded[a.Spec.BucketID] && a.Status.BucketCreations != creations[a.Spec.BucketID]
		// A user only named is judged by a later pass's window; a user not
		// even named is missing.
		diverged := !unobserved[a.Spec.User] && !Converged(a, users[a.Spec.User])
		drifted := a.Status.Phase == store.PhaseReady && (diverged || stale)
		// An access without a bucket record is looked at: its reconcile reads
		// the bucket record from the API server and revokes it if it is gone.
		if a.Deleting || drifted || a.Status.Phase != store.PhaseReady || !recorded[a.Spec.BucketID] {
			p.Requeue = append(p.Requeue, Key{Kind: store.KindAccess, Name: a.RecordName})
		}
	}
	for _, u := range snap.Users {
		if names.IsDriverUser(u.Name, userPrefix) && !wanted[u.Name] {
			p.OrphanUsers = append(p.OrphanUsers, u.Name)
		}
	}
	for _, n := range snap.Unobserved {
		if names.IsDriverUser(n, userPrefix) && !wanted[n] {
			p.OrphanUsers = append(p.OrphanUsers, n)
		}
	}
	slices.SortFunc(p.Requeue, func(a, b Key) int { return strings.Compare(a.String(), b.String()) })
	slices.Sort(p.OrphanUsers)
	slices.SortFunc(p.OrphanBuckets, func(a, b s3admin.MarkedBucket) int { return strings.Compare(a.Name, b.Name) })
	return p
}
