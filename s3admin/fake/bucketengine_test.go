package fake

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/engine"
)

// refusingNonEmpty is a backend whose server runs with
// -s3.allowDeleteBucketNotEmpty=false: it refuses to delete a bucket that
// holds objects, or any bucket at all when always is set.
type refusingNonEmpty struct {
	engine.BucketBackend
	always bool
}

func (r refusingNonEmpty) DeleteBucket(ctx context.Context, name string) error {
	full, err := r.HasObjects(ctx, name)
	if err != nil {
		return err
	}
	if full || r.always {
		return s3admin.NewError("DeleteBucket", s3admin.ErrNotEmpty, "bucket %q is not empty", name)
	}
	return r.BucketBackend.DeleteBucket(ctx, name)
}

// engineOn returns an engine over the fake's backend wrapped by wrap, and
// the operations it makes, in order.
func engineOn(t *testing.T, wrap func(engine.BucketBackend) engine.BucketBackend) (*Fake, *engine.Buckets, *[]string) {
	t.Helper()
	f := New("")
	var ops []string
	f.SetHook(func(op string) error { ops = append(ops, op); return nil })
	return f, &engine.Buckets{Be: wrap(fakeBuckets{f}), Locks: &engine.KeyedMutex{}, Settle: fakeSettling}, &ops
}

