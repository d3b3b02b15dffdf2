package s3admin

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	planUser   = "cosi-ba-1"
	planKey    = "AKIAPLANKEY0000001"
	planSecret = "plan-secret-0000000000000000000000000001"
)

func planDoc(t *testing.T, bucket string, mode Mode) string {
	t.Helper()
	doc, err := PolicyDocument(bucket, mode)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

var planAccessCases = []struct {
	name    string
	form    grantForm
	rewrite bool
	// obs builds the observation; the access is planUser with planKey,
	// read-write on bucket "bkt".
	obs  func(t *testing.T) userObservation
	want func(t *testing.T) accessPlan
}{
	{
		name: "inline: a user that is the access already needs no change",
		obs: func(t *testing.T) userObservation {
			return userObservation{exists: true, keys: []keyInfo{{id: planKey, active: true}},
				inline: map[string]string{PolicyName: planDoc(t, "bkt", ModeReadWrite)}}
		},
		want: func(t *testing.T) accessPlan { return accessPlan{} },
	},
	{
		name: "inline: rewrite writes the grant of a converged user again, and nothing else", rewrite: true,
		obs: func(t *testing.T) userObservation {
			return userObservation{exists: true, keys: []keyInfo{{id: planKey, active: true}},
				inline: map[string]string{PolicyName: planDoc(t, "bkt", ModeReadWrite)}}
		},
		want: func(t *testing.T) accessPlan {
			return accessPlan{steps: []userStep{{kind: stepPutGrant, user: planUser, doc: planDoc(t, "bkt", ModeReadWrite)}}}
		},
	},
	{
		name: "inline: a missing user is created, granted, and then given its key",
		obs:  func(t *testing.T) userObservation { return userObservation{} },
		want: func(t *testing.T) accessPlan {
			return accessPlan{steps: []userStep{
				{kind: stepCreateUser, user: planUser},
				{kind: stepPutGrant, user: planUser, doc: planDoc(t, "bkt", ModeReadWrite)},
				{kind: stepCreateKey, user: planUser, key: credential{accessKey: planKey, secretKey: planSecret, status: "Active"}},
			}}
		},
	},
	{
		name: "inline: another bucket or mode is replaced by the grant alone, keys untouched",
		obs: func(t *testing.T) userObservation {
			return userObservation{exists: true, keys: []keyInfo{{id: planKey, active: true}},
				inline: map[string]string{PolicyName: planDoc(t, "other-bkt", ModeReadOnly)}}
		},
		want: func(t *testing.T) accessPlan {
			return accessPlan{steps: []userStep{{kind: stepPutGrant, user: planUser, doc: planDoc(t, "bkt", ModeReadWrite)}}}
		},
	},
	{
		name: "inline: the new key comes before an old one goes",
		obs: func(t *testing.T) userObservation {
			return userObservation{exists: true, keys: []keyInfo{{id: "OLDKEY01", active: true}},
				inline: map[string]string{PolicyName: planDoc(t, "bkt", ModeReadWrite)}}
		},
		want: func(t *testing.T) accessPlan {
			return accessPlan{removed: 1, steps: []userStep{
				{kind: stepCreateKey, user: planUser, key: credential{accessKey: planKey, secretKey: planSecret, status: "Active"}},
				{kind: stepDeleteKey, user: planUser, name: "OLDKEY01"},
			}}
		},
	},
	{
		name: "inline: a deactivated key is activated again",
		obs: func(t *testing.T) userObservation {
			return userObservation{exists: true, keys: []keyInfo{{id: planKey}},
				inline: map[string]string{PolicyName: planDoc(t, "bkt", ModeReadWrite)}}
		},
		want: func(t *testing.T) accessPlan {
			return accessPlan{steps: []userStep{{kind: stepActivateKey, user: planUser, name: planKey}}}
		},
	},
	{
		name: "inline: other policies, attached policies and groups go after the grant is in place",
		obs: func(t *testing.T) userObservation {
			return userObservation{exists: true, keys: []keyInfo{{id: planKey, active: true}},
				inline:   map[string]string{PolicyName: planDoc(t, "bkt", ModeReadWrite), "zz": "{}", "aa": "{}"},
				attached: []string{"arn:aws:iam:::policy/admin"}, groups: []string{"admins"}}
		},
		want: func(t *testing.T) accessPlan {
			return accessPlan{steps: []userStep{
				{kind: stepDeleteInline, user: planUser, name: "aa"},
				{kind: stepDeleteInline, user: planUser, name: "zz"},
				{kind: stepDetach, user: planUser, name: "arn:aws:iam:::policy/admin"},
				{kind: stepLeaveGroup, user: planUser, name: "admins"},
			}}
		},
	},
	{
		name: "inline: at most MaxUnissuedKeyRemovals unissued keys go per round, the rest are counted",
		obs: func(t *testing.T) userObservation {
			obs := userObservation{exists: true, keys: []keyInfo{{id: planKey, active: true}},
				inline: map[string]string{PolicyName: planDoc(t, "bkt", ModeReadWrite)}}
			for i := range MaxUnissuedKeyRemovals + 2 {
				obs.keys = append(obs.keys, keyInfo{id: fmt.Sprintf("MINTED%02d", i), active: true})
			}
			return obs
		},
		want: func(t *testing.T) accessPlan {
			p := accessPlan{removed: MaxUnissuedKeyRemovals, remaining: 2}
			for i := range MaxUnissuedKeyRemovals {
				p.steps = append(p.steps, userStep{kind: stepDeleteKey, user: planUser, name: fmt.Sprintf("MINTED%02d", i)})
			}
			return p
		},
	},
	{
		name: "managed: a missing user's key is checked free first, then it gets its grant and the identity naming it",
		form: managedGrant,
		obs:  func(t *testing.T) userObservation { return userObservation{viaFiler: true} },
		want: func(t *testing.T) accessPlan {
			return accessPlan{steps: []userStep{
				{kind: stepCheckKeyFree, user: planUser, name: planKey},
				{kind: stepPutGrant, user: planUser, doc: planDoc(t, "bkt", ModeReadWrite)},
				{kind: stepWriteIdentity, user: planUser, create: true, identity: planIdentity()},
			}}
		},
	},
	{
		name: "managed: a converged identity needs no change, an identical inline policy of the IAM query API path included",
		form: managedGrant,
		obs: func(t *testing.T) userObservation {
			obs := fromIdentity(planIdentity())
			obs.accessPolicy, obs.hasAccessPolicy = planDoc(t, "bkt", ModeReadWrite), true
			obs.inline[PolicyName] = planDoc(t, "bkt", ModeReadWrite)
			return obs
		},
		want: func(t *testing.T) accessPlan { return accessPlan{} },
	},
	{
		name: "managed: an access of the IAM query API path gets the managed grant, then the identity names it, its key kept",
		form: managedGrant,
		obs: func(t *testing.T) userObservation {
			id := planIdentity()
			id.policyNames = nil
			obs := fromIdentity(id)
			obs.inline[PolicyName] = planDoc(t, "bkt", ModeReadWrite)
			return obs
		},
		want: func(t *testing.T) accessPlan {
			return accessPlan{steps: []userStep{
				{kind: stepPutGrant, user: planUser, doc: planDoc(t, "bkt", ModeReadWrite)},
				{kind: stepWriteIdentity, user: planUser, identity: planIdentity()},
			}}
		},
	},
	{
		name: "managed: an inline policy granting anything else goes, after the identity is written",
		form: managedGrant,
		obs: func(t *testing.T) userObservation {
			obs := fromIdentity(planIdentity())
			obs.accessPolicy, obs.hasAccessPolicy = planDoc(t, "bkt", ModeReadWrite), true
			obs.inline[PolicyName] = planDoc(t, "other-bkt", ModeReadWrite)
			obs.groups = []string{"admins"}
			return obs
		},
		want: func(t *testing.T) accessPlan {
			return accessPlan{steps: []userStep{
				{kind: stepDeleteInline, user: planUser, name: PolicyName},
				{kind: stepLeaveGroup, user: planUser, name: "admins"},
			}}
		},
	},
	{
		name: "managed: unissued keys are dropped in the identity write, at most MaxUnissuedKeyRemovals",
		form: managedGrant,
		obs: func(t *testing.T) userObservation {
			id := planIdentity()
			for i := range MaxUnissuedKeyRemovals + 1 {
				id.credentials = append(id.credentials, credential{accessKey: fmt.Sprintf("MINTED%02d", i), secretKey: "s", status: "Active"})
			}
			obs := fromIdentity(id)
			obs.accessPolicy, obs.hasAccessPolicy = planDoc(t, "bkt", ModeReadWrite), true
			return obs
		},
		want: func(t *testing.T) accessPlan {
			id := planIdentity()
			id.credentials = append(id.credentials, credential{accessKey: fmt.Sprintf("MINTED%02d", MaxUnissuedKeyRemovals), secretKey: "s", status: "Active"})
			return accessPlan{removed: MaxUnissuedKeyRemovals, remaining: 1,
				steps: []userStep{{kind: stepWriteIdentity, user: planUser, identity: id}}}
		},
	},
	{
		name: "managed: a changed secret is written back in the identity",
		form: managedGrant,
		obs: func(t *testing.T) userObservation {
			id := planIdentity()
			id.credentials[0].secretKey = "changed-behind-the-drivers-back"
			obs := fromIdentity(id)
			obs.accessPolicy, obs.hasAccessPolicy = planDoc(t, "bkt", ModeReadWrite), true
			return obs
		},
		want: func(t *testing.T) accessPlan {
			return accessPlan{steps: []userStep{{kind: stepWriteIdentity, user: planUser, identity: planIdentity()}}}
		},
	},
}

func planIdentity() identity {
	return identity{name: planUser, policyNames: []string{accessPolicyName(planUser)},
		credentials: []credential{{accessKey: planKey, secretKey: planSecret, status: "Active"}}}
}

var planCmp = []cmp.Option{
	cmp.AllowUnexported(accessPlan{}, userStep{}, credential{}, identity{}),
	cmpopts.EquateEmpty(),
}

func TestPlanAccess(t *testing.T) {
	a := Access{User: planUser, Bucket: "bkt", Mode: ModeReadWrite, AccessKeyID: planKey, SecretAccessKey: planSecret}
	for _, c := range planAccessCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := planAccess(a, c.obs(t), c.form, DefaultUserPrefix, c.rewrite)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want(t), got, planCmp...); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			for _, s := range got.steps {
				if text := fmt.Sprintf("%v %#v", s, s); strings.Contains(text, planSecret) {
					t.Errorf("step %s prints the secret", s.kind)
				}
			}
		})
	}
}

