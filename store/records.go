// Package store keeps the driver's desired state — one record per bucket and one
// per access — in ConfigMaps and Secrets of the driver's own namespace. The
// Kubernetes API is the driver's only state store: records are created before
// anything is changed in SeaweedFS, so a crash or restart at any point leaves a
// record that says what is still to be done.
package store

import (
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Labels and finalizer on every record. Nothing secret ever goes into a label
// or an annotation.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "cosi-seaweedfs"
	LabelKind      = "cosi-seaweedfs.io/kind"
	KindBucket     = "bucket"
	KindAccess     = "access"
	// LabelBucketRecord on an access record names the bucket record it belongs
	// to, so that deleting a bucket can find every access to revoke.
	LabelBucketRecord = "cosi-seaweedfs.io/bucket-record"

	// Finalizer keeps a record in place after Delete/Revoke asked for it to go
	// until the reconciler has removed what it stands for from SeaweedFS:
	// deletion is a state (the deletionTimestamp), not an absence.
	Finalizer = "cosi-seaweedfs.io/backend"

	keySpec            = "spec"
	keyStatus          = "status"
	keyAccessKeyID     = "accessKeyID"
	keySecretAccessKey = "secretAccessKey"
)

// Phase is how far the reconciler has brought a record.
type Phase string

const (
	// PhasePending: recorded, not yet converged (or converging again after drift).
	PhasePending Phase = ""
	// PhaseReady: SeaweedFS matches the record.
	PhaseReady Phase = "Ready"
	// PhaseFailed: the record can never converge as asked (for example the
	// bucket name belongs to somebody else). Terminal: not retried.
	PhaseFailed Phase = "Failed"
	// PhaseBlocked: converging waits on something outside the driver (for
	// example a bucket that must be emptied before it is deleted). Rechecked
	// on every resync.
	PhaseBlocked Phase = "Blocked"
)

// Reasons recorded with a phase; grpcapi maps those of PhaseFailed and
// PhaseBlocked to codes.
const (
	ReasonBucketNotOwned = "BucketNotOwned"
	// ReasonBucketLostMarker: a bucket that was ready lost the driver's
	// ownership tag; it is no longer treated as the driver's.
	ReasonBucketLostMarker = "BucketLostMarker"
	ReasonBucketNotEmpty   = "BucketNotEmpty"
	ReasonBucketGone       = "BucketGone"
	ReasonBackendError     = "BackendError"
	// ReasonImportedBucketMissing (PhaseBlocked): the imported bucket does
	// not exist in SeaweedFS.
	ReasonImportedBucketMissing = "ImportedBucketMissing"
	// ReasonFeaturesUnsupported: the bucket's class asks for a quota or
	// placement, which this driver cannot set (it does not reach the
	// filer, or cannot read the filer configuration). PhaseBlocked for a
	// bucket never handed out; PhaseReady for one that was, which stays
	// usable without its limits.
	ReasonFeaturesUnsupported = "FeaturesUnsupported"
	// ReasonObjectLockMissing (PhaseReady): the class asks for object lock
	// and the bucket was created without it (an adopted interrupted
	// create); nothing can add it.
	ReasonObjectLockMissing = "ObjectLockMissing"
	// ReasonKeyPending (PhasePending, access records): the access is
	// written for the bucket creation in BucketCreations and waits for the
	// S3 gateway to accept its key; nothing needs writing again.
	ReasonKeyPending = "KeyPending"
	// ReasonRevocationPending (access records being deleted): the user is
	// deleted and the S3 gateway still accepts its key; the record stays
	// until the gateway refuses it.
	ReasonRevocationPending = "RevocationPending"
)

