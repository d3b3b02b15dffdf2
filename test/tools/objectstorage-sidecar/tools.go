//go:build tools

// Package tools pins the COSI provisioner sidecar used by the end-to-end tests.
package tools

import _ "sigs.k8s.io/container-object-storage-interface-provisioner-sidecar/cmd/objectstorage-sidecar"
