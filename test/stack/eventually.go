package stack

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Eventually polls cond until it returns nil, failing the test with cond's
// last error after within: the components converge asynchronously (a
// reconcile, a gateway reloading its identities), so a test states the
// outcome and a bound rather than a moment.
func Eventually(t testing.TB, within time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %v", within, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Poll calls check every half second, each call bounded by perTry, until it
// passes or ctx ends; the error names what was last missing. stop, when not
// nil, is asked before every call: its error ends the polling at once (a
// component that exited will not make check pass).
func Poll(ctx context.Context, what string, perTry time.Duration, stop func() error, check func(context.Context) error) error {
	var last error
	for {
		if stop != nil {
			if err := stop(); err != nil {
				return err
			}
		}
		cctx, cancel := context.WithTimeout(ctx, perTry)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last: %v)", what, ctx.Err(), last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
