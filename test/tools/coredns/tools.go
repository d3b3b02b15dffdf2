//go:build tools

// Package tools pins the CoreDNS that serves cluster DNS on the test node.
package tools

import _ "github.com/coredns/coredns"
