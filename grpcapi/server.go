// Package grpcapi serves the COSI v1alpha1 Identity and Provisioner services.
// Handlers never call SeaweedFS: they validate, record the desired state
// through package store, and wait a bounded time for the reconciler to report
// that SeaweedFS has converged.
package grpcapi

import (
	"context"
	"errors"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// Config holds what the handlers need to know.
type Config struct {
	// DriverName is returned by DriverGetInfo and must match the
	// driverName of BucketClasses.
	DriverName string
	// Endpoint and Region are what consumers use to reach SeaweedFS S3; they
	// go into every credential returned by Grant.
	Endpoint string
	Region   string
	// UserPrefix is the name prefix of every SeaweedFS user the driver owns.
	UserPrefix string
	// WaitTimeout bounds how long a handler waits for convergence before it
	// answers UNAVAILABLE (the sidecar has no deadline of its own).
	WaitTimeout time.Duration
	// PollInterval is how often a waiting handler looks at its record.
	PollInterval time.Duration
	// Filer: the driver reaches the SeaweedFS filer, so BucketClasses may
	// ask for quotas and placement.
	Filer bool
	// ImportBuckets are the names or path.Match globs of the buckets the
	// driver did not create that accesses may be granted on (a Bucket with
	// existingBucketID); empty allows none.
	ImportBuckets []string
}

// Server implements the COSI Identity and Provisioner services.
type Server struct {
	cfg   Config
	store *store.Store
	// buckets and accesses are the informer caches of the records; handlers
	// wait on them so that waiting does not load the API server.
	buckets  cache.Store
	accesses cache.Store
	nudge    func(kind, name string)
	log      logr.Logger
}

// NewServer returns the services. nudge asks the reconciler to look at a
// record now (it may be nil when this replica is not the leader).
func NewServer(cfg Config, st *store.Store, buckets, accesses cache.Store, nudge func(kind, name string), log logr.Logger) *Server {
	if nudge == nil {
		nudge = func(string, string) {}
	}
	return &Server{cfg: cfg, store: st, buckets: buckets, accesses: accesses, nudge: nudge, log: log}
}

// errWaitTimeout: the record did not reach the wanted state in time.
var errWaitTimeout = errors.New("wait timed out")

// errPartialCredential: a grant was about to answer without its key or
// secret.
var errPartialCredential = errors.New("the recorded credential is incomplete")

// waitFor polls check until it reports done, returns an error, or the
// handler's wait ends (errWaitTimeout). check reads the informer cache.
func (s *Server) waitFor(ctx context.Context, check func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WaitTimeout)
	defer cancel()
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return errWaitTimeout
		case <-t.C:
		}
	}
}

func (s *Server) cachedBucket(name string) *store.Bucket {
	obj, ok, err := s.buckets.GetByKey(s.store.Namespace() + "/" + name)
	if err != nil || !ok {
		return nil
	}
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return nil
	}
	b, err := store.BucketFromConfigMap(cm)
	if err != nil {
		return nil
	}
	return b
}

// cachedAccess is the cached access record: nil and no error when the cache
// holds none, an error when it holds one that cannot be read.
func (s *Server) cachedAccess(name string) (*store.Access, error) {
	obj, ok, err := s.accesses.GetByKey(s.store.Namespace() + "/" + name)
	if err != nil || !ok {
		return nil, nil
	}
	sec, ok := obj.(*corev1.Secret)
	if !ok {
		return nil, nil
	}
	return store.AccessFromSecret(sec)
}
