package fake

import (
	"context"
	"testing"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// fakeBackdoor reaches into the fake as the contract's Backdoor.
type fakeBackdoor struct{ f *Fake }

func newFakeEnv(t *testing.T, id string) *admintest.Env {
	owner := "owner-" + id
	prefix := "cosi-" + id + "-"
	f := New(prefix)
	return &admintest.Env{Admin: f, Backdoor: fakeBackdoor{f}, Owner: owner, Prefix: prefix, ID: id,
		Own: s3admin.Ownership{Owner: owner, Marker: "marker-" + id}}
}

func (b fakeBackdoor) AddBucket(t *testing.T, name string, tags map[string]string) {
	b.f.AddBucket(name, tags)
}
func (b fakeBackdoor) AddTenantBucket(t *testing.T, name string, tags map[string]string) {
	b.f.AddBucketBy("tenant", name, tags)
}
func (b fakeBackdoor) AddOwnerlessBucket(t *testing.T, name string, tags map[string]string) {
	b.f.AddOwnerlessBucket(name, admintest.OwnerlessUpload)
	if tags != nil {
		admintest.MustNil(t, "SetBucketTags", b.f.SetBucketTags(name, tags))
	}
}
func (b fakeBackdoor) TenantPutObject(t *testing.T, bucket, key string) {
	admintest.MustNil(t, "PutObject", b.f.PutObject(bucket, key))
}
func (b fakeBackdoor) PutObject(t *testing.T, bucket, key string) {
	admintest.MustNil(t, "PutObject", b.f.PutObject(bucket, key))
}
func (b fakeBackdoor) FormUpload(t *testing.T, bucket, key string) {
	admintest.MustNil(t, "FormUpload", b.f.FormUpload(bucket, key))
}
func (b fakeBackdoor) BeforeRequest(fn func(op string))       { b.f.SetBeforeRequest(fn) }
func (b fakeBackdoor) RemoveBucket(t *testing.T, name string) { b.f.RemoveBucket(name) }
func (b fakeBackdoor) SetTags(t *testing.T, bucket string, tags map[string]string) {
	admintest.MustNil(t, "SetBucketTags", b.f.SetBucketTags(bucket, tags))
}
func (b fakeBackdoor) AddUser(t *testing.T, name string) string {
	id, _, _ := s3admin.GenerateCredentials()
	admintest.MustNil(t, "AddUser", b.f.AddUser(name, id))
	return id
}
func (b fakeBackdoor) AddUserKey(t *testing.T, user string) string {
	id, _, _ := s3admin.GenerateCredentials()
	admintest.MustNil(t, "AddUserKey", b.f.AddUserKey(user, id))
	return id
}
func (b fakeBackdoor) PutUserPolicy(t *testing.T, user, name, doc string) {
	admintest.MustNil(t, "PutUserPolicy", b.f.PutUserPolicy(user, name, doc))
}
func (b fakeBackdoor) DeactivateKey(t *testing.T, user, keyID string) {
	admintest.MustNil(t, "DeactivateKey", b.f.DeactivateKey(user, keyID))
}
func (b fakeBackdoor) RemoveUser(t *testing.T, name string) { b.f.RemoveUser(name) }
func (b fakeBackdoor) WriteCount() int64                    { return b.f.Writes() }

// TestFakeContract runs the Admin contract on the fake, as a SeaweedFS
// whose filer shows who created each bucket and as one reached through its
// S3 API alone.
func TestFakeContract(t *testing.T) {
	t.Run("creators readable", func(t *testing.T) { admintest.Run(t, newFakeEnv) })
	t.Run("creators hidden", func(t *testing.T) {
		admintest.Run(t, func(t *testing.T, id string) *admintest.Env {
			e := newFakeEnv(t, id)
			e.Admin.(*Fake).HideCreators()
			return e
		})
	})
}

func (b fakeBackdoor) Filer() bool         { return fakeBuckets(b).Filer() }
func (b fakeBackdoor) EnforcesQuota() bool { return false }
func (b fakeBackdoor) SetQuota(t *testing.T, bucket string, quota int64) {
	admintest.MustNil(t, "SetQuota", b.f.SetQuota(bucket, quota))
}
func (b fakeBackdoor) Quota(t *testing.T, bucket string) int64 {
	q, err := b.f.QuotaOf(bucket)
	admintest.MustNil(t, "QuotaOf", err)
	return q
}
func (b fakeBackdoor) SetRule(t *testing.T, bucket string, p plan.Placement, readOnly bool) {
	b.f.SetRule(bucket, p, readOnly)
}
func (b fakeBackdoor) Rule(t *testing.T, bucket string) (plan.Placement, bool, bool) {
	return b.f.Rule(bucket)
}
func (b fakeBackdoor) SetVersioning(t *testing.T, bucket, status string) {
	admintest.MustNil(t, "SetVersioning", b.f.SetVersioning(bucket, status))
}
func (b fakeBackdoor) Tags(t *testing.T, bucket string) map[string]string {
	tags, err := b.f.BucketTags(bucket)
	admintest.MustNil(t, "BucketTags", err)
	return tags
}
func (b fakeBackdoor) PutLockedObject(t *testing.T, bucket, key string) {
	admintest.MustNil(t, "PutLockedObject", b.f.PutLockedObject(bucket, key))
}
func (b fakeBackdoor) DeleteObjectVersion(t *testing.T, bucket, key string) error {
	return b.f.DeleteObjectVersion(bucket, key)
}
func (b fakeBackdoor) TryPut(ctx context.Context, bucket, key string, size int) error {
	return b.f.PutObjectSized(bucket, key, int64(size))
}
func (b fakeBackdoor) DeleteObject(t *testing.T, bucket, key string) {
	admintest.MustNil(t, "DeleteObjectVersion", b.f.DeleteObjectVersion(bucket, key))
}
