// Package s3admin is the contract between the reconciler and the object
// store: the Admin interface, the types it speaks (Access, Ownership,
// BucketState, UserState), the errors it returns and how a backend error is
// classified into them (see Classify and NewError). It is shaped for
// desired-versus-observed reconciliation: Observe* methods report what
// exists, Ensure*/Create*/Delete* methods converge one object and are safe to
// repeat.
//
// Ownership is explicit and checkable. Users carry a reserved name prefix;
// buckets carry tags naming the owner and the record, written only after
// SeaweedFS confirmed that the driver's identity created the bucket (see
// Ownership). Every mutating method checks ownership first and returns
// ErrNotOwned for anything the driver did not create, so a foreign bucket or
// user is never changed or deleted.
//
// The implementations live beside it: seaweedfs (the real store, with the
// user paths iamapi and fileriam), fake (in memory), both running the
// planners of plan through engine; admintest is the contract they all pass.
// docs/architecture.md draws how they fit.
package s3admin

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
)

// Mode is the access a user gets to its one bucket.
type Mode string

const (
	ModeReadWrite Mode = "read-write"
	ModeReadOnly  Mode = "read-only"
	ModeWriteOnly Mode = "write-only"
)

// Valid reports whether m is one of the defined modes.
func (m Mode) Valid() bool {
	switch m {
	case ModeReadWrite, ModeReadOnly, ModeWriteOnly:
		return true
	}
	return false
}

// Ownership is what marks a bucket as one particular record's: the
// installation's owner id and the record's own random marker, written as
// bucket tags (names.OwnerTagKey, names.MarkerTagKey) only after SeaweedFS answered that
// the driver's own identity created the bucket.
//
// A tag alone proves nothing: any identity allowed PutBucketTagging on a
// bucket can write any tag. What no other identity can forge is SeaweedFS's
// record of who created the bucket, which a create request reveals: SeaweedFS
// answers BucketAlreadyOwnedByYou to the bucket's creator and
// BucketAlreadyExists to everybody else. So the driver adopts or deletes a
// bucket only after that answer, and the marker, which only the record knows,
// keeps records (and installations sharing the admin identity) apart. The
// answer is also what SeaweedFS gives everybody for a bucket that records no
// creator, so it is believed only with the recorded creator, or what the
// driver saw itself where that cannot be read (see plan.Claimed).
type Ownership struct {
	// Owner is the installation's owner id.
	Owner string
	// Marker is the record's marker; empty for records from before markers
	// existed, whose buckets carry the owner tag alone.
	Marker string
	// Unrecorded: no record asks for the bucket; the marks were read from
	// the bucket itself (garbage collection). Only the recorded creator can
	// prove such a bucket the driver's.
	Unrecorded bool
	// Interrupted: the record's create was interrupted before the record
	// saw its bucket marked, so a read of the bucket without the marks is
	// believed at once. Waiting for a lagging cache to show marks that were
	// most likely never written would cost every restart of a crash-looping
	// driver the whole wait, and a bucket read as unmarked by mistake is
	// only claimed and marked again.
	Interrupted bool
	// Imported: the bucket is not the driver's; the installation allows
	// accesses on it (--import-buckets). Accesses are granted on it while it
	// exists; it is never created, marked, changed or deleted.
	Imported bool
}

// BucketState is what ObserveBucket saw. Owned and Empty are meaningful only
// when Exists is true.
type BucketState struct {
	Exists bool
	// Owned: the bucket carries exactly the given Ownership's tags.
	Owned bool
	// Empty: no objects, no object versions or delete markers, and no
	// unfinished multipart uploads.
	Empty bool
}

// MarkedBucket is a bucket that carries an owner tag, and the tags' values.
type MarkedBucket struct {
	Name   string
	Owner  string
	Marker string
}

// Owns reports whether the bucket carries exactly own's tags.
func (b MarkedBucket) Owns(own Ownership) bool { return b.Owner == own.Owner && b.Marker == own.Marker }

// UserState is what ObserveUser saw.
type UserState struct {
	Name   string
	Exists bool
	// Owned: the name carries this driver's reserved prefix.
	Owned bool
	// AccessKeyIDs are all keys of the user, sorted. Secrets cannot be read
	// back from the store.
	AccessKeyIDs []string
	// Bucket and Mode are set when the user's access policy is one this
	// client writes; empty otherwise.
	Bucket string
	Mode   Mode
	// PolicyExact: the user's policies are exactly the one this client would
	// write for Bucket and Mode (nothing else inline, attached, or through a
	// group).
	PolicyExact bool
}

