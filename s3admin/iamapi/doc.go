// Package iamapi is the IAM query API user path: users, keys and inline
// grants through the IAM API the S3 gateway serves on its own port. Each
// write there rewrites every identity, so writes are serialized (see
// calls.IAMMutate).
package iamapi
