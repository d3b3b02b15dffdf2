package seaweedfs

import (
	"testing"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
)

// TestContract runs the Admin contract on SeaweedFS, on both user paths.
func TestContract(t *testing.T) {
	for _, impl := range []struct {
		name  string
		setup func(t *testing.T, id string) *admintest.Env
	}{
		{"seaweedfs", newSeaweedEnv},
		{"seaweedfs-filer", newSeaweedFilerEnv},
	} {
		t.Run(impl.name, func(t *testing.T) { admintest.Run(t, impl.setup) })
	}
}
