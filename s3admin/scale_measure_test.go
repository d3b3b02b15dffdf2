package s3admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// errSampled ends a sampling early: nothing is left to sample.
var errSampled = errors.New("nothing left to sample")

// sample runs op up to cfg.samples times, stopping early once opTime is
// spent; it returns the durations.
func (s *scaleRun) sample(op func(i int) error) []time.Duration {
	var out []time.Duration
	began := time.Now()
	for i := range s.cfg.samples {
		t := time.Now()
		err := op(i)
		if errors.Is(err, errSampled) {
			break
		}
		s.must(err, "sample")
		out = append(out, time.Since(t))
		if time.Since(began) > s.cfg.opTime {
			break
		}
	}
	return out
}

// sampleTurns runs a and b in turns, sampled as sample samples one
// operation, and returns the durations of each.
func (s *scaleRun) sampleTurns(a, b func(i int) error) (da, db []time.Duration) {
	s.sample(func(i int) error {
		t := time.Now()
		if err := a(i); err != nil {
			return err
		}
		da = append(da, time.Since(t))
		t = time.Now()
		if err := b(i); err != nil {
			return err
		}
		db = append(db, time.Since(t))
		return nil
	})
	return da, db
}

// usable polls until S3 knows the key (keyKnown, the driver's own check),
// every 10 ms (finer than the driver, so the floor is not rounded up) for up
// to 5 minutes; a transient answer is asked again.
func (s *scaleRun) usable(ctx context.Context, a Access) error {
	c := stack.NewS3Client(s.sw.Endpoint, s.sw.Region, a.AccessKeyID, a.SecretAccessKey, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	known, err := settle(ctx, "usable", pace{first: 10 * time.Millisecond, within: 5 * time.Minute}, func() (bool, error) {
		_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(a.Bucket), MaxKeys: aws.Int32(1)})
		known, err := keyKnown(classify("ListObjectsV2", err))
		if IsTransient(err) {
			return false, nil
		}
		return known, err
	})
	switch {
	case err != nil:
		return fmt.Errorf("key of %s: %w", a.User, err)
	case !known:
		return fmt.Errorf("key of %s not usable after 5 minutes", a.User)
	}
	return nil
}

// ensure converges a new access the way the reconciler does: a transient
// error is retried at once; a key SeaweedFS does not accept yet after the
// driver's bounded wait (ErrKeyPending) is asked about at the driver's
// default --key-poll-interval without writing again. The time until success
// is what the sidecar waits for.
func (s *scaleRun) ensure(ctx context.Context, admin *SeaweedFS, a Access) error {
	for attempt := 1; ; attempt++ {
		_, err := admin.EnsureAccess(ctx, a)
		if errors.Is(err, ErrKeyPending) {
			s.retries.Add(1)
			return s.pollKey(ctx, admin, a)
		}
		if err == nil || !IsTransient(err) || attempt == 20 {
			if attempt > 1 {
				s.retries.Add(1)
			}
			return err
		}
	}
}

// benchKeyPoll is the driver's default --key-poll-interval.
const benchKeyPoll = 200 * time.Millisecond

