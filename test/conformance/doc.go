// Package conformance checks the driver against the COSI v1alpha1 contract
// the way the provisioner sidecar sees it: every test talks gRPC to the
// driver's unix socket, and every outcome is checked where it really lands —
// the driver's records through the Kubernetes API, buckets and users through
// the SeaweedFS S3 and IAM APIs with the admin identity, and the returned
// credentials by using them.
//
// TestMain starts the real components (etcd, kube-apiserver with RBAC and the
// COSI CRDs, SeaweedFS) on 127.0.0.1 and runs the driver in this process with
// app.Run, authenticated as a service account that holds only the Role the
// driver ships with. Test names are the sentences of the contract they check.
//
// Every test runs twice, once per way the driver writes users, keys and
// grants: the IAM query API, then the filer's IAM gRPC service with mutual
// TLS. Each pass has a stack and a driver of its own; a test's output names
// its pass in its first line, and a failed pass is named at the end.
//
// Run with: go test ./test/conformance/ -count=1 -v
// (COSI_USER_PATHS=iam or =filer runs one pass only.)
package conformance
