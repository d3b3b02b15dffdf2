package scale

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

// SeaweedFS's S3 gateway follows the filer's metadata events one at a time,
// and every event under /etc/iam makes it reload every identity and policy
// (weed/s3api/auth_credentials_subscribe.go, onIamConfigChange). A grant is
// two writes, so two reloads; the sample ends when the first reload that
// read both makes the key usable, and the reload the second write queued
// may still follow. With thousands of identities a reload takes about as
// long as a grant, and whatever is measured next would meet it: in turns,
// the second of each pair started in the first one's shadow every time and
// measured about twice as slow, whichever it was. Each sample therefore
// starts once SeaweedFS has gone quiet, and a burst once the clean-up of
// the one before has been worked through. Only the filer path is sampled
// this way: an IAM query API write rewrites every identity's file, one
// event each, and leaves a backlog of thousands of reloads that no sample
// could wait out (those rows come last, see measure).

// quietWindow is how long one look at SeaweedFS's CPU time lasts, and
// quietLooks how many quiet looks in a row make it quiet.
const (
	quietWindow = 250 * time.Millisecond
	quietLooks  = 2
	// quietShare is the share of one CPU below which SeaweedFS counts as
	// quiet: an idle server spends a few ticks per second on heartbeats,
	// a reload of thousands of identities keeps a CPU busy.
	quietShare = 0.1
	// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100
	// on every Linux architecture this benchmark runs on.
	clockTicks = 100
)

// quiet waits until SeaweedFS has spent less than quietShare of a CPU in
// quietLooks windows in a row, at most cfg.quietBound; the time waited is
// not part of any sample. It does nothing while s.loud is set.
func (s *scaleRun) quiet(ctx context.Context) {
	if s.loud {
		return
	}
	began := time.Now()
	defer func() {
		s.quietFor += time.Since(began)
		s.quietLongest = max(s.quietLongest, time.Since(began))
	}()
	last, err := cpuTicks(s.sw.PID())
	s.must(err, "read SeaweedFS's CPU time")
	calm := 0
	for calm < quietLooks {
		if time.Since(began) > s.cfg.quietBound {
			s.quietMissed++
			return
		}
		select {
		case <-ctx.Done():
			s.must(ctx.Err(), "wait for SeaweedFS to go quiet")
		case <-time.After(quietWindow):
		}
		now, err := cpuTicks(s.sw.PID())
		s.must(err, "read SeaweedFS's CPU time")
		if float64(now-last)/clockTicks < quietShare*quietWindow.Seconds() {
			calm++
		} else {
			calm = 0
		}
		last = now
	}
}

// cpuTicks is the CPU time (user and system, all threads) the process has
// used so far, in clock ticks: fields 14 and 15 of /proc/<pid>/stat.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// the fields after it start with field 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command name", pid, len(f))
	}
	var total int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		total += n
	}
	return total, nil
}