func (s *scaleRun) pollKey(ctx context.Context, admin *SeaweedFS, a Access) error {
	for range 600 {
		time.Sleep(benchKeyPoll)
		ok, err := admin.KeyAccepted(ctx, a)
		if err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("key of %s not accepted after two minutes of polling", a.User)
}

func (s *scaleRun) next(kind string) Access {
	s.seq++
	return s.newAccess(fmt.Sprintf("cosi-scale-%s-%05d", kind, s.seq), scaleBucket)
}

func (s *scaleRun) measure(ctx context.Context, size int) {
	fmt.Fprintf(os.Stderr, "scale: measuring at %d users\n", size)
	row := func(op string) *scaleRow {
		r := &scaleRow{size: size, op: op}
		s.rows = append(s.rows, r)
		return r
	}

	// New grant: the driver's EnsureAccess (which returns once the key is
	// accepted), the IAM query API's three writes, the filer gRPC CreateUser
	// with the key and identity actions; both raw paths then wait until the
	// key is usable. The filer path goes first: every IAM query API write
	// rewrites every identity's file, and the gateway works through one
	// reload per file long after the write returned, which would slow
	// whatever is measured next.
	grant := row(grantOp)
	writes := row("  of which backend writes")
	var driverUsers, filerDrvUsers, iamUsers, grpcUsers []Access
	// The driver's filer grant and the least-privilege floor (what the
	// driver's filer path must write for an exact grant: the access's
	// managed policy and the identity naming it; identity actions are not
	// least privilege, see filerusers.go) take turns, so that each pair
	// meets the gateway in the same state.
	var lpUsers []Access
	var lpWrites []time.Duration
	s.calls.reset()
	grant.filerDrv, grant.filerLP = s.sampleTurns(func(int) error {
		a := s.next("fdrv")
		filerDrvUsers = append(filerDrvUsers, a)
		return s.ensure(ctx, s.filerAdmin, a)
	}, func(int) error {
		a := s.next("lp")
		lpUsers = append(lpUsers, a)
		t := time.Now()
		if err := s.writeLeastPrivilege(ctx, a); err != nil {
			return err
		}
		lpWrites = append(lpWrites, time.Since(t))
		return s.usable(ctx, a)
	})
	var spent time.Duration
	for _, d := range grant.filerDrv {
		spent += d
	}
	s.note("at %d users, a driver grant on the filer path spends per grant: %s", size, s.calls.breakdown(len(grant.filerDrv), spent))
	var iamWrites, grpcWrites []time.Duration
	grant.filerG = s.sample(func(int) error {
		a := s.next("grpc")
		grpcUsers = append(grpcUsers, a)
		actions := make([]string, len(s.actions))
		for i, act := range s.actions {
			actions[i] = rebucket(act, a.Bucket)
		}
		t := time.Now()
		if err := s.filer.createRaw(ctx, rawIdentity{Name: a.User, AccessKey: a.AccessKeyID, SecretKey: a.SecretAccessKey, Actions: actions}); err != nil {
			return err
		}
		grpcWrites = append(grpcWrites, time.Since(t))
		return s.usable(ctx, a)
	})
	grant.driver = s.sample(func(int) error {
		a := s.next("drv")
		driverUsers = append(driverUsers, a)
		return s.ensure(ctx, s.admin, a)
	})
	grant.iam = s.sample(func(int) error {
		a := s.next("iam")
		iamUsers = append(iamUsers, a)
		t := time.Now()
		if _, err := s.rawIAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(a.User)}); err != nil {
			return err
		}
		doc, err := PolicyDocument(a.Bucket, a.Mode)
		if err != nil {
			return err
		}
		if _, err := s.rawIAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(a.User), PolicyName: aws.String(PolicyName), PolicyDocument: aws.String(doc)}); err != nil {
			return err
		}
		if _, err := s.rawIAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(a.User)}, withSuppliedAccessKey(a.AccessKeyID, a.SecretAccessKey)); err != nil {
			return err
		}
		iamWrites = append(iamWrites, time.Since(t))
		return s.usable(ctx, a)
	})
	writes.iam, writes.filerG, writes.filerLP, writes.driverNote, writes.filerDrvNote = iamWrites, grpcWrites, lpWrites, "-", "-"

	repeat := row("repeat grant (converged)")
	last := driverUsers[len(driverUsers)-1]
	repeat.driver = s.sample(func(int) error {
		changed, err := s.admin.EnsureAccess(ctx, last)
		if err == nil && changed {
			err = errors.New("converged EnsureAccess wrote")
		}
		return err
	})
	lastFiler := filerDrvUsers[len(filerDrvUsers)-1]
	repeat.filerDrv = s.sample(func(int) error {
		changed, err := s.filerAdmin.EnsureAccess(ctx, lastFiler)
		if err == nil && changed {
			err = errors.New("converged EnsureAccess wrote")
		}
		return err
	})
	lastIAM := iamUsers[len(iamUsers)-1]
	repeat.iam = s.sample(func(int) error {
		if _, err := s.rawIAM.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(lastIAM.User)}); err != nil {
			return err
		}
		if _, err := s.rawIAM.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(lastIAM.User), PolicyName: aws.String(PolicyName)}); err != nil {
			return err
		}
		_, err := s.rawIAM.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(lastIAM.User)})
		return err
	})
	lastGRPC := grpcUsers[len(grpcUsers)-1]
	repeat.filerG = s.sample(func(int) error { return s.filer.getUserSize(ctx, lastGRPC.User) })
	lastLP := lpUsers[len(lpUsers)-1]
	repeat.filerLP = s.sample(func(int) error {
		if err := s.filer.getUserSize(ctx, lastLP.User); err != nil {
			return err
		}
		_, err := s.filer.GetPolicy(ctx, accessPolicyName(lastLP.User))
		return err
	})

	revoke := row("revoke")
	revoke.driver = s.sample(func(i int) error {
		if i >= len(driverUsers) {
			return errSampled
		}
		return s.admin.DeleteUser(ctx, driverUsers[i].User, "")
	})
	revoke.filerDrv = s.sample(func(i int) error {
		if i >= len(filerDrvUsers) {
			return errSampled
		}
		return s.filerAdmin.DeleteUser(ctx, filerDrvUsers[i].User, "")
	})
	revoke.iam = s.sample(func(i int) error {
		if i >= len(iamUsers) {
			return errSampled
		}
		_, err := s.rawIAM.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(iamUsers[i].User)})
		return err
	})
	revoke.filerG = s.sample(func(i int) error {
		if i >= len(grpcUsers) {
			return errSampled
		}
		return s.filer.DeleteUser(ctx, grpcUsers[i].User)
	})
	revoke.filerLP = s.sample(func(i int) error {
		if i >= len(lpUsers) {
			return errSampled
		}
		if err := s.filer.DeletePolicy(ctx, accessPolicyName(lpUsers[i].User)); err != nil {
			return err
		}
		return s.filer.DeleteUser(ctx, lpUsers[i].User)
	})
	// Users a stopped sampling left behind stay: a few more users among
	// thousands, where removing them would cost as much as the revokes.

	create := row("bucket create")
	create.driver = s.sample(func(int) error {
		s.seq++
		return s.admin.CreateBucket(ctx, fmt.Sprintf("scale-drv-%05d", s.seq), testOwn)
	})
	create.filerDrvNote = "(S3, as the other column)"
	create.iam = s.sample(func(int) error {
		s.seq++
		_, err := s.rawS3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(fmt.Sprintf("scale-raw-%05d", s.seq))})
		return err
	})

	// One resync listing pass; the raw floors are one IAM ListUsers pass
	// (names only) and one gRPC GetConfiguration (every identity).
	resync := row("resync listing pass")
	rctx, cancel := context.WithTimeout(ctx, s.cfg.resyncBound)
	t := time.Now()
	users, err := s.admin.ListOwnedUsers(rctx)
	if err == nil {
		_, err = s.admin.ListMarkedBuckets(rctx)
	}
	cancel()
	switch {
	case err == nil:
		resync.driver = []time.Duration{time.Since(t)}
		if len(users) < size {
			s.b.Fatalf("resync listed %d owned users, want at least %d", len(users), size)
		}
	case rctx.Err() != nil:
		resync.driverNote = "> " + s.cfg.resyncBound.String() + " (bound)"
	default:
		s.must(err, "resync")
	}
	resync.filerDrv, resync.filerDrvNote = s.resyncPass(ctx, s.filerAdmin, size)
	defer s.burst(ctx, size, row("200 new grants at once (each until usable)"))
	t = time.Now()
	p := iam.NewListUsersPaginator(s.rawIAM, &iam.ListUsersInput{})
	for p.HasMorePages() {
		_, err := p.NextPage(ctx)
		s.must(err, "ListUsers")
	}
	resync.iam = []time.Duration{time.Since(t)}
	t = time.Now()
	_, err = s.filer.GetConfiguration(ctx)
	s.must(err, "GetConfiguration")
	resync.filerG = []time.Duration{time.Since(t)}
	t = time.Now()
	_, err = s.filer.GetConfiguration(ctx)
	s.must(err, "GetConfiguration")
	_, err = s.filer.ListPolicies(ctx)
	s.must(err, "ListPolicies")
	resync.filerLP = []time.Duration{time.Since(t)}
}

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
	fmt.Fprintf(w, "- driver grants that needed more than one EnsureAccess or polled their key: %d\n", s.retries.Load())
	fmt.Fprintf(w, "- whole run %s\n\n", took.Round(time.Second))
}

