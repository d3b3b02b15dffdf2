//go:build tools

// Package tools pins the kube-apiserver used by the integration tests.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
