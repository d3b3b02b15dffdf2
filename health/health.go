// Package health serves the driver's liveness (/healthz) and readiness
// (/readyz) endpoints from named checks that components add while the driver
// runs.
//
// The answer follows the Kubernetes components' convention (kube-apiserver,
// controller-runtime): 200 "ok" or 503 with one "[+]name ok" / "[-]name
// failed: reason" line per check; "?verbose" lists the checks on success too,
// and /readyz/<name> runs one check. It is a small handler of its own rather
// than k8s.io/apiserver's healthz (which pulls in the API server's
// dependencies) or controller-runtime's (which would add the whole
// controller-runtime module for one file); the format is what operators and
// tooling already read.
package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Check reports nil when healthy. It must honour ctx (bounded by the
// handler) and its error text is served to anyone who can reach the
// endpoint: never put a secret in it.
type Check func(ctx context.Context) error

// Checks is a set of named checks, safe for concurrent use. Components add
// checks at any time:
//
//   - Add registers a probe that runs on every request (e.g. "can SeaweedFS
//     be reached").
//   - Set records the outcome of work a component does anyway (e.g. a check
//     repeated on every resync); the last outcome is served until the next
//     Set. A name never Set-or-Added is simply absent.
type Checks struct {
	mu      sync.Mutex
	checks  map[string]Check
	timeout time.Duration
	// observe, when set, is told each check's outcome (metrics).
	observe func(name string, ok bool)
}

// New returns an empty set whose probes each get at most timeout per
// request. observe may be nil.
func New(timeout time.Duration, observe func(name string, ok bool)) *Checks {
	return &Checks{checks: map[string]Check{}, timeout: timeout, observe: observe}
}

// Add registers (or replaces) the probe called name.
func (c *Checks) Add(name string, check Check) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks[name] = check
}

// Set records the latest outcome of the check called name: nil is healthy.
// It replaces a probe of the same name.
func (c *Checks) Set(name string, err error) {
	c.Add(name, func(context.Context) error { return err })
}

// Remove drops the check called name.
func (c *Checks) Remove(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.checks, name)
}

// Result is one check's outcome.
type Result struct {
	Name string
	Err  error
}

// Run runs every check (or only the named one) concurrently, each bounded
// by the set's timeout, and returns the results sorted by name.
func (c *Checks) Run(ctx context.Context, only string) []Result {
	c.mu.Lock()
	names := make([]string, 0, len(c.checks))
	fns := make([]Check, 0, len(c.checks))
	for name, fn := range c.checks {
		if only == "" || name == only {
			names = append(names, name)
			fns = append(fns, fn)
		}
	}
	c.mu.Unlock()

	results := make([]Result, len(names))
	var wg sync.WaitGroup
	for i := range names {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, c.timeout)
			defer cancel()
			results[i] = Result{Name: names[i], Err: runOne(cctx, fns[i])}
		})
	}
	wg.Wait()
	slices.SortFunc(results, func(a, b Result) int { return strings.Compare(a.Name, b.Name) })
	if c.observe != nil {
		for _, r := range results {
			c.observe(r.Name, r.Err == nil)
		}
	}
	return results
}

// runOne runs a check, turning a check that overstays its deadline into a
// failure even if it ignores ctx.
func runOne(ctx context.Context, fn Check) error {
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("check did not finish in time: %w", ctx.Err())
	}
}

// errUnknownCheck answers /readyz/<name> for a name that is not registered.
var errUnknownCheck = errors.New("no such check")

// Handler serves the checks at prefix ("/readyz") and prefix/<name>.
func (c *Checks) Handler(prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		only := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, prefix), "/")
		results := c.Run(r.Context(), only)
		if only != "" && len(results) == 0 {
			http.Error(w, errUnknownCheck.Error(), http.StatusNotFound)
			return
		}
		failed := slices.ContainsFunc(results, func(r Result) bool { return r.Err != nil })
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if !failed && !r.URL.Query().Has("verbose") {
			fmt.Fprint(w, "ok")
			return
		}
		var b strings.Builder
		for _, res := range results {
			if res.Err != nil {
				fmt.Fprintf(&b, "[-]%s failed: %v\n", res.Name, res.Err)
			} else {
				fmt.Fprintf(&b, "[+]%s ok\n", res.Name)
			}
		}
		if failed {
			fmt.Fprintf(&b, "%s check failed\n", strings.TrimPrefix(prefix, "/"))
			w.WriteHeader(http.StatusServiceUnavailable)
		} else {
			fmt.Fprintf(&b, "%s check passed\n", strings.TrimPrefix(prefix, "/"))
		}
		fmt.Fprint(w, b.String())
	})
}
