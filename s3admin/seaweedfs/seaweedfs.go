package seaweedfs

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	"google.golang.org/grpc"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/calls"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/engine"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/fileriam"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/iamapi"
)

// Config configures the SeaweedFS client.
type Config struct {
	// Endpoint of the S3 gateway, which also serves the IAM API, e.g.
	// http://seaweedfs-s3:8333.
	Endpoint string
	// Region used to sign requests; default us-east-1.
	Region string
	// AccessKeyID and SecretAccessKey of an admin identity.
	AccessKeyID     string
	SecretAccessKey string
	// UserPrefix is the reserved name prefix of users the driver owns;
	// default names.DefaultUserPrefix.
	UserPrefix string
	// CallTimeout bounds every single backend call; default 10 s. An IAM
	// write in SeaweedFS rewrites every identity, so it grows with the number
	// of users.
	CallTimeout time.Duration
	// KeyWait bounds how long EnsureAccess waits, after a write, for the S3
	// gateway to accept the access's key before it returns ErrKeyPending;
	// default 2 s.
	KeyWait time.Duration
	// MaxAttempts per backend call, including SDK retries of transient
	// errors; default 3.
	MaxAttempts int
	// HTTPClient is optional.
	HTTPClient *http.Client
	// Credentials, when set, supplies the admin credentials in place of
	// AccessKeyID and SecretAccessKey (still required, as the values the
	// driver started with). A provider that re-reads mounted files
	// lets a rotated admin Secret take effect without a restart.
	Credentials aws.CredentialsProvider
	// APIOptions are added to every S3 and IAM call's middleware stack
	// (metrics).
	APIOptions []func(*middleware.Stack) error
	// FilerGRPCAddress, when set (host:port of the filer's gRPC port), moves
	// users, keys and grants to the filer's IAM gRPC service (see
	// filerusers.go): one write per change instead of a rewrite of every
	// identity, and one listing for all users. Empty: the IAM query API.
	FilerGRPCAddress string
	// FilerTLS is the client's TLS configuration for the filer (its client
	// certificate and the CA that signed the filer's); nil is plaintext.
	FilerTLS *tls.Config
	// FilerJWT, when set, adds a token signed with the filer's
	// jwt.filer_signing.key to every filer call (see filerjwt.go), over
	// plaintext or together with FilerTLS.
	FilerJWT *filergrpc.JWT
	// FilerDialOptions are added to the filer connection (metrics).
	FilerDialOptions []grpc.DialOption
}

// SeaweedFS implements Admin against a SeaweedFS S3 gateway (4.34 or newer;
// see the package README) using the S3 API for buckets and the IAM API that
// the gateway serves on the same port for users.
//
// The server must run with IAM writes enabled — -s3.iam.readOnly=false for
// `weed server` and `weed filer -s3`, -iam.readOnly=false for `weed s3`:
// SeaweedFS 4.x refuses every IAM write by default, and this client reports
// such a refusal as ErrAccessDenied naming the flag.
type SeaweedFS struct {
	cfg  Config
	s3   *s3.Client
	iam  *iam.Client
	http *http.Client

	*calls.Calls
	// users and buckets serialize observe-then-write per object so that two
	// reconciles of the same object cannot act on each other's stale reads.
	users   engine.KeyedMutex
	buckets engine.KeyedMutex

	// filer is the filer's IAM gRPC service; nil: users go through the IAM
	// query API.
	filer *filergrpc.Client
	// ic is the IAM query API path; fc, when there is a filer, the filer
	// IAM gRPC path (which still reaches inline policies and groups through
	// ic).
	ic *iamapi.Client
	fc *fileriam.Client
	// filerConf serializes this client's read-modify-writes of the filer
	// configuration file (see placement.go).
	filerConf *engine.CtxRWMutex

	// leftovers are the objects of the anonymous check's unsigned writes
	// whose delete failed (see probeAnonymousWrite).
	leftovers probeLeftovers
}

var _ s3admin.Admin = (*SeaweedFS)(nil)

