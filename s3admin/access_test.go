package s3admin

import (
	"context"
	"sync"
	"testing"
	"time"
)

// reloadingUsers is the Fake's user backend with SeaweedFS's timing after a
// write: the gateway takes the written key in at once, then starts the
// reload the write queued and answers no probe until it is done, longer
// than any wait. A probe is answered only between a write and the end of
// the next observation; that observation waits (a while) for one to
// arrive, so the test does not depend on goroutine scheduling.
type reloadingUsers struct {
	fakeUsers
	mu     sync.Mutex
	window bool
	probed chan struct{}
}

func (b *reloadingUsers) Apply(ctx context.Context, s Step) error {
	err := b.fakeUsers.Apply(ctx, s)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.window, b.probed = true, make(chan struct{})
	return err
}

func (b *reloadingUsers) Observe(ctx context.Context, name string, scope Scope) (Observation, error) {
	b.mu.Lock()
	window, probed := b.window, b.probed
	b.mu.Unlock()
	if window {
		select {
		case <-probed:
		case <-time.After(2 * time.Second):
		}
	}
	obs, err := b.fakeUsers.Observe(ctx, name, scope)
	b.mu.Lock()
	b.window = false
	b.mu.Unlock()
	return obs, err
}

func (b *reloadingUsers) ProbeKey(ctx context.Context, a Access) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.window {
		return false, nil
	}
	select {
	case <-b.probed:
	default:
		close(b.probed)
	}
	return b.fakeUsers.ProbeKey(ctx, a)
}

// A grant asks about its key as soon as it is written, beside the
// confirming observation: asked only after it, SeaweedFS answers once the
// reload the last write queued is done.
func TestEnsureAccessProbesTheKeyAsSoonAsItIsWritten(t *testing.T) {
	ctx := testCtx(t)
	f := NewFake("")
	mustNil(t, "CreateBucket", f.CreateBucket(ctx, "bucket-1", testOwn))
	id, secret, err := GenerateCredentials()
	mustNil(t, "GenerateCredentials", err)
	a := Access{User: f.prefix + "u", Bucket: "bucket-1", Mode: ModeReadWrite, AccessKeyID: id, SecretAccessKey: secret, BucketOwner: testOwn}
	be := &reloadingUsers{fakeUsers: fakeUsers{f}}
	changed, err := EnsureAccess(ctx, be, a, f.prefix, time.Millisecond)
	if err != nil || !changed {
		t.Fatalf("ensureAccess: changed=%v err=%v, want a write accepted at once", changed, err)
	}
	// Converged, nothing is written and nothing is probed.
	if changed, err := EnsureAccess(ctx, be, a, f.prefix, time.Millisecond); err != nil || changed {
		t.Fatalf("converged ensureAccess: changed=%v err=%v", changed, err)
	}
}
