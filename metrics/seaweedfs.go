package metrics

import (
	"context"
	"errors"
	"net/http"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	smithymiddleware "github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// SeaweedFSAPIOption returns an AWS SDK stack option that counts and times
// every S3 and IAM operation the driver sends to SeaweedFS. It sits in the
// Initialize step, so one observation covers one operation including the
// SDK's own retries: what a reconcile waited for.
func (m *Metrics) SeaweedFSAPIOption() func(*smithymiddleware.Stack) error {
	return func(stack *smithymiddleware.Stack) error {
		if m == nil {
			return nil
		}
		return stack.Initialize.Add(smithymiddleware.InitializeMiddlewareFunc("cosiSeaweedfsMetrics",
			func(ctx context.Context, in smithymiddleware.InitializeInput, next smithymiddleware.InitializeHandler) (smithymiddleware.InitializeOutput, smithymiddleware.Metadata, error) {
				start := time.Now()
				out, md, err := next.HandleInitialize(ctx, in)
				service, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
				m.backendCalls.WithLabelValues(service, op, Outcome(ctx, err)).Inc()
				m.backendDuration.WithLabelValues(service, op).Observe(time.Since(start).Seconds())
				return out, md, err
			}), smithymiddleware.After)
	}
}

// Outcome sorts the result of one SeaweedFS call into a few stable values by
// the HTTP status SeaweedFS answered with (error types only, never message
// text): ok, notFound (404: also the normal answer to "does it exist?"),
// denied (401/403: wrong admin credentials, or IAM writes disabled),
// conflict (409), rejected (other 4xx), serverError (5xx), unreachable (no
// answer: connection refused, timeout) and canceled (the caller gave up).
func Outcome(ctx context.Context, err error) string {
	if err == nil {
		return "ok"
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		switch s := re.HTTPStatusCode(); {
		case s == http.StatusNotFound:
			return "notFound"
		case s == http.StatusUnauthorized || s == http.StatusForbidden:
			return "denied"
		case s == http.StatusConflict:
			return "conflict"
		case s >= 500:
			return "serverError"
		default:
			return "rejected"
		}
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "canceled"
	}
	return "unreachable"
}
