//go:build tools

// Package tools pins protoc-gen-go, which generates the filer's and IAM
// service's message types (make generate); its version is the
// google.golang.org/protobuf of the main module, whose runtime the
// generated code calls.
package tools

import _ "google.golang.org/protobuf/cmd/protoc-gen-go"
