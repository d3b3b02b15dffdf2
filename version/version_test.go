package version

import "testing"

func TestStampedVersionWins(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	Version = "v9.8.7"
	if got := Get(); got != "v9.8.7" {
		t.Fatalf("Get() = %q, want the stamped v9.8.7", got)
	}
}

// A test binary is a (devel) build of the module: without a stamp the
// version says so instead of being empty.
func TestUnstampedVersionIsDev(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	Version = ""
	if got := Get(); got != "dev" {
		t.Fatalf("Get() = %q, want dev", got)
	}
}
