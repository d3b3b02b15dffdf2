package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

func TestToStatus(t *testing.T) {
	cm := schema.GroupResource{Resource: "configmaps"}
	for _, c := range []struct {
		name string
		err  error
		want codes.Code
	}{
		{"a status passes through", status.Error(codes.InvalidArgument, "bad"), codes.InvalidArgument},
		{"canceled", fmt.Errorf("wrapped: %w", context.Canceled), codes.Canceled},
		{"deadline", fmt.Errorf("wrapped: %w", context.DeadlineExceeded), codes.Unavailable},
		{"conflict", apierrors.NewConflict(cm, "x", errors.New("changed")), codes.Unavailable},
		{"too many requests", apierrors.NewTooManyRequests("slow down", 1), codes.Unavailable},
		{"service unavailable", apierrors.NewServiceUnavailable("starting"), codes.Unavailable},
		// A starting API server refuses everybody until its caches are
		// filled: retryable, as an outage is.
		{"forbidden", fmt.Errorf("create record: %w", apierrors.NewForbidden(cm, "x", errors.New("no rule"))), codes.Unavailable},
		{"unauthorized", apierrors.NewUnauthorized("token not yet verifiable"), codes.Unavailable},
		{"anything else", apierrors.NewBadRequest("malformed"), codes.Internal},
		// A record written by a newer driver: nothing is changed, and
		// retrying cannot help until a driver that reads it runs.
		{"newer record format", fmt.Errorf("get bucket record: %w", &store.FormatError{Record: "bucket-x", Found: "2"}), codes.FailedPrecondition},
		// A record edited into something the driver cannot trust: retrying
		// cannot help until somebody repairs it.
		{"corrupt record", fmt.Errorf("get access record: %w", &store.CorruptError{Kind: store.KindAccess, Record: "access-x", Field: "spec", Problem: store.ProblemNotJSON}), codes.FailedPrecondition},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := status.Code(toStatus(c.err)); got != c.want {
				t.Errorf("toStatus(%v) = %s, want %s", c.err, got, c.want)
			}
		})
	}
	if toStatus(nil) != nil {
		t.Error("toStatus(nil) is not nil")
	}
}
