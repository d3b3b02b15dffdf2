package plan

import (
	"fmt"
	"maps"
	"slices"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// The access planner: given what was observed of one user, which changes
// make it exactly the desired access (planAccess), or remove it
// (planDeleteUser). It reads and writes nothing; a userBackend applies the
// steps (see access.go), one implementation per user path and the Fake's in
// memory, so every path shares one set of rules and one order.

// grantForm is how a user path stores an access's grant.
type Form int

const (
	// InlineGrant: the IAM query API path. The grant is the user's inline
	// policy PolicyName; keys are created, activated and deleted one by one.
	InlineGrant Form = iota
	// ManagedGrant: the filer IAM gRPC path. The grant is the managed policy
	// accessPolicyName(user), and the identity is written whole: its one key
	// and that policy's name, in one write.
	ManagedGrant
)

// StepKind is one change to a user.
type StepKind int

const (
	StepCreateUser    StepKind = iota + 1 // a user without keys or policies (inline form)
	StepPutGrant                          // write the grant's document, replacing it in one step
	StepCheckKeyFree                      // a read: the key id is no other identity's (managed form)
	StepWriteIdentity                     // the identity, exactly (managed form)
	StepDeleteInline                      // an inline policy
	StepDetach                            // an attached managed policy
	StepLeaveGroup                        // a group membership; the group itself is not touched
	StepCreateKey                         // the access's key, with its secret (inline form)
	StepActivateKey                       // the access's key, deactivated behind the driver's back (inline form)
	StepDeleteKey                         // a key the driver did not issue (inline form)
	StepDeleteGrant                       // the access's managed policy (managed form)
	StepDeleteUser                        // the user with every key it holds
)

var stepNames = map[StepKind]string{
	StepCreateUser: "CreateUser", StepPutGrant: "PutGrant", StepCheckKeyFree: "CheckKeyFree",
	StepWriteIdentity: "WriteIdentity", StepDeleteInline: "DeleteInline", StepDetach: "Detach",
	StepLeaveGroup: "LeaveGroup", StepCreateKey: "CreateKey", StepActivateKey: "ActivateKey",
	StepDeleteKey: "DeleteKey", StepDeleteGrant: "DeleteGrant", StepDeleteUser: "DeleteUser",
}

func (k StepKind) String() string { return stepNames[k] }

// Removes reports whether the step takes something away, so that finding it
// already gone is success.
func (k StepKind) Removes() bool {
	switch k {
	case StepDeleteInline, StepDetach, StepLeaveGroup, StepDeleteKey, StepDeleteGrant, StepDeleteUser:
		return true
	}
	return false
}

// userStep is one change to one user.
type Step struct {
	Kind StepKind
	User string
	// Name is what the step acts on: the policy of DeleteInline and
	// DeleteGrant, the policy ARN or name of Detach, the group of
	// LeaveGroup, the key id of CheckKeyFree, ActivateKey and DeleteKey.
	Name string
	// Doc is PutGrant's policy document.
	Doc string
	// Key is CreateKey's key, secret included.
	Key Credential
	// Identity is WriteIdentity's identity, secrets included; create: the
	// user does not exist yet.
	Identity Identity
	Create   bool
}

// String names the step and what it acts on, never a secret.
func (s Step) String() string {
	switch s.Kind {
	case StepCreateKey:
		return fmt.Sprintf("%s %s key %s", s.Kind, s.User, s.Key.AccessKey)
	case StepWriteIdentity:
		return fmt.Sprintf("%s %s (create %t, %d keys, policies %v)", s.Kind, s.User, s.Create, len(s.Identity.Credentials), s.Identity.PolicyNames)
	case StepPutGrant:
		return fmt.Sprintf("%s %s", s.Kind, s.User)
	}
	if s.Name != "" {
		return fmt.Sprintf("%s %s %s", s.Kind, s.User, s.Name)
	}
	return fmt.Sprintf("%s %s", s.Kind, s.User)
}

// GoString keeps %#v from printing a secret.
func (s Step) GoString() string { return "userStep{" + s.String() + "}" }

// AccessPlan is one round of changes towards an access.
type AccessPlan struct {
	Steps []Step
	// Removed keys the driver did not issue are among the steps; remaining
	// ones are left for a later call (see MaxUnissuedKeyRemovals).
	Removed, Remaining int
}

// planAccess returns the changes that make the observed user exactly the
// access, in the order that keeps a live key working throughout: the grant
// before any key (PutGrant replaces a grant in one step, so there is no
// moment with both an old and a new grant, or neither), the new key before
// old ones go, and whatever else granted the user anything last. No steps:
// the user is the access already (unless rewrite asks for the grant to be
// written again, see Access.RewritePolicy).
func Access(a s3admin.Access, obs Observation, form Form, prefix string, rewrite bool) (AccessPlan, error) {
	if obs.Converged(a, prefix) && !rewrite {
		return AccessPlan{}, nil
	}
	doc, err := PolicyDocument(a.Bucket, a.Mode)
	if err != nil {
		return AccessPlan{}, err
	}
	if form == ManagedGrant {
		return planManaged(a, obs, doc, rewrite), nil
	}
	return planInline(a, obs, doc, rewrite), nil
}

func planInline(a s3admin.Access, obs Observation, doc string, rewrite bool) AccessPlan {
	var p AccessPlan
	add := func(s Step) { s.User = a.User; p.Steps = append(p.Steps, s) }
	if !obs.Exists {
		// A new user has no keys or policies of its own; one that inherited
		// the inline policies of a deleted namesake shows them to the next
		// round's observation, which removes them.
		add(Step{Kind: StepCreateUser})
		obs = Observation{Exists: true}
	}
	if !grantEqual(obs.Inline[s3admin.PolicyName], doc) || rewrite {
		add(Step{Kind: StepPutGrant, Doc: doc})
	}
	// Anything else granting the user access was not written for this
	// access; the user is the driver's, so it goes.
	for _, name := range slices.Sorted(maps.Keys(obs.Inline)) {
		if name != s3admin.PolicyName {
			add(Step{Kind: StepDeleteInline, Name: name})
		}
	}
	for _, arn := range obs.Attached {
		add(Step{Kind: StepDetach, Name: arn})
	}
	for _, g := range obs.Groups {
		add(Step{Kind: StepLeaveGroup, Name: g})
	}
	switch i := slices.IndexFunc(obs.Keys, func(k KeyInfo) bool { return k.Id == a.AccessKeyID }); {
	case i < 0:
		add(Step{Kind: StepCreateKey, Key: Credential{AccessKey: a.AccessKeyID, SecretKey: a.SecretAccessKey, Status: "Active"}})
	case !obs.Keys[i].Active:
		add(Step{Kind: StepActivateKey, Name: a.AccessKeyID})
	}
	for _, k := range obs.Keys {
		if k.Id == a.AccessKeyID {
			continue
		}
		if p.Removed == s3admin.MaxUnissuedKeyRemovals {
			p.Remaining++
			continue
		}
		add(Step{Kind: StepDeleteKey, Name: k.Id})
		p.Removed++
	}
	return p
}

func planManaged(a s3admin.Access, obs Observation, doc string, rewrite bool) AccessPlan {
	var p AccessPlan
	add := func(s Step) { s.User = a.User; p.Steps = append(p.Steps, s) }
	id, removed, remaining := desiredIdentity(a, names.AccessPolicy(a.User), obs)
	p.Removed, p.Remaining = removed, remaining
	writeIdentity := !identityEqual(obs, id)
	if writeIdentity && !slices.ContainsFunc(obs.Keys, func(k KeyInfo) bool { return k.Id == a.AccessKeyID }) {
		// The IAM service stores whatever key it is given; the IAM query
		// API refuses a key id another identity holds, and so must this
		// path, or two identities would answer to one key. Checked before
		// anything is written, so that a refused access writes nothing,
		// and so that the grant and the identity are written back to back:
		// the S3 gateway reloads every identity after each of them, and a
		// reload that starts between the two writes can drop the identity
		// the second one announced, leaving the key unknown until the
		// next reload.
		add(Step{Kind: StepCheckKeyFree, Name: a.AccessKeyID})
	}
	if !obs.HasAccessPolicy || !grantEqual(obs.AccessPolicy, doc) || rewrite {
		add(Step{Kind: StepPutGrant, Doc: doc})
	}
	if writeIdentity {
		add(Step{Kind: StepWriteIdentity, Identity: id, Create: !obs.Exists})
	}
	// The grant is in force in its own form now; whatever else granted
	// access goes. The inline policy of an access the IAM query API path
	// wrote stays while it grants the same as the managed one (see
	// redundantInline): removing it would rewrite every identity, tens of
	// seconds per access with thousands of users, and it goes when the
	// access changes or is revoked.
	for _, name := range slices.Sorted(maps.Keys(obs.Inline)) {
		if !redundantInline(name, obs.Inline[name], a.Bucket, a.Mode) {
			add(Step{Kind: StepDeleteInline, Name: name})
		}
	}
	for _, g := range obs.Groups {
		add(Step{Kind: StepLeaveGroup, Name: g})
	}
	return p
}

// grantEqual reports whether a stored document grants exactly what want
// does; SeaweedFS may store a document reformatted.
func grantEqual(have, want string) bool {
	h, ok := parsePolicy(have)
	w, _ := parsePolicy(want)
	return ok && h.equal(w)
}

// planDeleteUser returns the changes that remove the observed user. The
// grant goes first, taking every permission away, then the user with every
// key it holds (SeaweedFS's DeleteUser removes them in the same write, so
// keys are not deleted one by one, however many the user minted). Inline
// policies go before the user on both paths: SeaweedFS keeps them after the
// user is deleted and a later user of the same name would inherit them.
func DeleteUser(name string, obs Observation, form Form) []Step {
	var steps []Step
	add := func(s Step) { s.User = name; steps = append(steps, s) }
	if obs.Exists {
		for _, p := range slices.Sorted(maps.Keys(obs.Inline)) {
			add(Step{Kind: StepDeleteInline, Name: p})
		}
	}
	switch form {
	case InlineGrant:
		if !obs.Exists {
			return nil
		}
		for _, arn := range obs.Attached {
			add(Step{Kind: StepDetach, Name: arn})
		}
	case ManagedGrant:
		// The managed policy is the access's alone (named after its user);
		// it may outlive an interrupted deletion of the user.
		if obs.HasAccessPolicy {
			add(Step{Kind: StepDeleteGrant, Name: names.AccessPolicy(name)})
		}
		if !obs.Exists {
			return steps
		}
	}
	add(Step{Kind: StepDeleteUser})
	return steps
}

// desiredIdentity is the identity the access wants on the managed path: its
// one key, active and with its secret, and the access policy's name;
// nothing else that grants anything. Keys the driver did not issue are
// dropped in the same write, at most MaxUnissuedKeyRemovals of them, as the
// inline path removes them (see MaxUnissuedKeyRemovals).
func desiredIdentity(a s3admin.Access, pname string, obs Observation) (id Identity, removed, remaining int) {
	id = Identity{
		Name:        a.User,
		Credentials: []Credential{{AccessKey: a.AccessKeyID, SecretKey: a.SecretAccessKey, Status: "Active"}},
		PolicyNames: []string{pname},
		Others:      obs.identity.Others,
	}
	for _, cr := range obs.identity.Credentials {
		if cr.AccessKey == a.AccessKeyID {
			continue
		}
		if removed < s3admin.MaxUnissuedKeyRemovals {
			removed++
			continue
		}
		id.Credentials = append(id.Credentials, cr)
		remaining++
	}
	return id, removed, remaining
}

// identityEqual reports whether the stored identity is already id.
func identityEqual(obs Observation, id Identity) bool {
	have := obs.identity
	return obs.Exists && have.Name == id.Name && !have.Disabled && len(have.Actions) == 0 &&
		len(have.ServiceAccounts) == 0 && slices.Equal(have.PolicyNames, id.PolicyNames) &&
		slices.Equal(have.Credentials, id.Credentials)
}

// redundantInline reports whether an inline policy is the one the IAM query
// API path wrote for exactly this bucket and mode: beside the access policy
// it grants nothing more.
func redundantInline(name, doc, bucket string, mode s3admin.Mode) bool {
	b, m, ok := RecognisePolicy(doc)
	return name == s3admin.PolicyName && ok && b == bucket && m == mode
}
