// Package app wires the driver together: configuration, the Kubernetes
// client and informers, the SeaweedFS admin client, the reconciler (under
// leader election) and the gRPC server.
package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/grpcapi"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/reconcile"
)

// Config is the driver's whole configuration, validated by ParseFlags.
type Config struct {
	DriverName  string
	Endpoint    string // COSI_ENDPOINT
	Namespace   string // where records and the leader Lease live
	Kubeconfig  string // empty: in-cluster
	S3Endpoint  string // SeaweedFS S3/IAM endpoint the driver administers
	S3Region    string
	AccessKey   string // admin identity; never logged
	SecretKey   string
	PublicURL   string // endpoint handed to consumers
	PublicRegn  string // region handed to consumers
	UserPrefix  string
	OwnerID     string // bucket ownership marker value
	MetricsAddr string
	HealthAddr  string // /healthz and /readyz; empty: off
	// AccessKeyFile and SecretKeyFile, when set, are re-read while the
	// driver runs, so that a rotated admin Secret takes effect.
	AccessKeyFile string
	SecretKeyFile string
	// LeaderIdentity names this replica in the leader Lease; empty: the host
	// name and a random suffix.
	LeaderIdentity string
	// FilerGRPCAddress, when set, moves users, keys and grants to the
	// filer's IAM gRPC service; empty: the IAM query API.
	FilerGRPCAddress string
	// The client's certificate, key and the CA of the filer's certificate
	// for mutual TLS; FilerServerName overrides the name checked in the
	// filer's certificate.
	FilerCertFile, FilerKeyFile, FilerCAFile, FilerServerName string
	// FilerJWTKeyFile holds the filer's jwt.filer_signing.key: every filer
	// call carries a token signed with it. Read again while the driver runs,
	// so that a rotated Secret takes effect.
	FilerJWTKeyFile string
	// AllowInsecureFiler lets the driver use a filer without mutual TLS:
	// one that answers its IAM service in plaintext without any token, or
	// one that requires a token there but, like every filer without mutual
	// TLS, takes plaintext writes to its filer service from anyone.
	AllowInsecureFiler bool
	// ImportBuckets are the names and globs of the buckets the driver did
	// not create that accesses may be granted on; empty allows none.
	ImportBuckets []string

	BackendTimeout time.Duration
	WaitTimeout    time.Duration
	// KeyAcceptWait bounds how long a reconcile that wrote an access waits
	// for the S3 gateway to accept its key; KeyPollInterval is how often
	// the key is asked about afterwards.
	KeyAcceptWait   time.Duration
	KeyPollInterval time.Duration
	ResyncPeriod    time.Duration
	// ResyncUsers is how many users a resync pass reads in full on the IAM
	// query API path (see reconcile.ControllerConfig.ResyncUsers).
	ResyncUsers int
	GracePeriod time.Duration
	Workers     int
	// KubeQPS and KubeBurst limit the driver's requests to the Kubernetes
	// API (client-side).
	KubeQPS     float32
	KubeBurst   int
	LeaderElect bool
	// CollectRevoked: revoke accesses whose BucketAccess is gone (needs
	// cluster-wide list on bucketaccesses.objectstorage.k8s.io).
	CollectRevoked bool
	LeaseDuration  time.Duration
	Verbosity      int
	// ShowVersion: print the version and exit; nothing else is validated.
	ShowVersion bool
	// Command is CheckCommand when the first argument asks to check
	// SeaweedFS and exit (Check) rather than run the driver; empty: run.
	Command string
}

