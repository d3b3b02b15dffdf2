package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

const (
	planUser   = "cosi-ba-1"
	planKey    = "AKIAPLANKEY0000001"
	planSecret = "plan-secret-0000000000000000000000000001"
)

func planDoc(t *testing.T, bucket string, mode s3admin.Mode) string {
	t.Helper()
	doc, err := PolicyDocument(bucket, mode)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

var planAccessCases = []struct {
	name    string
	form    Form
	rewrite bool
	// obs builds the observation; the access is planUser with planKey,
	// read-write on bucket "bkt".
	obs  func(t *testing.T) Observation
	want func(t *testing.T) AccessPlan
}{
	{
		name: "inline: a user that is the access already needs no change",
		obs: func(t *testing.T) Observation {
			return Observation{Exists: true, Keys: []KeyInfo{{Id: planKey, Active: true}},
				Inline: map[string]string{s3admin.PolicyName: planDoc(t, "bkt", s3admin.ModeReadWrite)}}
		},
		want: func(t *testing.T) AccessPlan { return AccessPlan{} },
	},
	{
		name: "inline: rewrite writes the grant of a converged user again, and nothing else", rewrite: true,
		obs: func(t *testing.T) Observation {
			return Observation{Exists: true, Keys: []KeyInfo{{Id: planKey, Active: true}},
				Inline: map[string]string{s3admin.PolicyName: planDoc(t, "bkt", s3admin.ModeReadWrite)}}
		},
		want: func(t *testing.T) AccessPlan {
			return AccessPlan{Steps: []Step{{Kind: StepPutGrant, User: planUser, Doc: planDoc(t, "bkt", s3admin.ModeReadWrite)}}}
		},
	},
	{
		name: "inline: a missing user is created, granted, and then given its key",
		obs:  func(t *testing.T) Observation { return Observation{} },
		want: func(t *testing.T) AccessPlan {
			return AccessPlan{Steps: []Step{
				{Kind: StepCreateUser, User: planUser},
				{Kind: StepPutGrant, User: planUser, Doc: planDoc(t, "bkt", s3admin.ModeReadWrite)},
				{Kind: StepCreateKey, User: planUser, Key: Credential{AccessKey: planKey, SecretKey: planSecret, Status: "Active"}},
			}}
		},
	},
	{
		name: "inline: another bucket or mode is replaced by the grant alone, keys untouched",
		obs: func(t *testing.T) Observation {
			return Observation{Exists: true, Keys: []KeyInfo{{Id: planKey, Active: true}},
				Inline: map[string]string{s3admin.PolicyName: planDoc(t, "other-bkt", s3admin.ModeReadOnly)}}
		},
		want: func(t *testing.T) AccessPlan {
			return AccessPlan{Steps: []Step{{Kind: StepPutGrant, User: planUser, Doc: planDoc(t, "bkt", s3admin.ModeReadWrite)}}}
		},
	},
	{
		name: "inline: the new key comes before an old one goes",
		obs: func(t *testing.T) Observation {
			return Observation{Exists: true, Keys: []KeyInfo{{Id: "OLDKEY01", Active: true}},
				Inline: map[string]string{s3admin.PolicyName: planDoc(t, "bkt", s3admin.ModeReadWrite)}}
		},
		want: func(t *testing.T) AccessPlan {
			return AccessPlan{Removed: 1, Steps: []Step{
				{Kind: StepCreateKey, User: planUser, Key: Credential{AccessKey: planKey, SecretKey: planSecret, Status: "Active"}},
				{Kind: StepDeleteKey, User: planUser, Name: "OLDKEY01"},
			}}
		},
	},
	{
		name: "inline: a deactivated key is activated again",
		obs: func(t *testing.T) Observation {
			return Observation{Exists: true, Keys: []KeyInfo{{Id: planKey}},
				Inline: map[string]string{s3admin.PolicyName: planDoc(t, "bkt", s3admin.ModeReadWrite)}}
		},
		want: func(t *testing.T) AccessPlan {
			return AccessPlan{Steps: []Step{{Kind: StepActivateKey, User: planUser, Name: planKey}}}
		},
	},
	{
		name: "inline: other policies, attached policies and groups go after the grant is in place",
		obs: func(t *testing.T) Observation {
			return Observation{Exists: true, Keys: []KeyInfo{{Id: planKey, Active: true}},
				Inline:   map[string]string{s3admin.PolicyName: planDoc(t, "bkt", s3admin.ModeReadWrite), "zz": "{}", "aa": "{}"},
				Attached: []string{"arn:aws:iam:::policy/admin"}, Groups: []string{"admins"}}
		},
		want: func(t *testing.T) AccessPlan {
			return AccessPlan{Steps: []Step{
				{Kind: StepDeleteInline, User: planUser, Name: "aa"},
				{Kind: StepDeleteInline, User: planUser, Name: "zz"},
				{Kind: StepDetach, User: planUser, Name: "arn:aws:iam:::policy/admin"},
				{Kind: StepLeaveGroup, User: planUser, Name: "admins"},
			}}
		},
	},
	{
		name: "inline: at most MaxUnissuedKeyRemovals unissued keys go per round, the rest are counted",
		obs: func(t *testing.T) Observation {
			obs := Observation{Exists: true, Keys: []KeyInfo{{Id: planKey, Active: true}},
				Inline: map[string]string{s3admin.PolicyName: planDoc(t, "bkt", s3admin.ModeReadWrite)}}
			for i := range s3admin.MaxUnissuedKeyRemovals + 2 {
				obs.Keys = append(obs.Keys, KeyInfo{Id: fmt.Sprintf("MINTED%02d", i), Active: true})
			}
			return obs
		},
		want: func(t *testing.T) AccessPlan {
			p := AccessPlan{Removed: s3admin.MaxUnissuedKeyRemovals, Remaining: 2}
			for i := range s3admin.MaxUnissuedKeyRemovals {
				p.Steps = append(p.Steps, Step{Kind: StepDeleteKey, User: planUser, Name: fmt.Sprintf("MINTED%02d", i)})
			}
			return p
		},
	},
	{
		name: "managed: a missing user's key is checked free first, then it gets its grant and the identity naming it",
		form: ManagedGrant,
		obs:  func(t *testing.T) Observation { return Observation{ViaFiler: true} },
		want: func(t *testing.T) AccessPlan {
			return AccessPlan{Steps: []Step{
				{Kind: StepCheckKeyFree, User: planUser, Name: planKey},
				{Kind: StepPutGrant, User: planUser, Doc: planDoc(t, "bkt", s3admin.ModeReadWrite)},
				{Kind: StepWriteIdentity, User: planUser, Create: true, Identity: planIdentity()},
			}}
		},
	},
	{
		name: "managed: a converged identity needs no change, an identical inline policy of the IAM query API path included",
		form: ManagedGrant,
		obs: func(t *testing.T) Observation {
			obs := FromIdentity(planIdentity())
			obs.AccessPolicy, obs.HasAccessPolicy = planDoc(t, "bkt", s3admin.ModeReadWrite), true
			obs.Inline[s3admin.PolicyName] = planDoc(t, "bkt", s3admin.ModeReadWrite)
			return obs
		},
		want: func(t *testing.T) AccessPlan { return AccessPlan{} },
	},
	{
		name: "managed: an access of the IAM query API path gets the managed grant, then the identity names it, its key kept",
		form: ManagedGrant,
		obs: func(t *testing.T) Observation {
			id := planIdentity()
			id.PolicyNames = nil
			obs := FromIdentity(id)
			obs.Inline[s3admin.PolicyName] = planDoc(t, "bkt", s3admin.ModeReadWrite)
			return obs
		},
		want: func(t *testing.T) AccessPlan {
			return AccessPlan{Steps: []Step{
				{Kind: StepPutGrant, User: planUser, Doc: planDoc(t, "bkt", s3admin.ModeReadWrite)},
				{Kind: StepWriteIdentity, User: planUser, Identity: planIdentity()},
			}}
		},
	},
	{
		name: "managed: an inline policy granting anything else goes, after the identity is written",
		form: ManagedGrant,
		obs: func(t *testing.T) Observation {
			obs := FromIdentity(planIdentity())
			obs.AccessPolicy, obs.HasAccessPolicy = planDoc(t, "bkt", s3admin.ModeReadWrite), true
			obs.Inline[s3admin.PolicyName] = planDoc(t, "other-bkt", s3admin.ModeReadWrite)
			obs.Groups = []string{"admins"}
			return obs
		},
		want: func(t *testing.T) AccessPlan {
			return AccessPlan{Steps: []Step{
				{Kind: StepDeleteInline, User: planUser, Name: s3admin.PolicyName},
				{Kind: StepLeaveGroup, User: planUser, Name: "admins"},
			}}
		},
	},
	{
		name: "managed: unissued keys are dropped in the identity write, at most MaxUnissuedKeyRemovals",
		form: ManagedGrant,
		obs: func(t *testing.T) Observation {
			id := planIdentity()
			for i := range s3admin.MaxUnissuedKeyRemovals + 1 {
				id.Credentials = append(id.Credentials, Credential{AccessKey: fmt.Sprintf("MINTED%02d", i), SecretKey: "s", Status: "Active"})
			}
			obs := FromIdentity(id)
			obs.AccessPolicy, obs.HasAccessPolicy = planDoc(t, "bkt", s3admin.ModeReadWrite), true
			return obs
		},
		want: func(t *testing.T) AccessPlan {
			id := planIdentity()
			id.Credentials = append(id.Credentials, Credential{AccessKey: fmt.Sprintf("MINTED%02d", s3admin.MaxUnissuedKeyRemovals), SecretKey: "s", Status: "Active"})
			return AccessPlan{Removed: s3admin.MaxUnissuedKeyRemovals, Remaining: 1,
				Steps: []Step{{Kind: StepWriteIdentity, User: planUser, Identity: id}}}
		},
	},
	{
		name: "managed: a changed secret is written back in the identity",
		form: ManagedGrant,
		obs: func(t *testing.T) Observation {
			id := planIdentity()
			id.Credentials[0].SecretKey = "changed-behind-the-drivers-back"
			obs := FromIdentity(id)
			obs.AccessPolicy, obs.HasAccessPolicy = planDoc(t, "bkt", s3admin.ModeReadWrite), true
			return obs
		},
		want: func(t *testing.T) AccessPlan {
			return AccessPlan{Steps: []Step{{Kind: StepWriteIdentity, User: planUser, Identity: planIdentity()}}}
		},
	},
}

func planIdentity() Identity {
	return Identity{Name: planUser, PolicyNames: []string{names.AccessPolicy(planUser)},
		Credentials: []Credential{{AccessKey: planKey, SecretKey: planSecret, Status: "Active"}}}
}

var planCmp = []cmp.Option{
	cmp.AllowUnexported(AccessPlan{}, Step{}, Credential{}, Identity{}),
	cmpopts.EquateEmpty(),
}

func TestPlanAccess(t *testing.T) {
	a := s3admin.Access{User: planUser, Bucket: "bkt", Mode: s3admin.ModeReadWrite, AccessKeyID: planKey, SecretAccessKey: planSecret}
	for _, c := range planAccessCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Access(a, c.obs(t), c.form, names.DefaultUserPrefix, c.rewrite)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want(t), got, planCmp...); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			for _, s := range got.Steps {
				if text := fmt.Sprintf("%v %#v", s, s); strings.Contains(text, planSecret) {
					t.Errorf("step %s prints the secret", s.Kind)
				}
			}
		})
	}
}