// NewSeaweedFS returns a client for cfg. It makes no request.
func NewSeaweedFS(cfg Config) (*SeaweedFS, error) {
	if cfg.Endpoint == "" || cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		return nil, fmt.Errorf("%w: endpoint and admin credentials are required", s3admin.ErrInvalid)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.UserPrefix == "" {
		cfg.UserPrefix = names.DefaultUserPrefix
	}
	if !s3admin.UserNamePattern.MatchString(cfg.UserPrefix + "x") {
		return nil, fmt.Errorf("%w: user prefix %q has characters IAM user names cannot hold", s3admin.ErrInvalid, cfg.UserPrefix)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 10 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.KeyWait <= 0 {
		cfg.KeyWait = 2 * time.Second
	}
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	var creds aws.CredentialsProvider = credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")
	var s3Signer s3.HTTPSignerV4
	var iamSigner iam.HTTPSignerV4
	if cfg.Credentials != nil {
		creds = cfg.Credentials
		// Options as the SDK's default signers have them.
		s3Signer = newRotatingSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		iamSigner = newRotatingSigner(nil)
	}
	// The reconciler has its own backoff; the SDK's client-side retry quota
	// would turn an outage into "retry quota exceeded" errors that say less.
	retryer := func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = cfg.MaxAttempts
			o.RateLimiter = ratelimit.None
		})
	}
	var fl *filergrpc.Client
	if cfg.FilerGRPCAddress != "" {
		var err error
		if fl, err = filergrpc.Dial(cfg.FilerGRPCAddress, cfg.FilerTLS, cfg.filerDialOptions()...); err != nil {
			return nil, err
		}
	}
	c := &SeaweedFS{
		filer: fl,
		cfg:   cfg,
		s3: s3.New(s3.Options{
			Region:       cfg.Region,
			BaseEndpoint: aws.String(cfg.Endpoint),
			UsePathStyle: true,
			Credentials:  creds,
			HTTPSignerV4: s3Signer,
			HTTPClient:   httpClient,
			Retryer:      retryer(),
			APIOptions:   slices.Clip(cfg.APIOptions),
			// SeaweedFS does not implement every checksum newer SDKs add by
			// default; send and check them only where the operation needs one.
			RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
			ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		}),
		iam: iam.New(iam.Options{
			Region:       cfg.Region,
			BaseEndpoint: aws.String(cfg.Endpoint),
			Credentials:  creds,
			HTTPSignerV4: iamSigner,
			HTTPClient:   httpClient,
			Retryer:      retryer(),
			APIOptions:   slices.Clip(cfg.APIOptions),
		}),
		http:      httpClient,
		filerConf: engine.NewCtxRWMutex(),
		Calls:     &calls.Calls{Timeout: cfg.CallTimeout, IAMWrite: engine.NewCtxRWMutex()},
	}
	c.ic = &iamapi.Client{Calls: c.Calls, IAM: c.iam, S3: c.s3}
	if fl != nil {
		c.fc = &fileriam.Client{Client: c.ic, Filer: fl}
		c.fc.Reads = fileriam.NewReads(c.fc)
	}
	return c, nil
}

// Close releases the connection to the filer, if any.
func (c *SeaweedFS) Close() error {
	if c.filer != nil {
		return c.filer.Close()
	}
	return nil
}

// Writes returns how many mutating backend calls this client has made, for
// tests and metrics.
func (c *SeaweedFS) Writes() int64 { return c.WriteCount.Load() }

// UserPrefix returns the reserved name prefix of owned users.
func (c *SeaweedFS) UserPrefix() string { return c.cfg.UserPrefix }

// CheckAnonymousDenied implements Admin: an unsigned ListBuckets must be
// refused. SeaweedFS with no identity configured serves everyone.
func (c *SeaweedFS) CheckAnonymousDenied(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.cfg.Endpoint, "/")+"/", nil)
	if err != nil {
		return fmt.Errorf("%w: endpoint %q: %w", s3admin.ErrInvalid, c.cfg.Endpoint, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return s3admin.NewError("anonymous ListBuckets", s3admin.ErrTransient, "%w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
		return nil
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return s3admin.NewError("anonymous ListBuckets", s3admin.ErrAnonymousAllowed,
			"the S3 endpoint answered an unsigned request with %d: configure at least one identity", resp.StatusCode)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return s3admin.NewError("anonymous ListBuckets", s3admin.ErrTransient, "status %d", resp.StatusCode)
	default:
		return s3admin.NewError("anonymous ListBuckets", nil, "unexpected status %d", resp.StatusCode)
	}
}
