package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/grpcapi"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/health"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/metrics"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/objectevents"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/reconcile"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/seaweedfs"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/version"
)

// Run serves the driver until ctx ends. It fails fast, before serving, when
// the Kubernetes API or SeaweedFS cannot be used as configured, or when
// SeaweedFS accepts anonymous requests (its S3 API is open to anyone when it
// has no identities, and every bucket would be public).
func Run(ctx context.Context, cfg Config, log logr.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	routeKlog(log, cfg.Verbosity)

	restCfg, err := restConfig(cfg.Kubeconfig, cfg.KubeQPS, cfg.KubeBurst)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	m := metrics.New()
	admin, err := newAdmin(cfg, m)
	if err != nil {
		return err
	}
	defer admin.Close()
	if err := preflight(ctx, cfg, client, admin); err != nil {
		return err
	}
	if cfg.OwnerID == "" {
		if cfg.OwnerID, err = defaultOwnerID(ctx, cfg, client); err != nil {
			return err
		}
	}
	log.Info("bucket owner id", "ownerID", cfg.OwnerID)

	st := store.New(client, cfg.Namespace)
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(cfg.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = store.LabelManagedBy + "=" + store.ManagedBy
		}))
	inf := reconcile.Informers{
		Buckets:  factory.Core().V1().ConfigMaps().Informer(),
		Accesses: factory.Core().V1().Secrets().Informer(),
	}
	m.RegisterRecords(inf.Buckets.GetStore(), inf.Accesses.GetStore())
	meta, err := metadata.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("kubernetes metadata client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("kubernetes dynamic client: %w", err)
	}
	checks := health.New(probeTimeout, m.SetReadyCheck)
	events := objectevents.New(client, dyn, meta, log.WithName("events"))
	rec := &reconcile.Reconciler{Store: st, Admin: admin, Cfg: reconcile.Config{
		UserPrefix:      cfg.UserPrefix,
		OwnerID:         cfg.OwnerID,
		BlockedInterval: cfg.ResyncPeriod,
		// Short: each pass removes a bounded number of keys, and other
		// records' reconciles run in between.
		UnfinishedInterval: time.Second,
		KeyPollInterval:    cfg.KeyPollInterval,
		// A gateway that has not taken a key in after a minute is not busy
		// reloading: something is wrong, which a warning Event and backoff
		// say better than polling on.
		KeyPendingPatience: time.Minute,
	}, Observer: &reconcile.Observer{Metrics: m, Notifier: events, Health: checks}}
	ctrlCfg := reconcile.ControllerConfig{
		Workers:      cfg.Workers,
		ResyncPeriod: cfg.ResyncPeriod,
		ResyncUsers:  cfg.ResyncUsers,
		CallTimeout:  cfg.BackendTimeout * 6, // one reconcile makes a handful of backend calls
		Metrics:      m,
		OnAnonymousCheck: func(a reconcile.AnonymousCheck) {
			checks.Set(CheckAnonymousAccess, a.Err())
		},
	}
	if cfg.CollectRevoked {
		ctrlCfg.BucketAccesses = reconcile.MetadataBucketAccesses{Client: meta}
	}
	ctrl, err := reconcile.NewController(rec, inf, ctrlCfg, log.WithName("reconcile"))
	if err != nil {
		return err
	}

	sockPath, err := grpcapi.SocketPath(cfg.Endpoint)
	if err != nil {
		return err
	}
	lis, err := grpcapi.Listen(sockPath)
	if err != nil {
		return err
	}
	srv := grpcapi.NewServer(grpcapi.Config{
		DriverName:   cfg.DriverName,
		Endpoint:     cfg.PublicURL,
		Region:       cfg.PublicRegn,
		UserPrefix:   cfg.UserPrefix,
		WaitTimeout:  cfg.WaitTimeout,
		PollInterval: 50 * time.Millisecond,
		// Quotas and placement are set through the filer only.
		Filer:         cfg.FilerGRPCAddress != "",
		ImportBuckets: cfg.ImportBuckets,
	}, st, inf.Buckets.GetStore(), inf.Accesses.GetStore(),
		func(kind, name string) { ctrl.Enqueue(reconcile.Key{Kind: kind, Name: name}) },
		log.WithName("grpc"))
	g := grpcapi.NewGRPCServer(srv, &grpcapi.Identity{Name: cfg.DriverName, Version: version.Get(), Log: log.WithName("grpc")}, log.WithName("grpc"), m.GRPC.UnaryServerInterceptor())
	m.GRPC.InitializeMetrics(g)
	liveness := health.New(probeTimeout, nil)
	lead := &leadership{}
	closeProbes, err := addChecks(checks, liveness, cfg, sockPath, admin, inf, lead.leading)
	if err != nil {
		return err
	}
	defer closeProbes()

	factory.Start(ctx.Done())
	defer factory.Shutdown()

	var wg sync.WaitGroup
	errc := make(chan error, 5)
	wg.Go(func() { errc <- grpcapi.Serve(ctx, g, lis, cfg.GracePeriod) })
	wg.Go(func() { errc <- reconcileLoop(ctx, cfg, client, ctrl, m, lead, log) })
	wg.Go(func() { errc <- events.Run(ctx) })
	for addr, mux := range httpMuxes(cfg, m, checks, liveness) {
		wg.Go(func() { errc <- serveHTTP(ctx, addr, mux) })
	}
	log.Info("driver started", "version", version.Get(), "driverName", cfg.DriverName, "socket", sockPath, "namespace", cfg.Namespace, "s3Endpoint", cfg.S3Endpoint)

	// The first component to stop (or ctx) stops the rest.
	err = <-errc
	cancel()
	wg.Wait()
	close(errc)
	for e := range errc {
		err = errors.Join(err, e)
	}
	log.Info("driver stopped")
	return err
}

