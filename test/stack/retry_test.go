package stack

import (
	"context"
	"errors"
	"testing"
)

func TestRetryStart(t *testing.T) {
	failing := errors.New("address already in use")
	tests := []struct {
		name                    string
		failures                int
		retryable, cancelled    bool
		wantCalls, wantDiscards int
		wantErr                 bool
	}{
		{name: "a start that fails twice succeeds on the third attempt", failures: 2, retryable: true, wantCalls: 3, wantDiscards: 2},
		{name: "a start that always fails gives up after the last attempt", failures: 9, retryable: true, wantCalls: startAttempts, wantDiscards: startAttempts - 1, wantErr: true},
		{name: "a start into a fixed directory is not retried", failures: 1, wantCalls: 1, wantErr: true},
		{name: "a start cut off by its context is not retried", failures: 1, retryable: true, cancelled: true, wantCalls: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelled {
				cancel()
			}
			calls, discards := 0, 0
			err := retryStart(ctx, "component", tt.retryable, func() error {
				calls++
				if calls <= tt.failures {
					return failing
				}
				return nil
			}, func() { discards++ })
			if (err != nil) != tt.wantErr || calls != tt.wantCalls || discards != tt.wantDiscards {
				t.Errorf("err=%v calls=%d discards=%d; want error %v, %d calls, %d discards", err, calls, discards, tt.wantErr, tt.wantCalls, tt.wantDiscards)
			}
		})
	}
}
