package scale

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/reconcile"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/engine"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/iamapi"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/seaweedfs"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// errSampled ends a sampling early: nothing is left to sample.
var errSampled = errors.New("nothing left to sample")

// sample runs op up to cfg.samples times, each once SeaweedFS is quiet
// (see quiet), stopping early once opTime is spent in op; it returns the
// durations.
func (s *scaleRun) sample(ctx context.Context, op func(i int) error) []time.Duration {
	return s.sampleTurns(ctx, op)[0]
}

// sampleEach samples op once per access, at most len(accesses) times.
func (s *scaleRun) sampleEach(ctx context.Context, accesses []s3admin.Access, op func(s3admin.Access) error) []time.Duration {
	return s.sample(ctx, func(i int) error {
		if i >= len(accesses) {
			return errSampled
		}
		return op(accesses[i])
	})
}

// sampleRepeat samples a repeated EnsureAccess of a converged access, which
// must write nothing.
func (s *scaleRun) sampleRepeat(ctx context.Context, admin *seaweedfs.SeaweedFS, a s3admin.Access) []time.Duration {
	return s.sample(ctx, func(int) error {
		changed, err := admin.EnsureAccess(ctx, a)
		if err == nil && changed {
			err = errors.New("converged EnsureAccess wrote")
		}
		return err
	})
}

// sampleTurns runs ops in turns, each once SeaweedFS is quiet, up to
// cfg.samples turns, stopping early once opTime is spent in them; it returns
// the durations of each op. Taking turns, every op meets SeaweedFS in the
// same state as the others.
func (s *scaleRun) sampleTurns(ctx context.Context, ops ...func(i int) error) [][]time.Duration {
	out := make([][]time.Duration, len(ops))
	var spent time.Duration
	for i := range s.cfg.samples {
		for j, op := range ops {
			s.quiet(ctx)
			t := time.Now()
			err := op(i)
			if errors.Is(err, errSampled) {
				return out
			}
			s.must(err, "sample")
			d := time.Since(t)
			out[j] = append(out[j], d)
			spent += d
		}
		if spent > s.cfg.opTime {
			break
		}
	}
	return out
}

