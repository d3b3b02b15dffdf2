// Package version holds the driver's version, stamped in at build time:
//
//	go build -ldflags "-X github.com/cosi-seaweedfs/cosi-seaweedfs/version.Version=v1.2.3"
//
// (make build and make image do it from `git describe`).
package version

import "runtime/debug"

// Version is the stamped version; "" when the build stamped none.
var Version = ""

// Get returns the stamped version, else the module version recorded by
// `go install …@version`, else "dev".
func Get() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
