package s3admin

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
)

// The access planner: given what was observed of one user, which changes
// make it exactly the desired access (planAccess), or remove it
// (planDeleteUser). It reads and writes nothing; a userBackend applies the
// steps (see access.go), one implementation per user path and the Fake's in
// memory, so every path shares one set of rules and one order.

// grantForm is how a user path stores an access's grant.
type grantForm int

const (
	// inlineGrant: the IAM query API path. The grant is the user's inline
	// policy PolicyName; keys are created, activated and deleted one by one.
	inlineGrant grantForm = iota
	// managedGrant: the filer IAM gRPC path. The grant is the managed policy
	// accessPolicyName(user), and the identity is written whole: its one key
	// and that policy's name, in one write.
	managedGrant
)

// stepKind is one change to a user.
type stepKind int

const (
	stepCreateUser    stepKind = iota + 1 // a user without keys or policies (inline form)
	stepPutGrant                          // write the grant's document, replacing it in one step
	stepCheckKeyFree                      // a read: the key id is no other identity's (managed form)
	stepWriteIdentity                     // the identity, exactly (managed form)
	stepDeleteInline                      // an inline policy
	stepDetach                            // an attached managed policy
	stepLeaveGroup                        // a group membership; the group itself is not touched
	stepCreateKey                         // the access's key, with its secret (inline form)
	stepActivateKey                       // the access's key, deactivated behind the driver's back (inline form)
	stepDeleteKey                         // a key the driver did not issue (inline form)
	stepDeleteGrant                       // the access's managed policy (managed form)
	stepDeleteUser                        // the user with every key it holds
)

var stepNames = map[stepKind]string{
	stepCreateUser: "CreateUser", stepPutGrant: "PutGrant", stepCheckKeyFree: "CheckKeyFree",
	stepWriteIdentity: "WriteIdentity", stepDeleteInline: "DeleteInline", stepDetach: "Detach",
	stepLeaveGroup: "LeaveGroup", stepCreateKey: "CreateKey", stepActivateKey: "ActivateKey",
	stepDeleteKey: "DeleteKey", stepDeleteGrant: "DeleteGrant", stepDeleteUser: "DeleteUser",
}

func (k stepKind) String() string { return stepNames[k] }

// removes reports whether the step takes something away, so that finding it
// already gone is success.
func (k stepKind) removes() bool {
	switch k {
	case stepDeleteInline, stepDetach, stepLeaveGroup, stepDeleteKey, stepDeleteGrant, stepDeleteUser:
		return true
	}
	return false
}

// userStep is one change to one user.
type userStep struct {
	kind stepKind
	user string
	// name is what the step acts on: the policy of DeleteInline and
	// DeleteGrant, the policy ARN or name of Detach, the group of
	// LeaveGroup, the key id of CheckKeyFree, ActivateKey and DeleteKey.
	name string
	// doc is PutGrant's policy document.
	doc string
	// key is CreateKey's key, secret included.
	key credential
	// identity is WriteIdentity's identity, secrets included; create: the
	// user does not exist yet.
	identity identity
	create   bool
}

// String names the step and what it acts on, never a secret.
func (s userStep) String() string {
	switch s.kind {
	case stepCreateKey:
		return fmt.Sprintf("%s %s key %s", s.kind, s.user, s.key.accessKey)
	case stepWriteIdentity:
		return fmt.Sprintf("%s %s (create %t, %d keys, policies %v)", s.kind, s.user, s.create, len(s.identity.credentials), s.identity.policyNames)
	case stepPutGrant:
		return fmt.Sprintf("%s %s", s.kind, s.user)
	}
	if s.name != "" {
		return fmt.Sprintf("%s %s %s", s.kind, s.user, s.name)
	}
	return fmt.Sprintf("%s %s", s.kind, s.user)
}

// GoString keeps %#v from printing a secret.
func (s userStep) GoString() string { return "userStep{" + s.String() + "}" }

