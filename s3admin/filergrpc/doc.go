// Package filergrpc is the client of the filer's gRPC services as the
// driver calls them: the IAM service (users, policies, configuration) and
// directory listings (bucket tags, IAM files), the TLS and token credentials
// a secured filer asks for, and a probe of how a filer is secured. Messages
// and client stubs are generated (packages filerpb, iampb and s3pb) from the
// .proto files of the SeaweedFS version the tests run, by generate.sh.
package filergrpc

//go:generate ./generate.sh
