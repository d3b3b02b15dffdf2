//go:build tools

// Package tools pins chainsaw, which runs the declarative end-to-end tests.
package tools

import _ "github.com/kyverno/chainsaw"