func TestPlanDeleteUser(t *testing.T) {
	cases := []struct {
		name string
		form Form
		obs  Observation
		want []Step
	}{
		{name: "inline: a missing user needs nothing", obs: Observation{}},
		{
			name: "inline: inline and attached policies go before the user, so a namesake inherits nothing",
			obs: Observation{Exists: true, Keys: []KeyInfo{{Id: planKey}, {Id: "MINTED"}},
				Inline: map[string]string{s3admin.PolicyName: "{}", "extra": "{}"}, Attached: []string{"arn"}},
			want: []Step{
				{Kind: StepDeleteInline, User: planUser, Name: s3admin.PolicyName},
				{Kind: StepDeleteInline, User: planUser, Name: "extra"},
				{Kind: StepDetach, User: planUser, Name: "arn"},
				{Kind: StepDeleteUser, User: planUser},
			},
		},
		{name: "managed: a missing user without a grant needs nothing", form: ManagedGrant, obs: Observation{ViaFiler: true}},
		{
			name: "managed: the grant of an interrupted deletion goes though the user is gone", form: ManagedGrant,
			obs:  Observation{ViaFiler: true, HasAccessPolicy: true},
			want: []Step{{Kind: StepDeleteGrant, User: planUser, Name: names.AccessPolicy(planUser)}},
		},
		{
			name: "managed: inline policies, then the grant, then the user with its keys", form: ManagedGrant,
			obs: Observation{Exists: true, ViaFiler: true, HasAccessPolicy: true,
				Inline: map[string]string{s3admin.PolicyName: "{}"}, Keys: []KeyInfo{{Id: planKey}}},
			want: []Step{
				{Kind: StepDeleteInline, User: planUser, Name: s3admin.PolicyName},
				{Kind: StepDeleteGrant, User: planUser, Name: names.AccessPolicy(planUser)},
				{Kind: StepDeleteUser, User: planUser},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := DeleteUser(planUser, c.obs, c.form)
			if diff := cmp.Diff(c.want, got, planCmp...); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}
