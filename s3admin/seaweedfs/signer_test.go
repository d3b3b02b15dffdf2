package seaweedfs

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// switchable hands out whichever secret it holds now, as a provider that
// re-reads a rotated Secret would.
type switchable struct{ secret atomic.Pointer[string] }

func (s *switchable) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: seaweed.AccessKey, SecretAccessKey: *s.secret.Load(),
		CanExpire: true, Expires: time.Now().Add(time.Millisecond)}, nil
}

// A secret that changes under the same access key id is used from the next
// call on: a wrong one is refused, the right one is accepted again.
func TestRotatedSecretIsUsedAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	creds := &switchable{}
	set := func(s string) { creds.secret.Store(&s) }
	set(seaweed.SecretKey)
	a, err := NewSeaweedFS(Config{Endpoint: seaweed.Endpoint, Region: seaweed.Region, AccessKeyID: seaweed.AccessKey,
		SecretAccessKey: seaweed.SecretKey, UserPrefix: "cosi-rot-", CallTimeout: 30 * time.Second, Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	observe := func() error {
		if _, err := a.ObserveUser(ctx, "cosi-rot-nobody"); err != nil {
			return err
		}
		_, err := a.ObserveBucket(ctx, "cosi-rot-nobody", s3admin.Ownership{})
		return err
	}
	if err := observe(); err != nil {
		t.Fatalf("with the admin secret: %v", err)
	}
	set("not-the-admin-secret")
	time.Sleep(5 * time.Millisecond)
	if err := observe(); !errors.Is(err, s3admin.ErrAccessDenied) {
		t.Fatalf("with a wrong secret: %v, want ErrAccessDenied", err)
	}
	set(seaweed.SecretKey)
	time.Sleep(5 * time.Millisecond)
	if err := observe(); err != nil {
		t.Fatalf("with the admin secret again: %v", err)
	}
}
