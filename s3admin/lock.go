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