// accessPlan is one round of changes towards an access.
type accessPlan struct {
	steps []userStep
	// removed keys the driver did not issue are among the steps; remaining
	// ones are left for a later call (see MaxUnissuedKeyRemovals).
	removed, remaining int
}

// planAccess returns the changes that make the observed user exactly the
// access, in the order that keeps a live key working throughout: the grant
// before any key (PutGrant replaces a grant in one step, so there is no
// moment with both an old and a new grant, or neither), the new key before
// old ones go, and whatever else granted the user anything last. No steps:
// the user is the access already (unless rewrite asks for the grant to be
// written again, see Access.RewritePolicy).
func planAccess(a Access, obs userObservation, form grantForm, prefix string, rewrite bool) (accessPlan, error) {
	if obs.converged(a, prefix) && !rewrite {
		return accessPlan{}, nil
	}
	doc, err := PolicyDocument(a.Bucket, a.Mode)
	if err != nil {
		return accessPlan{}, err
	}
	if form == managedGrant {
		return planManaged(a, obs, doc, rewrite), nil
	}
	return planInline(a, obs, doc, rewrite), nil
}

func planInline(a Access, obs userObservation, doc string, rewrite bool) accessPlan {
	var p accessPlan
	add := func(s userStep) { s.user = a.User; p.steps = append(p.steps, s) }
	if !obs.exists {
		// A new user has no keys or policies of its own; one that inherited
		// the inline policies of a deleted namesake shows them to the next
		// round's observation, which removes them.
		add(userStep{kind: stepCreateUser})
		obs = userObservation{exists: true}
	}
	if !grantEqual(obs.inline[PolicyName], doc) || rewrite {
		add(userStep{kind: stepPutGrant, doc: doc})
	}
	// Anything else granting the user access was not written for this
	// access; the user is the driver's, so it goes.
	for _, name := range slices.Sorted(maps.Keys(obs.inline)) {
		if name != PolicyName {
			add(userStep{kind: stepDeleteInline, name: name})
		}
	}
	for _, arn := range obs.attached {
		add(userStep{kind: stepDetach, name: arn})
	}
	for _, g := range obs.groups {
		add(userStep{kind: stepLeaveGroup, name: g})
	}
	switch i := slices.IndexFunc(obs.keys, func(k keyInfo) bool { return k.id == a.AccessKeyID }); {
	case i < 0:
		add(userStep{kind: stepCreateKey, key: credential{accessKey: a.AccessKeyID, secretKey: a.SecretAccessKey, status: "Active"}})
	case !obs.keys[i].active:
		add(userStep{kind: stepActivateKey, name: a.AccessKeyID})
	}
	for _, k := range obs.keys {
		if k.id == a.AccessKeyID {
			continue
		}
		if p.removed == MaxUnissuedKeyRemovals {
			p.remaining++
			continue
		}
		add(userStep{kind: stepDeleteKey, name: k.id})
		p.removed++
	}
	return p
}