// usable polls until S3 knows the key (keyKnown, the driver's own check),
// every 10 ms (finer than the driver, so the floor is not rounded up) for up
// to 5 minutes; a transient answer is asked again.
func (s *scaleRun) usable(ctx context.Context, a s3admin.Access) error {
	c := stack.NewS3Client(s.sw.Endpoint, s.sw.Region, a.AccessKeyID, a.SecretAccessKey, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	known, err := engine.Settle(ctx, "usable", engine.Pace{First: 10 * time.Millisecond, Within: 5 * time.Minute}, func() (bool, error) {
		_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(a.Bucket), MaxKeys: aws.Int32(1)})
		known, err := iamapi.KeyKnown(s3admin.Classify("ListObjectsV2", err))
		if s3admin.IsTransient(err) {
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
func (s *scaleRun) ensure(ctx context.Context, admin *seaweedfs.SeaweedFS, a s3admin.Access) error {
	for attempt := 1; ; attempt++ {
		_, err := admin.EnsureAccess(ctx, a)
		if errors.Is(err, s3admin.ErrKeyPending) {
			s.retries.Add(1)
			return s.pollKey(ctx, admin, a)
		}
		if err == nil || !s3admin.IsTransient(err) || attempt == 20 {
			if attempt > 1 {
				s.retries.Add(1)
			}
			return err
		}
	}
}

// benchKeyPoll is the driver's default --key-poll-interval.
const benchKeyPoll = 200 * time.Millisecond

// pollKey asks about the key every benchKeyPoll, as the reconciler does
// for a KeyPending access. A transient error is asked again and counted,
// as the reconciler retries it (after a backoff): SeaweedFS has answered a
// new key's probe with 500 InternalError during a burst of grants.
func (s *scaleRun) pollKey(ctx context.Context, admin *seaweedfs.SeaweedFS, a s3admin.Access) error {
	for range 600 {
		time.Sleep(benchKeyPoll)
		ok, err := admin.KeyAccepted(ctx, a)
		if s3admin.IsTransient(err) {
			if s.probeErrors.Add(1) == 1 {
				s.note("a key probe failed and was asked again: %v", err)
			}
			continue
		}
		if err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("key of %s not accepted after two minutes of polling", a.User)
}

func (s *scaleRun) next(kind string) s3admin.Access {
	s.seq++
	return s.newAccess(fmt.Sprintf("cosi-scale-%s-%05d", kind, s.seq), scaleBucket)
}

// sizeRows are the rows of one size, in the table's order.
type sizeRows struct {
	grant, writes, repeat, revoke, create, resync, burst *scaleRow
}

func (s *scaleRun) measure(ctx context.Context, size int) {
	fmt.Fprintf(os.Stderr, "scale: measuring at %d users\n", size)
	row := func(op string) *scaleRow {
		r := &scaleRow{size: size, op: op}
		s.rows = append(s.rows, r)
		return r
	}
	if s.cfg.resyncOnly {
		// The same passes as below, without the samples before them: the
		// state they meet is the fill's.
		resync := row(resyncOp)
		s.measureFilerResync(ctx, size, resync)
		s.measureIAMResync(ctx, size, resync)
		return
	}
	r := sizeRows{grant: row(grantOp), writes: row("  of which backend writes"), repeat: row("repeat grant (converged)"),
		revoke: row("revoke"), create: row("bucket create"), resync: row(resyncOp),
		burst: row("200 new grants at once (each until usable)")}
	// The filer path first, each sample once SeaweedFS is quiet; then the
	// IAM query API path, whose writes leave SeaweedFS a backlog of
	// reloads that no later sample could wait out (see quiet).
	s.loud, s.quietFor, s.quietLongest, s.quietMissed = false, 0, 0, 0
	s.measureFiler(ctx, size, r)
	s.note("at %d users, the filer path's samples waited %s in all for SeaweedFS to go quiet (the longest wait %s); %d of those waits ended at the bound of %s",
		size, round(s.quietFor), round(s.quietLongest), s.quietMissed, s.cfg.quietBound)
	// The bursts' clean-up left the gateway hundreds of reloads to work
	// through; a restarted one starts from the state as it is.
	s.must(s.sw.Restart(ctx), "restart seaweedfs")
	s.loud = true
	s.measureIAM(ctx, size, r)
}

// measureFiler samples the filer IAM gRPC path: the driver's client on it,
// the raw identity-actions write and the least-privilege floor.
func (s *scaleRun) measureFiler(ctx context.Context, size int, r sizeRows) {
	// New grant: the driver's EnsureAccess (which returns once the key is
	// accepted) and the least-privilege floor (what the driver's filer path
	// must write for an exact grant: the access's managed policy and the
	// identity naming it; identity actions are not least privilege, see
	// filerusers.go) take turns, so that each meets SeaweedFS in the same
	// state; then the filer gRPC CreateUser with the key and identity
	// actions. Both raw paths wait until the key is usable.
	var filerDrvUsers, lpUsers, grpcUsers []s3admin.Access
	var lpWrites, grpcWrites []time.Duration
	s.calls.reset()
	turns := s.sampleTurns(ctx, func(int) error {
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
	r.grant.filerDrv, r.grant.filerLP = turns[0], turns[1]
	var spent time.Duration
	for _, d := range r.grant.filerDrv {
		spent += d
	}
	s.note("at %d users, a driver grant on the filer path spends per grant: %s", size, s.calls.breakdown(len(r.grant.filerDrv), spent))
	r.grant.filerG = s.sample(ctx, func(int) error {
		a := s.next("grpc")
		grpcUsers = append(grpcUsers, a)
		actions := make([]string, len(s.actions))
		for i, act := range s.actions {
			actions[i] = rebucket(act, a.Bucket)
		}
		t := time.Now()
		if err := createRaw(ctx, s.filer, rawIdentity{Name: a.User, AccessKey: a.AccessKeyID, SecretKey: a.SecretAccessKey, Actions: actions}); err != nil {
			return err
		}
		grpcWrites = append(grpcWrites, time.Since(t))
		return s.usable(ctx, a)
	})
	r.writes.filerG, r.writes.filerLP, r.writes.driverNote, r.writes.filerDrvNote = grpcWrites, lpWrites, "-", "-"

	r.repeat.filerDrv = s.sampleRepeat(ctx, s.filerAdmin, filerDrvUsers[len(filerDrvUsers)-1])
	lastGRPC := grpcUsers[len(grpcUsers)-1]
	r.repeat.filerG = s.sample(ctx, func(int) error { return getUserSize(ctx, s.filer, lastGRPC.User) })
	lastLP := lpUsers[len(lpUsers)-1]
	r.repeat.filerLP = s.sample(ctx, func(int) error {
		if err := getUserSize(ctx, s.filer, lastLP.User); err != nil {
			return err
		}
		_, err := s.filer.GetPolicy(ctx, names.AccessPolicy(lastLP.User))
		return err
	})

	r.revoke.filerDrv = s.sampleEach(ctx, filerDrvUsers, func(a s3admin.Access) error {
		return s.filerAdmin.DeleteUser(ctx, a.User, "")
	})
	r.revoke.filerG = s.sampleEach(ctx, grpcUsers, func(a s3admin.Access) error {
		return s.filer.DeleteUser(ctx, a.User)
	})
	r.revoke.filerLP = s.sampleEach(ctx, lpUsers, func(a s3admin.Access) error {
		if err := s.filer.DeletePolicy(ctx, names.AccessPolicy(a.User)); err != nil {
			return err
		}
		return s.filer.DeleteUser(ctx, a.User)
	})
	// Users a stopped sampling left behind stay: a few more users among
	// thousands, where removing them would cost as much as the revokes.

	// Bucket creation is an S3 request on either path.
	r.create.driver = s.sample(ctx, func(int) error {
		s.seq++
		return s.admin.CreateBucket(ctx, fmt.Sprintf("scale-drv-%05d", s.seq), admintest.Own, s3admin.CreateOptions{})
	})
	r.create.filerDrvNote = "(S3, as the other column)"
	r.create.iam = s.sample(ctx, func(int) error {
		s.seq++
		_, err := s.rawS3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(fmt.Sprintf("scale-raw-%05d", s.seq))})
		return err
	})

	s.measureFilerResync(ctx, size, r.resync)
	s.burst(ctx, size, r.burst)
}

// measureFilerResync times one resync listing pass on the filer path; the
// raw floors are one gRPC GetConfiguration (every identity), and that with
// ListPolicies (every managed policy).
func (s *scaleRun) measureFilerResync(ctx context.Context, size int, r *scaleRow) {
	s.quiet(ctx)
	r.filerDrv, r.filerDrvNote, _ = s.resyncPass(ctx, s.filerAdmin, size)
	t := time.Now()
	_, err := s.filer.GetConfiguration(ctx)
	s.must(err, "GetConfiguration")
	r.filerG = []time.Duration{time.Since(t)}
	t = time.Now()
	_, err = s.filer.GetConfiguration(ctx)
	s.must(err, "GetConfiguration")
	_, err = s.filer.ListPolicies(ctx)
	s.must(err, "ListPolicies")
	r.filerLP = []time.Duration{time.Since(t)}
}

// measureIAM samples the IAM query API path: the driver's client on it and
// the raw IAM query API, one after the other (each of its writes rewrites
// every identity; nothing here waits for SeaweedFS to go quiet).
func (s *scaleRun) measureIAM(ctx context.Context, size int, r sizeRows) {
	var driverUsers, iamUsers []s3admin.Access
	var iamWrites []time.Duration
	r.grant.driver = s.sample(ctx, func(int) error {
		a := s.next("drv")
		driverUsers = append(driverUsers, a)
		return s.ensure(ctx, s.admin, a)
	})
	r.grant.iam = s.sample(ctx, func(int) error {
		a := s.next("iam")
		iamUsers = append(iamUsers, a)
		t := time.Now()
		if _, err := s.rawIAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(a.User)}); err != nil {
			return err
		}
		doc, err := plan.PolicyDocument(a.Bucket, a.Mode)
		if err != nil {
			return err
		}
		if _, err := s.rawIAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(a.User), PolicyName: aws.String(s3admin.PolicyName), PolicyDocument: aws.String(doc)}); err != nil {
			return err
		}
		if _, err := s.rawIAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(a.User)}, iamapi.WithSuppliedAccessKey(a.AccessKeyID, a.SecretAccessKey)); err != nil {
			return err
		}
		iamWrites = append(iamWrites, time.Since(t))
		return s.usable(ctx, a)
	})
	r.writes.iam = iamWrites

	r.repeat.driver = s.sampleRepeat(ctx, s.admin, driverUsers[len(driverUsers)-1])
	lastIAM := iamUsers[len(iamUsers)-1]
	r.repeat.iam = s.sample(ctx, func(int) error {
		if _, err := s.rawIAM.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(lastIAM.User)}); err != nil {
			return err
		}
		if _, err := s.rawIAM.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(lastIAM.User), PolicyName: aws.String(s3admin.PolicyName)}); err != nil {
			return err
		}
		_, err := s.rawIAM.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(lastIAM.User)})
		return err
	})

	r.revoke.driver = s.sampleEach(ctx, driverUsers, func(a s3admin.Access) error {
		return s.admin.DeleteUser(ctx, a.User, "")
	})
	r.revoke.iam = s.sampleEach(ctx, iamUsers, func(a s3admin.Access) error {
		_, err := s.rawIAM.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(a.User)})
		return err
	})

	s.measureIAMResync(ctx, size, r.resync)
}

