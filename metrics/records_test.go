package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// A record that cannot be read counts as Failed, where an operator's alert
// looks, rather than not at all.
func TestACorruptRecordCountsAsFailed(t *testing.T) {
	buckets := cache.NewStore(cache.MetaNamespaceKeyFunc)
	accesses := cache.NewStore(cache.MetaNamespaceKeyFunc)
	if err := buckets.Add(&corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "bucket-x", Namespace: "cosi", Labels: map[string]string{store.LabelManagedBy: store.ManagedBy, store.LabelKind: store.KindBucket}},
		Data:       map[string]string{"spec": "{"},
	}); err != nil {
		t.Fatal(err)
	}
	m := New()
	m.RegisterRecords(buckets, accesses)
	want := `
# HELP cosi_seaweedfs_records Records by kind (bucket, access) and phase (Pending, Ready, Blocked, Failed, Deleting).
# TYPE cosi_seaweedfs_records gauge
cosi_seaweedfs_records{kind="access",phase="Blocked"} 0
cosi_seaweedfs_records{kind="access",phase="Deleting"} 0
cosi_seaweedfs_records{kind="access",phase="Failed"} 0
cosi_seaweedfs_records{kind="access",phase="Pending"} 0
cosi_seaweedfs_records{kind="access",phase="Ready"} 0
cosi_seaweedfs_records{kind="bucket",phase="Blocked"} 0
cosi_seaweedfs_records{kind="bucket",phase="Deleting"} 0
cosi_seaweedfs_records{kind="bucket",phase="Failed"} 1
cosi_seaweedfs_records{kind="bucket",phase="Pending"} 0
cosi_seaweedfs_records{kind="bucket",phase="Ready"} 0
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "cosi_seaweedfs_records"); err != nil {
		t.Error(err)
	}
}
