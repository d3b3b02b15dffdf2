package health

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestHandler(t *testing.T) {
	var observed = map[string]bool{}
	c := New(50*time.Millisecond, func(name string, ok bool) { observed[name] = ok })
	h := c.Handler("/readyz")

	t.Run("no checks is ready", func(t *testing.T) {
		if code, body := get(t, h, "/readyz"); code != 200 || body != "ok" {
			t.Fatalf("got %d %q, want 200 ok", code, body)
		}
	})

	c.Add("probe", func(context.Context) error { return nil })
	c.Set("reported", errors.New("anonymous requests are served"))

	t.Run("a failing check makes it not ready and is named with its reason", func(t *testing.T) {
		code, body := get(t, h, "/readyz")
		if code != http.StatusServiceUnavailable {
			t.Fatalf("code = %d, want 503", code)
		}
		for _, want := range []string{"[+]probe ok", "[-]reported failed: anonymous requests are served", "readyz check failed"} {
			if !strings.Contains(body, want) {
				t.Errorf("body %q lacks %q", body, want)
			}
		}
		if observed["reported"] || !observed["probe"] {
			t.Errorf("observed = %v, want probe ok and reported failing", observed)
		}
	})

	t.Run("one check by name", func(t *testing.T) {
		if code, _ := get(t, h, "/readyz/probe"); code != 200 {
			t.Errorf("/readyz/probe = %d, want 200", code)
		}
		if code, _ := get(t, h, "/readyz/missing"); code != http.StatusNotFound {
			t.Errorf("/readyz/missing = %d, want 404", code)
		}
	})

	t.Run("Set nil recovers; verbose lists every check", func(t *testing.T) {
		c.Set("reported", nil)
		code, body := get(t, h, "/readyz?verbose")
		if code != 200 || !strings.Contains(body, "[+]reported ok") {
			t.Fatalf("got %d %q", code, body)
		}
	})

	t.Run("a check that overstays the timeout fails", func(t *testing.T) {
		block := make(chan struct{})
		defer close(block)
		c.Add("stuck", func(context.Context) error { <-block; return nil })
		code, body := get(t, h, "/readyz")
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "[-]stuck failed") {
			t.Fatalf("got %d %q", code, body)
		}
		c.Remove("stuck")
		if code, _ := get(t, h, "/readyz"); code != 200 {
			t.Fatalf("after Remove: %d", code)
		}
	})
}
