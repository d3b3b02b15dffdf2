// Package reconcile converges SeaweedFS to the records kept by package store.
// It follows controller-runtime's contract without depending on it: a
// workqueue of record keys fed by informers and a periodic resync, and
// Reconcile(ctx, key) (Result, error) where terminal errors are not retried and
// RequeueAfter polls.
package reconcile

import (
	"errors"
	"time"
)

// Key names one record.
type Key struct {
	Kind string // store.KindBucket or store.KindAccess
	Name string // record name
}

func (k Key) String() string { return k.Kind + "/" + k.Name }

// Result tells the controller when to look at a key again.
type Result struct {
	// RequeueAfter > 0: reconcile the key again after this long, without
	// counting it as a failure.
	RequeueAfter time.Duration
	// Requeue: reconcile the key again after the key's own backoff, which
	// grows with every requeue in a row (see RecordRateLimiter): for waiting
	// on other records, which may take a moment or forever.
	Requeue bool
}

// terminalError marks an error that retrying cannot fix.
type terminalError struct{ err error }

func (e terminalError) Error() string { return e.err.Error() }
func (e terminalError) Unwrap() error { return e.err }

// Terminal wraps err so that the controller logs it and does not retry the key.
// The next change to the record, or the next resync, looks at it again.
func Terminal(err error) error { return terminalError{err} }

// IsTerminal reports whether err (or an error it wraps) was marked Terminal.
func IsTerminal(err error) bool {
	var t terminalError
	return errors.As(err, &t)
}
