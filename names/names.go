// Package names holds every rule that derives one name from another: a COSI
// bucket name to its S3 bucket id, a bucket id to its record, a grant name to
// its access id, record and SeaweedFS user, a user to its managed policy,
// and the tags that mark a bucket as an installation's and a record's.
//
// The names are derived, never stored as the only link: two concurrent
// identical requests derive the same record name and collide on one object,
// and Revoke finds an access from its account id alone.
package names

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"regexp"
	"strings"
)

const (
	// DefaultUserPrefix is the reserved name prefix of users this driver
	// owns.
	DefaultUserPrefix = "cosi-"
	// OwnerTagKey is the bucket tag whose value names the owning
	// installation.
	OwnerTagKey = "cosi-seaweedfs.io/owner"
	// MarkerTagKey is the bucket tag whose value is the owning record's
	// marker.
	MarkerTagKey = "cosi-seaweedfs.io/marker"
	// ProbeMarker is the marker of the probe bucket (see ProbeBucket): a
	// bucket of the driver's that no record stands for and garbage
	// collection leaves alone.
	ProbeMarker = "anonymous-probe"

	bucketRecordPrefix = "bucket-"
	accessRecordPrefix = "access-"
	// accessIDLen is the length of an access id: 32 hex digits.
	accessIDLen = 32
)

// hashOf is the deterministic part of derived names: request names can be
// longer than, or not valid as, Kubernetes object or IAM names.
func hashOf(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// S3 bucket naming rules: 3–63 characters of lower-case letters, digits, dots
// and hyphens, starting and ending with a letter or digit.
var bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// ValidBucket reports whether name follows the S3 bucket naming rules.
func ValidBucket(name string) bool {
	return bucketNameRE.MatchString(name) && !strings.Contains(name, "..") &&
		!strings.Contains(name, ".-") && !strings.Contains(name, "-.")
}

// LegalBucket reports whether name is a bucket name S3 accepts as it is:
// a valid one that is not an IP address and uses no reserved prefix or suffix.
func LegalBucket(name string) bool {
	if !ValidBucket(name) || strings.HasPrefix(name, "xn--") || strings.HasSuffix(name, "-s3alias") {
		return false
	}
	_, err := netip.ParseAddr(name)
	return err != nil // an IP address is not a bucket name
}

// BucketID maps a COSI bucket name to the S3 bucket name. A name that is
// already a legal S3 bucket name is used as it is (the names the COSI
// controller v0.2 produces, bucket-<claim UID>, always are). Any other name —
// older controllers produce <class name><claim UID>, often longer than 63
// characters — maps to the first 40 characters of its lower-cased name with
// every other character replaced by '-', a '-', and the first 16 hex digits of
// the SHA-256 of the full name: deterministic, so repeats agree, and readable.
func BucketID(name string) string {
	if LegalBucket(name) {
		return name
	}
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
		if b.Len() >= 40 {
			break
		}
	}
	prefix := strings.Trim(b.String(), "-")
	for strings.Contains(prefix, "--") {
		prefix = strings.ReplaceAll(prefix, "--", "-")
	}
	if prefix == "" {
		prefix = "cosi"
	}
	return prefix + "-" + hashOf(name, 16)
}

// BucketRecord is the record name for an S3 bucket name. Because the name is
// derived, two concurrent creates of the same bucket collide on one object.
func BucketRecord(bucketID string) string { return bucketRecordPrefix + hashOf(bucketID, 40) }

// AccessID is the stable identity of an access derived from its request name:
// it names both the access record and the SeaweedFS user (with the driver's
// user prefix), so Revoke can find the record from the account_id alone.
func AccessID(name string) string { return hashOf(name, accessIDLen) }

// AccessRecord is the record name for an AccessID.
func AccessRecord(accessID string) string { return accessRecordPrefix + accessID }

// AccessIDOfRecord is AccessRecord's inverse: the access id an access record
// name carries; ok is false for any other name. It is how the user of a
// record that cannot be read is still known (see User).
func AccessIDOfRecord(record string) (id string, ok bool) {
	id, ok = strings.CutPrefix(record, accessRecordPrefix)
	if !ok || len(id) != accessIDLen || strings.Trim(id, "0123456789abcdef") != "" {
		return "", false
	}
	return id, true
}

// User names the SeaweedFS user of an access: the user prefix, then the
// access id. AccessIDOf is its inverse.
func User(prefix, accessID string) string { return prefix + accessID }

// AccessIDOf splits a SeaweedFS user name the driver gave (<user prefix>
// <access id>) into its prefix and access id; ok is false for any other
// name. The prefix is whatever it was when the user was named: the
// configured one may have changed since.
func AccessIDOf(user string) (prefix, id string, ok bool) {
	if len(user) <= accessIDLen {
		return "", "", false
	}
	prefix, id = user[:len(user)-accessIDLen], user[len(user)-accessIDLen:]
	for _, r := range id {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return "", "", false
		}
	}
	return prefix, id, true
}

// IsDriverUser reports whether name is one the driver gives its users under
// prefix: the prefix and an access id. A user that only shares the prefix
// (an administrator's "cosi-admin", say) is never the driver's.
func IsDriverUser(name, prefix string) bool {
	p, _, ok := AccessIDOf(name)
	return ok && p == prefix
}

// AccessPolicy is the name of the managed policy holding the grant of the
// access whose user is user (the filer IAM gRPC path). Managed policy names
// allow fewer characters than user names, hence the digest; the prefix keeps
// them apart from policies an operator writes.
func AccessPolicy(user string) string { return "cosi-access-" + hashOf(user, 32) }

// UserWriteProbe is the user name the check of IAM writes deletes (see
// s3admin.Admin.CheckUserWrites). It carries the prefix, so it is in the
// driver's reserved name space, and is longer than the 64 characters an
// IAM user name may have, so no user the driver, an operator or an IAM
// client following AWS's rules makes can bear it.
func UserWriteProbe(prefix string) string {
	return prefix + "iam-write-probe-" + strings.Repeat("0", 64)
}

// ProbeBucket is the name of the installation's probe bucket: the driver
// creates it (and nothing else lives in it) to check what anonymous requests
// may do in a bucket of the driver's.
func ProbeBucket(ownerID string) string { return "cosi-probe-" + hashOf(ownerID, 20) }

var grantNameRE = regexp.MustCompile(`^ba-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)

// BucketAccessUID returns the UID of the BucketAccess a grant name refers to:
// the COSI sidecar names every grant ba-<BucketAccess UID>.
func BucketAccessUID(grantName string) (string, bool) {
	m := grantNameRE.FindStringSubmatch(grantName)
	if m == nil {
		return "", false
	}
	return m[1], true
}
