//go:build tools

// Package tools pins golangci-lint, which runs the linters `make lint` asks
// for (.golangci.yml).
package tools

import _ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
