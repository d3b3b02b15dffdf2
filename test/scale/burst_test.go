package scale

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// burstSize grants arrive at once, as when many BucketAccesses are created
// together; each is timed from the common start until it is answered.
const burstSize = 200

// burst measures burstSize concurrent new grants on the filer gRPC path
// (the IAM query API path serializes every write: its rows sample one at
// a time) and removes them again.
func (s *scaleRun) burst(ctx context.Context, size int, r *scaleRow) {
	r.driverNote = "-"
	accesses, took, failed := s.atOnce(ctx, "burst", func(ctx context.Context, a s3admin.Access) error {
		return s.ensure(ctx, s.filerAdmin, a)
	})
	r.filerDrv = took
	within := 0
	for _, d := range took {
		if d <= 20*time.Second {
			within++
		}
	}
	s.note("at %d users, %d grants at once on the filer path: %d answered within the default wait of 20s, the slowest after %s, %d not within 3m",
		size, burstSize, within, round(slices.Max(append([]time.Duration{0}, took...))), failed)
	eachOf(accesses, func(a s3admin.Access) { _ = s.filerAdmin.DeleteUser(ctx, a.User, "") })
	s.rawBurst(ctx, size, r)
}

// atOnce starts burstSize new accesses named after kind at the same moment,
// each through grant, and returns them, the time from the start until each
// grant that succeeded did (within three minutes), and how many did not.
//
// It starts on a freshly restarted SeaweedFS, once it is quiet: the
// clean-up of a burst before leaves the gateway a reload per removed user
// and per removed policy, hundreds of them, which took more than ten minutes
// to work through at 5,000 users (see quiet). A restarted gateway loads the
// state once and follows only changes made after it started.
func (s *scaleRun) atOnce(ctx context.Context, kind string, grant func(context.Context, s3admin.Access) error) (accesses []s3admin.Access, took []time.Duration, failed int) {
	s.must(s.sw.Restart(ctx), "restart seaweedfs")
	s.quiet(ctx)
	accesses = make([]s3admin.Access, burstSize)
	for i := range accesses {
		accesses[i] = s.next(kind)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var mu sync.Mutex
	start := time.Now()
	var wg sync.WaitGroup
	for _, a := range accesses {
		wg.Go(func() {
			err := grant(ctx, a)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if failed == 0 {
					s.note("%s: the first failed grant: %v", kind, err)
				}
				failed++
				return
			}
			took = append(took, time.Since(start))
		})
	}
	wg.Wait()
	return accesses, took, failed
}

// eachOf runs fn for every access, 8 at a time, and returns when all are
// done: the burst's clean-up, which is not measured.
func eachOf(accesses []s3admin.Access, fn func(s3admin.Access)) {
	work := make(chan s3admin.Access)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for a := range work {
				fn(a)
			}
		})
	}
	for _, a := range accesses {
		work <- a
	}
	close(work)
	wg.Wait()
}

// rawBurst is the floor of burst: burstSize least-privilege grants written
// at once straight to the filer's IAM service (the access's managed policy,
// then the identity naming it), each timed until its key is usable.
func (s *scaleRun) rawBurst(ctx context.Context, size int, r *scaleRow) {
	accesses, took, failed := s.atOnce(ctx, "rawburst", func(ctx context.Context, a s3admin.Access) error {
		if err := s.writeLeastPrivilege(ctx, a); err != nil {
			return err
		}
		return s.usable(ctx, a)
	})
	r.filerLP = took
	s.note("at %d users, the raw floor of %d least-privilege grants at once: the slowest usable after %s, %d not within 3m",
		size, burstSize, round(slices.Max(append([]time.Duration{0}, took...))), failed)
	eachOf(accesses, func(a s3admin.Access) {
		_ = s.filer.DeletePolicy(ctx, names.AccessPolicy(a.User))
		_ = s.filer.DeleteUser(ctx, a.User)
	})
}

// writeLeastPrivilege writes an exact grant the way the filer path must:
// the access's managed policy, then the identity with its key naming it.
func (s *scaleRun) writeLeastPrivilege(ctx context.Context, a s3admin.Access) error {
	doc, err := plan.PolicyDocument(a.Bucket, a.Mode)
	if err != nil {
		return err
	}
	if err := s.filer.PutPolicy(ctx, names.AccessPolicy(a.User), doc); err != nil {
		return err
	}
	id := rawIdentity{Name: a.User, AccessKey: a.AccessKeyID, SecretKey: a.SecretAccessKey}.Identity()
	id.PolicyNames = []string{names.AccessPolicy(a.User)}
	return s.filer.CreateUser(ctx, id)
}
