package stack

import (
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
