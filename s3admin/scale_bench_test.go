package s3admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// BenchmarkScale measures the driver's SeaweedFS client beside the raw
// backend paths on a SeaweedFS holding N other accesses shaped like the
// driver's own: one user per access with one active key, its identity
// actions for one bucket and the inline policy document PutUserPolicy
// stored for it. It runs once (use -benchtime 1x) and prints a table.
//
// Settings (environment):
//
//	COSI_BENCH_USERS    sizes to fill to, ascending; default 0,100,1000,5000
//	COSI_BENCH_SAMPLES  samples per operation and size; default 5
//	COSI_BENCH_OP_TIME  stop sampling an operation after this long; default 45s
//	COSI_BENCH_RESYNC   bound of one resync listing pass; default 60s
//	COSI_BENCH_BUDGET   do not start a larger size after this long; default 10m
//
// The fill does not go through the IAM query API, which rewrites every
// identity on each change: each filled user is one CreateUser call of the
// filer's IAM gRPC service (8 in parallel) carrying its key and the
// identity actions PutUserPolicy derives, and the inline policy documents
// are written in one go into /etc/iam/policies.json, the file SeaweedFS's
// credential store keeps them in (set aside while the identities are
// written, see fill). SeaweedFS is then restarted,
// so the S3 gateway loads the filled state once instead of working through
// one full reload per filled user, and a sample of filled users is checked
// to authenticate and to be authorized exactly for their own bucket.
func BenchmarkScale(b *testing.B) {
	cfg := loadScaleSettings(b)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	sw, err := stack.StartSeaweed(ctx, stack.SeaweedOptions{StartTimeout: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer sw.Stop()
	admin, err := NewSeaweedFS(Config{
		Endpoint: sw.Endpoint, Region: sw.Region, AccessKeyID: sw.AccessKey, SecretAccessKey: sw.SecretKey,
		CallTimeout: 5 * time.Minute, MaxAttempts: 1,
	})
	if err != nil {
		b.Fatal(err)
	}
	filer, err := dialFiler(sw.FilerGRPCAddress())
	if err != nil {
		b.Fatal(err)
	}
	defer filer.Close()
	s := &scaleRun{b: b, cfg: cfg, sw: sw, admin: admin, filer: filer,
		rawIAM: iam.New(iam.Options{Region: sw.Region, BaseEndpoint: aws.String(sw.Endpoint),
			Credentials: credentials.NewStaticCredentialsProvider(sw.AccessKey, sw.SecretKey, "")}),
		rawS3: sw.S3Client()}

	for i := range scaleFillBuckets {
		s.must(admin.CreateBucket(ctx, fillBucket(i), testOwn), "create fill bucket")
	}
	s.must(admin.CreateBucket(ctx, scaleBucket, testOwn), "create bench bucket")
	s.template(ctx)

	filled := 0
	for _, size := range cfg.sizes {
		if time.Since(began) > cfg.budget {
			s.note("size %d not reached: the run passed its budget of %s", size, cfg.budget)
			continue
		}
		if size > filled {
			s.fill(ctx, filled, size)
			filled = size
		}
		s.measure(ctx, size)
	}
	s.print(os.Stdout, time.Since(began))
}

const (
	scaleBucket      = "scale-bench"
	scaleFillBuckets = 10
)

func fillBucket(i int) string { return "scale-fill-" + strconv.Itoa(i%scaleFillBuckets) }

type scaleSettings struct {
	sizes                       []int
	samples                     int
	opTime, resyncBound, budget time.Duration
}

func loadScaleSettings(b *testing.B) scaleSettings {
	c := scaleSettings{sizes: []int{0, 100, 1000, 5000}, samples: 5, opTime: 45 * time.Second, resyncBound: time.Minute, budget: 10 * time.Minute}
	if v := os.Getenv("COSI_BENCH_USERS"); v != "" {
		c.sizes = nil
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 0 {
				b.Fatalf("COSI_BENCH_USERS: %q is not a size", f)
			}
			c.sizes = append(c.sizes, n)
		}
		slices.Sort(c.sizes)
	}
	if v := os.Getenv("COSI_BENCH_SAMPLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("COSI_BENCH_SAMPLES: %q", v)
		}
		c.samples = n
	}
	for env, d := range map[string]*time.Duration{"COSI_BENCH_OP_TIME": &c.opTime, "COSI_BENCH_RESYNC": &c.resyncBound, "COSI_BENCH_BUDGET": &c.budget} {
		if v := os.Getenv(env); v != "" {
			p, err := time.ParseDuration(v)
			if err != nil {
				b.Fatalf("%s: %v", env, err)
			}
			*d = p
		}
	}
	return c
}

