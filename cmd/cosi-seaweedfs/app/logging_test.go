package app

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"k8s.io/klog/v2"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestKlogGoesToTheLatestDriversJSONLog(t *testing.T) {
	first, second := &lockedBuffer{}, &lockedBuffer{}
	routeKlog(NewLogger(first, 0), 0)
	klog.InfoS("from client-go", "object", "one")
	klog.V(2).InfoS("too detailed at --v=0")
	routeKlog(NewLogger(second, 2), 2)
	klog.V(2).InfoS("detail at --v=2")
	klog.Flush()

	lines := strings.Split(strings.TrimSpace(first.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("first log has %d lines, want 1:\n%s", len(lines), first.String())
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &obj); err != nil {
		t.Fatalf("not JSON: %q", lines[0])
	}
	if obj["logger"] != "klog" || obj["msg"] != "from client-go" || obj["object"] != "one" {
		t.Errorf("line = %v", obj)
	}
	if !strings.Contains(second.String(), `"detail at --v=2"`) {
		t.Errorf("second log lacks the V(2) line:\n%s", second.String())
	}
}
