package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/metrics"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/reconcile"
)

// reconcileLoop runs the reconciler while this replica holds the leader
// Lease. Losing the Lease ends the process: another replica has taken over,
// and a reconciler that might still act on stale state must not go on.
func reconcileLoop(ctx context.Context, cfg Config, client kubernetes.Interface, ctrl *reconcile.Controller, m *metrics.Metrics, lead *leadership, log logr.Logger) error {
	if !cfg.LeaderElect {
		lead.set(m, true)
		defer lead.set(m, false)
		return ctrl.Run(ctx)
	}
	id, err := leaderIdentity(cfg.LeaderIdentity)
	if err != nil {
		return err
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: leaseName(cfg.DriverName), Namespace: cfg.Namespace},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	// ctrl.Run can run once: losing the Lease ends the process.
	done := make(chan error, 1)
	var started atomic.Bool
	// The elector gets its own context so that on shutdown the reconciler
	// stops first and the Lease is released only after its last backend call
	// has returned: a successor must never reconcile beside it.
	leCtx, leCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer leCancel()
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   cfg.LeaseDuration,
		RenewDeadline:   cfg.LeaseDuration * 2 / 3,
		RetryPeriod:     cfg.LeaseDuration / 7,
		ReleaseOnCancel: true,
		Name:            lock.LeaseMeta.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) {
				started.Store(true)
				lead.set(m, true)
				defer lead.set(m, false)
				log.Info("leader lease acquired", "identity", id)
				rctx, rcancel := context.WithCancel(lctx)
				defer rcancel()
				stop := context.AfterFunc(ctx, rcancel)
				defer stop()
				done <- ctrl.Run(rctx)
			},
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	elected := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-elected:
			return
		}
		if started.Load() {
			done <- <-done // wait for the reconciler, and keep its result
		}
		leCancel()
	}()
	le.Run(leCtx) // returns when leCtx ends or the Lease is lost
	close(elected)
	var runErr error
	if started.Load() {
		runErr = <-done
	}
	if ctx.Err() != nil {
		return runErr
	}
	return errors.Join(errors.New("leader lease lost"), runErr)
}

func leaseName(driver string) string {
	return "cosi-seaweedfs-" + names.AccessID(driver)[:10]
}

// leaderIdentity is this replica's name in the Lease. A configured name
// (the pod name, from the downward API) survives container restarts: the
// leader elector treats a Lease held under its own name as its own, so a
// driver restarted after a crash takes the Lease back at once instead of
// waiting a whole lease duration for its previous self to expire. That is
// safe because one pod runs one driver container at a time: the previous
// holder of that name is dead. Without a name, the host name and a random
// suffix keep separate processes on one host (tests, the demo) distinct.
func leaderIdentity(configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("hostname: %w", err)
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return host + "_" + hex.EncodeToString(b), nil
}

// leadership is whether this replica reconciles: its metric, and what the
// readiness checks that only the leader runs ask.
type leadership struct{ on atomic.Bool }

func (l *leadership) set(m *metrics.Metrics, leading bool) {
	l.on.Store(leading)
	m.SetLeader(leading)
}

func (l *leadership) leading() bool { return l.on.Load() }
