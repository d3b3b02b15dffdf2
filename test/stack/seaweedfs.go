package stack

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// SeaweedOptions configures StartSeaweed. The zero value is a usable test
// server: IAM writes enabled, random admin credentials, region us-east-1,
// data in a new temporary directory that Stop removes.
type SeaweedOptions struct {
	// Dir holds data, logs and local sockets. Empty means a new temporary
	// directory, removed by Stop.
	Dir string
	// AccessKey and SecretKey of the admin identity. Empty means random
	// values generated for this stack.
	AccessKey, SecretKey string
	// Region reported to clients; default us-east-1. SeaweedFS accepts any
	// region in the signature, clients need one to sign.
	Region string
	// IAMReadOnly starts the server with IAM writes disabled (its own default),
	// to test how clients report the refusal.
	IAMReadOnly bool
	// RefuseNonEmptyBucketDelete starts the server with
	// -s3.allowDeleteBucketNotEmpty=false. By default SeaweedFS deletes a
	// non-empty bucket with all its data; tests keep that default so that the
	// client's own emptiness check is what is exercised.
	RefuseNonEmptyBucketDelete bool
	// NoAdminIdentity starts the server without any identity. SeaweedFS then
	// serves every request, signed or not: only for testing that clients
	// detect such an open store. Readiness then waits for an anonymous
	// request to succeed instead.
	NoAdminIdentity bool
	// StartTimeout bounds each start (and restart); default 60 s.
	StartTimeout time.Duration
	// ExtraArgs are appended to the weed command line.
	ExtraArgs []string
	// MutualTLS starts SeaweedFS with a generated security.toml that makes
	// every gRPC port, the filer's included, require a client certificate
	// signed by a generated CA; FilerTLS names the files a client presents.
	MutualTLS bool
	// FilerJWTKey, when set, is written to security.toml as
	// [jwt.filer_signing] key: the filer's IAM gRPC service then refuses
	// calls without a token signed with it, and the filer's HTTP writes
	// need one too (the S3 gateway of the same process signs its own).
	// Printable characters only (it is written as a TOML string). Combines
	// with MutualTLS.
	FilerJWTKey string
}

// Seaweed is a running single-process SeaweedFS (master, volume, filer and S3
// gateway with the embedded IAM API) listening only on 127.0.0.1.
type Seaweed struct {
	// Endpoint is the S3 and IAM endpoint, http://127.0.0.1:<port>.
	Endpoint  string
	Region    string
	AccessKey string
	SecretKey string
	// Dir holds the data directory, the log and the local sockets.
	Dir string
	// StartDuration is how long the last start took until S3 was ready.
	StartDuration time.Duration
	// FilerTLS is set when the server was started with MutualTLS.
	FilerTLS *FilerClientTLS
	// FilerJWTKey is the filer's signing key, when it was started with one.
	FilerJWTKey string

	bin     string
	open    bool
	args    []string
	env     []string
	ports   []int
	timeout time.Duration
	ownDir  bool

	mu   sync.Mutex
	proc *Process
	// keptLog is the log tail saved by Stop before it removes the directory,
	// so DumpLogs still has something to show after a failed start.
	keptLog []byte
}

