package scale

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithymiddleware "github.com/aws/smithy-go/middleware"
	"google.golang.org/grpc"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/seaweedfs"
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
//	COSI_BENCH_QUIET    bound of each wait for SeaweedFS to go quiet; default 10m
//	COSI_BENCH_ONLY     "resync": measure the resync listing rows alone
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
	admin, err := seaweedfs.NewSeaweedFS(seaweedfs.Config{
		Endpoint: sw.Endpoint, Region: sw.Region, AccessKeyID: sw.AccessKey, SecretAccessKey: sw.SecretKey,
		CallTimeout: 5 * time.Minute, MaxAttempts: 1, KeyWait: benchKeyWait,
	})
	if err != nil {
		b.Fatal(err)
	}
	filer, err := filergrpc.Dial(sw.FilerGRPCAddress(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer filer.Close()
	calls := newCallTimes()
	filerAdmin, err := seaweedfs.NewSeaweedFS(seaweedfs.Config{
		Endpoint: sw.Endpoint, Region: sw.Region, AccessKeyID: sw.AccessKey, SecretAccessKey: sw.SecretKey,
		CallTimeout: 5 * time.Minute, MaxAttempts: 1, KeyWait: benchKeyWait, FilerGRPCAddress: sw.FilerGRPCAddress(),
		FilerDialOptions: []grpc.DialOption{calls.dialOption(), calls.streamOption()},
		APIOptions:       []func(*smithymiddleware.Stack) error{calls.apiOption()},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer filerAdmin.Close()
	s := &scaleRun{b: b, cfg: cfg, sw: sw, admin: admin, filerAdmin: filerAdmin, filer: filer, calls: calls,
		rawIAM: sw.IAMClient(), rawS3: sw.S3Client()}

	for i := range scaleFillBuckets {
		s.must(admin.CreateBucket(ctx, fillBucket(i), admintest.Own, s3admin.CreateOptions{}), "create fill bucket")
	}
	s.must(admin.CreateBucket(ctx, scaleBucket, admintest.Own, s3admin.CreateOptions{}), "create bench bucket")
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

// benchKeyWait is the driver's default --key-accept-wait.
const benchKeyWait = time.Second

const (
	scaleBucket      = "scale-bench"
	scaleFillBuckets = 10
)

func fillBucket(i int) string { return "scale-fill-" + strconv.Itoa(i%scaleFillBuckets) }

type scaleSettings struct {
	sizes                       []int
	samples                     int
	opTime, resyncBound, budget time.Duration
	// quietBound bounds each wait for SeaweedFS to go quiet (see quiet).
	quietBound time.Duration
	// resyncOnly: the resync listing rows alone (COSI_BENCH_ONLY=resync).
	resyncOnly bool
}

func loadScaleSettings(b *testing.B) scaleSettings {
	c := scaleSettings{sizes: []int{0, 100, 1000, 5000}, samples: 5, opTime: 45 * time.Second, resyncBound: time.Minute, budget: 10 * time.Minute, quietBound: 10 * time.Minute}
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
	switch v := os.Getenv("COSI_BENCH_ONLY"); v {
	case "":
	case "resync":
		c.resyncOnly = true
	default:
		b.Fatalf("COSI_BENCH_ONLY: %q, want resync", v)
	}
	for env, d := range map[string]*time.Duration{"COSI_BENCH_OP_TIME": &c.opTime, "COSI_BENCH_RESYNC": &c.resyncBound, "COSI_BENCH_BUDGET": &c.budget, "COSI_BENCH_QUIET": &c.quietBound} {
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
	b     *testing.B
	cfg   scaleSettings
	sw    *stack.Seaweed
	admin *seaweedfs.SeaweedFS
	// filerAdmin is the driver's client on the filer IAM gRPC path.
	filerAdmin *seaweedfs.SeaweedFS
	// calls times filerAdmin's filer calls.
	calls  *callTimes
	filer  *filergrpc.Client
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
	retries atomic.Int64
	// probeErrors counts transient errors of the driver's key polls.
	probeErrors atomic.Int64
	// loud: samples do not wait for SeaweedFS to go quiet (see quiet);
	// quietFor is the time they waited at this size, quietLongest the
	// longest single wait, quietMissed how many waits ended at
	// cfg.quietBound.
	loud                   bool
	quietFor, quietLongest time.Duration
	quietMissed            int
}

type scaleRow struct {
	size                          int
	op                            string
	driver, filerDrv, iam, filerG []time.Duration
	// filerLP is the least-privilege floor on the filer path: the writes an
	// exact grant needs there (a policy and the identity naming it).
	filerLP                  []time.Duration
	driverNote, filerDrvNote string
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
	s.doc = pol.Inline[a.User][s3admin.PolicyName]
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

func (s *scaleRun) newAccess(user, bucket string) s3admin.Access {
	id, secret, err := s3admin.GenerateCredentials()
	s.must(err, "credentials")
	return s3admin.Access{User: user, Bucket: bucket, Mode: s3admin.ModeReadWrite, AccessKeyID: id, SecretAccessKey: secret, BucketOwner: admintest.Own}
}

// rebucket rewrites the template's bucket name into bucket.
func rebucket(s, bucket string) string { return strings.ReplaceAll(s, fillBucket(0), bucket) }

// fill adds users from..to-1, then restarts SeaweedFS and checks a sample.
func (s *scaleRun) fill(ctx context.Context, from, to int) {
	began := time.Now()
	// The IAM query API rows of the size before left the gateway thousands
	// of reloads to work through, which would slow every filled write; a
	// restarted gateway starts from the state as it is.
	if from > 0 {
		s.must(s.sw.Restart(ctx), "restart seaweedfs")
	}
	users := make([]s3admin.Access, 0, to-from)
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
	work := make(chan s3admin.Access)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for a := range work {
				actions := make([]string, len(s.actions))
				for i, act := range s.actions {
					actions[i] = rebucket(act, a.Bucket)
				}
				err := createRaw(ctx, s.filer, rawIdentity{Name: a.User, AccessKey: a.AccessKeyID, SecretKey: a.SecretAccessKey, Actions: actions})
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
		inline[a.User] = map[string]json.RawMessage{s3admin.PolicyName: json.RawMessage(rebucket(string(s.doc), a.Bucket))}
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
	s.must(saveFile(ctx, s.filer, "/etc/iam", "policies.json", content), "write policies.json")
}

// verify checks that filled users authenticate and are authorized exactly
// for their own bucket, and that the driver's client reads them as
// converged accesses of its own.
func (s *scaleRun) verify(ctx context.Context, users []s3admin.Access) {
	sample := []s3admin.Access{users[0], users[len(users)/2], users[len(users)-1]}
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
		if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(other)}); !errors.Is(s3admin.Classify("ListObjectsV2", err), s3admin.ErrAccessDenied) {
			s.b.Fatalf("filled user %s listing %s: got %v, want access denied", a.User, other, err)
		}
		st, err := s.admin.ObserveUser(ctx, a.User)
		s.must(err, "observe filled user")
		if !st.Owned || !st.PolicyExact || st.Bucket != a.Bucket || st.Mode != s3admin.ModeReadWrite || !slices.Equal(st.AccessKeyIDs, []string{a.AccessKeyID}) {
			s.b.Fatalf("filled user %s observed as %+v", a.User, st)
		}
	}
}
