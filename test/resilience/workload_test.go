package resilience

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/driver"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

// The workload's shape: a round is roundBuckets bucket steps (create a
// bucket, grant accessesPerBucket accesses, revoke one, delete the oldest
// bucket once more than liveBuckets are live, with the accesses it still
// has). Every other bucket is created with purge and holds an object when it
// is deleted. The window keeps SeaweedFS's user count, and so the cost of
// each IAM write, bounded however long a pass runs.
const (
	roundBuckets      = 20
	accessesPerBucket = 3
	liveBuckets       = 4
)

const (
	// callTimeout bounds one gRPC call: longer than the driver's own wait,
	// so that a slow call ends with the driver's UNAVAILABLE.
	callTimeout = waitTimeout + 10*time.Second
	// retryFor bounds how long one call is retried.
	retryFor = 3 * time.Minute
)

// model is the desired state the workload asked for, and the first
// successful answer to every request, which every later answer must equal.
type model struct {
	mu       sync.Mutex
	buckets  map[string]*bucketModel
	live     []string // live bucket names, oldest first
	accesses map[string]*accessModel
	secrets  map[string]bool
}

type bucketModel struct {
	name     string
	params   map[string]string
	wire     []byte // the first OK answer
	deleted  bool
	accesses []string
}

type accessModel struct {
	name, bucket, mode string
	params             map[string]string
	wire               []byte
	account, keyID     string
	secret             string
	endpoint, region   string
	revoked            bool
}

func newModel() *model {
	return &model{buckets: map[string]*bucketModel{}, accesses: map[string]*accessModel{}, secrets: map[string]bool{}}
}

// desired returns copies of the live buckets and accesses, and the revoked
// accesses.
func (m *model) desired() (buckets []bucketModel, live, revoked []accessModel) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.buckets {
		if !b.deleted && b.wire != nil {
			buckets = append(buckets, *b)
		}
	}
	for _, a := range m.accesses {
		switch {
		case a.wire == nil:
		case a.revoked:
			revoked = append(revoked, *a)
		default:
			live = append(live, *a)
		}
	}
	slices.SortFunc(buckets, func(a, b bucketModel) int { return cmpString(a.name, b.name) })
	slices.SortFunc(live, func(a, b accessModel) int { return cmpString(a.name, b.name) })
	return buckets, live, revoked
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// workload drives the driver as the sidecar does: every call is retried
// while it answers UNAVAILABLE (or the process is gone), and its first
// other answer is judged against the model.
type workload struct {
	e   *environment
	m   *model
	rng *rand.Rand
	// pick chooses the replica each call goes to.
	pick func() cosi.ProvisionerClient
	// steps counts finished bucket steps.
	mu    sync.Mutex
	steps int
}

func (e *environment) newWorkload(seed uint64, pick func() cosi.ProvisionerClient) *workload {
	return e.newWorkloadOn(seed, 0, pick)
}

// newWorkloadOn is newWorkload drawing from stream of seed's generator:
// passes that replay one seed on one SeaweedFS need names of their own.
func (e *environment) newWorkloadOn(seed, stream uint64, pick func() cosi.ProvisionerClient) *workload {
	return &workload{e: e, m: e.model, rng: rand.New(rand.NewPCG(seed, 0x5eed+stream)), pick: pick}
}

func (w *workload) stepsDone() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.steps
}

// uid is a UUID-shaped string from the workload's generator, like a
// Kubernetes object UID.
func (w *workload) uid() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := fmt.Sprintf("%016x%016x", w.rng.Uint64(), w.rng.Uint64())
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// round runs n bucket steps, stopping early when stop returns true or the
// test has failed.
func (w *workload) round(t testing.TB, n int, stop func() bool) {
	t.Helper()
	for i := 0; i < n && !t.Failed() && (stop == nil || !stop()); i++ {
		w.bucketStep(t, i)
	}
}

