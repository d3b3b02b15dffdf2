// Package filergrpc is the client of the filer's gRPC services as the
// driver calls them: the IAM service (users, policies, configuration) and
// directory listings (bucket tags, IAM files), the TLS and token credentials
// a secured filer asks for, and a probe of how a filer is secured. Messages
// are encoded with protowire, field by field, for the few fields the driver
// reads and writes (see wire.go).
package filergrpc