func TestPlanDeleteUser(t *testing.T) {
	cases := []struct {
		name string
		form grantForm
		obs  userObservation
		want []userStep
	}{
		{name: "inline: a missing user needs nothing", obs: userObservation{}},
		{
			name: "inline: inline and attached policies go before the user, so a namesake inherits nothing",
			obs: userObservation{exists: true, keys: []keyInfo{{id: planKey}, {id: "MINTED"}},
				inline: map[string]string{PolicyName: "{}", "extra": "{}"}, attached: []string{"arn"}},
			want: []userStep{
				{kind: stepDeleteInline, user: planUser, name: PolicyName},
				{kind: stepDeleteInline, user: planUser, name: "extra"},
				{kind: stepDetach, user: planUser, name: "arn"},
				{kind: stepDeleteUser, user: planUser},
			},
		},
		{name: "managed: a missing user without a grant needs nothing", form: managedGrant, obs: userObservation{viaFiler: true}},
		{
			name: "managed: the grant of an interrupted deletion goes though the user is gone", form: managedGrant,
			obs:  userObservation{viaFiler: true, hasAccessPolicy: true},
			want: []userStep{{kind: stepDeleteGrant, user: planUser, name: accessPolicyName(planUser)}},
		},
		{
			name: "managed: inline policies, then the grant, then the user with its keys", form: managedGrant,
			obs: userObservation{exists: true, viaFiler: true, hasAccessPolicy: true,
				inline: map[string]string{PolicyName: "{}"}, keys: []keyInfo{{id: planKey}}},
			want: []userStep{
				{kind: stepDeleteInline, user: planUser, name: PolicyName},
				{kind: stepDeleteGrant, user: planUser, name: accessPolicyName(planUser)},
				{kind: stepDeleteUser, user: planUser},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := planDeleteUser(planUser, c.obs, c.form)
			if diff := cmp.Diff(c.want, got, planCmp...); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}
