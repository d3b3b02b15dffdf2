package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// UserBackend is where one user path keeps users, keys and grants: what the
// access planner (accessplan.go) needs read, and the steps it plans applied.
// The SeaweedFS client has one per path (packages iamapi, fileriam); the Fake
// keeps them in memory (fakeUsers), so every implementation runs the same
// rules.
type UserBackend interface {
	// Form is how this path stores a grant.
	Form() plan.Form
	// Observe reads what scope asks of one user; a missing user (or one
	// deleted half-way) reads as not existing.
	Observe(ctx context.Context, name string, scope Scope) (plan.Observation, error)
	// List lists every existing user carrying one of prefixes and observes
	// those w picks, or every one where the path reads them all in a few
	// calls whatever their number (see s3admin.Admin.ListOwnedUsersWindow).
	List(ctx context.Context, prefixes []string, w s3admin.UserWindow) (Listing, error)
	// Apply makes one change. A step that creates what exists already
	// returns ErrAlreadyExists; one that removes what is gone may return
	// ErrNotFound.
	Apply(ctx context.Context, s plan.Step) error
	// ProbeKey reports whether the store authenticates a request signed
	// with the access's key (one request).
	ProbeKey(ctx context.Context, a s3admin.Access) (bool, error)
}

// observeScope is how much of a user an observation reads.
type Scope int

const (
	// ScopeAll: everything that decides the user's access, and a grant a
	// missing user left behind (an interrupted deletion, which a deletion
	// must finish).
	ScopeAll Scope = iota
	// scopeGrant: everything that decides an existing user's access; of a
	// missing user nothing more. A missing user's grant is written anyway,
	// and reading a grant that does not exist can cost a read of every
	// grant (SeaweedFS's filer credential store falls back to loading all
	// policies when one is not found).
	scopeGrant
	// ScopeExists: whether the user exists (a read-back after a deletion).
	ScopeExists
	// ScopeListed: what ScopeAll reads of a user a listing has just named,
	// where the path can tell a user deleted since from the reads of its
	// grants without reading the user first (the IAM query API answers
	// NoSuchEntity to ListUserPolicies); elsewhere what ScopeAll reads of
	// a user that exists.
	ScopeListed
)

// maxEnsureRounds bounds observe-and-fix rounds. One round fixes everything
// that was observed; the next only confirms it, unless something changed
// behind our back in between (or a new user inherited policies a deleted
// namesake left behind).
const maxEnsureRounds = 4

// EnsureAccess converges one user to the access: observe, plan, apply,
// observe again, until the plan is empty; after a write it waits up to
// keyWait for the store to accept the key. The caller holds the user's lock
// and has checked the bucket's ownership.
func EnsureAccess(ctx context.Context, be UserBackend, a s3admin.Access, prefix string, keyWait time.Duration) (changed bool, err error) {
	rewrite := a.RewritePolicy
	keyConflicts := 0
	// watch probes the key from the first write on (see keyWatch). A key
	// once accepted stays accepted: no step removes the access's own key.
	var watch *keyWatch
	defer func() {
		if watch != nil {
			watch.stop()
		}
	}()
	for range maxEnsureRounds {
		obs, err := be.Observe(ctx, a.User, scopeGrant)
		if err != nil {
			return changed, err
		}
		todo, err := plan.Access(a, obs, be.Form(), prefix, rewrite)
		if err != nil {
			return changed, err
		}
		if len(todo.Steps) == 0 {
			if changed {
				// Written is not yet usable: the workload gets the key only
				// once S3 accepts it.
				return changed, watch.accepted(ctx, a, keyWait)
			}
			return changed, nil
		}
		again := false
		for _, s := range todo.Steps {
			write := s.Kind != plan.StepCheckKeyFree
			if write && watch == nil {
				watch = watchKey(ctx, be, a)
			}
			err := be.Apply(ctx, s)
			if write {
				watch.written()
			}
			switch {
			case err == nil:
				changed = changed || write
				if s.Kind == plan.StepPutGrant {
					rewrite = false
				}
				continue
			case s.Kind.Removes() && errors.Is(err, s3admin.ErrNotFound):
				continue
			case (s.Kind == plan.StepCreateUser || s.Kind == plan.StepWriteIdentity && s.Create) && errors.Is(err, s3admin.ErrAlreadyExists):
				// Created concurrently, or by an earlier attempt whose answer
				// was lost: the next round observes what is there.
				again = true
			case s.Kind == plan.StepCreateKey && errors.Is(err, s3admin.ErrAlreadyExists):
				// Either an earlier attempt of ours succeeded after all (the
				// next observation shows the key on this user) or the key id
				// belongs to another identity; a second conflict settles it.
				keyConflicts++
				if keyConflicts > 1 {
					return changed, s3admin.NewError("CreateAccessKey", s3admin.ErrAlreadyExists,
						"access key id %s is in use by another identity", a.AccessKeyID)
				}
				again = true
			default:
				return changed, err
			}
			break
		}
		if again {
			continue
		}
		if todo.Removed > 0 {
			return true, &s3admin.UnissuedKeysError{User: a.User, Removed: todo.Removed, Remaining: todo.Remaining}
		}
	}
	return changed, s3admin.NewError("EnsureAccess", s3admin.ErrTransient,
		"user %q did not converge after %d rounds: it is being changed concurrently", a.User, maxEnsureRounds)
}

