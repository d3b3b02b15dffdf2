package seaweedfs

import (
	"testing"
)

// TestContract runs the Admin contract on SeaweedFS, on both user paths.
func TestContract(t *testing.T) {
	for _, impl := range []struct {
		name  string
		setup func(t *testing.T, id string) *env
	}{
		{"seaweedfs", newSeaweedEnv},
		{"seaweedfs-filer", newSeaweedFilerEnv},
	} {
		t.Run(impl.name, func(t *testing.T) { runContract(t, impl.setup) })
	}
}
