package s3admin

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
)

// callTimes adds up the time a client spends in each filer gRPC method, so
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
		c.mu.Lock()
		c.total[path.Base(method)] += time.Since(t)
		c.count[path.Base(method)]++
		c.mu.Unlock()
		return err
	})
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
	parts = append(parts, "outside filer calls "+round((spent-in)/time.Duration(ops)))
	return strings.Join(parts, ", ")
}
