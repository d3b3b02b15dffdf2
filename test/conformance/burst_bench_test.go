package conformance

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// BenchmarkGrantBurst sends COSI_BENCH_BURST (default 200) grants for one
// bucket at the same moment, as a sidecar does when a namespace full of
// BucketAccesses is applied, to the driver binary running as its own
// process (users written on the pass's user path; in the IAM query API
// pass, COSI_BENCH_BURST_FILER=1 writes them through the plaintext filer's
// IAM gRPC service instead). It reports
// how many were answered OK within the driver's wait
// (--wait-timeout; the others answered UNAVAILABLE "still being applied" and
// are retried as the sidecar would), the answer latencies, the time until
// every grant was answered OK (grants still pending after
// COSI_BENCH_BURST_BOUND, default 15m, are counted as unanswered), the time
// to revoke them all again at once, and the driver process's peak resident
// memory.
func BenchmarkGrantBurst(b *testing.B) {
	e := env
	if e == nil {
		b.Fatalf("set-up failed: %v", setupErr)
	}
	burst := 200
	if v := os.Getenv("COSI_BENCH_BURST"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("COSI_BENCH_BURST=%q: want a positive count", v)
		}
		burst = n
	}
	bound := 15 * time.Minute
	if v := os.Getenv("COSI_BENCH_BURST_BOUND"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("COSI_BENCH_BURST_BOUND=%q: want a positive duration", v)
		}
		bound = d
	}
	var extra []string
	path := e.path.String()
	if os.Getenv("COSI_BENCH_BURST_FILER") == "1" && e.path == stack.IAMQueryAPI {
		// The IAM pass's filer is a plaintext one on loopback; the filer
		// pass's driver is on the filer path (with mutual TLS) already.
		extra = []string{"--filer-grpc-address=" + e.stack.Seaweed.FilerGRPCAddress(), "--allow-insecure-filer"}
		path = "filer IAM gRPC path (plaintext)"
	}
	p, bucketID := e.processDriverWithBucket(b, extra...)
	client := p.Provisioner()

	for b.Loop() {
		type outcome struct {
			first    time.Duration // until the first answer
			firstOK  bool
			answered time.Duration // until an OK answer
			account  string
		}
		out := make([]outcome, burst)
		start := time.Now()
		var wg sync.WaitGroup
		for i := range out {
			wg.Go(func() {
				req := grantRequest(bucketID, fmt.Sprintf("burst-%s-%d", uid(), i), nil)
				for attempt := 0; ; attempt++ {
					c, cancel := context.WithTimeout(context.Background(), callTimeout)
					resp, err := client.DriverGrantBucketAccess(c, req)
					cancel()
					if attempt == 0 {
						out[i].first, out[i].firstOK = time.Since(start), err == nil
					}
					if err == nil {
						out[i].answered, out[i].account = time.Since(start), resp.GetAccountId()
						return
					}
					if status.Code(err) != codes.Unavailable {
						b.Errorf("grant %d: %v", i, err)
						return
					}
					if time.Since(start) > bound {
						return // unanswered: counted below
					}
					time.Sleep(time.Second) // the sidecar's retry backoff starts at about a second
				}
			})
		}
		wg.Wait()
		all := time.Since(start)
		b.StopTimer()
		var firsts, answers []time.Duration
		inWait, unanswered := 0, 0
		for _, o := range out {
			firsts = append(firsts, o.first)
			if o.account == "" {
				unanswered++
				answers = append(answers, bound)
			} else {
				answers = append(answers, o.answered)
			}
			if o.firstOK {
				inWait++
			}
		}
		slices.Sort(firsts)
		slices.Sort(answers)
		hwm, rss := processMemory(b, p.Process().PID())
		b.ReportMetric(float64(inWait), "answered-in-wait")
		b.ReportMetric(float64(unanswered), "unanswered")
		b.ReportMetric(float64(burst), "grants")
		b.ReportMetric(answers[len(answers)/2].Seconds(), "p50-ok-s")
		b.ReportMetric(answers[len(answers)-1].Seconds(), "max-ok-s")
		b.ReportMetric(all.Seconds(), "all-ok-s")
		b.ReportMetric(hwm/(1<<20), "peak-rss-MiB")
		b.Logf("%s, %d grants at once, wait %s: %d answered OK within the wait, %d not OK after %s; first answer p50 %s max %s; OK p50 %s max %s; driver RSS %.0f MiB (peak %.0f MiB)",
			path, burst, waitTimeout, inWait, unanswered, bound, firsts[len(firsts)/2].Round(time.Millisecond), firsts[len(firsts)-1].Round(time.Millisecond),
			answers[len(answers)/2].Round(time.Millisecond), answers[len(answers)-1].Round(time.Millisecond), rss/(1<<20), hwm/(1<<20))

		// Revoked again at once (a namespace deleted), so that the bucket
		// can go and a later iteration starts from the same state. An
		// unanswered grant has no account id to revoke yet: its record
		// goes with the bucket's.
		revokeStart := time.Now()
		var rg sync.WaitGroup
		for _, o := range out {
			if o.account == "" {
				continue
			}
			rg.Go(func() {
				for {
					c, cancel := context.WithTimeout(context.Background(), callTimeout)
					_, err := client.DriverRevokeBucketAccess(c, &cosi.DriverRevokeBucketAccessRequest{BucketId: bucketID, AccountId: o.account})
					cancel()
					if err == nil {
						return
					}
					if status.Code(err) != codes.Unavailable || time.Since(revokeStart) > bound {
						b.Errorf("revoke %s: %v", o.account, err)
						return
					}
					time.Sleep(time.Second)
				}
			})
		}
		rg.Wait()
		b.ReportMetric(time.Since(revokeStart).Seconds(), "revoke-all-s")
		b.StartTimer()
	}
}

// processMemory reads the peak and current resident set size, in bytes, of
// a process from /proc.
func processMemory(tb testing.TB, pid int) (peak, current float64) {
	tb.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		field, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (field != "VmHWM" && field != "VmRSS") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 64)
		if err != nil {
			tb.Fatalf("%s in /proc/%d/status: %v", field, pid, err)
		}
		if field == "VmHWM" {
			peak = kb * 1024
		} else {
			current = kb * 1024
		}
	}
	return peak, current
}
