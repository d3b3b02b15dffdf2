//go:build tools

// Package tools pins protoc-gen-go-grpc, which generates the client stubs
// of the filer's and IAM service's gRPC services (make generate).
package tools

import _ "google.golang.org/grpc/cmd/protoc-gen-go-grpc"
