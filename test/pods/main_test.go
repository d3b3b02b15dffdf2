// Package pods runs the chart on a real single-node cluster (test/node):
// SeaweedFS and the COSI controller stand-in as Deployments, the chart
// installed with `helm install --wait`, and workload pods that use the
// credentials the sidecar writes. `make test-pods` runs it.
package pods

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	logf := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	err := setup(ctx, logf)
	if env.node != nil {
		defer env.node.Stop()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pods: set-up failed: %v\n", err)
		if env.node != nil {
			env.node.DumpLogs(os.Stderr)
		}
		return 1
	}
	code := m.Run()
	if code != 0 {
		env.node.DumpLogs(os.Stderr)
	}
	return code
}
