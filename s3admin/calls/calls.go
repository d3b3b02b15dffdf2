package calls

import (
	"errors"

	"github.com/aws/smithy-go"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/crashpoint"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/engine"
)

import (
	"context"
	"sync/atomic"
	"time"
)

// Calls is how every backend call is made, by the S3 bucket backend and both
// user paths alike: each bounded by the per-call timeout, counted, its error
// classified, and each write between its crash points.
type Calls struct {
	Timeout time.Duration
	// iamWrite serializes every IAM mutation in this process: SeaweedFS
	// rewrites the whole identity set on each one, older versions lost
	// concurrent updates, and parallel writes only queue up on the server.
	//
	// Writes through the filer's IAM service (each to the files of one user
	// or policy) hold it shared and run together; an IAM query API write,
	// which rewrites every identity from what it read before, holds it alone
	// so that it never writes back over one of them.
	IAMWrite *engine.CtxRWMutex

	WriteCount atomic.Int64
	CallCount  atomic.Int64
}

// caller is what read needs: the calls, or a client that holds them.
type caller interface {
	Call(ctx context.Context, op string, fn func(context.Context) error) error
}

// Call runs one backend call under the per-call timeout and classifies its
// error.
func (c *Calls) Call(ctx context.Context, op string, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	c.CallCount.Add(1)
	return s3admin.Classify(op, fn(ctx))
}

// Read is call for a call whose output is wanted.
func Read[T any](ctx context.Context, c caller, op string, fn func(context.Context) (T, error)) (T, error) {
	var out T
	err := c.Call(ctx, op, func(ctx context.Context) error {
		var err error
		out, err = fn(ctx)
		return err
	})
	return out, err
}

// Write is call for a mutating S3 call.
func (c *Calls) Write(ctx context.Context, op string, fn func(context.Context) error) error {
	c.WriteCount.Add(1)
	return Mutation(op, func() error { return c.Call(ctx, op, fn) })
}

// Mutation runs one change to SeaweedFS between its crash points (see
// package crashpoint): the "after" point only once SeaweedFS acknowledged it.
func Mutation(op string, fn func() error) error {
	crashpoint.Hit(crashpoint.Before(crashpoint.Backend(op)))
	err := fn()
	if err == nil {
		crashpoint.Hit(crashpoint.After(crashpoint.Backend(op)))
	}
	return err
}

// iamMutate is call for an IAM mutation: serialized process-wide, counted,
// and with the server flag named when SeaweedFS refuses it.
func (c *Calls) IAMMutate(ctx context.Context, op string, fn func(context.Context) error) error {
	if err := c.IAMWrite.Lock(ctx); err != nil {
		return s3admin.NewError(op, s3admin.ErrTransient, "%w", err)
	}
	defer c.IAMWrite.Unlock()
	c.WriteCount.Add(1)
	return Mutation(op, func() error { return WriteDenied(c.Call(ctx, op, fn)) })
}

// IsCode reports whether err carries the given store error code.
func IsCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

// WriteDenied adds the server-side cause to an IAM write refused with
// AccessDenied: SeaweedFS answers AccessDenied for every IAM write unless the
// S3 gateway runs with IAM writes enabled, and the message text is not a
// stable contract, so the hint names both possible causes.
func WriteDenied(err error) error {
	var e *s3admin.Error
	if errors.As(err, &e) && e.Kind == s3admin.ErrAccessDenied {
		e.Hint = s3admin.HintIAMWritesDisabled
	}
	return err
}