const grantOp = "new grant (until usable)"

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

// resyncPass times one resync listing pass of admin (ListOwnedUsers and
// ListMarkedBuckets) within the resync bound.
func (s *scaleRun) resyncPass(ctx context.Context, admin *SeaweedFS, size int) ([]time.Duration, string) {
	for attempt := 1; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, s.cfg.resyncBound)
		t := time.Now()
		users, err := admin.ListOwnedUsers(rctx)
		if err == nil {
			_, err = admin.ListMarkedBuckets(rctx)
		}
		took, bound := time.Since(t), rctx.Err() != nil
		cancel()
		switch {
		case err == nil:
			if len(users) < size {
				s.b.Fatalf("resync listed %d owned users, want at least %d", len(users), size)
			}
			return []time.Duration{took}, ""
		case bound:
			return nil, "> " + s.cfg.resyncBound.String() + " (bound)"
		case attempt == 1:
			// The driver's resync tries again on its next period; the
			// benchmark tries once more at once and says so. SeaweedFS's
			// filer has answered a listing with its own internal
			// connection closing (Canceled) right after a canceled IAM
			// query API pass.
			s.note("at %d users, a resync listing pass failed and was repeated: %v", size, err)
		default:
			s.must(err, "resync")
			return nil, ""
		}
	}
}