// KeyAccepted is KeyAccepted on any backend: one probe.
func KeyAccepted(ctx context.Context, be UserBackend, a s3admin.Access, prefix string) (bool, error) {
	if err := s3admin.ValidateAccess(a, prefix); err != nil {
		return false, err
	}
	return be.ProbeKey(ctx, a)
}

// DeleteUser removes the user (see planDeleteUser), then reads it back: a
// user that is still there (re-created concurrently, say) must not be
// reported as deleted. The caller holds the user's lock.
func DeleteUser(ctx context.Context, be UserBackend, name string) error {
	obs, err := be.Observe(ctx, name, ScopeAll)
	if err != nil {
		return err
	}
	steps := plan.DeleteUser(name, obs, be.Form())
	if len(steps) == 0 {
		return nil
	}
	for _, s := range steps {
		if err := be.Apply(ctx, s); err != nil && !errors.Is(err, s3admin.ErrNotFound) {
			return err
		}
	}
	after, err := be.Observe(ctx, name, ScopeExists)
	if err != nil {
		return err
	}
	if after.Exists {
		return s3admin.NewError("DeleteUser", s3admin.ErrTransient, "user %q still exists after deletion", name)
	}
	return nil
}

// Listing is one listing of a path's users: every name, the observations
// of those a window picked (see s3admin.UserListing).
type Listing struct {
	Names    []string
	Observed map[string]plan.Observation
	Last     string
}

// ObserveWindow observes, one by one, the users w picks from names
// (sorted): the listing of a path whose reads are per user. A user deleted
// since it was named is left out of the names. On an error it returns
// what it observed before.
func ObserveWindow(ctx context.Context, be UserBackend, names []string, w s3admin.UserWindow) (Listing, error) {
	l := Listing{Observed: map[string]plan.Observation{}}
	gone := map[string]bool{}
	var err error
	for _, n := range w.Pick(names) {
		if err = ctx.Err(); err != nil {
			break
		}
		var obs plan.Observation
		obs, err = be.Observe(ctx, n, ScopeListed)
		if err != nil {
			if ctx.Err() == nil {
				l.Last = n
			}
			break
		}
		l.Last = n
		if !obs.Exists {
			gone[n] = true
			continue
		}
		l.Observed[n] = obs
	}
	l.Names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return gone[n] })
	return l, err
}

// ListUsers returns the state of every user carrying prefix or one of
// extra, sorted by name.
func ListUsers(ctx context.Context, be UserBackend, prefix string, extra []string) ([]s3admin.UserState, error) {
	l, err := ListUsersWindow(ctx, be, prefix, extra, s3admin.UserWindow{})
	if err != nil {
		return nil, err
	}
	return l.Users, nil
}

// ListUsersWindow lists every user carrying prefix or one of extra and
// observes those w picks (see s3admin.Admin.ListOwnedUsersWindow).
func ListUsersWindow(ctx context.Context, be UserBackend, prefix string, extra []string, w s3admin.UserWindow) (s3admin.UserListing, error) {
	l, err := be.List(ctx, append([]string{prefix}, extra...), w)
	states := make([]s3admin.UserState, 0, len(l.Observed))
	for name, obs := range l.Observed {
		states = append(states, obs.State(name, prefix))
	}
	slices.SortFunc(states, func(a, b s3admin.UserState) int { return strings.Compare(a.Name, b.Name) })
	return s3admin.UserListing{Names: l.Names, Users: states, Last: l.Last}, err
}

// observeUserState is ObserveUser on any backend.
func ObserveUser(ctx context.Context, be UserBackend, name, prefix string) (s3admin.UserState, error) {
	if !s3admin.UserNamePattern.MatchString(name) {
		return s3admin.UserState{}, fmt.Errorf("%w: user name %q", s3admin.ErrInvalid, name)
	}
	obs, err := be.Observe(ctx, name, ScopeAll)
	if err != nil {
		return s3admin.UserState{}, err
	}
	return obs.State(name, prefix), nil
}

// CheckGrantBucket refuses an access whose bucket is missing or does not
// carry its record's marks. Granting on a bucket the driver does not own
// would change who can read someone else's data; granting on a missing
// bucket would pre-authorize whoever creates that name next.
func CheckGrantBucket(ctx context.Context, buckets *Buckets, a s3admin.Access) error {
	if a.BucketOwner.Imported {
		// An imported bucket is somebody else's, which the installation
		// allows accesses on while it exists: it carries no marks of ours,
		// so one read suffices (a missing bucket reads reliably; see marks).
		obs, _, err := buckets.readMarks(ctx, a.Bucket)
		switch {
		case err != nil:
			return err
		case !obs.Exists:
			return s3admin.NewError("EnsureAccess", s3admin.ErrNotFound, "imported bucket %q does not exist", a.Bucket)
		}
		return nil
	}
	obs, _, err := buckets.marks(ctx, a.Bucket, a.BucketOwner)
	switch {
	case err != nil:
		return err
	case !obs.Exists:
		return s3admin.NewError("EnsureAccess", s3admin.ErrNotFound, "bucket %q does not exist", a.Bucket)
	case a.BucketOwner.Owner == "" || !obs.Marks.Owns(a.BucketOwner):
		return s3admin.NewError("EnsureAccess", s3admin.ErrNotOwned, "bucket %q does not carry its record's marks", a.Bucket)
	}
	return nil
}