// Access is the desired state of one user: exactly this key and exactly the
// policy for one bucket and one mode.
type Access struct {
	User            string
	Bucket          string
	Mode            Mode
	AccessKeyID     string
	SecretAccessKey string
	// BucketOwner is the Ownership of the bucket's record: the access is
	// written only while the bucket carries it.
	BucketOwner Ownership
	// UserPrefix is the reserved prefix User was named with, as recorded with
	// the access; empty means the client's configured prefix. A user named
	// under an earlier prefix stays the access's after the configured prefix
	// changes: its credentials must still be converged and revoked.
	UserPrefix string
	// RewritePolicy writes the policy even when the stored document already
	// matches. SeaweedFS takes every permission scoped to a bucket away from
	// every user when the bucket is deleted, yet keeps the users' stored
	// policy documents: once such a bucket is created again, the stored
	// document no longer shows what is in force, and only writing it again
	// puts it back in force.
	RewritePolicy bool
}

// String never includes the secret.
func (a Access) String() string {
	return fmt.Sprintf("user %q bucket %q mode %s key %s", a.User, a.Bucket, a.Mode, a.AccessKeyID)
}

// GoString keeps %#v from printing the secret too.
func (a Access) GoString() string { return "s3admin.Access{" + a.String() + "}" }

// Admin manages buckets and users on the object store. Implementations are
// safe for concurrent use.
type Admin interface {
	// CreateBucket makes the bucket exist and carry own's tags. It creates a
	// missing bucket, and adopts an existing one only when SeaweedFS reports
	// the driver's identity as its creator and no other owner or marker tags
	// it (a create interrupted before tagging); the caller calls it only after
	// recording that it is about to create the bucket. A bucket another
	// identity created, or tagged for another owner or record, returns
	// ErrNotOwned and is not changed. Idempotent.
	//
	// opts are sent with every create request; they take effect only when
	// the request creates the bucket.
	CreateBucket(ctx context.Context, name string, own Ownership, opts CreateOptions) error
	// ObserveBucket reports whether the bucket exists, carries own's tags, and
	// is empty.
	ObserveBucket(ctx context.Context, name string, own Ownership) (BucketState, error)
	// DeleteBucket deletes the bucket if it carries own's tags and SeaweedFS
	// reports the driver's identity as its creator; otherwise it returns
	// ErrNotOwned. A missing bucket is success. A non-empty bucket returns
	// ErrNotEmpty unless purge is set, in which case its contents are deleted.
	DeleteBucket(ctx context.Context, name string, own Ownership, purge bool) error
	// ListMarkedBuckets returns every bucket carrying an owner tag, whatever
	// its value, sorted by name. Tags can be forged: the list says where to
	// look, never what may be changed.
	ListMarkedBuckets(ctx context.Context) ([]MarkedBucket, error)

	// EnsureAccess converges one user to exactly the given key and exactly the
	// policy for one bucket and mode: other keys and policies of the user are
	// removed. It observes first and writes only the difference, so an access
	// that is already converged makes no write (unless RewritePolicy asks for
	// the policy to be written again). changed reports whether anything was
	// written. The bucket must exist and be owned.
	//
	// After a write it waits a bounded time for the store's S3
	// authentication to accept the key; if it does not yet, EnsureAccess
	// returns ErrKeyPending with everything written, and KeyAccepted tells
	// when it does.
	EnsureAccess(ctx context.Context, access Access) (changed bool, err error)
	// KeyAccepted reports whether the store authenticates a request signed
	// with the access's key (one request, no wait).
	KeyAccepted(ctx context.Context, access Access) (bool, error)
	ObserveUser(ctx context.Context, name string) (UserState, error)
	// DeleteUser removes the user's policies, then its keys, then the user. A
	// missing user is success. prefix is the reserved prefix the user was
	// named with (see Access.UserPrefix); empty means the configured one.
	DeleteUser(ctx context.Context, name, prefix string) error
	// ListOwnedUsers returns the state of every user carrying the configured
	// prefix or one of extraPrefixes (prefixes recorded with accesses from
	// before a change of the configured one), sorted by name. It observes
	// each user (several reads per user), so it is for periodic
	// resynchronisation, not for every reconcile.
	ListOwnedUsers(ctx context.Context, extraPrefixes ...string) ([]UserState, error)
	// ListOwnedUsersWindow lists the names of the same users and observes
	// those w picks. A path that reads every user in a few calls whatever
	// their number (the filer's IAM gRPC service) observes them all; one
	// that reads each user with calls of its own (the IAM query API) only
	// the window's, so that a resync pass costs a bounded number of calls.
	// On an error while observing, the listing holds the names and what was
	// observed before the error (see UserListing.Last).
	ListOwnedUsersWindow(ctx context.Context, w UserWindow, extraPrefixes ...string) (UserListing, error)

	// CheckUserWrites verifies that the store accepts the user writes this
	// path makes, without changing anything: SeaweedFS serves its IAM API
	// read-only unless told otherwise, which every other check passes. It
	// returns ErrAccessDenied naming the setting when writes are refused.
	CheckUserWrites(ctx context.Context) error

	// CheckAnonymousDenied verifies that the store refuses an unauthenticated
	// request; it returns ErrAnonymousAllowed if not.
	CheckAnonymousDenied(ctx context.Context) error
	// CheckAnonymousAccess reports what unsigned requests may do in the
	// installation's probe bucket (names.ProbeBucket of probe.Owner, created
	// and marked with names.ProbeMarker if missing) and in the sample of the
	// driver's buckets: read, list and write. A write that succeeds leaves
	// nothing behind: its object, under a key reserved to the driver, is
	// deleted at once (an error names it if that fails).
	CheckAnonymousAccess(ctx context.Context, probe Ownership, sample []string) (AnonymousAccess, error)

	BucketFeatureAdmin
}

