package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"
)

// KeepLogsEnv, set to 1, keeps the kube directory (etcd data, certificates,
// kubeconfig, logs) and the SeaweedFS directory after the stack stops, and
// prints where they are.
const KeepLogsEnv = "STACK_KEEP_LOGS"

// Options selects and configures the components Start runs.
type Options struct {
	Kube      KubeOptions
	Seaweed   SeaweedOptions
	NoSeaweed bool
	NoKube    bool
	// NoCOSICRDs skips the COSI CRDs, which Start otherwise installs whatever
	// Kube.InstallCOSICRDs says: every driver test needs them.
	NoCOSICRDs bool
}

// Stack is the set of running components one test package shares.
type Stack struct {
	// Kube is nil when Options.NoKube was set; Seaweed when NoSeaweed was.
	Kube    *Kube
	Seaweed *Seaweed
	// KubeStartup and SeaweedStartup are how long each component took to
	// become ready.
	KubeStartup    time.Duration
	SeaweedStartup time.Duration

	stopOnce sync.Once
}

// Start runs the selected components concurrently and returns once all are
// ready. When one fails the other's start is cancelled, everything started is
// stopped, and the error carries every failure; the returned Stack still
// holds whatever logs exist so the caller can show them.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if !opts.NoCOSICRDs {
		opts.Kube.InstallCOSICRDs = true
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &Stack{}
	var (
		wg                  sync.WaitGroup
		kubeErr, seaweedErr error
	)
	if !opts.NoKube {
		wg.Go(func() {
			t0 := time.Now()
			kubeErr = retryStart(ctx, "kube", opts.Kube.Dir == "", func() error {
				var err error
				s.Kube, err = StartKube(ctx, opts.Kube)
				return err
			}, func() {
				// A failed start keeps its directory for the logs; a retry
				// makes a new one.
				if s.Kube != nil && !opts.Kube.KeepDir {
					_ = os.RemoveAll(s.Kube.Dir)
				}
			})
			s.KubeStartup = time.Since(t0)
			if kubeErr != nil {
				cancel()
			}
		})
	}
	if !opts.NoSeaweed {
		wg.Go(func() {
			t0 := time.Now()
			seaweedErr = retryStart(ctx, "seaweedfs", opts.Seaweed.Dir == "", func() error {
				var err error
				s.Seaweed, err = StartSeaweed(ctx, opts.Seaweed)
				return err
			}, func() {})
			s.SeaweedStartup = time.Since(t0)
			if seaweedErr != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	if kubeErr != nil {
		kubeErr = fmt.Errorf("start kube: %w", kubeErr)
	}
	if seaweedErr != nil {
		seaweedErr = fmt.Errorf("start seaweedfs: %w", seaweedErr)
	}
	if err := errors.Join(kubeErr, seaweedErr); err != nil {
		s.Stop()
		return s, err
	}
	return s, nil
}

// startAttempts bounds retryStart.
const startAttempts = 3

// retryStart runs start up to startAttempts times. Ports are picked free and
// released before the component binds them, so another process starting at
// the same moment (test packages run in parallel) can take one first; a new
// attempt picks new ports. A start into a fixed directory is not retried (its
// state is not fresh), nor one cut off by ctx.
func retryStart(ctx context.Context, name string, retryable bool, start func() error, discard func()) error {
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		if err = start(); err == nil || !retryable || ctx.Err() != nil {
			return err
		}
		if attempt < startAttempts {
			fmt.Fprintf(os.Stderr, "stack: %s did not start (attempt %d of %d), trying again: %v\n", name, attempt, startAttempts, err)
			discard()
		}
	}
	return err
}

// Stop stops every component. It is safe to call more than once and from a
// signal handler while tests are still running.
func (s *Stack) Stop() {
	if s == nil {
		return
	}
	s.stopOnce.Do(func() {
		var wg sync.WaitGroup
		if s.Kube != nil {
			wg.Go(s.Kube.Stop)
		}
		if s.Seaweed != nil {
			wg.Go(s.Seaweed.Stop)
		}
		wg.Wait()
	})
}

// DumpLogs writes the tail of every component's log to w.
func (s *Stack) DumpLogs(w io.Writer) {
	if s == nil {
		return
	}
	if s.Kube != nil {
		s.Kube.DumpLogs(w)
	}
	if s.Seaweed != nil {
		s.Seaweed.DumpLogs(w)
	}
}

// Run is the body of a TestMain: it starts the stack, hands it to set, runs
// the tests, prints every component's log when they fail, and stops the stack.
// SIGINT and SIGTERM stop the stack too, so an interrupted run leaves no
// process behind. The result is the exit code for os.Exit.
func Run(m *testing.M, opts Options, set func(*Stack)) int {
	keep := os.Getenv(KeepLogsEnv) == "1"
	if keep {
		opts.Kube.KeepDir = true
		// SeaweedFS keeps a directory it was given rather than made.
		if !opts.NoSeaweed && opts.Seaweed.Dir == "" {
			d, err := os.MkdirTemp("", "seaweed-")
			if err != nil {
				fmt.Fprintf(os.Stderr, "stack: create seaweedfs dir: %v\n", err)
				return 1
			}
			opts.Seaweed.Dir = d
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The handler must be in place before anything starts, so a signal during
	// the start cannot orphan a half-started component.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer close(sigs)
	defer signal.Stop(sigs)
	var (
		mu          sync.Mutex
		current     *Stack
		interrupted bool
	)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(os.Stderr, "stack: %v: stopping the stack\n", sig)
		// During the start, cancelling makes Start stop what it began and
		// return; Run then returns on its own.
		cancel()
		mu.Lock()
		interrupted = true
		s := current
		mu.Unlock()
		if s != nil {
			s.Stop()
			os.Exit(1)
		}
	}()

	t0 := time.Now()
	s, err := Start(ctx, opts)
	mu.Lock()
	current = s
	stop := interrupted
	mu.Unlock()
	if stop {
		fmt.Fprintln(os.Stderr, "stack: start interrupted")
		s.Stop()
		return 1
	}
	if err != nil {
		s.DumpLogs(os.Stderr)
		fmt.Fprintf(os.Stderr, "stack: %v\n", err)
		s.Stop()
		if keep {
			printKept(s, opts)
		}
		return 1
	}
	fmt.Fprintf(os.Stderr, "stack: ready in %s (kube %s, seaweedfs %s)\n",
		time.Since(t0).Round(time.Millisecond), s.KubeStartup.Round(time.Millisecond), s.SeaweedStartup.Round(time.Millisecond))

	if set != nil {
		set(s)
	}
	code := m.Run()
	if code != 0 {
		s.DumpLogs(os.Stderr)
	}
	s.Stop()
	if keep {
		printKept(s, opts)
	}
	return code
}

func printKept(s *Stack, opts Options) {
	if s.Kube != nil {
		fmt.Fprintf(os.Stderr, "stack: kept kube files in %s\n", s.Kube.Dir)
	}
	if opts.Seaweed.Dir != "" {
		fmt.Fprintf(os.Stderr, "stack: kept seaweedfs files in %s\n", opts.Seaweed.Dir)
	}
}
