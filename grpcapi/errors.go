package grpcapi

import (
	"context"
	"errors"
	"net"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// toStatus is the one place where internal errors become gRPC codes. Errors
// the handlers built on purpose (validation, conflicts) are already statuses
// and pass through. Everything else comes from the Kubernetes API (the state
// store): anything that may pass — timeouts, throttling, an unavailable or
// overloaded API server, a broken connection — is UNAVAILABLE so that the
// sidecar retries, and so is a refusal (see below); the rest is INTERNAL.
// Messages are fixed sentences: store errors can carry object contents and
// are logged, not returned.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var netErr net.Error
	var formatErr *store.FormatError
	switch {
	case errors.As(err, &formatErr):
		// Written by a newer driver: this one changes nothing (see
		// store.Format). The record name and both formats are no secret.
		return status.Errorf(codes.FailedPrecondition, "%s; run a driver that understands it (see the README, Upgrades and rollbacks)", formatErr)
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded),
		apierrors.IsTimeout(err), apierrors.IsServerTimeout(err),
		apierrors.IsTooManyRequests(err), apierrors.IsServiceUnavailable(err),
		apierrors.IsInternalError(err), apierrors.IsConflict(err),
		errors.As(err, &netErr):
		return status.Error(codes.Unavailable, "the Kubernetes API is unavailable; the request can be retried")
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		// Also retryable: an API server that has just started answers
		// before its authorizer and authenticator caches are filled, and
		// refuses everybody for a moment. A refusal that lasts is a
		// missing RBAC rule, which the message and the log name.
		return status.Error(codes.Unavailable, "the Kubernetes API refused the driver's request; while an API server starts this passes, otherwise check the driver's RBAC")
	default:
		return status.Error(codes.Internal, "internal error; see the driver log")
	}
}

// pending is the answer when the reconciler has not converged within the
// handler's wait: the intent is recorded and carries on, and the sidecar's
// retry will find it done.
func pending(what, detail string) error {
	msg := what + " is recorded and still being applied"
	if detail != "" {
		msg += ": " + detail
	}
	return status.Error(codes.Unavailable, msg)
}