// ParseFlags reads flags, falling back to environment variables for the
// settings a Pod spec usually passes that way. A bad configuration is an
// error that says what to fix.
func ParseFlags(args []string, getenv func(string) string) (Config, error) {
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	var c Config
	if len(args) > 0 && args[0] == CheckCommand {
		c.Command, args = CheckCommand, args[1:]
	}
	var accessKeyFile, secretKeyFile string
	fs := flag.NewFlagSet("cosi-seaweedfs", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.DriverName, "driver-name", env("DRIVER_NAME", "cosi-seaweedfs.io"), "driver name; BucketClasses name it in driverName")
	fs.StringVar(&c.Endpoint, "cosi-endpoint", env("COSI_ENDPOINT", "unix:///var/lib/cosi/cosi.sock"), "unix socket shared with the COSI sidecar")
	fs.StringVar(&c.Namespace, "namespace", env("POD_NAMESPACE", ""), "namespace of the driver's records and leader Lease")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", env("KUBECONFIG", ""), "kubeconfig for running outside a cluster; empty: in-cluster config")
	fs.StringVar(&c.S3Endpoint, "s3-endpoint", env("SEAWEEDFS_S3_ENDPOINT", ""), "SeaweedFS S3 endpoint (IAM API on the same port), e.g. http://seaweedfs-s3:8333")
	fs.StringVar(&c.S3Region, "s3-region", env("SEAWEEDFS_S3_REGION", "us-east-1"), "region used to sign requests to SeaweedFS")
	fs.StringVar(&accessKeyFile, "admin-access-key-file", env("SEAWEEDFS_ACCESS_KEY_FILE", ""), "file holding the SeaweedFS admin access key id (or env SEAWEEDFS_ACCESS_KEY_ID)")
	fs.StringVar(&secretKeyFile, "admin-secret-key-file", env("SEAWEEDFS_SECRET_KEY_FILE", ""), "file holding the SeaweedFS admin secret key (or env SEAWEEDFS_SECRET_ACCESS_KEY)")
	fs.StringVar(&c.PublicURL, "public-endpoint", env("PUBLIC_S3_ENDPOINT", ""), "S3 endpoint written into consumers' credentials (default: --s3-endpoint)")
	fs.StringVar(&c.PublicRegn, "public-region", env("PUBLIC_S3_REGION", ""), "region written into consumers' credentials (default: --s3-region)")
	fs.StringVar(&c.UserPrefix, "user-prefix", env("USER_PREFIX", "cosi-"), "name prefix of the SeaweedFS users this driver owns; users without it are never touched")
	fs.StringVar(&c.OwnerID, "owner-id", env("OWNER_ID", ""), "owner id tagged on every bucket this installation creates; unique per installation sharing a SeaweedFS (default: ns-<UID of --namespace>)")
	fs.StringVar(&c.MetricsAddr, "metrics-address", env("METRICS_ADDRESS", ""), "address for /metrics, e.g. :8080; empty: off")
	fs.StringVar(&c.HealthAddr, "health-address", env("HEALTH_ADDRESS", ""), "address for the /healthz (liveness) and /readyz (readiness) probes, e.g. :8081; empty: off")
	fs.StringVar(&c.LeaderIdentity, "leader-identity", env("POD_NAME", ""), "this replica's name in the leader Lease; keep it stable across restarts of one pod (the pod name) so a restarted driver takes its Lease back at once; empty: host name and a random suffix")
	fs.StringVar(&c.FilerGRPCAddress, "filer-grpc-address", env("SEAWEEDFS_FILER_GRPC_ADDRESS", ""), "host:port of the SeaweedFS filer's gRPC port: users, keys and grants go through its IAM gRPC service (one write per grant, one listing for all users); empty: the IAM query API of the S3 endpoint")
	fs.StringVar(&c.FilerCertFile, "filer-tls-cert-file", env("SEAWEEDFS_FILER_TLS_CERT_FILE", ""), "client certificate (PEM) for the filer's mutual TLS, signed by the CA of security.toml [grpc] ca")
	fs.StringVar(&c.FilerKeyFile, "filer-tls-key-file", env("SEAWEEDFS_FILER_TLS_KEY_FILE", ""), "key (PEM) of --filer-tls-cert-file")
	fs.StringVar(&c.FilerCAFile, "filer-tls-ca-file", env("SEAWEEDFS_FILER_TLS_CA_FILE", ""), "CA certificate (PEM) that signed the filer's certificate")
	fs.StringVar(&c.FilerServerName, "filer-tls-server-name", env("SEAWEEDFS_FILER_TLS_SERVER_NAME", ""), "name the filer's certificate must carry (default: the host of --filer-grpc-address)")
	fs.StringVar(&c.FilerJWTKeyFile, "filer-jwt-signing-key-file", env("SEAWEEDFS_FILER_JWT_SIGNING_KEY_FILE", ""), "file holding the filer's security.toml [jwt.filer_signing] key: every filer call carries a short-lived token signed with it (over plaintext or with --filer-tls-*); read again every 10s")
	fs.BoolVar(&c.AllowInsecureFiler, "allow-insecure-filer", false, "use a filer without mutual TLS, with or without a token signing key: anyone reaching its gRPC port can change every identity (the filer service there takes plaintext writes; a token guards only the IAM service)")
	var importBuckets string
	fs.StringVar(&importBuckets, "import-buckets", env("IMPORT_BUCKETS", ""), "comma-separated names or globs (path.Match: * ? [a-z]) of existing buckets this driver did not create that accesses may be granted on (a Bucket with existingBucketID); such buckets are never deleted, purged, fenced, tagged or given a quota; empty: none")
	fs.DurationVar(&c.BackendTimeout, "backend-timeout", 10*time.Second, "bound on every single SeaweedFS call")
	fs.DurationVar(&c.WaitTimeout, "wait-timeout", 20*time.Second, "how long a gRPC call waits for convergence before answering UNAVAILABLE")
	fs.DurationVar(&c.KeyAcceptWait, "key-accept-wait", time.Second, "how long a reconcile that wrote an access waits for SeaweedFS's S3 gateway to accept the new key before it hands the access to polling")
	fs.DurationVar(&c.KeyPollInterval, "key-poll-interval", 200*time.Millisecond, "how often a key SeaweedFS's S3 gateway does not accept yet is asked about again (one signed request each time)")
	fs.DurationVar(&c.ResyncPeriod, "resync-period", time.Minute, "how often SeaweedFS is listed to repair drift and collect garbage")
	fs.IntVar(&c.ResyncUsers, "resync-users", reconcile.DefaultResyncUsers, "how many users a resync pass reads in full on the IAM query API path (about six IAM calls each; the filer path reads every user in three calls): every user is read within ceil(users / this) passes; users missing from SeaweedFS or without a record are found every pass")
	fs.DurationVar(&c.GracePeriod, "grace-period", 10*time.Second, "how long running gRPC calls may finish on shutdown")
	fs.IntVar(&c.Workers, "workers", 4, "concurrent reconciles")
	var qps float64
	fs.Float64Var(&qps, "kube-api-qps", 200, "sustained requests per second to the Kubernetes API (client-side limit; each grant or revoke costs about five)")
	fs.IntVar(&c.KubeBurst, "kube-api-burst", 400, "requests to the Kubernetes API allowed at once above --kube-api-qps")
	fs.BoolVar(&c.LeaderElect, "leader-elect", true, "elect one reconciling replica with a Lease")
	fs.BoolVar(&c.CollectRevoked, "collect-deleted-bucketaccesses", true, "revoke accesses whose BucketAccess no longer exists (the COSI sidecar v0.1.0 never calls Revoke); needs cluster-wide list on bucketaccesses")
	fs.DurationVar(&c.LeaseDuration, "lease-duration", 15*time.Second, "leader Lease duration")
	fs.IntVar(&c.Verbosity, "v", 0, "log verbosity: 0 changes and errors, 1 also each reconcile's applied steps, 2 and more also client-go's detail")
	fs.BoolVar(&c.ShowVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, &HelpError{Text: usage(fs)}
		}
		return c, fmt.Errorf("%w (flags: %s)", err, flagNames(fs))
	}
	c.KubeQPS = float32(qps)
	for _, p := range strings.Split(importBuckets, ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.ImportBuckets = append(c.ImportBuckets, p)
		}
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if c.ShowVersion {
		return c, nil
	}

	c.AccessKeyFile, c.SecretKeyFile = accessKeyFile, secretKeyFile
	var err error
	if c.AccessKey, err = secretValue(accessKeyFile, getenv("SEAWEEDFS_ACCESS_KEY_ID"), "admin access key"); err != nil {
		return c, err
	}
	if c.SecretKey, err = secretValue(secretKeyFile, getenv("SEAWEEDFS_SECRET_ACCESS_KEY"), "admin secret key"); err != nil {
		return c, err
	}
	if c.PublicURL == "" {
		c.PublicURL = c.S3Endpoint
	}
	if c.PublicRegn == "" {
		c.PublicRegn = c.S3Region
	}
	return c, c.validate()
}