// bucketStep: create a bucket (concurrent duplicates on every fourth one),
// replay the create, conflict with other parameters, grant three accesses
// (concurrent duplicates of one, a replay, a conflicting grant), revoke one
// (and replay the revoke), put an object into a purge bucket, and delete the
// oldest bucket, which still has accesses, once the window is full.
func (w *workload) bucketStep(t testing.TB, i int) {
	t.Helper()
	defer func() {
		w.mu.Lock()
		w.steps++
		w.mu.Unlock()
	}()
	name := "bucket-" + w.uid()
	var params, other map[string]string
	if i%2 == 1 {
		params = map[string]string{"purge": "true"}
	} else {
		other = map[string]string{"purge": "true"}
	}
	dups := 1
	if i%4 == 0 {
		dups = 3
	}
	if !w.create(t, name, params, dups) || !w.create(t, name, params, 1) {
		return
	}
	w.expect(t, "conflicting DriverCreateBucket", codes.AlreadyExists, func(c context.Context, p cosi.ProvisionerClient) (proto.Message, error) {
		return p.DriverCreateBucket(c, &cosi.DriverCreateBucketRequest{Name: name, Parameters: other})
	})

	var names []string
	for j := range accessesPerBucket {
		a := "ba-" + w.uid()
		mode := "read-write"
		if j == accessesPerBucket-1 {
			mode = "read-only"
		}
		n := 1
		if j == i%accessesPerBucket {
			n = 3
		}
		if !w.grant(t, name, a, mode, n) {
			return
		}
		names = append(names, a)
	}
	if !w.grant(t, name, names[0], "read-write", 1) {
		return
	}
	w.expect(t, "conflicting DriverGrantBucketAccess", codes.FailedPrecondition, func(c context.Context, p cosi.ProvisionerClient) (proto.Message, error) {
		return p.DriverGrantBucketAccess(c, grantRequest(name, names[0], "read-only"))
	})
	for range 2 {
		if !w.revoke(t, name, names[1]) {
			return
		}
	}
	if params != nil && !w.putObject(t, name) {
		return
	}
	for {
		w.m.mu.Lock()
		var oldest string
		if len(w.m.live) > liveBuckets {
			oldest = w.m.live[0]
		}
		w.m.mu.Unlock()
		if oldest == "" {
			return
		}
		for range 2 {
			if !w.delete(t, oldest) {
				return
			}
		}
	}
}

