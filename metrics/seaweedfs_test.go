package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func responseError(status int) error {
	return fmt.Errorf("operation error: %w", &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      errors.New("api error"),
	})
}

func TestOutcome(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		ctx  context.Context
		err  error
		want string
	}{
		{context.Background(), nil, "ok"},
		{context.Background(), responseError(404), "notFound"},
		{context.Background(), responseError(403), "denied"},
		{context.Background(), responseError(401), "denied"},
		{context.Background(), responseError(409), "conflict"},
		{context.Background(), responseError(400), "rejected"},
		{context.Background(), responseError(503), "serverError"},
		{context.Background(), errors.New("dial tcp 127.0.0.1:1: connection refused"), "unreachable"},
		{context.Background(), context.DeadlineExceeded, "unreachable"},
		{canceled, fmt.Errorf("send: %w", context.Canceled), "canceled"},
	} {
		if got := Outcome(tc.ctx, tc.err); got != tc.want {
			t.Errorf("Outcome(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
