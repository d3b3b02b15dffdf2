package s3admin

import (
	"context"
	"fmt"
	"sync"
)

// ctxMutex is a mutex whose Lock gives up when the context ends, so a caller
// waiting behind a slow backend write stays within its own deadline.
type ctxMutex chan struct{}

func newCtxMutex() ctxMutex { return make(ctxMutex, 1) }

func (m ctxMutex) lock(ctx context.Context) error {
	select {
	case m <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for lock: %w: %w", ErrTransient, ctx.Err())
	}
}

func (m ctxMutex) unlock() { <-m }

// keyedMutex serializes work per key (a user or bucket name) so that
// observe-then-write sequences for the same object never interleave, while
// different objects proceed in parallel.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry
}

type keyedEntry struct {
	m    ctxMutex
	refs int
}

func (k *keyedMutex) lock(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*keyedEntry)
	}
	e := k.locks[key]
	if e == nil {
		e = &keyedEntry{m: newCtxMutex()}
		k.locks[key] = e
	}
	e.refs++
	k.mu.Unlock()

	release := func() {
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	if err := e.m.lock(ctx); err != nil {
		release()
		return nil, err
	}
	return func() {
		e.m.unlock()
		release()
	}, nil
}

// ctxRWMutex is a readers-writer lock whose waits give up when the context
// ends. Shared holders run together; an exclusive holder runs alone. A
// stream of shared holders can keep an exclusive one waiting: the shared
// holders here are single short writes.
type ctxRWMutex struct {
	excl ctxMutex // held by an exclusive holder, or on behalf of all shared ones
	// count guards shared.
	count  ctxMutex
	shared int
}

func newCtxRWMutex() *ctxRWMutex { return &ctxRWMutex{excl: newCtxMutex(), count: newCtxMutex()} }

func (m *ctxRWMutex) lock(ctx context.Context) error { return m.excl.lock(ctx) }

func (m *ctxRWMutex) unlock() { m.excl.unlock() }

func (m *ctxRWMutex) rlock(ctx context.Context) error {
	if err := m.count.lock(ctx); err != nil {
		return err
	}
	defer m.count.unlock()
	if m.shared == 0 {
		if err := m.excl.lock(ctx); err != nil {
			return err
		}
	}
	m.shared++
	return nil
}

func (m *ctxRWMutex) runlock() {
	// Never gives up: the lock is held, and releasing it takes no time.
	_ = m.count.lock(context.Background())
	defer m.count.unlock()
	m.shared--
	if m.shared == 0 {
		m.excl.unlock()
	}
}
