package engine

import (
	"context"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// Pace is how settle spaces its tries: the first wait first long, each next
// one twice the last up to max (0: every wait is first); up to tries of
// them, or (tries 0) as many as fit within.
type Pace struct {
	Tries      int
	First, max time.Duration
	Within     time.Duration
}

// next is the wait after one of wait: twice it up to max, or (max 0) the
// same again.
func (p Pace) next(wait time.Duration) time.Duration {
	if p.max > wait {
		return min(2*wait, p.max)
	}
	return wait
}

// Settle calls try at pace p until it reports done, and says whether it
// did. SeaweedFS refreshes what several calls read asynchronously after a
// write (see Buckets.marks); a wait cut short by ctx is a
// transient error of op, as is an error from try.
func Settle(ctx context.Context, op string, p Pace, try func() (done bool, err error)) (bool, error) {
	start := time.Now()
	wait := p.First
	for attempt := 1; ; attempt++ {
		done, err := try()
		if err != nil || done {
			return done, err
		}
		if p.Tries > 0 && attempt >= p.Tries || p.Tries == 0 && time.Since(start)+wait > p.Within {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, s3admin.NewError(op, s3admin.ErrTransient, "%w", ctx.Err())
		case <-time.After(wait):
		}
		wait = p.next(wait)
	}
}
