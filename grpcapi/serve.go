package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"
)

// SocketPath turns a COSI_ENDPOINT such as unix:///var/lib/cosi/cosi.sock into
// a file path. Only unix sockets are served: the sidecar shares the pod.
func SocketPath(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("parse endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "unix" {
		return "", fmt.Errorf("endpoint %q: only unix:// endpoints are supported", endpoint)
	}
	p := u.Path
	if u.Host != "" { // unix://relative/path
		p = filepath.Join(u.Host, u.Path)
	}
	if p == "" {
		return "", fmt.Errorf("endpoint %q has no socket path", endpoint)
	}
	return p, nil
}

// Listen opens the unix socket. A socket file left by an earlier run is
// removed first (a crashed driver would otherwise crash-loop on "address
// already in use"), but only if it really is a socket: any other file at that
// path is an error, never deleted. The socket is made 0660.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create socket directory: %w", err)
	}
	fi, err := os.Lstat(path)
	switch {
	case err == nil && fi.Mode()&fs.ModeSocket != 0:
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
		}
	case err == nil:
		return nil, fmt.Errorf("%s exists and is not a socket; refusing to replace it", path)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	return l, nil
}

// NewGRPCServer registers the services with panic recovery and call logging.
// observe are interceptors that see every call first (metrics).
func NewGRPCServer(srv *Server, id *Identity, log logr.Logger, observe ...grpc.UnaryServerInterceptor) *grpc.Server {
	chain := slices.Concat(observe, []grpc.UnaryServerInterceptor{logCalls(log), recoverPanics(log), boundCalls(srv.cfg.WaitTimeout + callSlack)})
	g := grpc.NewServer(grpc.ChainUnaryInterceptor(chain...))
	cosi.RegisterIdentityServer(g, id)
	cosi.RegisterProvisionerServer(g, srv)
	return g
}

// Serve runs g on l until ctx ends, then stops gracefully; calls still running
// after grace are cut off.
func Serve(ctx context.Context, g *grpc.Server, l net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- g.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("grpc serve: %w", err)
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(grace):
		g.Stop()
	}
	return nil
}

// callSlack is what a call may take beyond its wait for convergence: the
// record reads and writes before and after it.
const callSlack = 10 * time.Second

// boundCalls puts a deadline on every call. The sidecar sets none, and a
// stalled API server must not hold one of its workers forever; a call cut off
// answers UNAVAILABLE and is retried.
func boundCalls(d time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return h(ctx, req)
	}
}

// logHandlerPanicked is the message of a panic's log line, which the
// answer points to.
const logHandlerPanicked = "handler panicked"

// recoverPanics turns a panic in a handler into INTERNAL instead of a crash:
// the sidecar retries forever, and one bad request must not take the driver
// down for every other bucket. The request itself is not logged.
func recoverPanics(log logr.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				id := errorID()
				log.Error(fmt.Errorf("panic: %v", r), logHandlerPanicked, "method", info.FullMethod, "errorID", id, "stack", string(debug.Stack()))
				err = status.Errorf(codes.Internal, "internal error; see the driver log: line %q with errorID %s", logHandlerPanicked, id)
			}
		}()
		return h(ctx, req)
	}
}

// logCalls writes one line per call: method, the request's names (never its
// parameters or any response — a grant's response holds the secret key),
// code and duration.
func logCalls(log logr.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := h(ctx, req)
		kv := append([]any{"method", info.FullMethod, "code", status.Code(err).String(), "duration", time.Since(start).Round(time.Microsecond)}, requestNames(req)...)
		if err != nil {
			kv = append(kv, "message", status.Convert(err).Message())
		}
		log.Info("grpc call", kv...)
		return resp, err
	}
}

func requestNames(req any) []any {
	switch r := req.(type) {
	case *cosi.DriverCreateBucketRequest:
		return []any{"name", r.GetName()}
	case *cosi.DriverDeleteBucketRequest:
		return []any{"bucketID", r.GetBucketId()}
	case *cosi.DriverGrantBucketAccessRequest:
		return []any{"bucketID", r.GetBucketId(), "name", r.GetName()}
	case *cosi.DriverRevokeBucketAccessRequest:
		return []any{"bucketID", r.GetBucketId(), "accountID", r.GetAccountId()}
	}
	return nil
}
