package s3admin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestFakeInjection(t *testing.T) {
	ctx := context.Background()
	f := NewFake("")
	mustNil(t, "CreateBucket", f.CreateBucket(ctx, "bucket-1", testOwn))
	id, secret, _ := GenerateCredentials()
	a := Access{User: "cosi-u", Bucket: "bucket-1", Mode: ModeReadWrite, AccessKeyID: id, SecretAccessKey: secret, BucketOwner: testOwn}

	t.Run("an injected timeout is transient and leaves nothing half-counted", func(t *testing.T) {
		f.SetHook(func(op string) error {
			if op == "CreateAccessKey" {
				return fmt.Errorf("injected: %w", context.DeadlineExceeded)
			}
			return nil
		})
		_, err := f.EnsureAccess(ctx, a)
		if !IsTransient(err) {
			t.Fatalf("EnsureAccess: %v, want transient", err)
		}
		f.SetHook(nil)
		if changed, err := f.EnsureAccess(ctx, a); err != nil || !changed {
			t.Fatalf("retry: changed=%v err=%v", changed, err)
		}
	})
	t.Run("an injected refusal keeps its kind", func(t *testing.T) {
		f.SetHook(func(op string) error { return &Error{Op: op, Kind: ErrAccessDenied} })
		defer f.SetHook(nil)
		if _, err := f.ObserveUser(ctx, a.User); !errors.Is(err, ErrAccessDenied) {
			t.Fatalf("ObserveUser: %v", err)
		}
	})
	t.Run("an open store fails the anonymous check", func(t *testing.T) {
		f.SetAnonymousAllowed(true)
		defer f.SetAnonymousAllowed(false)
		mustIs(t, "CheckAnonymousDenied", f.CheckAnonymousDenied(ctx), ErrAnonymousAllowed)
	})
}

func TestFakeConcurrentEnsureAccess(t *testing.T) {
	ctx := context.Background()
	f := NewFake("")
	mustNil(t, "CreateBucket", f.CreateBucket(ctx, "bucket-1", testOwn))
	const n = 50
	accesses := make([]Access, n)
	for i := range accesses {
		id, secret, _ := GenerateCredentials()
		accesses[i] = Access{User: fmt.Sprintf("cosi-u%02d", i), Bucket: "bucket-1", Mode: ModeReadOnly, AccessKeyID: id, SecretAccessKey: secret, BucketOwner: testOwn}
	}
	var wg sync.WaitGroup
	for _, a := range accesses {
		// Each access twice at once: one of them writes, both succeed.
		for range 2 {
			wg.Go(func() {
				if _, err := f.EnsureAccess(ctx, a); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	users, err := f.ListOwnedUsers(ctx)
	mustNil(t, "ListOwnedUsers", err)
	if len(users) != n {
		t.Fatalf("%d users, want %d", len(users), n)
	}
	// CreateBucket and PutBucketTagging, then per user CreateUser,
	// PutUserPolicy and CreateAccessKey once.
	if w, want := f.Writes(), int64(2+3*n); w != want {
		t.Fatalf("%d writes, want %d", w, want)
	}
}
