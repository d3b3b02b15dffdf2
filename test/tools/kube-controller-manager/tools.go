//go:build tools

// Package tools pins the kube-controller-manager the node tests run.
package tools

import _ "k8s.io/kubernetes/cmd/kube-controller-manager"
