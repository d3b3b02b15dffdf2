package store

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
)

// The count of creations decides whether accesses must be written again: it
// moves on with every recorded attempt, counted on the record itself, and no
// status from a writer holding an older copy takes it back.
func TestCreationsOnlyGrow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := New(fake.NewClientset(), "cosi")
	b, _, err := s.CreateBucket(ctx, BucketSpec{Name: "b", BucketID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.MarkCreateAttempted(ctx, b.RecordName, "creating the bucket"); err != nil {
			t.Fatal(err)
		}
	}
	// A status computed from the record as it was before both attempts.
	if err := s.SetBucketStatus(ctx, b.RecordName, Status{Phase: PhaseReady, Creations: 1}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetBucket(ctx, b.RecordName)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Creations != 2 || !got.Status.CreateAttempted || got.Status.Phase != PhaseReady {
		t.Fatalf("status %+v, want Ready with the create attempt and 2 creations kept", got.Status)
	}
}
