package seaweedfs

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

// calls is how every backend call is made, by the S3 bucket backend and both
// user paths alike: each bounded by the per-call timeout, counted, its error
// classified, and each write between its crash points.
type calls struct {
	timeout time.Duration
	// iamWrite serializes every IAM mutation in this process: SeaweedFS
	// rewrites the whole identity set on each one, older versions lost
	// concurrent updates, and parallel writes only queue up on the server.
	//
	// Writes through the filer's IAM service (each to the files of one user
	// or policy) hold it shared and run together; an IAM query API write,
	// which rewrites every identity from what it read before, holds it alone
	// so that it never writes back over one of them.
	iamWrite *engine.CtxRWMutex

	writes atomic.Int64
	count  atomic.Int64
}

// caller is what read needs: the calls, or a client that holds them.
type caller interface {
	call(ctx context.Context, op string, fn func(context.Context) error) error
}

// call runs one backend call under the per-call timeout and classifies its
// error.
func (c *calls) call(ctx context.Context, op string, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	c.count.Add(1)
	return s3admin.Classify(op, fn(ctx))
}

// read is call for a call whose output is wanted.
func read[T any](ctx context.Context, c caller, op string, fn func(context.Context) (T, error)) (T, error) {
	var out T
	err := c.call(ctx, op, func(ctx context.Context) error {
		var err error
		out, err = fn(ctx)
		return err
	})
	return out, err
}

// write is call for a mutating S3 call.
func (c *calls) write(ctx context.Context, op string, fn func(context.Context) error) error {
	c.writes.Add(1)
	return mutation(op, func() error { return c.call(ctx, op, fn) })
}

// mutation runs one change to SeaweedFS between its crash points (see
// package crashpoint): the "after" point only once SeaweedFS acknowledged it.
func mutation(op string, fn func() error) error {
	crashpoint.Hit(crashpoint.Before(crashpoint.Backend(op)))
	err := fn()
	if err == nil {
		crashpoint.Hit(crashpoint.After(crashpoint.Backend(op)))
	}
	return err
}

// iamMutate is call for an IAM mutation: serialized process-wide, counted,
// and with the server flag named when SeaweedFS refuses it.
func (c *calls) iamMutate(ctx context.Context, op string, fn func(context.Context) error) error {
	if err := c.iamWrite.Lock(ctx); err != nil {
		return &s3admin.Error{Op: op, Kind: s3admin.ErrTransient, Err: err}
	}
	defer c.iamWrite.Unlock()
	c.writes.Add(1)
	return mutation(op, func() error { return writeDenied(c.call(ctx, op, fn)) })
}

// isCode reports whether err carries the given store error code.
func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

// writeDenied adds the server-side cause to an IAM write refused with
// AccessDenied: SeaweedFS answers AccessDenied for every IAM write unless the
// S3 gateway runs with IAM writes enabled, and the message text is not a
// stable contract, so the hint names both possible causes.
func writeDenied(err error) error {
	var e *s3admin.Error
	if errors.As(err, &e) && e.Kind == s3admin.ErrAccessDenied {
		e.Hint = "IAM writes are disabled by default in SeaweedFS: start the gateway with " +
			"-s3.iam.readOnly=false (weed server/filer) or -iam.readOnly=false (weed s3), and use admin credentials"
	}
	return err
}
