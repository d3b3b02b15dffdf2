package fileriam

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// recordingRead is a batcher read that returns, for every key, the number
// of the read (1, 2, …) and records the keys of each read; a read waits for
// release when one is given.
type recordingRead struct {
	mu      sync.Mutex
	batches [][]string
	started chan struct{}
	release chan struct{}
	err     error
}

func (r *recordingRead) read(ctx context.Context, keys []string) (map[string]int, error) {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Sorted(slices.Values(keys)))
	n := len(r.batches)
	r.mu.Unlock()
	if r.started != nil {
		r.started <- struct{}{}
	}
	if r.release != nil {
		<-r.release
	}
	out := map[string]int{}
	for _, k := range keys {
		out[k] = n
	}
	return out, r.err
}

func TestBatcher(t *testing.T) {
	ctx := context.Background()
	t.Run("a caller alone is answered by one read of its own key", func(t *testing.T) {
		r := &recordingRead{}
		b := batcher[string, int]{read: r.read, timeout: time.Second}
		if v, err := b.get(ctx, "k1"); err != nil || v != 1 {
			t.Fatalf("got %d, %v; want read 1", v, err)
		}
		if !slices.Equal(r.batches[0], []string{"k1"}) || len(r.batches) != 1 {
			t.Fatalf("reads %v, want one of k1", r.batches)
		}
	})
	t.Run("callers arriving during a read share the next one, never the one in flight", func(t *testing.T) {
		r := &recordingRead{started: make(chan struct{}, 10), release: make(chan struct{})}
		b := batcher[string, int]{read: r.read, timeout: time.Second}
		first := make(chan int)
		go func() {
			v, _ := b.get(ctx, "early")
			first <- v
		}()
		<-r.started // read 1 is in flight
		var wg sync.WaitGroup
		got := make([]int, 10)
		for i := range got {
			wg.Go(func() {
				v, err := b.get(ctx, string(rune('a'+i)))
				if err != nil {
					t.Error(err)
				}
				got[i] = v
			})
		}
		// Every late caller is queued before read 1 ends.
		for {
			b.mu.Lock()
			queued := b.next != nil && len(b.next.keys) == len(got)
			b.mu.Unlock()
			if queued {
				break
			}
			time.Sleep(time.Millisecond)
		}
		r.release <- struct{}{}
		<-r.started
		r.release <- struct{}{}
		wg.Wait()
		if v := <-first; v != 1 {
			t.Errorf("early caller got read %d, want 1", v)
		}
		for i, v := range got {
			if v != 2 {
				t.Errorf("late caller %d got read %d, want 2 (started after it asked)", i, v)
			}
		}
		if len(r.batches) != 2 || len(r.batches[1]) != len(got) {
			t.Errorf("reads %v, want 2, the second with all %d late keys", r.batches, len(got))
		}
	})
	t.Run("a failed read fails every caller of its batch", func(t *testing.T) {
		r := &recordingRead{err: &s3admin.Error{Op: "read", Kind: s3admin.ErrTransient, Err: errors.New("filer busy")}}
		b := batcher[string, int]{read: r.read, timeout: time.Second}
		if _, err := b.get(ctx, "k"); !s3admin.IsTransient(err) {
			t.Fatalf("got %v, want the read's transient error", err)
		}
	})
	t.Run("a caller that gives up leaves the read to the others", func(t *testing.T) {
		r := &recordingRead{started: make(chan struct{}, 2), release: make(chan struct{})}
		b := batcher[string, int]{read: r.read, timeout: time.Second}
		var stayed atomic.Int64
		done := make(chan struct{})
		go func() {
			v, err := b.get(ctx, "stays")
			if err == nil {
				stayed.Store(int64(v))
			}
			close(done)
		}()
		<-r.started
		quitting, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := b.get(quitting, "leaves"); !s3admin.IsTransient(err) {
			t.Fatalf("canceled caller: %v, want transient", err)
		}
		r.release <- struct{}{}
		<-done
		if stayed.Load() != 1 {
			t.Fatalf("remaining caller got read %d, want 1", stayed.Load())
		}
		// The canceled caller's batch still runs, for nobody; let it end.
		<-r.started
		r.release <- struct{}{}
	})
}
