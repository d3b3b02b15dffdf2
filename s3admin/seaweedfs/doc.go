// Package seaweedfs is the s3admin.Admin of a real SeaweedFS: buckets
// through its S3 API (the engine's BucketBackend), users through one of the
// two user paths (iamapi, or fileriam when a filer address is configured),
// and the anonymous access checks.
package seaweedfs
