package engine

import (
	"context"
	"sync"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// keyWatch asks S3 about an access's key in the background while its grant
// is written, until S3 accepts it.
//
// SeaweedFS's S3 gateway reloads every identity and policy after each IAM
// write, one write after another, and answers no request while it reloads
// (weed/s3api/auth_credentials_subscribe.go). A grant is two writes, the
// policy and then the identity; the reload of the first usually starts
// before the second lands and still takes it in. A probe sent while that
// reload runs is answered as soon as it ends, with the key accepted; a
// probe sent only after the identity write returned races the reload that
// write queued, and when it loses it waits that reload out too (about half
// a second with thousands of identities). So the watch starts with the
// first write and asks again as soon as each write returns; otherwise first
// after 10 ms, the interval doubling up to 100 ms: a fixed coarse interval
// would add half of itself to every grant, a fixed fine one would flood a
// gateway that is slow to take keys in. One probe is in flight at a time.
//
// On a backend that says so (KeyConfirmer), an accepted key is asked about
// once more, a moment later, before it counts (see fileriam's users).
type keyWatch struct {
	nudge chan struct{}
	known chan struct{}
	stop  context.CancelFunc

	mu      sync.Mutex
	lastErr error
}

// keyProbePace is the watch's pace between probes when no write nudges it
// (tries and within do not apply: the caller's wait bounds it).
var keyProbePace = Pace{First: 10 * time.Millisecond, max: 100 * time.Millisecond}

// KeyConfirmer is a UserBackend whose store can accept a new key and then,
// for a moment, refuse it again: an accepted key is asked about once more,
// KeyConfirmDelay later, before it counts.
type KeyConfirmer interface {
	KeyConfirmDelay() time.Duration
}

// watchKey starts probing the access's key; stop ends it.
func watchKey(ctx context.Context, be UserBackend, a s3admin.Access) *keyWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &keyWatch{nudge: make(chan struct{}, 1), known: make(chan struct{}), stop: cancel}
	go func() {
		wait := keyProbePace.First
		var confirm time.Duration
		if kc, ok := be.(KeyConfirmer); ok {
			confirm = kc.KeyConfirmDelay()
		}
		confirming := false
		for {
			ok, err := be.ProbeKey(ctx, a)
			if err == nil && ok && (confirming || confirm == 0) {
				close(w.known)
				return
			}
			if err == nil && ok {
				confirming = true
				select {
				case <-ctx.Done():
					return
				case <-time.After(confirm):
				}
				continue
			}
			confirming = false
			w.mu.Lock()
			w.lastErr = err
			w.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-w.nudge:
				wait = keyProbePace.First
			case <-time.After(wait):
				wait = keyProbePace.next(wait)
			}
		}
	}()
	return w
}

// written says a write returned: the next probe goes out at once.
func (w *keyWatch) written() {
	select {
	case w.nudge <- struct{}{}:
	default:
	}
}

// accepted waits up to within for S3 to accept the key. Not accepted by
// then, it returns ErrKeyPending, naming the last probe's error if it
// failed: everything is written, and the caller polls with KeyAccepted
// (which reports a failing probe) rather than holding on or retrying the
// grant. A retry would find the grant written and succeed without asking
// about the key at all; writing again would only queue one more reload.
func (w *keyWatch) accepted(ctx context.Context, a s3admin.Access, within time.Duration) error {
	select {
	case <-w.known:
		return nil
	case <-ctx.Done():
		return s3admin.NewError("EnsureAccess", s3admin.ErrTransient, "%w", ctx.Err())
	case <-time.After(within):
	}
	select {
	case <-w.known:
		return nil
	default:
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lastErr != nil {
		return s3admin.NewError("EnsureAccess", s3admin.ErrKeyPending, "SeaweedFS does not accept the access key %s yet; the last probe failed: %v", a.AccessKeyID, w.lastErr)
	}
	return s3admin.NewError("EnsureAccess", s3admin.ErrKeyPending, "SeaweedFS does not accept the access key %s yet", a.AccessKeyID)
}
