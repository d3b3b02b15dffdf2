// Package admintest is the contract every s3admin.Admin must keep, as a test
// suite any implementation runs against itself (the fake in memory,
// SeaweedFS on both user paths), and the small checks its tests share.
package admintest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// Own is the Ownership of the records of a test that needs only one.
var Own = s3admin.Ownership{Owner: "owner-test", Marker: "marker-test"}

// Context is a context for one test, bounded so that a hung backend fails
// the test instead of the whole run.
func Context(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// MustNil fails the test if err is not nil.
func MustNil(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// MustIs fails the test unless err is (wraps) want.
func MustIs(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}