type scaleRun struct {
	b      *testing.B
	cfg    scaleSettings
	sw     *stack.Seaweed
	admin  *SeaweedFS
	filer  *rawFiler
	rawIAM *iam.Client
	rawS3  *s3.Client

	// actions and doc are what SeaweedFS stored for a user the driver
	// granted read-write on fillBucket(0), the shape every filled user copies.
	actions []string
	doc     json.RawMessage

	rows  []*scaleRow
	notes []string
	seq   int
	// retries counts new grants the driver needed more than one
	// EnsureAccess for.
	retries int
}

type scaleRow struct {
	size                int
	op                  string
	driver, iam, filerG []time.Duration
	driverNote          string
}

func (s *scaleRun) must(err error, what string) {
	if err != nil {
		s.b.Fatalf("%s: %v", what, err)
	}
}

func (s *scaleRun) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.notes = append(s.notes, msg)
	fmt.Fprintln(os.Stderr, "scale: "+msg)
}

// template grants one access through the driver and reads back how
// SeaweedFS stored it.
func (s *scaleRun) template(ctx context.Context) {
	a := s.newAccess("cosi-scale-template", fillBucket(0))
	_, err := s.admin.EnsureAccess(ctx, a)
	s.must(err, "template grant")
	var ident struct {
		Actions []string `json:"actions"`
	}
	s.must(s.filerJSON(ctx, "/etc/iam/identities/"+a.User+".json", &ident), "read template identity")
	if len(ident.Actions) == 0 {
		s.b.Fatal("template identity has no actions")
	}
	s.actions = ident.Actions
	var pol struct {
		Inline map[string]map[string]json.RawMessage `json:"inlinePolicies"`
	}
	s.must(s.filerJSON(ctx, "/etc/iam/policies.json", &pol), "read policies.json")
	s.doc = pol.Inline[a.User][PolicyName]
	if len(s.doc) == 0 {
		s.b.Fatal("template inline policy not in /etc/iam/policies.json")
	}
	s.note("template user holds actions %v", s.actions)
}

func (s *scaleRun) filerJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.sw.FilerURL()+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return json.Unmarshal(body, v)
}

func (s *scaleRun) newAccess(user, bucket string) Access {
	id, secret, err := GenerateCredentials()
	s.must(err, "credentials")
	return Access{User: user, Bucket: bucket, Mode: ModeReadWrite, AccessKeyID: id, SecretAccessKey: secret, BucketOwner: testOwn}
}

// rebucket rewrites the template's bucket name into bucket.
func rebucket(s, bucket string) string { return strings.ReplaceAll(s, fillBucket(0), bucket) }

