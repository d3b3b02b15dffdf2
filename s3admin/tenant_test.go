package s3admin

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

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

func (b *seaweedBackdoor) addTenantBucket(t *testing.T, name string, tags map[string]string) {
	t.Helper()
	ctx := testCtx(t)
	c := theTenant(t).S3
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	mustNil(t, "tenant CreateBucket", err)
	if len(tags) > 0 {
		var set []s3types.Tag
		for k, v := range tags {
			set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		_, err = c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(name), Tagging: &s3types.Tagging{TagSet: set}})
		mustNil(t, "tenant PutBucketTagging", err)
	}
}

func (b *seaweedBackdoor) tenantPutObject(t *testing.T, bucket, key string) {
	t.Helper()
	mustNil(t, "tenant PutObject", s3check.Put(testCtx(t), theTenant(t).S3, bucket, key, "tenant data"))
}