// UserWindow picks the users a listing observes: at most Limit of them, the
// first whose names sort after After, continuing from the first name once
// the last is passed. Limit 0 picks every user. Passing each listing's Last
// as the next After visits every user of N within ceil(N/Limit) listings
// (more when users are added meanwhile).
type UserWindow struct {
	After string
	Limit int
}

// Pick returns the names w picks from sorted, in the order they are
// visited.
func (w UserWindow) Pick(sorted []string) []string {
	i, found := slices.BinarySearch(sorted, w.After)
	if found {
		i++
	}
	picked := append(slices.Clone(sorted[i:]), sorted[:i]...)
	if w.Limit > 0 && w.Limit < len(picked) {
		picked = picked[:w.Limit]
	}
	return picked
}

// UserListing is one listing of the owned users.
type UserListing struct {
	// Names are every owned user listed, sorted; a user found deleted when
	// observed is left out.
	Names []string
	// Users is the state of the users observed, sorted by name.
	Users []UserState
	// Last is the last user the window reached, in the window's order: the
	// After of the next window. A user whose observation failed counts as
	// reached (one that cannot be read must not hold the others back)
	// unless the listing's context ended first. Empty when the path
	// observed every user at once.
	Last string
}

// PolicyName is the name of the one inline policy this client writes.
const PolicyName = "cosi-bucket-access"

var (
	// IAM user name characters. SeaweedFS also uses the name as a file name
	// in the filer, so '/' must never get through.
	UserNamePattern = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)
	// SeaweedFS accepts a caller-supplied AccessKeyId of 4–128 ASCII letters
	// and digits (weed/iam/validation.go).
	accessKeyIDRE = regexp.MustCompile(`^[A-Za-z0-9]{4,128}$`)
)

// ValidateBucketName checks the S3 bucket naming rules.
func ValidateBucketName(name string) error {
	if !names.ValidBucket(name) {
		return fmt.Errorf("%w: bucket name %q is not a valid S3 bucket name", ErrInvalid, name)
	}
	return nil
}

// ValidateUserName checks the IAM user name characters and the reserved
// prefix.
func ValidateUserName(name, prefix string) error {
	if !UserNamePattern.MatchString(name) {
		return fmt.Errorf("%w: user name %q: want 1–64 of [A-Za-z0-9+=,.@_-]", ErrInvalid, name)
	}
	if !strings.HasPrefix(name, prefix) || len(name) == len(prefix) {
		return fmt.Errorf("%w: user %q does not carry the reserved prefix %q", ErrNotOwned, name, prefix)
	}
	return nil
}

// ValidateCredentials checks that a key pair is within what SeaweedFS accepts
// for caller-supplied keys: AccessKeyId 4–128 letters and digits,
// SecretAccessKey 8–128 characters. The secret is also limited to printable
// ASCII without spaces so it survives every client configuration format.
func ValidateCredentials(accessKeyID, secret string) error {
	if !accessKeyIDRE.MatchString(accessKeyID) {
		return fmt.Errorf("%w: access key id must be 4–128 ASCII letters and digits", ErrInvalid)
	}
	if len(secret) < 8 || len(secret) > 128 {
		return fmt.Errorf("%w: secret access key must be 8–128 characters", ErrInvalid)
	}
	for i := 0; i < len(secret); i++ {
		if secret[i] <= ' ' || secret[i] > '~' {
			return fmt.Errorf("%w: secret access key must be printable ASCII without spaces", ErrInvalid)
		}
	}
	return nil
}

// PrefixOr is the prefix a call names, or the configured one.
func PrefixOr(prefix, configured string) string {
	if prefix != "" {
		return prefix
	}
	return configured
}

// HasAnyPrefix reports whether name starts with one of prefixes.
func HasAnyPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func ValidateAccess(a Access, prefix string) error {
	if err := ValidateUserName(a.User, PrefixOr(a.UserPrefix, prefix)); err != nil {
		return err
	}
	if err := ValidateBucketName(a.Bucket); err != nil {
		return err
	}
	if !a.Mode.Valid() {
		return fmt.Errorf("%w: mode %q: want %s, %s or %s", ErrInvalid, a.Mode, ModeReadWrite, ModeReadOnly, ModeWriteOnly)
	}
	return ValidateCredentials(a.AccessKeyID, a.SecretAccessKey)
}