// fill adds users from..to-1, then restarts SeaweedFS and checks a sample.
func (s *scaleRun) fill(ctx context.Context, from, to int) {
	began := time.Now()
	users := make([]Access, 0, to-from)
	for i := from; i < to; i++ {
		users = append(users, s.newAccess(fmt.Sprintf("cosi-fill-%05d", i), fillBucket(i)))
	}
	// Every identity written makes the S3 gateway reload all identities
	// and every inline policy document; with thousands of documents each
	// reload takes seconds and the gateway falls minutes behind. The
	// documents are therefore set aside while identities are written (they
	// do not decide authorization: each identity's actions do) and written
	// back together with the new ones below; policies.json itself is not
	// a file whose change makes the gateway reload.
	pol, inline := s.policies(ctx)
	s.savePolicies(ctx, pol, map[string]map[string]json.RawMessage{})
	work := make(chan Access)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for a := range work {
				actions := make([]string, len(s.actions))
				for i, act := range s.actions {
					actions[i] = rebucket(act, a.Bucket)
				}
				err := s.filer.CreateUser(ctx, rawIdentity{Name: a.User, AccessKey: a.AccessKeyID, SecretKey: a.SecretAccessKey, Actions: actions})
				if err != nil {
					select {
					case errs <- fmt.Errorf("fill %s: %w", a.User, err):
					default:
					}
				}
			}
		})
	}
	for _, a := range users {
		work <- a
	}
	close(work)
	wg.Wait()
	close(errs)
	s.must(<-errs, "fill")
	identities := time.Since(began)

	// Inline policy documents: the set-aside ones and the new ones, in one
	// write of policies.json.
	for _, a := range users {
		inline[a.User] = map[string]json.RawMessage{PolicyName: json.RawMessage(rebucket(string(s.doc), a.Bucket))}
	}
	s.savePolicies(ctx, pol, inline)

	restartBegan := time.Now()
	s.must(s.sw.Restart(ctx), "restart seaweedfs")
	restart := time.Since(restartBegan)
	s.verify(ctx, users)
	s.note("filled %d→%d users in %s (identities %s, restart %s, then checked a sample)",
		from, to, time.Since(began).Round(time.Millisecond), identities.Round(time.Millisecond), restart.Round(time.Millisecond))
}

// policies reads /etc/iam/policies.json: its top-level fields and its
// inline policy documents by user and policy name.
func (s *scaleRun) policies(ctx context.Context) (map[string]json.RawMessage, map[string]map[string]json.RawMessage) {
	var pol map[string]json.RawMessage
	s.must(s.filerJSON(ctx, "/etc/iam/policies.json", &pol), "read policies.json")
	inline := map[string]map[string]json.RawMessage{}
	if raw := pol["inlinePolicies"]; len(raw) > 0 {
		s.must(json.Unmarshal(raw, &inline), "parse inlinePolicies")
	}
	return pol, inline
}

func (s *scaleRun) savePolicies(ctx context.Context, pol map[string]json.RawMessage, inline map[string]map[string]json.RawMessage) {
	raw, err := json.Marshal(inline)
	s.must(err, "encode inlinePolicies")
	pol["inlinePolicies"] = raw
	content, err := json.Marshal(pol)
	s.must(err, "encode policies.json")
	s.must(s.filer.SaveFile(ctx, "/etc/iam", "policies.json", content), "write policies.json")
}

// verify checks that filled users authenticate and are authorized exactly
// for their own bucket, and that the driver's client reads them as
// converged accesses of its own.
func (s *scaleRun) verify(ctx context.Context, users []Access) {
	sample := []Access{users[0], users[len(users)/2], users[len(users)-1]}
	for _, a := range sample {
		c := stack.NewS3Client(s.sw.Endpoint, s.sw.Region, a.AccessKeyID, a.SecretAccessKey, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
		deadline := time.Now().Add(2 * time.Minute)
		for {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(a.Bucket), Key: aws.String("probe-" + a.User), Body: strings.NewReader("x")})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				s.b.Fatalf("filled user %s cannot write its bucket %s: %v", a.User, a.Bucket, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(a.Bucket), Key: aws.String("probe-" + a.User)})
		s.must(err, "filled user reads its bucket")
		other := fillBucket(len(a.User) + 1) // any other fill bucket
		if other == a.Bucket {
			other = scaleBucket
		}
		if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(other)}); !errors.Is(classify("ListObjectsV2", err), ErrAccessDenied) {
			s.b.Fatalf("filled user %s listing %s: got %v, want access denied", a.User, other, err)
		}
		st, err := s.admin.ObserveUser(ctx, a.User)
		s.must(err, "observe filled user")
		if !st.Owned || !st.PolicyExact || st.Bucket != a.Bucket || st.Mode != ModeReadWrite || !slices.Equal(st.AccessKeyIDs, []string{a.AccessKeyID}) {
			s.b.Fatalf("filled user %s observed as %+v", a.User, st)
		}
	}
}

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

