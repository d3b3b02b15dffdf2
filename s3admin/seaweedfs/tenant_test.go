package seaweedfs

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

// The package's hostile identity: one for all cases, created on first use
// (every IAM write costs more with every user).
var (
	tenantOnce sync.Once
	tenant     *s3check.Tenant
	tenantErr  error
)

func theTenant(t *testing.T) *s3check.Tenant {
	t.Helper()
	tenantOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		tenant, tenantErr = s3check.NewTenant(ctx, newRawClients().iam, seaweed.Endpoint, seaweed.Region,
			"tenant-s3admin", "*")
	})
	if tenantErr != nil {
		t.Fatal(tenantErr)
	}
	return tenant
}

func (b *seaweedBackdoor) AddTenantBucket(t *testing.T, name string, tags map[string]string) {
	t.Helper()
	admintest.MustNil(t, "tenant CreateBucket", theTenant(t).CreateBucket(admintest.Context(t), name, tags))
}

func (b *seaweedBackdoor) TenantPutObject(t *testing.T, bucket, key string) {
	t.Helper()
	admintest.MustNil(t, "tenant PutObject", s3check.Put(admintest.Context(t), theTenant(t).S3, bucket, key, "tenant data"))
}

func (b *seaweedBackdoor) AddOwnerlessBucket(t *testing.T, name string, tags map[string]string) {
	t.Helper()
	ctx := admintest.Context(t)
	tn := theTenant(t)
	admintest.MustNil(t, "tenant directory-marker PUT", tn.MarkerPut(ctx, name, admintest.OwnerlessUpload))
	admintest.MustNil(t, "the ownerless bucket seen", tn.AwaitBucket(ctx, name))
	if len(tags) > 0 {
		admintest.MustNil(t, "tenant PutBucketTagging", tn.Tag(ctx, name, tags))
	}
}
