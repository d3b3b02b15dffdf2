package metrics

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestGRPCOutcome(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		ctx  context.Context
		err  error
		want string
	}{
		{context.Background(), nil, "ok"},
		{context.Background(), status.Error(codes.NotFound, "user x not found"), "notFound"},
		{context.Background(), status.Error(codes.Unauthenticated, "invalid admin token"), "denied"},
		{context.Background(), status.Error(codes.AlreadyExists, "user x already exists"), "conflict"},
		{context.Background(), status.Error(codes.InvalidArgument, "identity is required"), "rejected"},
		{context.Background(), status.Error(codes.Internal, "failed to create user"), "serverError"},
		{context.Background(), status.Error(codes.Unavailable, "connection refused"), "unreachable"},
		{context.Background(), status.Error(codes.DeadlineExceeded, "deadline"), "unreachable"},
		{canceled, status.Error(codes.Canceled, "context canceled"), "canceled"},
	} {
		if got := grpcOutcome(tc.ctx, tc.err); got != tc.want {
			t.Errorf("grpcOutcome(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
