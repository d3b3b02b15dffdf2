package scale

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

func (s *scaleRun) print(w io.Writer, took time.Duration) {
	fmt.Fprintf(w, "\nSeaweedFS scale benchmark: other users each hold one key and one read-write inline policy; p50 / p90 over n samples\n\n")
	fmt.Fprintf(w, "| N | operation | driver, IAM query API path | driver, filer gRPC path | raw IAM query API | raw filer IAM gRPC | raw filer, least privilege |\n|---:|---|---|---|---|---|---|\n")
	for _, r := range s.rows {
		d := quantiles(r.driver)
		if r.driverNote != "" {
			d = r.driverNote
		}
		f := quantiles(r.filerDrv)
		if r.filerDrvNote != "" {
			f = r.filerDrvNote
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s |\n", r.size, r.op, d, f, quantiles(r.iam), quantiles(r.filerG), quantiles(r.filerLP))
	}
	fmt.Fprintln(w)
	for _, r := range s.rows {
		if r.op == grantOp && len(r.filerDrv) > 0 && len(r.filerLP) > 0 {
			fmt.Fprintf(w, "- N=%d: new grant, driver on the filer path / least-privilege floor (p50): %.2f\n",
				r.size, float64(median(r.filerDrv))/float64(median(r.filerLP)))
		}
	}
	fmt.Fprintln(w)
	for _, n := range s.notes {
		fmt.Fprintln(w, "- "+n)
	}
	fmt.Fprintf(w, "- driver grants that needed more than one EnsureAccess or polled their key: %d; key probes that failed and were asked again: %d\n", s.retries.Load(), s.probeErrors.Load())
	fmt.Fprintf(w, "- whole run %s\n\n", took.Round(time.Second))
}

const (
	grantOp  = "new grant (until usable)"
	resyncOp = "resync listing pass"
)

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func quantiles(d []time.Duration) string {
	if len(d) == 0 {
		return "-"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	// Nearest rank: the smallest sample with at least q of all at or below it.
	at := func(q float64) time.Duration { return s[max(0, int(math.Ceil(q*float64(len(s))))-1)] }
	if len(s) == 1 {
		return round(s[0])
	}
	return fmt.Sprintf("%s / %s (n=%d)", round(at(0.5)), round(at(0.9)), len(s))
}

func round(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	default:
		return d.Round(100 * time.Microsecond).String()
	}
}
