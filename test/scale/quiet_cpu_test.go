package scale

import (
	"os"
	"testing"
	"time"
)

// The benchmark's quiet wait reads a process's CPU time; it must see this
// process's own busy loop.
func TestCPUTicksCountsTheProcessCPUTime(t *testing.T) {
	before, err := cpuTicks(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
	}
	after, err := cpuTicks(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// 300 ms of one CPU is 30 ticks; a busy machine may give this loop less.
	if after-before < 5 {
		t.Fatalf("cpuTicks grew by %d ticks over 300 ms of busy loop, want at least 5", after-before)
	}
	if _, err := cpuTicks(1 << 30); err == nil {
		t.Fatal("cpuTicks of a process that does not exist succeeded")
	}
}
