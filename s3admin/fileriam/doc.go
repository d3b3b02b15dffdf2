// Package fileriam is the filer IAM gRPC user path: an identity with its
// one key and a managed policy per user, each written in one call to the
// filer's IAM service, and all users listed at once. What only the IAM query
// API reaches (inline policies, groups) goes through the iamapi client it
// holds.
package fileriam
