//go:build crashpoints

package crashpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Enabled reports whether this binary acts on crash points.
const Enabled = true

var state = struct {
	sync.Mutex
	target string
	at     int
	hits   map[string]int
	record *os.File
	// armable are the listed points (Names); see QueryAPINames.
	armable map[string]bool
}{hits: map[string]int{}, armable: map[string]bool{}}

func init() {
	for _, n := range Names() {
		state.armable[n] = true
	}
	if v := os.Getenv(EnvCrashAt); v != "" {
		name, n, ok := strings.Cut(v, ":")
		at, err := strconv.Atoi(n)
		if !ok || err != nil || at < 1 {
			fmt.Fprintf(os.Stderr, "crashpoint: %s=%q is not <point>:<n>\n", EnvCrashAt, v)
			os.Exit(2)
		}
		state.target, state.at = name, at
	}
	if p := os.Getenv(EnvRecord); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintf(os.Stderr, "crashpoint: open %s: %v\n", p, err)
			os.Exit(2)
		}
		state.record = f
	}
}

// Hit counts a pass through the point and, on the armed hit, ends the
// process with SIGKILL: no deferred function, no graceful shutdown, no
// flush, as when a node dies or the OOM killer strikes. Passes are
// serialized so that "the n-th hit" is well defined across goroutines.
func Hit(name string) {
	if !state.armable[name] {
		return // a mutation outside the listed points: see QueryAPINames
	}
	state.Lock()
	state.hits[name]++
	n := state.hits[name]
	if n == 1 && state.record != nil {
		// A single write(2): in the page cache before the kill below, so
		// the file keeps it although the process dies.
		_, _ = state.record.WriteString(name + "\n")
	}
	if name != state.target || n != state.at {
		state.Unlock()
		return
	}
	fmt.Fprintf(os.Stderr, "crashpoint: %s hit %d: killing the process\n", name, n)
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way; nothing else may run
}
