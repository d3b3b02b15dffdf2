package grpcapi

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/bucketclass"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// ParamPurge is the BucketClass parameter that lets a non-empty bucket be
// deleted (see bucketclass for every BucketClass parameter).
const ParamPurge = bucketclass.Purge

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

// bucketParams validates BucketClass parameters. filer says whether the
// driver reaches the SeaweedFS filer, which alone sets quotas and
// placement: a class asking for them on an installation without one is
// refused rather than given a bucket without its limit.
func bucketParams(params map[string]string, filer bool) (bucketclass.Class, error) {
	c, err := bucketclass.Parse(params)
	if err != nil {
		return bucketclass.Class{}, invalid("%s", err.Error())
	}
	if c.Features.NeedsFiler() && !filer {
		for _, p := range []string{bucketclass.MaxSize, bucketclass.Replication, bucketclass.DiskType, bucketclass.TTL} {
			if _, ok := params[p]; ok {
				return bucketclass.Class{}, invalid("parameter %q needs the driver to reach the SeaweedFS filer (--filer-grpc-address; chart: seaweedfs.filer.grpcAddress): SeaweedFS sets quotas and placement nowhere else", p)
			}
		}
	}
	return c, nil
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
