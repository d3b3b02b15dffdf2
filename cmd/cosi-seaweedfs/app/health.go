package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/health"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/metrics"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/reconcile"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// Names of the checks the driver itself registers.
const (
	// CheckInformers: the record caches the handlers wait on have synced.
	CheckInformers = "informers"
	// CheckSeaweedFS: SeaweedFS answers the admin identity and refuses
	// anonymous requests.
	CheckSeaweedFS = "seaweedfs"
	// CheckGRPC: the driver answers DriverGetInfo on its own socket.
	CheckGRPC = "grpc"
	// CheckAnonymousAccess: the leader's last resync found the driver's
	// buckets closed to unsigned requests (reported by the reconciler).
	CheckAnonymousAccess = "anonymousAccess"
)

// probeTimeout bounds each check of one probe request: below the chart's
// probe timeout (5 s), so that a slow check is reported as failing by name
// rather than the whole probe timing out.
const probeTimeout = 4 * time.Second

// readinessProbeUser is a user name the SeaweedFS check looks up. It carries
// the driver's prefix (so the admin client accepts it) but is no access's
// user name (those are the prefix and 32 hex digits), so it never exists
// and the lookup is one cheap authenticated read.
const readinessProbeUser = "readiness-probe"

// readinessProbeBucket is a bucket name the SeaweedFS check looks up with
// the admin key: one cheap signed read, whether or not the bucket exists.
// No record names it (record buckets are named by the COSI controller, with
// a UID), so the driver never creates or changes it.
const readinessProbeBucket = "cosi-readiness-probe"

// addChecks registers the driver's readiness checks (informers synced,
// SeaweedFS usable with the admin credentials and closed to anonymous
// requests, gRPC socket serving) and its liveness check (gRPC serving: a
// restart fixes a wedged server or a removed socket; SeaweedFS being down
// does not, so it is not a liveness check). It returns a function that
// releases the probe's gRPC connection.
func addChecks(ready, live *health.Checks, cfg Config, sockPath string, admin s3admin.Admin, inf reconcile.Informers, leading func() bool) (func(), error) {
	ready.Add(CheckInformers, func(context.Context) error {
		if !inf.Buckets.HasSynced() || !inf.Accesses.HasSynced() {
			return errors.New("record caches have not synced")
		}
		return nil
	})
	ready.Add(CheckSeaweedFS, func(ctx context.Context) error {
		if err := admin.CheckAnonymousDenied(ctx); err != nil {
			return err
		}
		if _, err := admin.ObserveUser(ctx, cfg.UserPrefix+readinessProbeUser); err != nil {
			return fmt.Errorf("admin credentials: %w", err)
		}
		// On the filer path the user lookup goes through the filer's IAM
		// gRPC service, which never sees the admin key; every bucket call
		// is still signed with it, so one signed S3 read proves it.
		if _, err := admin.ObserveBucket(ctx, readinessProbeBucket, s3admin.Ownership{}); err != nil {
			return fmt.Errorf("admin credentials: %w", err)
		}
		// SeaweedFS serves its IAM API read-only by default: every check
		// above passes, and only the first grant would fail. The error
		// names the setting. Only the leader writes users (the handlers
		// never call SeaweedFS), and a standby makes no call that is not
		// a read, so only the leader checks.
		if leading() {
			if err := admin.CheckUserWrites(ctx); err != nil {
				return fmt.Errorf("user writes: %w", err)
			}
		}
		return nil
	})
	conn, err := grpc.NewClient("unix://"+sockPath, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("probe client for %s: %w", sockPath, err)
	}
	grpcCheck := func(ctx context.Context) error {
		if _, err := cosi.NewIdentityClient(conn).DriverGetInfo(ctx, &cosi.DriverGetInfoRequest{}); err != nil {
			return fmt.Errorf("DriverGetInfo on %s: %w", sockPath, err)
		}
		return nil
	}
	ready.Add(CheckGRPC, grpcCheck)
	live.Add(CheckGRPC, grpcCheck)
	return func() { conn.Close() }, nil
}

// httpMuxes maps each configured address to what it serves: /metrics on
// --metrics-address, the probes on --health-address (both on one listener
// when the addresses are equal).
func httpMuxes(cfg Config, m *metrics.Metrics, ready, live *health.Checks) map[string]*http.ServeMux {
	muxes := map[string]*http.ServeMux{}
	mux := func(addr string) *http.ServeMux {
		if muxes[addr] == nil {
			muxes[addr] = http.NewServeMux()
		}
		return muxes[addr]
	}
	if cfg.MetricsAddr != "" {
		mux(cfg.MetricsAddr).Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	}
	if cfg.HealthAddr != "" {
		mx := mux(cfg.HealthAddr)
		mx.Handle("/readyz", ready.Handler("/readyz"))
		mx.Handle("/readyz/", ready.Handler("/readyz"))
		mx.Handle("/healthz", live.Handler("/healthz"))
		mx.Handle("/healthz/", live.Handler("/healthz"))
	}
	return muxes
}

func serveHTTP(ctx context.Context, addr string, handler http.Handler) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Shutdown(sctx)
	}()
	if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server on %s: %w", addr, err)
	}
	return nil
}
