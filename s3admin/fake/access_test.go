package fake

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/engine"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
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

func (b *reloadingUsers) Apply(ctx context.Context, s plan.Step) error {
	err := b.fakeUsers.Apply(ctx, s)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.window, b.probed = true, make(chan struct{})
	return err
}

func (b *reloadingUsers) Observe(ctx context.Context, name string, scope engine.Scope) (plan.Observation, error) {
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

func (b *reloadingUsers) ProbeKey(ctx context.Context, a s3admin.Access) (bool, error) {
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
	ctx := admintest.Context(t)
	f := New("")
	admintest.MustNil(t, "CreateBucket", f.CreateBucket(ctx, "bucket-1", admintest.Own, s3admin.CreateOptions{}))
	id, secret, err := s3admin.GenerateCredentials()
	admintest.MustNil(t, "GenerateCredentials", err)
	a := s3admin.Access{User: f.prefix + "u", Bucket: "bucket-1", Mode: s3admin.ModeReadWrite, AccessKeyID: id, SecretAccessKey: secret, BucketOwner: admintest.Own}
	be := &reloadingUsers{fakeUsers: fakeUsers{f}}
	changed, err := engine.EnsureAccess(ctx, be, a, f.prefix, time.Millisecond)
	if err != nil || !changed {
		t.Fatalf("ensureAccess: changed=%v err=%v, want a write accepted at once", changed, err)
	}
	// Converged, nothing is written and nothing is probed.
	if changed, err := engine.EnsureAccess(ctx, be, a, f.prefix, time.Millisecond); err != nil || changed {
		t.Fatalf("converged ensureAccess: changed=%v err=%v", changed, err)
	}
}

// flappingUsers is the Fake's user backend whose gateway accepts a new key,
// then refuses it once (a reload that read the store before the identity
// landed ends), then accepts it for good; it asks for a confirmation.
type flappingUsers struct {
	fakeUsers
	mu      sync.Mutex
	answers []bool
}

func (*flappingUsers) KeyConfirmDelay() time.Duration { return time.Millisecond }

func (b *flappingUsers) ProbeKey(ctx context.Context, a s3admin.Access) (bool, error) {
	ok, err := b.fakeUsers.ProbeKey(ctx, a)
	if err != nil || !ok {
		return ok, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.answers) == 0 {
		return true, nil
	}
	next := b.answers[0]
	b.answers = b.answers[1:]
	return next, nil
}

// A key accepted and then refused again does not count: on a backend that
// asks for it, only a key accepted twice in a row does.
func TestEnsureAccessWaitsOutAKeyRefusedAfterItsFirstAcceptance(t *testing.T) {
	ctx := admintest.Context(t)
	f := New("")
	admintest.MustNil(t, "CreateBucket", f.CreateBucket(ctx, "bucket-1", admintest.Own, s3admin.CreateOptions{}))
	id, secret, err := s3admin.GenerateCredentials()
	admintest.MustNil(t, "GenerateCredentials", err)
	a := s3admin.Access{User: f.prefix + "u", Bucket: "bucket-1", Mode: s3admin.ModeReadWrite, AccessKeyID: id, SecretAccessKey: secret, BucketOwner: admintest.Own}
	be := &flappingUsers{fakeUsers: fakeUsers{f}, answers: []bool{true, false, true, true}}
	if _, err := engine.EnsureAccess(ctx, be, a, f.prefix, 5*time.Second); err != nil {
		t.Fatalf("ensureAccess: %v", err)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.answers) != 0 {
		t.Fatalf("ensureAccess returned with %d answers of the gateway unasked: it took a key refused again for accepted", len(be.answers))
	}
}
