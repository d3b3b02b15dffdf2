package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A bucket's usage and quota are exported while it is watched; an unknown
// usage keeps the last figure; a forgotten bucket has no series left.
func TestBucketUsage(t *testing.T) {
	m := New()
	m.SetBucketUsage("b1", 512, 1024)
	m.SetBucketUsage("b1", -1, 1024)
	m.SetBucketUsage("b2", 10, 100)
	m.ForgetBucket("b2")
	want := `
# HELP cosi_seaweedfs_bucket_quota_bytes The SeaweedFS quota of a bucket whose BucketClass sets maxSize.
# TYPE cosi_seaweedfs_bucket_quota_bytes gauge
cosi_seaweedfs_bucket_quota_bytes{bucket="b1"} 1024
# HELP cosi_seaweedfs_bucket_used_bytes Bytes SeaweedFS counts against the quota of a bucket whose BucketClass sets maxSize (its volumes' bytes, until a vacuum reclaims deleted ones), as last observed.
# TYPE cosi_seaweedfs_bucket_used_bytes gauge
cosi_seaweedfs_bucket_used_bytes{bucket="b1"} 512
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "cosi_seaweedfs_bucket_quota_bytes", "cosi_seaweedfs_bucket_used_bytes"); err != nil {
		t.Fatal(err)
	}
}

// A replica that stops leading drops every bucket's figures.
func TestBucketUsageGoesWithLeadership(t *testing.T) {
	m := New()
	m.SetLeader(true)
	m.SetBucketUsage("b1", 512, 1024)
	m.SetLeader(false)
	if n := testutil.CollectAndCount(m.bucketUsed) + testutil.CollectAndCount(m.bucketQuota); n != 0 {
		t.Fatalf("%d bucket series after leadership ended, want 0", n)
	}
}
