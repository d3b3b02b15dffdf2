package grpcapi

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// Parameters accepted from a BucketClass (DriverCreateBucket).
const (
	// ParamPurge: "true" lets DriverDeleteBucket delete a bucket that still
	// holds objects (and the objects with it). Default "false": a non-empty
	// bucket is refused with FAILED_PRECONDITION.
	ParamPurge = "purge"
)

// Parameters accepted from a BucketAccessClass (DriverGrantBucketAccess).
const (
	// ParamMode: read-write (default), read-only or write-only.
	ParamMode = "mode"
)

const maxNameLen = 253

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

func checkName(field, v string) error {
	switch {
	case v == "":
		return invalid("%s is required", field)
	case len(v) > maxNameLen:
		return invalid("%s is longer than %d characters", field, maxNameLen)
	case !utf8.ValidString(v):
		return invalid("%s is not valid UTF-8", field)
	case strings.ContainsFunc(v, hiddenRune):
		return invalid("%s contains control or formatting characters (such as bidirectional overrides)", field)
	}
	return nil
}

// hiddenRune reports control characters and Unicode format characters
// (category Cf: bidirectional overrides and isolates, zero-width joiners,
// byte-order marks). Names are shown to people in logs, statuses and Events;
// such characters would make one name read as another.
func hiddenRune(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }

func checkKeys(params map[string]string, allowed ...string) error {
	for k := range params {
		if !slices.Contains(allowed, k) {
			return invalid("unknown parameter %q (accepted: %s)", k, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// bucketParams validates BucketClass parameters.
func bucketParams(params map[string]string) (purge bool, err error) {
	if err := checkKeys(params, ParamPurge); err != nil {
		return false, err
	}
	// Exactly the two documented spellings: strconv.ParseBool would also take
	// "1", "t" or "TRUE", and a value that deletes data must not be guessed.
	switch v, ok := params[ParamPurge]; {
	case !ok, v == "false":
		return false, nil
	case v == "true":
		return true, nil
	default:
		return false, invalid("parameter %q must be true or false, not %q", ParamPurge, v)
	}
}

// accessParams validates BucketAccessClass parameters.
func accessParams(params map[string]string) (s3admin.Mode, error) {
	if err := checkKeys(params, ParamMode); err != nil {
		return "", err
	}
	v, ok := params[ParamMode]
	if !ok {
		return s3admin.ModeReadWrite, nil
	}
	switch m := s3admin.Mode(v); m {
	case s3admin.ModeReadWrite, s3admin.ModeReadOnly, s3admin.ModeWriteOnly:
		return m, nil
	}
	return "", invalid("parameter %q must be %s, %s or %s, not %q", ParamMode,
		s3admin.ModeReadWrite, s3admin.ModeReadOnly, s3admin.ModeWriteOnly, v)
}
