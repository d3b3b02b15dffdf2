package seaweedfs

import (
	"os"
	"testing"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// seaweed is the SeaweedFS every test in this package shares; tests use
// names of their own so they do not see each other's objects.
var seaweed *stack.Seaweed

func TestMain(m *testing.M) {
	os.Exit(stack.Run(m, stack.Options{NoKube: true}, func(s *stack.Stack) { seaweed = s.Seaweed }))
}
