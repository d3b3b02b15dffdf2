//go:build tools

// Package tools pins actionlint, which checks the GitHub Actions workflows.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
