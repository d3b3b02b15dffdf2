package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// ctxMutex is a mutex whose Lock gives up when the context ends, so a caller
// waiting behind a slow backend write stays within its own deadline.
type ctxMutex chan struct{}

func newCtxMutex() ctxMutex { return make(ctxMutex, 1) }

func (m ctxMutex) Lock(ctx context.Context) error {
	select {
	case m <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for lock: %w: %w", s3admin.ErrTransient, ctx.Err())
	}
}

func (m ctxMutex) Unlock() { <-m }

// KeyedMutex serializes work per key (a user or bucket name) so that
// observe-then-write sequences for the same object never interleave, while
// different objects proceed in parallel.
type KeyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry
}

type keyedEntry struct {
	m    ctxMutex
	refs int
}

func (k *KeyedMutex) Lock(ctx context.Context, key string) (unlock func(), err error) {
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
	if err := e.m.Lock(ctx); err != nil {
		release()
		return nil, err
	}
	return func() {
		e.m.Unlock()
		release()
	}, nil
}

// CtxRWMutex is a readers-writer lock whose waits give up when the context
// ends. Shared holders run together; an exclusive holder runs alone. A
// stream of shared holders can keep an exclusive one waiting: the shared
// holders here are single short writes.
type CtxRWMutex struct {
	excl ctxMutex // held by an exclusive holder, or on behalf of all shared ones
	// count guards shared.
	count  ctxMutex
	shared int
}

func NewCtxRWMutex() *CtxRWMutex { return &CtxRWMutex{excl: newCtxMutex(), count: newCtxMutex()} }

func (m *CtxRWMutex) Lock(ctx context.Context) error { return m.excl.Lock(ctx) }

func (m *CtxRWMutex) Unlock() { m.excl.Unlock() }

func (m *CtxRWMutex) Rlock(ctx context.Context) error {
	if err := m.count.Lock(ctx); err != nil {
		return err
	}
	defer m.count.Unlock()
	if m.shared == 0 {
		if err := m.excl.Lock(ctx); err != nil {
			return err
		}
	}
	m.shared++
	return nil
}

func (m *CtxRWMutex) Runlock() {
	// Never gives up: the lock is held, and releasing it takes no time.
	_ = m.count.Lock(context.Background())
	defer m.count.Unlock()
	m.shared--
	if m.shared == 0 {
		m.excl.Unlock()
	}
}