// measureIAMResync times one resync listing pass on the IAM query API path;
// the raw floor is one IAM ListUsers pass (names only).
func (s *scaleRun) measureIAMResync(ctx context.Context, size int, r *scaleRow) {
	var observed int
	r.driver, r.driverNote, observed = s.resyncPass(ctx, s.admin, size)
	t := time.Now()
	p := iam.NewListUsersPaginator(s.rawIAM, &iam.ListUsersInput{})
	for p.HasMorePages() {
		_, err := p.NextPage(ctx)
		s.must(err, "ListUsers")
	}
	r.iam = []time.Duration{time.Since(t)}
	if observed > 0 {
		s.note("at %d users, a resync pass on the IAM query API path observed %d users (window %d, observations cut at %s): every user within %d passes",
			size, observed, reconcile.DefaultResyncUsers, s.cfg.resyncBound/2, (size+observed-1)/observed)
	}
}

// resyncPass times one resync listing pass of admin as the reconciler
// makes it with its default window: ListOwnedUsersWindow, whose
// observations may take half the bound (a window cut short there goes on
// at the next pass), and ListMarkedBuckets, within the resync bound. It
// returns the time and a note, and how many users were observed.
func (s *scaleRun) resyncPass(ctx context.Context, admin *seaweedfs.SeaweedFS, size int) ([]time.Duration, string, int) {
	for attempt := 1; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, s.cfg.resyncBound)
		t := time.Now()
		wctx, wcancel := context.WithTimeout(rctx, s.cfg.resyncBound/2)
		users, err := admin.ListOwnedUsersWindow(wctx, s3admin.UserWindow{Limit: reconcile.DefaultResyncUsers})
		cut := err != nil && users.Names != nil && wctx.Err() != nil && rctx.Err() == nil
		wcancel()
		if cut {
			err = nil
		}
		if err == nil {
			_, err = admin.ListMarkedBuckets(rctx)
		}
		took, bound := time.Since(t), rctx.Err() != nil
		cancel()
		switch {
		case err == nil:
			if len(users.Names) < size || (!cut && len(users.Users) < min(size, reconcile.DefaultResyncUsers)) {
				s.b.Fatalf("resync listed %d owned users and observed %d, want at least %d and %d",
					len(users.Names), len(users.Users), size, min(size, reconcile.DefaultResyncUsers))
			}
			return []time.Duration{took}, "", len(users.Users)
		case bound:
			return nil, "> " + s.cfg.resyncBound.String() + " (bound)", 0
		case attempt == 1:
			// The driver's resync tries again on its next period; the
			// benchmark tries once more at once and says so. SeaweedFS's
			// filer has answered a listing with its own internal
			// connection closing (Canceled) right after a canceled IAM
			// query API pass.
			s.note("at %d users, a resync listing pass failed and was repeated: %v", size, err)
		default:
			s.must(err, "resync")
			return nil, "", 0
		}
	}
}
