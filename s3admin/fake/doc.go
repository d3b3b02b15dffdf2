// Package fake is an in-memory s3admin.Admin that runs the same engine and
// planners as the real client, for tests of the reconciler and of the
// engine. Its hooks inject failures and lag where SeaweedFS has them.
package fake
