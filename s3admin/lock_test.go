package s3admin

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Shared holders hold the lock together; an exclusive holder waits for the
// last of them and gives up when its context ends; shared holders wait for
// an exclusive one.
func TestCtxRWMutex(t *testing.T) {
	m := newCtxRWMutex()
	ctx := context.Background()
	if err := m.rlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.rlock(ctx); err != nil {
		t.Fatal("a second shared holder waited for the first")
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := m.lock(short); !errors.Is(err, ErrTransient) {
		t.Fatalf("exclusive lock while shared holders hold it: %v, want a transient error when the context ends", err)
	}
	m.runlock()
	short2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if err := m.lock(short2); err == nil {
		t.Fatal("exclusive lock granted while a shared holder still holds it")
	}
	m.runlock()
	if err := m.lock(ctx); err != nil {
		t.Fatal(err)
	}
	short3, cancel3 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel3()
	if err := m.rlock(short3); err == nil {
		t.Fatal("shared lock granted while the exclusive holder holds it")
	}
	m.unlock()
	if err := m.rlock(ctx); err != nil {
		t.Fatalf("shared lock after the exclusive holder left: %v", err)
	}
	m.runlock()
}