var (
	userPrefixRE = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,32}$`)
	ownerIDRE    = regexp.MustCompile(`^[A-Za-z0-9+\-=._:/@]{1,128}$`)
)

func (c Config) validate() error {
	var errs []error
	need := func(v, what string) {
		if v == "" {
			errs = append(errs, errors.New(what+" is required"))
		}
	}
	if c.Command != CheckCommand {
		// The check talks to SeaweedFS only.
		need(c.Namespace, "--namespace (or env POD_NAMESPACE)")
	}
	need(c.S3Endpoint, "--s3-endpoint (or env SEAWEEDFS_S3_ENDPOINT)")
	need(c.AccessKey, "the admin access key (--admin-access-key-file or env SEAWEEDFS_ACCESS_KEY_ID)")
	need(c.SecretKey, "the admin secret key (--admin-secret-key-file or env SEAWEEDFS_SECRET_ACCESS_KEY)")
	need(c.DriverName, "--driver-name")
	if !userPrefixRE.MatchString(c.UserPrefix) {
		// A user is named <prefix><32 hex digits>, and SeaweedFS (like AWS
		// IAM) takes at most 64 characters of this set for a user name.
		errs = append(errs, fmt.Errorf("--user-prefix %q must be 1 to 32 characters of A-Z a-z 0-9 + = , . @ _ -", c.UserPrefix))
	}
	if c.OwnerID != "" && !ownerIDRE.MatchString(c.OwnerID) {
		errs = append(errs, fmt.Errorf("--owner-id %q must be 1 to 128 characters of A-Z a-z 0-9 + - = . _ : / @ (an S3 tag value)", c.OwnerID))
	}
	if c.S3Endpoint != "" && !strings.HasPrefix(c.S3Endpoint, "http://") && !strings.HasPrefix(c.S3Endpoint, "https://") {
		errs = append(errs, fmt.Errorf("--s3-endpoint %q must start with http:// or https://", c.S3Endpoint))
	}
	for name, d := range map[string]time.Duration{"--backend-timeout": c.BackendTimeout, "--wait-timeout": c.WaitTimeout, "--key-accept-wait": c.KeyAcceptWait, "--key-poll-interval": c.KeyPollInterval, "--resync-period": c.ResyncPeriod, "--grace-period": c.GracePeriod, "--lease-duration": c.LeaseDuration} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", name))
		}
	}
	if err := grpcapi.ValidImportPatterns(c.ImportBuckets); err != nil {
		errs = append(errs, err)
	}
	if c.ResyncUsers < 1 {
		errs = append(errs, errors.New("--resync-users must be at least 1"))
	}
	if c.Workers < 1 {
		errs = append(errs, errors.New("--workers must be at least 1"))
	}
	if c.KubeQPS <= 0 || c.KubeBurst < 1 {
		errs = append(errs, errors.New("--kube-api-qps must be positive and --kube-api-burst at least 1"))
	}
	tlsFiles := 0
	for _, f := range []string{c.FilerCertFile, c.FilerKeyFile, c.FilerCAFile} {
		if f != "" {
			tlsFiles++
		}
	}
	switch {
	case c.FilerGRPCAddress == "" && (tlsFiles > 0 || c.FilerServerName != "" || c.FilerJWTKeyFile != "" || c.AllowInsecureFiler):
		errs = append(errs, errors.New("--filer-tls-*, --filer-jwt-signing-key-file and --allow-insecure-filer need --filer-grpc-address"))
	case tlsFiles != 0 && tlsFiles != 3:
		errs = append(errs, errors.New("--filer-tls-cert-file, --filer-tls-key-file and --filer-tls-ca-file go together"))
	case c.FilerGRPCAddress != "" && tlsFiles == 0 && !c.AllowInsecureFiler:
		// A filer this client reaches in plaintext serves its filer gRPC
		// service in plaintext to everyone, and that service writes the
		// identity files under /etc/iam without asking for a token: never
		// used unsecured by accident, a token signing key or not.
		errs = append(errs, errors.New("--filer-grpc-address needs mutual TLS (--filer-tls-cert-file, --filer-tls-key-file, --filer-tls-ca-file) "+
			"or --allow-insecure-filer: a token signing key (--filer-jwt-signing-key-file) alone guards only the filer's IAM service, not its filer service, which takes plaintext writes of identity files"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	return nil
}

// secretValue reads a credential from a file (a mounted Secret) or the
// environment. Only the fact that it is missing is ever reported.
func secretValue(file, envValue, what string) (string, error) {
	if file == "" {
		return strings.TrimSpace(envValue), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read %s file: %w", what, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func flagNames(fs *flag.FlagSet) string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, "--"+f.Name) })
	return strings.Join(names, " ")
}

// NewLogger returns a JSON logger: one object per line, constant messages,
// lowerCamelCase keys.
func NewLogger(w io.Writer, verbosity int) logr.Logger {
	return funcr.NewJSON(func(obj string) { fmt.Fprintln(w, obj) }, funcr.Options{
		LogTimestamp: true,
		Verbosity:    verbosity,
	})
}