func restConfig(kubeconfig string, qps float32, burst int) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes config (set --kubeconfig when running outside a cluster): %w", err)
	}
	// Every grant and every revoke costs about five requests (the record,
	// its reconcile's reads and its status), all of them through this one
	// client-side limit: at client-go's default of 5 per second, or even
	// 50, a namespace of 200 BucketAccesses waits on the limit far longer
	// than on SeaweedFS. The API server protects itself with priority and
	// fairness; the limit only keeps a runaway loop from flooding it.
	cfg.QPS, cfg.Burst = qps, burst
	return cfg, nil
}

// preflight checks, before serving anything, that the configuration works.
func preflight(ctx context.Context, cfg Config, client kubernetes.Interface, admin *seaweedfs.SeaweedFS) error {
	ctx, cancel := context.WithTimeout(ctx, 3*cfg.BackendTimeout)
	defer cancel()
	if _, err := client.CoreV1().ConfigMaps(cfg.Namespace).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		return fmt.Errorf("cannot list ConfigMaps in namespace %q (check --kubeconfig and the driver's RBAC): %w", cfg.Namespace, err)
	}
	if err := admin.CheckAnonymousDenied(ctx); err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}
	if _, err := admin.ListMarkedBuckets(ctx); err != nil {
		return fmt.Errorf("cannot use SeaweedFS at %s with the admin credentials: %w", cfg.S3Endpoint, err)
	}
	_, err := checkFiler(ctx, cfg, admin)
	return err
}

