package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// Shared holders hold the lock together; an exclusive holder waits for the
// last of them and gives up when its context ends; shared holders wait for
// an exclusive one.
func TestCtxRWMutex(t *testing.T) {
	m := NewCtxRWMutex()
	ctx := context.Background()
	if err := m.Rlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Rlock(ctx); err != nil {
		t.Fatal("a second shared holder waited for the first")
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := m.Lock(short); !errors.Is(err, s3admin.ErrTransient) {
		t.Fatalf("exclusive lock while shared holders hold it: %v, want a transient error when the context ends", err)
	}
	m.Runlock()
	short2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if err := m.Lock(short2); err == nil {
		t.Fatal("exclusive lock granted while a shared holder still holds it")
	}
	m.Runlock()
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	short3, cancel3 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel3()
	if err := m.Rlock(short3); err == nil {
		t.Fatal("shared lock granted while the exclusive holder holds it")
	}
	m.Unlock()
	if err := m.Rlock(ctx); err != nil {
		t.Fatalf("shared lock after the exclusive holder left: %v", err)
	}
	m.Runlock()
}
