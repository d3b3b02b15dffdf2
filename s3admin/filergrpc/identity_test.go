package filergrpc

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc/iampb"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc/s3pb"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// unknownField is field 99 of an identity, which no SeaweedFS this code
// was generated from has: one a newer SeaweedFS might add.
func unknownField() []byte {
	b := protowire.AppendTag(nil, 99, protowire.BytesType)
	return protowire.AppendString(b, "from a newer SeaweedFS")
}

func TestIdentityKeepsWhatTheDriverDoesNotManage(t *testing.T) {
	stored := &iampb.Identity{
		Name:              "cosi-u1",
		Credentials:       []*iampb.Credential{{AccessKey: "old", SecretKey: "old-secret", Status: "Inactive"}},
		Actions:           []string{"Read:b"},
		Account:           &iampb.Account{Id: "acc-1", DisplayName: "Team A"},
		Disabled:          true,
		ServiceAccountIds: []string{"sa-1"},
		PolicyNames:       []string{"p-old"},
		IsStatic:          true,
		Tags:              []*iampb.UserTag{{Key: "owner", Value: "ops"}},
	}
	stored.ProtoReflect().SetUnknown(unknownField())

	id, err := identityOf(stored)
	if err != nil {
		t.Fatal(err)
	}
	want := plan.Identity{Name: "cosi-u1", Credentials: []plan.Credential{{AccessKey: "old", SecretKey: "old-secret", Status: "Inactive"}},
		Actions: []string{"Read:b"}, Disabled: true, ServiceAccounts: []string{"sa-1"}, PolicyNames: []string{"p-old"}}
	if id.Name != want.Name || !slices.Equal(id.Credentials, want.Credentials) || !slices.Equal(id.Actions, want.Actions) ||
		id.Disabled != want.Disabled || !slices.Equal(id.ServiceAccounts, want.ServiceAccounts) || !slices.Equal(id.PolicyNames, want.PolicyNames) {
		t.Fatalf("read %+v, want %+v", id, want)
	}
	if len(id.Others) == 0 {
		t.Fatal("Others is empty: the account, the tags and the unknown field are lost")
	}

	// A rewrite as the managed path makes it: another key and policy, no
	// actions, enabled.
	id.Credentials = []plan.Credential{{AccessKey: "new", SecretKey: "new-secret", Status: "Active"}}
	id.Actions, id.Disabled, id.ServiceAccounts, id.PolicyNames = nil, false, nil, []string{"p-new"}
	written, err := identityMessage(id)
	if err != nil {
		t.Fatal(err)
	}
	// What goes on the wire, read back as the filer reads it.
	b, err := proto.Marshal(&iampb.UpdateUserRequest{Username: id.Name, Identity: written})
	if err != nil {
		t.Fatal(err)
	}
	var req iampb.UpdateUserRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	got := req.GetIdentity()
	wantMsg := &iampb.Identity{
		Name:        "cosi-u1",
		Credentials: []*iampb.Credential{{AccessKey: "new", SecretKey: "new-secret", Status: "Active"}},
		Account:     &iampb.Account{Id: "acc-1", DisplayName: "Team A"},
		PolicyNames: []string{"p-new"},
		Tags:        []*iampb.UserTag{{Key: "owner", Value: "ops"}},
	}
	wantMsg.ProtoReflect().SetUnknown(unknownField())
	if !proto.Equal(got, wantMsg) {
		t.Fatalf("wrote %v, want %v: the managed fields as set, everything else as stored, is_static never", got, wantMsg)
	}
}

func TestIdentityWithNothingElseHasNoOthers(t *testing.T) {
	id, err := identityOf(&iampb.Identity{Name: "u", PolicyNames: []string{"p"}, IsStatic: true})
	if err != nil || id.Others != nil {
		t.Fatalf("got Others %x, %v; want none", id.Others, err)
	}
	if id, err := identityOf(nil); err != nil || id.Name != "" || id.Others != nil {
		t.Fatalf("no identity read as %+v, %v; want the empty one", id, err)
	}
	written, err := identityMessage(plan.Identity{Name: "u", PolicyNames: []string{"p"}})
	if err != nil || !proto.Equal(written, &iampb.Identity{Name: "u", PolicyNames: []string{"p"}}) {
		t.Fatalf("wrote %v, %v", written, err)
	}
}

func TestBucketMetadataTags(t *testing.T) {
	b, err := proto.Marshal(&s3pb.BucketMetadata{Tags: map[string]string{"a": "1", "b": ""},
		Cors: &s3pb.CORSConfiguration{}})
	if err != nil {
		t.Fatal(err)
	}
	if tags := bucketMetadataTags(b); len(tags) != 2 || tags["a"] != "1" || tags["b"] != "" {
		t.Errorf("tags %v, want a=1 and b empty", tags)
	}
	if tags := bucketMetadataTags(nil); tags != nil {
		t.Errorf("no content: tags %v, want none", tags)
	}
	if tags := bucketMetadataTags([]byte("not protobuf")); tags != nil {
		t.Errorf("undecodable content: tags %v, want none, as the gateway reads it", tags)
	}
}
