package resilience

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/crashpoint"
)

// stats are the figures of the summary printed at the end.
type stats struct {
	mu sync.Mutex
	// crashes are the "<point>:<n>" the processes were killed at.
	crashes map[string]int
	// kills are SIGKILLs by the test; starts every process started,
	// restarts those the supervisor started after one ended.
	kills, starts, restarts int
	// recoveries are how long interrupted calls took, from their first
	// failed answer to their first other answer.
	recoveries []time.Duration
	// convergence is each pass's time from the end of its workload to a
	// state equal to the model.
	convergence map[string]time.Duration
}

func newStats() *stats {
	return &stats{crashes: map[string]int{}, convergence: map[string]time.Duration{}}
}

func (s *stats) crashed(at string) {
	s.mu.Lock()
	s.crashes[at]++
	s.mu.Unlock()
}

func (s *stats) killed() {
	s.mu.Lock()
	s.kills++
	s.mu.Unlock()
}

func (s *stats) started(restart bool) {
	s.mu.Lock()
	s.starts++
	if restart {
		s.restarts++
	}
	s.mu.Unlock()
}

func (s *stats) recovered(d time.Duration) {
	s.mu.Lock()
	s.recoveries = append(s.recoveries, d)
	s.mu.Unlock()
}

func (s *stats) converged(pass string, d time.Duration) {
	s.mu.Lock()
	s.convergence[pass] = d
	s.mu.Unlock()
}

// print writes the summary: points reached (from the crash record) and
// crashed on, kills, restarts, and the recovery and convergence times.
func (s *stats) print(w io.Writer, record string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reached := map[string]bool{}
	if data, err := os.ReadFile(record); err == nil {
		for l := range strings.Lines(string(data)) {
			reached[strings.TrimSpace(l)] = true
		}
	}
	names := crashpoint.Names()
	crashedPoints := map[string]bool{}
	crashKills := 0
	for at, n := range s.crashes {
		p, _ := parseArm(at)
		crashedPoints[p] = true
		crashKills += n
	}
	var conv []time.Duration
	var passes []string
	for p, d := range s.convergence {
		conv = append(conv, d)
		passes = append(passes, fmt.Sprintf("%s %.1fs", p, d.Seconds()))
	}
	slices.Sort(passes)
	fmt.Fprintln(w, "resilience summary:")
	fmt.Fprintf(w, "  crash points reached: %d of %d; crashed on: %d of %d (%d distinct point:hit targets)\n",
		countIn(reached, names), len(names), countIn(crashedPoints, names), len(names), len(s.crashes))
	fmt.Fprintf(w, "  kills: %d at crash points, %d SIGKILLs by the test; driver processes: %d started, %d of them restarts\n", crashKills, s.kills, s.starts, s.restarts)
	fmt.Fprintf(w, "  interrupted calls answered after: p50 %s, max %s (%d calls)\n", pct(s.recoveries, 50), pct(s.recoveries, 100), len(s.recoveries))
	fmt.Fprintf(w, "  time to converge: p50 %s, max %s (%s)\n", pct(conv, 50), pct(conv, 100), strings.Join(passes, ", "))
	var missing []string
	for _, n := range names {
		if !crashedPoints[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 && len(s.crashes) > 0 {
		fmt.Fprintf(w, "  never crashed on: %s\n", strings.Join(missing, ", "))
	}
}

func countIn(set map[string]bool, names []string) int {
	n := 0
	for _, name := range names {
		if set[name] {
			n++
		}
	}
	return n
}

// pct is the p-th percentile (nearest rank) of ds, "-" when empty.
func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	i = max(0, min(i, len(s)-1))
	return s[i].Round(10 * time.Millisecond).String()
}
