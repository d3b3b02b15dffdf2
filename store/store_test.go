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
	for i, marker := range []string{"first", "second"} {
		st, err := s.MarkCreateAttempted(ctx, b.RecordName, "creating the bucket", "owner", marker)
		if err != nil {
			t.Fatal(err)
		}
		// The second attempt keeps the marker the first one recorded: the
		// bucket may carry it already.
		if st.Marker != "first" || st.Owner != "owner" || st.Creations != int64(i+1) {
			t.Fatalf("attempt %d: status %+v, want marker first, owner owner, %d creations", i+1, st, i+1)
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
	if got.Status.Creations != 2 || !got.Status.CreateAttempted || got.Status.Phase != PhaseReady ||
		got.Status.Marker != "first" || got.Status.Owner != "owner" {
		t.Fatalf("status %+v, want Ready with the create attempt, 2 creations and the marks kept", got.Status)
	}
}
