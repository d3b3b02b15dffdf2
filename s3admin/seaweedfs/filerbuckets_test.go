package seaweedfs

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/smithy-go/middleware"
	"google.golang.org/grpc"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
)

// countingAdmin is a SeaweedFS client with users on the filer that counts
// its S3 requests and its filer calls.
func countingAdmin(t *testing.T, prefix string) (a *SeaweedFS, s3Calls, filerCalls *atomic.Int64) {
	t.Helper()
	s3Calls, filerCalls = new(atomic.Int64), new(atomic.Int64)
	a, err := NewSeaweedFS(Config{
		Endpoint: seaweed.Endpoint, Region: seaweed.Region,
		AccessKeyID: seaweed.AccessKey, SecretAccessKey: seaweed.SecretKey,
		UserPrefix: prefix, CallTimeout: 30 * time.Second, FilerGRPCAddress: seaweed.FilerGRPCAddress(),
		APIOptions: []func(*middleware.Stack) error{func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("count", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				s3Calls.Add(1)
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
		}},
		FilerDialOptions: []grpc.DialOption{
			grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				filerCalls.Add(1)
				return invoker(ctx, method, req, reply, cc, opts...)
			}),
			grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
				filerCalls.Add(1)
				return streamer(ctx, desc, cc, method, opts...)
			}),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a, s3Calls, filerCalls
}

// With users on the filer, ListMarkedBuckets reads every bucket's marks
// from one listing of the filer's buckets directory: no S3 request, and one
// filer call however many buckets there are (and, the first time, one for
// the buckets directory, which the client then keeps). It agrees with the
// S3 answers bucket by bucket.
func TestFilerListMarkedBucketsInConstantCalls(t *testing.T) {
	id := fmt.Sprintf("flb%04x", time.Now().UnixNano()&0xffff)
	e := newSeaweedEnv(t, id)
	a, s3Calls, filerCalls := countingAdmin(t, e.Prefix)
	ctx := admintest.Context(t)
	for i := range 4 {
		admintest.CreateBucket(t, e, e.Bucket(fmt.Sprint("m", i)))
	}
	e.Backdoor.AddBucket(t, e.Bucket("plain"), map[string]string{"team": "x"})
	e.Backdoor.AddBucket(t, e.Bucket("bare"), nil)

	var want []s3admin.MarkedBucket
	count := func() (s3n, filerN int64) {
		s3Calls.Store(0)
		filerCalls.Store(0)
		got, err := a.ListMarkedBuckets(ctx)
		admintest.MustNil(t, "ListMarkedBuckets", err)
		if mine := onlyPrefixed(got, id); !slices.Equal(mine, want) {
			t.Fatalf("marked %v, want %v", mine, want)
		}
		return s3Calls.Load(), filerCalls.Load()
	}
	for i := range 4 {
		want = append(want, s3admin.MarkedBucket{Name: e.Bucket(fmt.Sprint("m", i)), Owner: e.Own.Owner, Marker: e.Own.Marker})
	}
	s3Before, filerBefore := count()
	for i := range 8 {
		admintest.CreateBucket(t, e, e.Bucket(fmt.Sprint("n", i)))
		want = append(want, s3admin.MarkedBucket{Name: e.Bucket(fmt.Sprint("n", i)), Owner: e.Own.Owner, Marker: e.Own.Marker})
	}
	s3After, filerAfter := count()
	if s3Before != 0 || s3After != 0 || filerBefore != 2 || filerAfter != 1 {
		t.Fatalf("S3 requests %d then %d, filer calls %d then %d; want 0, 0, 2, 1", s3Before, s3After, filerBefore, filerAfter)
	}
}

// The filer's listing of buckets goes on page after page.
func TestFilerBucketTagsPages(t *testing.T) {
	id := fmt.Sprintf("fbp%04x", time.Now().UnixNano()&0xffff)
	e := newSeaweedEnv(t, id)
	a := newSeaweedAdminOn(t, e.Prefix, seaweed.FilerGRPCAddress())
	want := map[string]map[string]string{}
	for i := range 5 {
		b := e.Bucket(fmt.Sprint(i))
		e.Backdoor.AddBucket(t, b, map[string]string{"n": fmt.Sprint(i)})
		want[b] = map[string]string{"n": fmt.Sprint(i)}
	}
	all, err := a.filer.BucketTagsPaged(admintest.Context(t), 30*time.Second, 2)
	admintest.MustNil(t, "bucketTags", err)
	got := map[string]map[string]string{}
	for n, tags := range all {
		if strings.HasPrefix(n, id+"-") {
			got[n] = tags
		}
	}
	if !maps.EqualFunc(got, want, maps.Equal) {
		t.Fatalf("tags %v, want %v", got, want)
	}
}

func onlyPrefixed(bs []s3admin.MarkedBucket, id string) []s3admin.MarkedBucket {
	var out []s3admin.MarkedBucket
	for _, b := range bs {
		if strings.HasPrefix(b.Name, id+"-") {
			out = append(out, b)
		}
	}
	return out
}
