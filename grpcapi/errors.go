package grpcapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	var corrupt *store.CorruptError
	switch {
	case errors.As(err, &corrupt):
		// Edited through the API server into something the driver cannot
		// trust: retrying cannot help, and nothing is decided from it. The
		// message names the record and the field, never a value.
		fix := "repair the record (a bucket record that cannot be read is never deleted: its purge setting and marks are unknown)"
		if corrupt.Kind == store.KindAccess {
			fix = "repair the record, or revoke the access (delete its BucketAccess, or the record): its SeaweedFS user is removed"
		}
		return status.Errorf(codes.FailedPrecondition, "%s; %s; see the README, Corrupted records", corrupt, fix)
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
		return status.Error(codes.Internal, "internal error")
	}
}

// LogRequestFailed is the message of the log line behind every answer that
// sends its caller to the driver log. The answer quotes it with the line's
// errorID, so that the line is found among the others.
const LogRequestFailed = "request failed"

// fail is the handlers' toStatus: an answer that needs the driver log to be
// understood (INTERNAL, whose cause is not sent; a corrupt record) comes with
// a log line holding the error, which the answer points to.
func (s *Server) fail(err error) error {
	st := toStatus(err)
	var corrupt *store.CorruptError
	if status.Code(st) != codes.Internal && !errors.As(err, &corrupt) {
		return st
	}
	id := errorID()
	kv := []any{"errorID", id}
	if corrupt != nil {
		kv = append(kv, "record", corrupt.Record, "field", corrupt.Field, "problem", corrupt.Problem)
	}
	s.log.Error(err, LogRequestFailed, kv...)
	return status.Errorf(status.Code(st), "%s; see the driver log: line %q with errorID %s", status.Convert(st).Message(), LogRequestFailed, id)
}

// errorID ties an answer to its log line: random, so that it identifies one
// answer among every replica's.
func errorID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand never fails (Go 1.24)
	return hex.EncodeToString(b)
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
