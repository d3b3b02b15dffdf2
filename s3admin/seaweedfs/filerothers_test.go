package seaweedfs

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc/iampb"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// What SeaweedFS or an operator set on a user's identity that the driver
// does not manage (its account and tags) is still there after the filer
// path rewrote the identity whole for a new key.
func TestFilerPathKeepsWhatItDoesNotManageOfAnIdentity(t *testing.T) {
	e := newSeaweedFilerEnv(t, fmt.Sprintf("oth%04x", time.Now().UnixNano()&0xffff))
	admin := e.Admin.(*SeaweedFS)
	ctx := admintest.Context(t)
	b := e.Bucket("b")
	admintest.CreateBucket(t, e, b)
	a := e.Access(t, e.User("u"), b, s3admin.ModeReadWrite)
	admintest.Ensure(t, e, a)

	id, err := admin.filer.GetUser(ctx, a.User)
	admintest.MustNil(t, "GetUser", err)
	set := &iampb.Identity{
		Account: &iampb.Account{Id: "acc-" + e.ID, DisplayName: "team " + e.ID},
		Tags:    []*iampb.UserTag{{Key: "owner", Value: "ops"}},
	}
	if id.Others, err = proto.Marshal(set); err != nil {
		t.Fatal(err)
	}
	admintest.MustNil(t, "UpdateUser with an account and tags", admin.filer.UpdateUser(ctx, id))

	// The same access with another key: the driver writes the identity
	// again, without the old key.
	rotated := e.Access(t, a.User, b, a.Mode)
	if removed := admintest.EnsureRemovingUnissued(t, e, rotated); removed != 1 {
		t.Fatalf("EnsureAccess with a new key removed %d keys, want the old one", removed)
	}

	after, err := admin.filer.GetUser(ctx, a.User)
	admintest.MustNil(t, "GetUser", err)
	if len(after.Credentials) != 1 || after.Credentials[0].AccessKey != rotated.AccessKeyID {
		t.Fatalf("identity holds keys %v, want only the new key %s: it was not rewritten", keyIDs(after.Credentials), rotated.AccessKeyID)
	}
	var kept iampb.Identity
	if err := proto.Unmarshal(after.Others, &kept); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&kept, set) {
		t.Fatalf("after the rewrite the identity's other fields are %v, want the account and tags set before: %v", &kept, set)
	}
}

func keyIDs(creds []plan.Credential) []string {
	var out []string
	for _, c := range creds {
		out = append(out, c.AccessKey)
	}
	return out
}
