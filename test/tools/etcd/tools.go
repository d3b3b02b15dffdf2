//go:build tools

// Package tools pins the etcd server behind the test kube-apiserver.
package tools

import _ "go.etcd.io/etcd/server/v3"
