package fake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
)

func TestFakeInjection(t *testing.T) {
	ctx := context.Background()
	f := New("")
	admintest.MustNil(t, "CreateBucket", f.CreateBucket(ctx, "bucket-1", admintest.Own, s3admin.CreateOptions{}))
	id, secret, _ := s3admin.GenerateCredentials()
	a := s3admin.Access{User: "cosi-u", Bucket: "bucket-1", Mode: s3admin.ModeReadWrite, AccessKeyID: id, SecretAccessKey: secret, BucketOwner: admintest.Own}

	t.Run("an injected timeout is transient and leaves nothing half-counted", func(t *testing.T) {
		f.SetHook(func(op string) error {
			if op == "CreateAccessKey" {
				return fmt.Errorf("injected: %w", context.DeadlineExceeded)
			}
			return nil
		})
		_, err := f.EnsureAccess(ctx, a)
		if !s3admin.IsTransient(err) {
			t.Fatalf("EnsureAccess: %v, want transient", err)
		}
		f.SetHook(nil)
		if changed, err := f.EnsureAccess(ctx, a); err != nil || !changed {
			t.Fatalf("retry: changed=%v err=%v", changed, err)
		}
	})
	t.Run("an injected refusal keeps its kind", func(t *testing.T) {
		f.SetHook(func(op string) error { return &s3admin.Error{Op: op, Kind: s3admin.ErrAccessDenied} })
		defer f.SetHook(nil)
		if _, err := f.ObserveUser(ctx, a.User); !errors.Is(err, s3admin.ErrAccessDenied) {
			t.Fatalf("ObserveUser: %v", err)
		}
	})
	t.Run("an open store fails the anonymous check", func(t *testing.T) {
		f.SetAnonymousAllowed(true)
		defer f.SetAnonymousAllowed(false)
		admintest.MustIs(t, "CheckAnonymousDenied", f.CheckAnonymousDenied(ctx), s3admin.ErrAnonymousAllowed)
	})
}

func TestFakeConcurrentEnsureAccess(t *testing.T) {
	ctx := context.Background()
	f := New("")
	admintest.MustNil(t, "CreateBucket", f.CreateBucket(ctx, "bucket-1", admintest.Own, s3admin.CreateOptions{}))
	const n = 50
	accesses := make([]s3admin.Access, n)
	for i := range accesses {
		id, secret, _ := s3admin.GenerateCredentials()
		accesses[i] = s3admin.Access{User: fmt.Sprintf("cosi-u%02d", i), Bucket: "bucket-1", Mode: s3admin.ModeReadOnly, AccessKeyID: id, SecretAccessKey: secret, BucketOwner: admintest.Own}
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
	admintest.MustNil(t, "ListOwnedUsers", err)
	if len(users) != n {
		t.Fatalf("%d users, want %d", len(users), n)
	}
	// CreateBucket and PutBucketTagging, then per user CreateUser,
	// PutUserPolicy and CreateAccessKey once.
	if w, want := f.Writes(), int64(2+3*n); w != want {
		t.Fatalf("%d writes, want %d", w, want)
	}
}