// usable polls until the key answers for its bucket (any answer but an
// unknown key or a bad signature), like the driver's own check but with a
// finer interval, so the floor is not rounded up.
func (s *scaleRun) usable(ctx context.Context, a Access) error {
	c := stack.NewS3Client(s.sw.Endpoint, s.sw.Region, a.AccessKeyID, a.SecretAccessKey, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	deadline := time.Now().Add(5 * time.Minute)
	for {
		_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(a.Bucket), MaxKeys: aws.Int32(1)})
		if err == nil || errors.Is(classify("ListObjectsV2", err), ErrAccessDenied) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("key of %s not usable: %w", a.User, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ensure converges a new access the way the reconciler does: a transient
// error (such as a key SeaweedFS does not accept yet after the driver's
// bounded wait) is retried at once, and the time until success is what the
// sidecar waits for.
func (s *scaleRun) ensure(ctx context.Context, a Access) error {
	for attempt := 1; ; attempt++ {
		_, err := s.admin.EnsureAccess(ctx, a)
		if err == nil || !IsTransient(err) || attempt == 20 {
			if attempt > 1 {
				s.retries++
			}
			return err
		}
	}
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
	// key is usable.
	grant := row("new grant (until usable)")
	writes := row("  of which backend writes")
	var driverUsers, iamUsers, grpcUsers []Access
	grant.driver = s.sample(func(int) error {
		a := s.next("drv")
		driverUsers = append(driverUsers, a)
		return s.ensure(ctx, a)
	})
	var iamWrites, grpcWrites []time.Duration
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
	grant.filerG = s.sample(func(int) error {
		a := s.next("grpc")
		grpcUsers = append(grpcUsers, a)
		actions := make([]string, len(s.actions))
		for i, act := range s.actions {
			actions[i] = rebucket(act, a.Bucket)
		}
		t := time.Now()
		if err := s.filer.CreateUser(ctx, rawIdentity{Name: a.User, AccessKey: a.AccessKeyID, SecretKey: a.SecretAccessKey, Actions: actions}); err != nil {
			return err
		}
		grpcWrites = append(grpcWrites, time.Since(t))
		return s.usable(ctx, a)
	})
	writes.iam, writes.filerG, writes.driverNote = iamWrites, grpcWrites, "-"

	repeat := row("repeat grant (converged)")
	last := driverUsers[len(driverUsers)-1]
	repeat.driver = s.sample(func(int) error {
		changed, err := s.admin.EnsureAccess(ctx, last)
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
	repeat.filerG = s.sample(func(int) error { _, err := s.filer.GetUser(ctx, lastGRPC.User); return err })

	revoke := row("revoke")
	revoke.driver = s.sample(func(i int) error {
		if i >= len(driverUsers) {
			return errSampled
		}
		return s.admin.DeleteUser(ctx, driverUsers[i].User, "")
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
	// Users a stopped sampling left behind stay: a few more users among
	// thousands, where removing them would cost as much as the revokes.

	create := row("bucket create")
	create.driver = s.sample(func(int) error {
		s.seq++
		return s.admin.CreateBucket(ctx, fmt.Sprintf("scale-drv-%05d", s.seq), testOwn)
	})
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
}

func (s *scaleRun) print(w io.Writer, took time.Duration) {
	fmt.Fprintf(w, "\nSeaweedFS scale benchmark: other users each hold one key and one read-write inline policy; p50 / p90 over n samples\n\n")
	fmt.Fprintf(w, "| N | operation | driver (s3admin) | raw IAM query API | raw filer IAM gRPC |\n|---:|---|---|---|---|\n")
	for _, r := range s.rows {
		d := quantiles(r.driver)
		if r.driverNote != "" {
			d = r.driverNote
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s |\n", r.size, r.op, d, quantiles(r.iam), quantiles(r.filerG))
	}
	fmt.Fprintln(w)
	for _, n := range s.notes {
		fmt.Fprintln(w, "- "+n)
	}
	fmt.Fprintf(w, "- driver grants that needed more than one EnsureAccess: %d\n", s.retries)
	fmt.Fprintf(w, "- whole run %s\n\n", took.Round(time.Second))
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