func TestBucketEngine(t *testing.T) {
	ctx := context.Background()
	own := s3admin.Ownership{Owner: "o", Marker: "m"}
	same := func(b engine.BucketBackend) engine.BucketBackend { return b }
	marks := map[string]string{names.OwnerTagKey: "o", names.MarkerTagKey: "m"}

	t.Run("DeleteBucket claims, checks, fences with a refused write as proof, checks again behind the fence, then deletes", func(t *testing.T) {
		f, e, ops := engineOn(t, same)
		f.AddBucket("b-1", marks)
		admintest.MustNil(t, "DeleteBucket", e.DeleteBucket(ctx, "b-1", own, false))
		want := []string{
			// The creator SeaweedFS recorded backs its answer (see
			// plan.Claimed).
			"GetBucketTagging", "CreateBucket", "LookupBucketEntry",
			"ListObjectVersions", "ListMultipartUploads", "ListObjectsV2",
			"PutBucketPolicy", "PutObject",
			// Behind the fence the uploads cannot be listed: the fence
			// itself is why, so there are none to keep. The keys go last,
			// right before the delete: form uploads pass the fence.
			"ListObjectVersions", "ListMultipartUploads", "GetBucketPolicy", "ListObjectsV2",
			"DeleteBucket",
		}
		if diff := cmp.Diff(want, *ops); diff != "" {
			t.Errorf("operations (-want +got):\n%s", diff)
		}
		if f.Writes() != 2 {
			t.Errorf("%d writes, want the fence and the delete", f.Writes())
		}
	})
	t.Run("a purge on a server that refuses non-empty deletes empties the bucket, then deletes it", func(t *testing.T) {
		f, e, ops := engineOn(t, func(b engine.BucketBackend) engine.BucketBackend { return refusingNonEmpty{BucketBackend: b} })
		f.AddBucket("b-1", marks)
		admintest.MustNil(t, "PutObject", f.PutObject("b-1", "dir/k"))
		admintest.MustNil(t, "DeleteBucket", e.DeleteBucket(ctx, "b-1", own, true))
		if st, _ := e.ObserveBucket(ctx, "b-1", own); st.Exists {
			t.Fatal("bucket still exists")
		}
		if !containsInOrder(*ops, "DeleteObjects", "DeleteBucket") {
			t.Errorf("operations %v: no purge before the last delete", *ops)
		}
	})
	t.Run("a bucket the server still refuses to delete once emptied and without folders is ErrNotEmpty", func(t *testing.T) {
		f, e, _ := engineOn(t, func(b engine.BucketBackend) engine.BucketBackend {
			return refusingNonEmpty{BucketBackend: b, always: true}
		})
		f.AddBucket("b-1", marks)
		admintest.MustIs(t, "DeleteBucket", e.DeleteBucket(ctx, "b-1", own, false), s3admin.ErrNotEmpty)
		admintest.MustIs(t, "DeleteBucket with purge", e.DeleteBucket(ctx, "b-1", own, true), s3admin.ErrNotEmpty)
	})
	t.Run("a purge retried after an earlier attempt fenced the bucket deletes it", func(t *testing.T) {
		f, e, _ := engineOn(t, same)
		f.AddBucket("b-1", marks)
		admintest.MustNil(t, "PutObject", f.PutObject("b-1", "k"))
		admintest.MustNil(t, "fence", e.Fence(ctx, "b-1"))
		admintest.MustNil(t, "DeleteBucket", e.DeleteBucket(ctx, "b-1", own, true))
		if st, _ := e.ObserveBucket(ctx, "b-1", own); st.Exists {
			t.Fatal("bucket still exists")
		}
	})
	t.Run("a fenced bucket with an object stays, not empty, and readable", func(t *testing.T) {
		f, e, _ := engineOn(t, same)
		f.AddBucket("b-1", marks)
		admintest.MustNil(t, "PutObject", f.PutObject("b-1", "k"))
		admintest.MustNil(t, "fence", e.Fence(ctx, "b-1"))
		admintest.MustIs(t, "PutObject behind the fence", f.PutObject("b-1", "late"), s3admin.ErrAccessDenied)
		admintest.MustIs(t, "DeleteBucket", e.DeleteBucket(ctx, "b-1", own, false), s3admin.ErrNotEmpty)
		if st, err := e.ObserveBucket(ctx, "b-1", own); err != nil || st != (s3admin.BucketState{Exists: true, Owned: true}) {
			t.Fatalf("state %+v, %v", st, err)
		}
	})
	t.Run("a record whose create was interrupted believes its first read of the unmarked bucket; others wait for a lagging cache", func(t *testing.T) {
		for _, tt := range []struct {
			interrupted bool
			reads       int
		}{{true, 1}, {false, 10}} {
			f, e, ops := engineOn(t, same)
			e.Settle.Tags = engine.Pace{Tries: 10, First: time.Millisecond}
			f.AddBucket("b-1", nil)
			o := own
			o.Interrupted = tt.interrupted
			admintest.MustNil(t, "CreateBucket", e.CreateBucket(ctx, "b-1", o, s3admin.CreateOptions{}))
			first := slices.Index(*ops, "CreateBucket")
			if reads := strings.Count(strings.Join((*ops)[:first], " "), "GetBucketTagging"); reads != tt.reads {
				t.Errorf("interrupted %v: %d reads before the claim, want %d (operations %v)", tt.interrupted, reads, tt.reads, *ops)
			}
		}
	})
	t.Run("CreateBucket writes the marks next to the bucket's other tags and reads them back", func(t *testing.T) {
		f, e, ops := engineOn(t, same)
		f.AddBucket("b-1", map[string]string{"team": "x"})
		admintest.MustNil(t, "CreateBucket", e.CreateBucket(ctx, "b-1", own, s3admin.CreateOptions{}))
		want := []string{"GetBucketTagging", "CreateBucket", "LookupBucketEntry", "PutBucketTagging", "GetBucketTagging"}
		if diff := cmp.Diff(want, *ops); diff != "" {
			t.Errorf("operations (-want +got):\n%s", diff)
		}
		tags, _, _ := fakeBuckets{f}.Tags(ctx, "b-1")
		if diff := cmp.Diff(map[string]string{names.OwnerTagKey: "o", names.MarkerTagKey: "m", "team": "x"}, tags); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
	})
}

// containsInOrder reports whether ops holds each of want, in that order.
func containsInOrder(ops []string, want ...string) bool {
	for _, op := range ops {
		if len(want) > 0 && op == want[0] {
			want = want[1:]
		}
	}
	return len(want) == 0
}
