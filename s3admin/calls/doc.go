// Package calls is how every call to SeaweedFS is made, by the S3 bucket
// backend and both user paths alike: bounded by the per-call timeout,
// counted, its error classified (s3admin.Classify), each write between its
// crash points, IAM writes serialized process-wide.
package calls