// checkFiler checks the filer's IAM gRPC service, when configured: that it
// requires mutual TLS (unless allowed not to) and answers this client. It
// returns how the filer is secured.
func checkFiler(ctx context.Context, cfg Config, admin *seaweedfs.SeaweedFS) (filergrpc.Security, error) {
	if cfg.FilerGRPCAddress == "" {
		return filergrpc.SecurityUnknown, nil
	}
	// Whoever reaches an unsecured filer's gRPC port can change every
	// identity, this driver's users included: such a filer is used only
	// when explicitly allowed, whatever this client's own settings.
	sec, err := filergrpc.ProbeSecurity(ctx, cfg.FilerGRPCAddress, cfg.BackendTimeout)
	if err != nil {
		return sec, fmt.Errorf("cannot tell whether the filer at %s requires TLS or a token: %w", cfg.FilerGRPCAddress, err)
	}
	switch {
	case sec == filergrpc.Open && !cfg.AllowInsecureFiler:
		return sec, fmt.Errorf("refusing to start: the filer at %s answers its IAM gRPC service in plaintext without any token, so anyone reaching its port can change every identity; "+
			"secure its gRPC with mutual TLS (security.toml [grpc] ca, [grpc.filer] cert and key; --filer-tls-*), or start with --allow-insecure-filer", cfg.FilerGRPCAddress)
	case sec == filergrpc.RequiresToken && !cfg.AllowInsecureFiler:
		// The token guards the IAM service only: SeaweedFS's filer service
		// on the same port (CreateEntry, UpdateEntry, DeleteEntry, ...)
		// checks no token, and one plaintext write of a file under
		// /etc/iam/identities makes an Admin identity.
		return sec, fmt.Errorf("refusing to start: the filer at %s requires a token on its IAM gRPC service only: its filer gRPC service on the same port takes writes in plaintext without any token, "+
			"so anyone reaching its port can write an identity file under /etc/iam and change every identity; "+
			"secure its gRPC with mutual TLS (security.toml [grpc] ca, [grpc.filer] cert and key; --filer-tls-*), or accept the risk with --allow-insecure-filer", cfg.FilerGRPCAddress)
	case sec == filergrpc.RequiresToken && cfg.FilerJWTKeyFile == "":
		// Said here rather than left to the refusal below, which cannot
		// tell a missing token from a wrong certificate.
		return sec, fmt.Errorf("the filer at %s is %s: start with --filer-jwt-signing-key-file naming a file that holds its security.toml [jwt.filer_signing] key", cfg.FilerGRPCAddress, sec)
	}
	if err := admin.CheckFiler(ctx); err != nil {
		return sec, fmt.Errorf("cannot use the filer's IAM gRPC service at %s (%s): %w", cfg.FilerGRPCAddress, sec, err)
	}
	return sec, nil
}

// newAdmin is the SeaweedFS client of cfg, its calls counted in m (nil: not
// counted).
func newAdmin(cfg Config, m *metrics.Metrics) (*seaweedfs.SeaweedFS, error) {
	adminCfg := seaweedfs.Config{
		Endpoint:        cfg.S3Endpoint,
		Region:          cfg.S3Region,
		AccessKeyID:     cfg.AccessKey,
		SecretAccessKey: cfg.SecretKey,
		UserPrefix:      cfg.UserPrefix,
		CallTimeout:     cfg.BackendTimeout,
		KeyWait:         cfg.KeyAcceptWait,
		APIOptions:      []func(*middleware.Stack) error{m.SeaweedFSAPIOption()},
	}
	if cfg.AccessKeyFile != "" && cfg.SecretKeyFile != "" {
		adminCfg.Credentials = fileCredentials{idFile: cfg.AccessKeyFile, secretFile: cfg.SecretKeyFile, refresh: credentialsRefresh}
	}
	if cfg.FilerGRPCAddress != "" {
		adminCfg.FilerGRPCAddress = cfg.FilerGRPCAddress
		adminCfg.FilerDialOptions = m.FilerGRPCInterceptors()
		var err error
		if cfg.FilerCertFile != "" {
			if adminCfg.FilerTLS, err = filergrpc.TLSConfig(cfg.FilerCertFile, cfg.FilerKeyFile, cfg.FilerCAFile, cfg.FilerServerName); err != nil {
				return nil, err
			}
		}
		if cfg.FilerJWTKeyFile != "" {
			// The key file is re-read as often as the admin key files.
			if adminCfg.FilerJWT, err = filergrpc.NewJWT(cfg.FilerJWTKeyFile, credentialsRefresh); err != nil {
				return nil, err
			}
		}
	}
	admin, err := seaweedfs.NewSeaweedFS(adminCfg)
	if err != nil {
		return nil, fmt.Errorf("seaweedfs client: %w", err)
	}
	return admin, nil
}

// defaultOwnerID derives the owner id from the UID of the driver's
// namespace: unique per installation (two installations sharing a SeaweedFS
// must never take each other's buckets for their own), stable across
// restarts, upgrades and re-installs into the same namespace, and not
// guessable from anything public such as the driver name.
func defaultOwnerID(ctx context.Context, cfg Config, client kubernetes.Interface) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.BackendTimeout)
	defer cancel()
	ns, err := client.CoreV1().Namespaces().Get(ctx, cfg.Namespace, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("cannot read namespace %q to derive the bucket owner id (allow get on it, or set --owner-id): %w", cfg.Namespace, err)
	}
	return "ns-" + string(ns.UID), nil
}
