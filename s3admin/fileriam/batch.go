package fileriam

import (
	"context"
	"sync"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// batcher coalesces concurrent reads of the same whole into one. Many
// grants arriving at once each need a read whose cost grows with every user
// SeaweedFS holds (the inline policies file, the group files, which identity
// holds a key); answered one by one, 200 grants make 200 such reads at the
// moment the filer is busiest. A batcher makes one read for every caller
// waiting when it starts.
//
// A caller joins the next read that starts after it asked, never one
// already in flight: what it gets was read after its call began, as if it
// had read alone, so a change made before the call is never missed. A
// caller alone waits for one read, one arriving during a read for at most
// two.
type batcher[K comparable, V any] struct {
	// read answers every key of one batch; keys missing from its result
	// get V's zero value.
	read func(ctx context.Context, keys []K) (map[K]V, error)
	// timeout bounds one read. The read runs on its own context: callers
	// that give up do not cancel the read others wait for.
	timeout time.Duration

	mu      sync.Mutex
	next    *batch[K, V]
	running bool
}

type batch[K comparable, V any] struct {
	keys map[K]struct{}
	done chan struct{}
	vals map[K]V
	err  error
}

// get returns k's value from a read that starts after the call.
func (b *batcher[K, V]) get(ctx context.Context, k K) (V, error) {
	b.mu.Lock()
	n := b.next
	if n == nil {
		n = &batch[K, V]{keys: map[K]struct{}{}, done: make(chan struct{})}
		b.next = n
	}
	n.keys[k] = struct{}{}
	if !b.running {
		b.running = true
		go b.run()
	}
	b.mu.Unlock()
	select {
	case <-n.done:
		return n.vals[k], n.err
	case <-ctx.Done():
		var zero V
		return zero, s3admin.NewError("read", s3admin.ErrTransient, "%w", ctx.Err())
	}
}

// run makes one read per pending batch until none is left.
func (b *batcher[K, V]) run() {
	for {
		b.mu.Lock()
		n := b.next
		b.next = nil
		if n == nil {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		keys := make([]K, 0, len(n.keys))
		for k := range n.keys {
			keys = append(keys, k)
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
		n.vals, n.err = b.read(ctx, keys)
		cancel()
		close(n.done)
	}
}