// StartSeaweed starts `weed server` with every port pinned to a free port on
// 127.0.0.1 and waits until S3 answers an authenticated ListBuckets and
// refuses an anonymous request.
//
// `weed server` is used rather than `weed mini` because mini's admin server
// always listens on every interface; `weed server` with -ip.bind binds only
// loopback.
func StartSeaweed(ctx context.Context, opts SeaweedOptions) (*Seaweed, error) {
	bin, err := Binary("weed")
	if err != nil {
		return nil, err
	}
	sw := &Seaweed{
		Region:    opts.Region,
		AccessKey: opts.AccessKey,
		SecretKey: opts.SecretKey,
		Dir:       opts.Dir,
		bin:       bin,
		open:      opts.NoAdminIdentity,
		timeout:   opts.StartTimeout,
	}
	if sw.Region == "" {
		sw.Region = "us-east-1"
	}
	if sw.timeout == 0 {
		sw.timeout = 60 * time.Second
	}
	if sw.AccessKey == "" || sw.SecretKey == "" {
		// The admin identity exists only in this process's environment; random
		// values per stack keep one test stack's key from working on another.
		sw.AccessKey = "ADMIN" + randomString(15, upperDigits)
		sw.SecretKey = randomString(40, upperLowerDigits)
	}
	if sw.Dir == "" {
		// os.MkdirTemp keeps the path short: unix socket paths are limited to
		// 108 bytes and t.TempDir() paths include the test name.
		d, err := os.MkdirTemp("", "seaweed-")
		if err != nil {
			return nil, fmt.Errorf("create seaweedfs dir: %w", err)
		}
		sw.Dir = d
		sw.ownDir = true
	}
	dataDir := filepath.Join(sw.Dir, "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create seaweedfs data dir: %w", err)
	}
	var security []string
	if opts.MutualTLS {
		files, toml, err := writeMutualTLS(sw.Dir)
		if err != nil {
			return nil, fmt.Errorf("seaweedfs mutual TLS: %w", err)
		}
		sw.FilerTLS = &files
		security = append(security, toml)
	}
	if opts.FilerJWTKey != "" {
		sw.FilerJWTKey = opts.FilerJWTKey
		security = append(security, fmt.Sprintf("[jwt.filer_signing]\nkey = %q\n", opts.FilerJWTKey))
	}
	if len(security) > 0 {
		if err := writeSecurityTOML(sw.Dir, security...); err != nil {
			return nil, fmt.Errorf("seaweedfs security.toml: %w", err)
		}
	}

	// Every HTTP port P also serves gRPC on P+10000, so each one is a pair.
	var master, volume, filer, s3port int
	for _, p := range []*int{&master, &volume, &filer, &s3port} {
		if *p, err = freeDistinctPair(sw.ports); err != nil {
			return nil, err
		}
		sw.ports = append(sw.ports, *p)
	}
	sw.Endpoint = "http://127.0.0.1:" + strconv.Itoa(s3port)

	sw.args = []string{
		"server",
		"-dir=" + dataDir,
		"-ip=127.0.0.1",
		"-ip.bind=127.0.0.1",
		"-master.peers=none",
		"-master.port=" + strconv.Itoa(master),
		"-master.port.grpc=" + strconv.Itoa(master+10000),
		"-master.volumeSizeLimitMB=64",
		"-master.telemetry=false",
		"-volume.port=" + strconv.Itoa(volume),
		"-volume.port.grpc=" + strconv.Itoa(volume+10000),
		// Each bucket is its own collection; many small volumes keep many
		// buckets writable.
		"-volume.max=200",
		"-volume.preStopSeconds=0",
		"-filer",
		"-filer.port=" + strconv.Itoa(filer),
		"-filer.port.grpc=" + strconv.Itoa(filer+10000),
		"-filer.localSocket=" + filepath.Join(sw.Dir, "filer.sock"),
		"-s3",
		"-s3.port=" + strconv.Itoa(s3port),
		"-s3.port.grpc=" + strconv.Itoa(s3port+10000),
		"-s3.localSocket=" + filepath.Join(sw.Dir, "s3.sock"),
		// The Iceberg catalog would take another port (default 8181).
		"-s3.port.iceberg=0",
		"-s3.iam=true",
		// IAM writes are off by default in SeaweedFS 4.x.
		"-s3.iam.readOnly=" + strconv.FormatBool(opts.IAMReadOnly),
		"-s3.allowDeleteBucketNotEmpty=" + strconv.FormatBool(!opts.RefuseNonEmptyBucketDelete),
		// Components that would open more ports stay off explicitly.
		"-iam=false", "-webdav=false", "-sftp=false", "-mq.broker=false", "-mq.agent=false",
	}
	sw.args = append(sw.args, opts.ExtraArgs...)
	sw.env = []string{
		// SeaweedFS reads master.toml/security.toml from $HOME/.seaweedfs; an
		// empty home keeps the machine's files out of the test server.
		"HOME=" + sw.Dir,
		// The master pre-grows 7 volumes per new collection by default, which
		// would exhaust the volume slots after a few buckets.
		"WEED_MASTER_VOLUME_GROWTH_COPY_1=1",
	}
	if sw.open {
		// An empty value overrides one inherited from the test's environment.
		sw.env = append(sw.env, "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=")
	} else {
		sw.env = append(sw.env, "AWS_ACCESS_KEY_ID="+sw.AccessKey, "AWS_SECRET_ACCESS_KEY="+sw.SecretKey)
	}

	if err := sw.start(ctx); err != nil {
		sw.Stop()
		return nil, err
	}
	return sw, nil
}