func planManaged(a Access, obs userObservation, doc string, rewrite bool) accessPlan {
	var p accessPlan
	add := func(s userStep) { s.user = a.User; p.steps = append(p.steps, s) }
	id, removed, remaining := desiredIdentity(a, accessPolicyName(a.User), obs)
	p.removed, p.remaining = removed, remaining
	writeIdentity := !identityEqual(obs, id)
	if writeIdentity && !slices.ContainsFunc(obs.keys, func(k keyInfo) bool { return k.id == a.AccessKeyID }) {
		// The IAM service stores whatever key it is given; the IAM query
		// API refuses a key id another identity holds, and so must this
		// path, or two identities would answer to one key. Checked before
		// anything is written, so that a refused access writes nothing,
		// and so that the grant and the identity are written back to back:
		// the S3 gateway reloads every identity after each of them, and a
		// reload that starts between the two writes can drop the identity
		// the second one announced, leaving the key unknown until the
		// next reload.
		add(userStep{kind: stepCheckKeyFree, name: a.AccessKeyID})
	}
	if !obs.hasAccessPolicy || !grantEqual(obs.accessPolicy, doc) || rewrite {
		add(userStep{kind: stepPutGrant, doc: doc})
	}
	if writeIdentity {
		add(userStep{kind: stepWriteIdentity, identity: id, create: !obs.exists})
	}
	// The grant is in force in its own form now; whatever else granted
	// access goes. The inline policy of an access the IAM query API path
	// wrote stays while it grants the same as the managed one (see
	// redundantInline): removing it would rewrite every identity, tens of
	// seconds per access with thousands of users, and it goes when the
	// access changes or is revoked.
	for _, name := range slices.Sorted(maps.Keys(obs.inline)) {
		if !redundantInline(name, obs.inline[name], a.Bucket, a.Mode) {
			add(userStep{kind: stepDeleteInline, name: name})
		}
	}
	for _, g := range obs.groups {
		add(userStep{kind: stepLeaveGroup, name: g})
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
func planDeleteUser(name string, obs userObservation, form grantForm) []userStep {
	var steps []userStep
	add := func(s userStep) { s.user = name; steps = append(steps, s) }
	if obs.exists {
		for _, p := range slices.Sorted(maps.Keys(obs.inline)) {
			add(userStep{kind: stepDeleteInline, name: p})
		}
	}
	switch form {
	case inlineGrant:
		if !obs.exists {
			return nil
		}
		for _, arn := range obs.attached {
			add(userStep{kind: stepDetach, name: arn})
		}
	case managedGrant:
		// The managed policy is the access's alone (named after its user);
		// it may outlive an interrupted deletion of the user.
		if obs.hasAccessPolicy {
			add(userStep{kind: stepDeleteGrant, name: accessPolicyName(name)})
		}
		if !obs.exists {
			return steps
		}
	}
	add(userStep{kind: stepDeleteUser})
	return steps
}

// desiredIdentity is the identity the access wants on the managed path: its
// one key, active and with its secret, and the access policy's name;
// nothing else that grants anything. Keys the driver did not issue are
// dropped in the same write, at most MaxUnissuedKeyRemovals of them, as the
// inline path removes them (see MaxUnissuedKeyRemovals).
func desiredIdentity(a Access, pname string, obs userObservation) (id identity, removed, remaining int) {
	id = identity{
		name:        a.User,
		credentials: []credential{{accessKey: a.AccessKeyID, secretKey: a.SecretAccessKey, status: "Active"}},
		policyNames: []string{pname},
		others:      obs.identity.others,
	}
	for _, cr := range obs.identity.credentials {
		if cr.accessKey == a.AccessKeyID {
			continue
		}
		if removed < MaxUnissuedKeyRemovals {
			removed++
			continue
		}
		id.credentials = append(id.credentials, cr)
		remaining++
	}
	return id, removed, remaining
}

// identityEqual reports whether the stored identity is already id.
func identityEqual(obs userObservation, id identity) bool {
	have := obs.identity
	return obs.exists && have.name == id.name && !have.disabled && len(have.actions) == 0 &&
		len(have.serviceAccounts) == 0 && slices.Equal(have.policyNames, id.policyNames) &&
		slices.Equal(have.credentials, id.credentials)
}

// redundantInline reports whether an inline policy is the one the IAM query
// API path wrote for exactly this bucket and mode: beside the access policy
// it grants nothing more.
func redundantInline(name, doc, bucket string, mode Mode) bool {
	b, m, ok := recognisePolicy(doc)
	return name == PolicyName && ok && b == bucket && m == mode
}

// accessPolicyName is the name of the managed policy holding the grant of
// the access whose user is user. Managed policy names allow fewer characters
// than user names, hence the digest; the prefix keeps them apart from
// policies an operator writes.
func accessPolicyName(user string) string {
	sum := sha256.Sum256([]byte(user))
	return "cosi-access-" + hex.EncodeToString(sum[:16])
}
