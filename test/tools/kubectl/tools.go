//go:build tools

// Package tools pins the kubectl that the install guide's walk on the node
// runs, from the same Kubernetes as the node.
package tools

import _ "k8s.io/kubernetes/cmd/kubectl"
