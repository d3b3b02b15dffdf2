package seaweedfs

import (
	"testing"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/fake"
)

// ---- fake ----

type fakeBackdoor struct{ f *fake.Fake }

func newFakeEnv(t *testing.T, id string) *env {
	owner := "owner-" + id
	prefix := "cosi-" + id + "-"
	f := fake.New(prefix)
	return &env{admin: f, bd: fakeBackdoor{f}, owner: owner, prefix: prefix, id: id,
		own: s3admin.Ownership{Owner: owner, Marker: "marker-" + id}}
}

func (b fakeBackdoor) addBucket(t *testing.T, name string, tags map[string]string) {
	b.f.AddBucket(name, tags)
}
func (b fakeBackdoor) addTenantBucket(t *testing.T, name string, tags map[string]string) {
	b.f.AddBucketBy("tenant", name, tags)
}
func (b fakeBackdoor) tenantPutObject(t *testing.T, bucket, key string) {
	admintest.MustNil(t, "PutObject", b.f.PutObject(bucket, key))
}
func (b fakeBackdoor) putObject(t *testing.T, bucket, key string) {
	admintest.MustNil(t, "PutObject", b.f.PutObject(bucket, key))
}
func (b fakeBackdoor) removeBucket(t *testing.T, name string) { b.f.RemoveBucket(name) }
func (b fakeBackdoor) setTags(t *testing.T, bucket string, tags map[string]string) {
	admintest.MustNil(t, "SetBucketTags", b.f.SetBucketTags(bucket, tags))
}
func (b fakeBackdoor) addUser(t *testing.T, name string) string {
	id, _, _ := s3admin.GenerateCredentials()
	admintest.MustNil(t, "AddUser", b.f.AddUser(name, id))
	return id
}
func (b fakeBackdoor) addUserKey(t *testing.T, user string) string {
	id, _, _ := s3admin.GenerateCredentials()
	admintest.MustNil(t, "AddUserKey", b.f.AddUserKey(user, id))
	return id
}
func (b fakeBackdoor) putUserPolicy(t *testing.T, user, name, doc string) {
	admintest.MustNil(t, "PutUserPolicy", b.f.PutUserPolicy(user, name, doc))
}
func (b fakeBackdoor) deactivateKey(t *testing.T, user, keyID string) {
	admintest.MustNil(t, "DeactivateKey", b.f.DeactivateKey(user, keyID))
}
func (b fakeBackdoor) removeUser(t *testing.T, name string) { b.f.RemoveUser(name) }
func (b fakeBackdoor) WriteCount() int64                    { return b.f.Writes() }

// TestContract runs the Admin contract on the fake.
func TestFakeContract(t *testing.T) { runContract(t, newFakeEnv) }
