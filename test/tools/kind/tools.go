//go:build tools

// Package tools pins kind, which creates the Kubernetes cluster of the kind
// CI jobs (test/cluster/kind.sh). It is not part of `make tools`: the local
// tests run no container engine.
package tools

import _ "sigs.k8s.io/kind"