func (sw *Seaweed) start(ctx context.Context) error {
	began := time.Now()
	p, err := StartProcess("seaweedfs", sw.bin, sw.args, sw.env, sw.Dir)
	if err != nil {
		return err
	}
	sw.mu.Lock()
	sw.proc = p
	sw.mu.Unlock()
	if err := WaitFor(ctx, p, sw.timeout, sw.ready); err != nil {
		return fmt.Errorf("seaweedfs: %w", err)
	}
	sw.StartDuration = time.Since(began)
	return nil
}

// ready succeeds when an authenticated ListBuckets works and an anonymous
// request is refused: with no identity loaded SeaweedFS S3 is open to
// anyone, so "answers" alone is not "ready". A server started without
// identities on purpose is ready when an anonymous request succeeds.
func (sw *Seaweed) ready(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if !sw.open {
		client := sw.S3Client(func(o *s3.Options) { o.RetryMaxAttempts = 1 })
		if _, err := client.ListBuckets(cctx, &s3.ListBucketsInput{}); err != nil {
			return fmt.Errorf("authenticated ListBuckets: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, sw.Endpoint+"/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("anonymous request: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	want := http.StatusForbidden
	if sw.open {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return fmt.Errorf("anonymous ListBuckets answered %d, want %d", resp.StatusCode, want)
	}
	return nil
}

// FilerGRPCAddress is the filer's gRPC address (host:port), which also
// serves SeaweedFS's IAM gRPC service; FilerURL is its HTTP endpoint.
func (sw *Seaweed) FilerGRPCAddress() string { return "127.0.0.1:" + strconv.Itoa(sw.ports[2]+10000) }

// FilerURL is the filer's HTTP endpoint, http://127.0.0.1:<port>.
func (sw *Seaweed) FilerURL() string { return "http://127.0.0.1:" + strconv.Itoa(sw.ports[2]) }

// Restart kills SeaweedFS with SIGKILL, as a crash would, and starts it again
// with the same flags, environment and data directory, so all state survives.
func (sw *Seaweed) Restart(ctx context.Context) error {
	sw.Kill()
	return sw.start(ctx)
}

// Kill ends SeaweedFS with SIGKILL and leaves it down, keeping its data
// directory: an outage. Restart brings it back with all state.
func (sw *Seaweed) Kill() {
	sw.mu.Lock()
	p := sw.proc
	sw.mu.Unlock()
	if p != nil {
		p.Kill()
	}
	sw.removeGrpcSockets()
}

// Stop ends SeaweedFS at once and removes its directory if StartSeaweed
// created it. SIGKILL is used because SIGTERM takes seconds and the state is
// thrown away anyway. Safe to call more than once.
func (sw *Seaweed) Stop() {
	sw.Kill()
	sw.mu.Lock()
	p := sw.proc
	first := sw.keptLog == nil
	sw.mu.Unlock()
	if sw.ownDir && sw.Dir != "" && first {
		if p != nil {
			var b bytes.Buffer
			p.DumpLog(&b, logTail)
			sw.mu.Lock()
			sw.keptLog = b.Bytes()
			sw.mu.Unlock()
		}
		_ = os.RemoveAll(sw.Dir)
	}
}

const logTail = 64 << 10

// removeGrpcSockets removes the unix sockets `weed server` creates in /tmp
// for its own gRPC ports (the path is not configurable); SIGKILL leaves them
// behind. Only sockets named after this stack's ports are touched.
func (sw *Seaweed) removeGrpcSockets() {
	for i, name := range []string{"master", "volume", "filer", "s3"} {
		if i >= len(sw.ports) {
			return
		}
		path := fmt.Sprintf("/tmp/seaweedfs-%s-grpc-%d.sock", name, sw.ports[i]+10000)
		if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(path)
		}
	}
}

// DumpLogs writes the tail of the SeaweedFS log to w.
func (sw *Seaweed) DumpLogs(w io.Writer) {
	sw.mu.Lock()
	p, kept := sw.proc, sw.keptLog
	sw.mu.Unlock()
	switch {
	case kept != nil:
		_, _ = w.Write(kept)
	case p == nil:
		fmt.Fprintln(w, "--- seaweedfs: not started ---")
	default:
		p.DumpLog(w, logTail)
	}
}

// PID returns the process id of the running server, for crash tests.
func (sw *Seaweed) PID() int {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.proc == nil {
		return 0
	}
	return sw.proc.PID()
}

const (
	upperDigits      = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	upperLowerDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// randomString returns n characters drawn uniformly from alphabet using
// crypto/rand.
func randomString(n int, alphabet string) string {
	// Rejection sampling keeps the distribution uniform.
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 64)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err))
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}
