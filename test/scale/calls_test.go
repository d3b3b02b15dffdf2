package scale

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	smithymiddleware "github.com/aws/smithy-go/middleware"
	"google.golang.org/grpc"
)

// callTimes adds up the time a client spends in each filer gRPC method and
// each S3 and IAM operation, so
// the benchmark can say where a driver grant's time goes.
type callTimes struct {
	mu    sync.Mutex
	total map[string]time.Duration
	count map[string]int
}

func newCallTimes() *callTimes {
	return &callTimes{total: map[string]time.Duration{}, count: map[string]int{}}
}

// dialOption is the interceptor that records every unary call.
func (c *callTimes) dialOption() grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		t := time.Now()
		err := invoker(ctx, method, req, reply, cc, opts...)
		c.add(path.Base(method), time.Since(t))
		return err
	})
}

// streamOption records every server stream until it ends (the filer's
// ListEntries, which ReadFile and ReadDir use).
func (c *callTimes) streamOption() grpc.DialOption {
	return grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		s, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			return nil, err
		}
		return &timedStream{ClientStream: s, c: c, method: path.Base(method), start: time.Now()}, nil
	})
}

type timedStream struct {
	grpc.ClientStream
	c      *callTimes
	method string
	start  time.Time
	done   bool
}

func (s *timedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil && !s.done {
		s.done = true
		s.c.add(s.method, time.Since(s.start))
	}
	return err
}

// apiOption records every S3 and IAM operation.
func (c *callTimes) apiOption() func(*smithymiddleware.Stack) error {
	return func(stack *smithymiddleware.Stack) error {
		return stack.Initialize.Add(smithymiddleware.InitializeMiddlewareFunc("benchCallTimes",
			func(ctx context.Context, in smithymiddleware.InitializeInput, next smithymiddleware.InitializeHandler) (smithymiddleware.InitializeOutput, smithymiddleware.Metadata, error) {
				t := time.Now()
				out, md, err := next.HandleInitialize(ctx, in)
				c.add(awsmiddleware.GetServiceID(ctx)+" "+awsmiddleware.GetOperationName(ctx), time.Since(t))
				return out, md, err
			}), smithymiddleware.After)
	}
}

func (c *callTimes) add(method string, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total[method] += d
	c.count[method]++
}

func (c *callTimes) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.total)
	clear(c.count)
}

// breakdown is the mean time per operation in each method, over ops
// operations that took spent in all, and what remains outside them.
func (c *callTimes) breakdown(ops int, spent time.Duration) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ops == 0 {
		return "-"
	}
	var parts []string
	var in time.Duration
	for _, m := range slices.Sorted(func(yield func(string) bool) {
		for m := range c.total {
			if !yield(m) {
				return
			}
		}
	}) {
		in += c.total[m]
		parts = append(parts, fmt.Sprintf("%s %s (%.1f×)", m, round(c.total[m]/time.Duration(ops)), float64(c.count[m])/float64(ops)))
	}
	parts = append(parts, "outside these calls "+round((spent-in)/time.Duration(ops)))
	return strings.Join(parts, ", ")
}
