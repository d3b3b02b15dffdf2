// Package bucketclass holds the parameters a BucketClass of this driver
// may carry: their names, their validation, and what they ask of a bucket.
// The gRPC handlers validate them before anything is recorded; the
// reconciler reads the recorded parameters back through the same Parse, so
// a record says exactly what its class said.
package bucketclass

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// Parameters accepted from a BucketClass (DriverCreateBucket).
const (
	// Purge: "true" lets DriverDeleteBucket delete a bucket that still
	// holds objects (and the objects with it). Default "false": a non-empty
	// bucket is refused with FAILED_PRECONDITION.
	Purge = "purge"
	// MaxSize: a Kubernetes quantity (500Mi, 10Gi), the bucket's SeaweedFS
	// quota in bytes.
	MaxSize = "maxSize"
	// Replication: a SeaweedFS replication string (three digits: other
	// data centers, other racks, other servers), e.g. 001.
	Replication = "replication"
	// DiskType: the SeaweedFS disk type the bucket's volumes are placed
	// on, e.g. ssd or hdd.
	DiskType = "diskType"
	// TTL: a SeaweedFS TTL (a count and a unit m, h, d, w, M or y, e.g.
	// 7d) after which the bucket's objects expire.
	TTL = "ttl"
	// ObjectLock: "true" creates the bucket with object lock, which
	// implies versioning.
	ObjectLock = "objectLock"
	// Versioning: "true" keeps the bucket's versioning enabled.
	Versioning = "versioning"
)

// Names are every accepted parameter, in the order error messages list them.
var Names = []string{Purge, MaxSize, Replication, DiskType, TTL, ObjectLock, Versioning}

// Class is what a BucketClass's parameters ask for.
type Class struct {
	Purge    bool
	Features s3admin.BucketFeatures
}

// Error is a parameter Parse refuses, naming it.
type Error struct {
	// Param is the parameter's name; empty for an unknown one.
	Param   string
	Message string
}

func (e *Error) Error() string { return e.Message }

func refuse(param, format string, args ...any) *Error {
	return &Error{Param: param, Message: fmt.Sprintf(format, args...)}
}

var (
	replicationRE = regexp.MustCompile(`^[0-9]{3}$`)
	// SeaweedFS takes any disk tag a volume server announces; this is the
	// character set its tags use, and it keeps the value a plain word in
	// filer.conf.
	diskTypeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	// weed/storage/needle/volume_ttl.go: a count and one unit letter. The
	// count is stored in one byte: SeaweedFS rewrites a larger one into
	// another unit, rounding it (1000d is kept as 142w), or drops it, so
	// only counts up to 255 mean what they say.
	ttlRE = regexp.MustCompile(`^([1-9][0-9]?|1[0-9]{2}|2[0-4][0-9]|25[0-5])[mhdwMy]$`)
)

// maxQuota keeps a quota where SeaweedFS's int64 byte count and its
// float comparisons stay exact (2^53 bytes is 8 PiB).
const maxQuota = int64(1) << 53

// Parse validates a BucketClass's parameters. Every value has exactly the
// documented spellings: a value that deletes data or locks it must not be
// guessed.
func Parse(params map[string]string) (Class, error) {
	var c Class
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if !slices.Contains(Names, k) {
			return Class{}, refuse("", "unknown parameter %q (accepted: %s)", k, strings.Join(Names, ", "))
		}
	}
	var err error
	if c.Purge, err = boolean(params, Purge); err != nil {
		return Class{}, err
	}
	if c.Features.ObjectLock, err = boolean(params, ObjectLock); err != nil {
		return Class{}, err
	}
	if c.Features.Versioning, err = boolean(params, Versioning); err != nil {
		return Class{}, err
	}
	if v, ok := params[MaxSize]; ok {
		q, err := resource.ParseQuantity(v)
		// Value rounds a fraction of a byte up; a quantity equal to its
		// rounded value is whole (1.5Gi is, 100m is not).
		n := q.Value()
		exact := err == nil && q.Cmp(*resource.NewQuantity(n, resource.BinarySI)) == 0
		switch {
		case err != nil || !exact:
			return Class{}, refuse(MaxSize, "parameter %q must be a whole number of bytes as a Kubernetes quantity (500Mi, 10Gi), not %q", MaxSize, v)
		case n <= 0 || n > maxQuota:
			return Class{}, refuse(MaxSize, "parameter %q must be between 1 byte and 8Pi, not %q", MaxSize, v)
		}
		c.Features.QuotaBytes = n
	}
	if v, ok := params[Replication]; ok {
		if !replicationRE.MatchString(v) {
			return Class{}, refuse(Replication, "parameter %q must be a SeaweedFS replication of three digits (e.g. 001), not %q", Replication, v)
		}
		c.Features.Replication = v
	}
	if v, ok := params[DiskType]; ok {
		if !diskTypeRE.MatchString(v) {
			return Class{}, refuse(DiskType, "parameter %q must be a SeaweedFS disk type of lower-case letters, digits, - and _ (e.g. ssd, hdd), not %q", DiskType, v)
		}
		c.Features.DiskType = v
	}
	if v, ok := params[TTL]; ok {
		if !ttlRE.MatchString(v) {
			return Class{}, refuse(TTL, "parameter %q must be a SeaweedFS TTL: a count from 1 to 255 and one of m, h, d, w, M, y (e.g. 7d), not %q", TTL, v)
		}
		c.Features.TTL = v
	}
	if c.Features.ObjectLock {
		// Object lock needs versioning: "versioning: false" beside it
		// asks for what SeaweedFS cannot do.
		if v, ok := params[Versioning]; ok && v == "false" {
			return Class{}, refuse(Versioning, "parameter %q cannot be \"false\" with %q \"true\": object lock needs versioning", Versioning, ObjectLock)
		}
		// A purge of a locked bucket would delete what no retention
		// protects and then stop at the first locked version: half a
		// deletion. Such a bucket is emptied by its retention ending.
		if c.Purge {
			return Class{}, refuse(Purge, "parameter %q cannot be \"true\" with %q \"true\": locked versions cannot be deleted before their retention ends", Purge, ObjectLock)
		}
	}
	return c, nil
}

func boolean(params map[string]string, name string) (bool, error) {
	// Exactly the two documented spellings: strconv.ParseBool would also
	// take "1", "t" or "TRUE".
	switch v, ok := params[name]; {
	case !ok, v == "false":
		return false, nil
	case v == "true":
		return true, nil
	default:
		return false, refuse(name, "parameter %q must be true or false, not %q", name, v)
	}
}
