package metrics

import (
	"context"
	"path"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FilerService is the service label of calls to the filer's gRPC services
// (its IAM service and the filer reads the IAM path needs).
const FilerService = "FilerGRPC"

// FilerGRPCInterceptors count and time every call the driver makes to the
// SeaweedFS filer's gRPC port, in the same metrics as the S3 and IAM calls,
// with service FilerGRPC and the method's name as operation.
func (m *Metrics) FilerGRPCInterceptors() []grpc.DialOption {
	if m == nil {
		return nil
	}
	observe := func(ctx context.Context, method string, start time.Time, err error) {
		op := path.Base(method)
		m.backendCalls.WithLabelValues(FilerService, op, grpcOutcome(ctx, err)).Inc()
		m.backendDuration.WithLabelValues(FilerService, op).Observe(time.Since(start).Seconds())
	}
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			start := time.Now()
			err := invoker(ctx, method, req, reply, cc, opts...)
			observe(ctx, method, start, err)
			return err
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			// A stream is counted when it opens; its messages are not.
			start := time.Now()
			s, err := streamer(ctx, desc, cc, method, opts...)
			observe(ctx, method, start, err)
			return s, err
		}),
	}
}

// grpcOutcome sorts a gRPC call's result into the values Outcome uses, by
// its status code.
func grpcOutcome(ctx context.Context, err error) string {
	switch status.Code(err) {
	case codes.OK:
		return "ok"
	case codes.NotFound:
		return "notFound"
	case codes.Unauthenticated, codes.PermissionDenied:
		return "denied"
	case codes.AlreadyExists, codes.Aborted:
		return "conflict"
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange, codes.Unimplemented:
		return "rejected"
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.ResourceExhausted:
		return "serverError"
	case codes.Canceled:
		if ctx.Err() != nil && ctx.Err() != context.DeadlineExceeded {
			return "canceled"
		}
	}
	return "unreachable"
}