// Status is what the reconciler last observed; only the reconciler writes it.
type Status struct {
	Phase   Phase  `json:"phase,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// CreateAttempted is set on a bucket record before the reconciler first
	// calls CreateBucket. A bucket found without our ownership marker is then
	// known to be ours (created, crashed before marking) rather than foreign.
	CreateAttempted bool      `json:"createAttempted,omitempty"`
	LastTransition  time.Time `json:"lastTransition,omitzero"`
	// CheckedAt is when the reconciler began the observation behind a
	// PhaseBlocked status. It is written on every check, so that a handler
	// called once the cause may be gone (the bucket was emptied) can wait for
	// an observation that began after the call instead of answering from an
	// older one.
	CheckedAt time.Time `json:"checkedAt,omitzero"`
	// Creations (bucket records) counts the reconciler's attempts to create
	// the bucket in SeaweedFS: the first one, retries of a failed or
	// interrupted one, and each one after the bucket went missing; at least 1
	// once the bucket was ready. SeaweedFS takes every user's permissions on a
	// bucket away when the bucket is deleted, so an access written before the
	// latest creation must be written again (see s3admin.Access.RewritePolicy).
	Creations int64 `json:"creations,omitempty"`
	// BucketCreations (access records) is the bucket record's Creations the
	// access was last written or confirmed for.
	BucketCreations int64 `json:"bucketCreations,omitempty"`
	// Owner and Marker (bucket records) are the owner id and the record's
	// random marker that the bucket carries as tags (see s3admin.Ownership).
	// Both are recorded before the bucket is first created and never change
	// afterwards, so a later change of the installation's owner id never
	// makes the record's own bucket look foreign. The marker is known only to
	// this record: a bucket somebody else made and tagged beforehand cannot
	// carry it. Records from before markers existed have neither.
	Owner  string `json:"owner,omitempty"`
	Marker string `json:"marker,omitempty"`
	// QuotaBytes and UsedBytes (bucket records whose class sets maxSize)
	// are the quota in force and what SeaweedFS counts against it, as last
	// observed, so that operators can see how full a bucket is.
	QuotaBytes int64 `json:"quotaBytes,omitempty"`
	UsedBytes  int64 `json:"usedBytes,omitempty"`
}

// BucketSpec is the desired state of one bucket, recorded by DriverCreateBucket.
type BucketSpec struct {
	// Name is the COSI request name (the Kubernetes Bucket object name).
	Name string `json:"name"`
	// BucketID is the S3 bucket name and the bucket_id returned to COSI.
	BucketID string `json:"bucketID"`
	// Parameters are the BucketClass parameters as received, kept so that later
	// calls (Delete has no parameters) can honour them and repeats can be
	// compared with the original.
	Parameters map[string]string `json:"parameters,omitempty"`
	// Purge: deleting the bucket also deletes its objects.
	Purge bool `json:"purge,omitempty"`
	// Imported: the bucket is not the driver's. It existed before, and the
	// installation allows accesses on it (--import-buckets); the record is
	// made by the first grant on it. The driver never creates, marks,
	// changes or deletes it: deleting the record only revokes its accesses.
	Imported bool `json:"imported,omitempty"`
}

// Bucket is a bucket record.
type Bucket struct {
	RecordName string
	// UID tells one incarnation of a record from a later one of the same name.
	UID types.UID
	// Deleting is true once DriverDeleteBucket (or garbage collection) asked for
	// the bucket to go; the record stays until the reconciler has finished.
	Deleting bool
	Spec     BucketSpec
	Status   Status
}

// AccessSpec is the desired state of one access, recorded by DriverGrantBucketAccess.
type AccessSpec struct {
	// Name is the COSI request name (ba-<BucketAccess UID> with the real sidecar).
	Name     string            `json:"name"`
	BucketID string            `json:"bucketID"`
	Mode     string            `json:"mode"`
	User     string            `json:"user"`
	Params   map[string]string `json:"parameters,omitempty"`
}

// Access is an access record. It is a Secret because it holds the generated
// credentials; they are generated and recorded before SeaweedFS is told about
// them, so a retried grant returns byte-identical credentials.
type Access struct {
	RecordName      string
	UID             types.UID
	Deleting        bool
	Spec            AccessSpec
	Status          Status
	AccessKeyID     string
	SecretAccessKey string
}