// putObject writes an object into a bucket with the admin identity, so that
// deleting the bucket must purge it; retried while SeaweedFS is down.
func (w *workload) putObject(t testing.TB, bucket string) bool {
	t.Helper()
	deadline := time.Now().Add(retryFor)
	for {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s3check.Put(c, w.e.s3, bucket, "data.txt", "purged with the bucket")
		cancel()
		if err == nil {
			return true
		}
		if time.Now().After(deadline) {
			t.Errorf("admin PutObject into %s: %v", bucket, err)
			return false
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func grantRequest(bucket, name, mode string) *cosi.DriverGrantBucketAccessRequest {
	return &cosi.DriverGrantBucketAccessRequest{
		BucketId:           bucket,
		Name:               name,
		AuthenticationType: cosi.AuthenticationType_Key,
		Parameters:         map[string]string{"mode": mode},
	}
}

// call retries fn as the sidecar does while the answer is UNAVAILABLE or
// the call ran out of time (the driver was killed, restarted, or has not
// converged yet), and returns the first other answer.
func (w *workload) call(t testing.TB, what string, fn func(context.Context, cosi.ProvisionerClient) (proto.Message, error)) (proto.Message, error) {
	t.Helper()
	began := time.Now()
	deadline := began.Add(retryFor)
	backoff := 50 * time.Millisecond
	var firstFailure time.Time
	for {
		c, cancel := context.WithTimeout(context.Background(), callTimeout)
		resp, err := fn(c, w.pick())
		cancel()
		code := status.Code(err)
		if code != codes.Unavailable && code != codes.DeadlineExceeded {
			if !firstFailure.IsZero() {
				w.e.stats.recovered(time.Since(firstFailure))
			}
			return resp, err
		}
		if code == codes.DeadlineExceeded {
			// The driver bounds every wait by --wait-timeout, well below
			// callTimeout: a call that outlasts it is a wait without bound.
			t.Errorf("%s: no answer within %s", what, callTimeout)
		}
		if firstFailure.IsZero() {
			firstFailure = time.Now()
		}
		if time.Now().After(deadline) {
			t.Errorf("%s still answers %v after %s", what, err, retryFor)
			return resp, err
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
}

// expect runs a call that must answer code.
func (w *workload) expect(t testing.TB, what string, code codes.Code, fn func(context.Context, cosi.ProvisionerClient) (proto.Message, error)) {
	t.Helper()
	_, err := w.call(t, what, fn)
	if status.Code(err) != code {
		t.Errorf("%s: got %v, want %v", what, err, code)
	}
}

// concurrently runs n identical calls at once and checks that they all
// answer OK with identical messages, which it returns.
func (w *workload) concurrently(t testing.TB, what string, n int, fn func(context.Context, cosi.ProvisionerClient) (proto.Message, error)) (proto.Message, []byte, bool) {
	t.Helper()
	resps := make([]proto.Message, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Go(func() { resps[k], errs[k] = w.call(t, what, fn) })
	}
	wg.Wait()
	var first []byte
	for k := range n {
		if errs[k] != nil {
			t.Errorf("%s: %v", what, errs[k])
			return nil, nil, false
		}
		b := driver.Wire(t, resps[k])
		if first == nil {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Errorf("%s: concurrent identical calls answered differently:\n%v\n%v", what, resps[0], resps[k])
			return nil, nil, false
		}
	}
	return resps[0], first, true
}

func (w *workload) create(t testing.TB, name string, params map[string]string, n int) bool {
	t.Helper()
	what := "DriverCreateBucket(" + name + ")"
	resp, b, ok := w.concurrently(t, what, n, func(c context.Context, p cosi.ProvisionerClient) (proto.Message, error) {
		return p.DriverCreateBucket(c, &cosi.DriverCreateBucketRequest{Name: name, Parameters: params})
	})
	if !ok {
		return false
	}
	if id := resp.(*cosi.DriverCreateBucketResponse).GetBucketId(); id != name {
		t.Errorf("%s: bucket_id %q, want the name", what, id)
		return false
	}
	m := w.m
	m.mu.Lock()
	defer m.mu.Unlock()
	bm := m.buckets[name]
	if bm == nil {
		bm = &bucketModel{name: name, params: params, wire: b}
		m.buckets[name] = bm
		m.live = append(m.live, name)
	}
	if !bytes.Equal(bm.wire, b) {
		t.Errorf("%s: a repeat answered %v, the first answer differs", what, resp)
		return false
	}
	return true
}

func (w *workload) grant(t testing.TB, bucket, name, mode string, n int) bool {
	t.Helper()
	what := "DriverGrantBucketAccess(" + name + ")"
	resp, b, ok := w.concurrently(t, what, n, func(c context.Context, p cosi.ProvisionerClient) (proto.Message, error) {
		return p.DriverGrantBucketAccess(c, grantRequest(bucket, name, mode))
	})
	if !ok {
		return false
	}
	g := resp.(*cosi.DriverGrantBucketAccessResponse)
	s := g.GetCredentials()["s3"].GetSecrets()
	m := w.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if s["accessSecretKey"] != "" {
		m.secrets[s["accessSecretKey"]] = true
	}
	if want := userPrefix + names.AccessID(name); g.GetAccountId() != want || len(g.GetCredentials()) != 1 ||
		s["accessKeyID"] == "" || s["accessSecretKey"] == "" || s["endpoint"] == "" || s["region"] == "" {
		t.Errorf("%s: answer with account %q (want %q) and credentials %d entries or an empty field", what, g.GetAccountId(), want, len(g.GetCredentials()))
		return false
	}
	am := m.accesses[name]
	if am == nil {
		am = &accessModel{
			name: name, bucket: bucket, mode: mode, params: map[string]string{"mode": mode}, wire: b,
			account: g.GetAccountId(), keyID: s["accessKeyID"], secret: s["accessSecretKey"],
			endpoint: s["endpoint"], region: s["region"],
		}
		m.accesses[name] = am
		m.buckets[bucket].accesses = append(m.buckets[bucket].accesses, name)
	}
	if !bytes.Equal(am.wire, b) {
		t.Errorf("%s: a repeat answered other credentials than the first answer", what)
		return false
	}
	return true
}

func (w *workload) revoke(t testing.TB, bucket, name string) bool {
	t.Helper()
	what := "DriverRevokeBucketAccess(" + name + ")"
	account := userPrefix + names.AccessID(name)
	_, err := w.call(t, what, func(c context.Context, p cosi.ProvisionerClient) (proto.Message, error) {
		return p.DriverRevokeBucketAccess(c, &cosi.DriverRevokeBucketAccessRequest{BucketId: bucket, AccountId: account})
	})
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return false
	}
	w.m.mu.Lock()
	w.m.accesses[name].revoked = true
	w.m.mu.Unlock()
	return true
}

// delete deletes a bucket; its accesses are revoked with it.
func (w *workload) delete(t testing.TB, bucket string) bool {
	t.Helper()
	what := "DriverDeleteBucket(" + bucket + ")"
	_, err := w.call(t, what, func(c context.Context, p cosi.ProvisionerClient) (proto.Message, error) {
		return p.DriverDeleteBucket(c, &cosi.DriverDeleteBucketRequest{BucketId: bucket})
	})
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return false
	}
	m := w.m
	m.mu.Lock()
	defer m.mu.Unlock()
	bm := m.buckets[bucket]
	bm.deleted = true
	for _, a := range bm.accesses {
		m.accesses[a].revoked = true
	}
	m.live = slices.DeleteFunc(m.live, func(n string) bool { return n == bucket })
	return true
}