// burstSize grants arrive at once, as when many BucketAccesses are created
// together; each is timed from the common start until it is answered.
const burstSize = 200

// burst measures burstSize concurrent new grants on the filer gRPC path
// (the IAM query API path serializes every write: one at a time, as in the
// rows above) and removes them again.
func (s *scaleRun) burst(ctx context.Context, size int, r *scaleRow) {
	r.driverNote = "-"
	accesses, took, failed := s.atOnce(ctx, "burst", func(ctx context.Context, a Access) error {
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
	eachOf(accesses, func(a Access) { _ = s.filerAdmin.DeleteUser(ctx, a.User, "") })
	s.rawBurst(ctx, size, r)
}

// atOnce starts burstSize new accesses named after kind at the same moment,
// each through grant, and returns them, the time from the start until each
// grant that succeeded did (within three minutes), and how many did not.
func (s *scaleRun) atOnce(ctx context.Context, kind string, grant func(context.Context, Access) error) (accesses []Access, took []time.Duration, failed int) {
	accesses = make([]Access, burstSize)
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
func eachOf(accesses []Access, fn func(Access)) {
	work := make(chan Access)
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
	accesses, took, failed := s.atOnce(ctx, "rawburst", func(ctx context.Context, a Access) error {
		if err := s.writeLeastPrivilege(ctx, a); err != nil {
			return err
		}
		return s.usable(ctx, a)
	})
	r.filerLP = took
	s.note("at %d users, the raw floor of %d least-privilege grants at once: the slowest usable after %s, %d not within 3m",
		size, burstSize, round(slices.Max(append([]time.Duration{0}, took...))), failed)
	eachOf(accesses, func(a Access) {
		_ = s.filer.DeletePolicy(ctx, accessPolicyName(a.User))
		_ = s.filer.DeleteUser(ctx, a.User)
	})
}

// writeLeastPrivilege writes an exact grant the way the filer path must:
// the access's managed policy, then the identity with its key naming it.
func (s *scaleRun) writeLeastPrivilege(ctx context.Context, a Access) error {
	doc, err := PolicyDocument(a.Bucket, a.Mode)
	if err != nil {
		return err
	}
	if err := s.filer.PutPolicy(ctx, accessPolicyName(a.User), doc); err != nil {
		return err
	}
	id := rawIdentity{Name: a.User, AccessKey: a.AccessKeyID, SecretKey: a.SecretAccessKey}.identity()
	id.policyNames = []string{accessPolicyName(a.User)}
	return s.filer.CreateUser(ctx, id)
}
