//go:build tools

// Package tools pins the SeaweedFS server used by the integration tests.
package tools

import _ "github.com/seaweedfs/seaweedfs/weed"
