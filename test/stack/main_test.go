package stack

import (
	"os"
	"testing"
)

// shared is the stack every test in this package uses, except the SeaweedFS
// tests that need a server of their own to restart or reconfigure.
var shared *Stack

func TestMain(m *testing.M) {
	os.Exit(Run(m, Options{}, func(s *Stack) { shared = s }))
}
