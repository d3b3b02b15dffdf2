package s3admin

import (
	"slices"
	"strings"
)

type keyInfo struct {
	id     string
	active bool
	// secret is known through the filer only; never logged.
	secret string
}

// userObservation is everything about one user that decides its access.
type userObservation struct {
	exists   bool
	keys     []keyInfo
	inline   map[string]string // policy name → document
	attached []string          // managed policy ARNs (through the filer: names)
	groups   []string

	// Through the filer (see filerusers.go): the stored identity and the
	// access policy's document, if that policy exists.
	viaFiler        bool
	identity        identity
	accessPolicy    string
	hasAccessPolicy bool
}

func (o userObservation) keyIDs() []string {
	ids := make([]string, 0, len(o.keys))
	for _, k := range o.keys {
		ids = append(ids, k.id)
	}
	slices.Sort(ids)
	return ids
}

func (o userObservation) state(name, prefix string) UserState {
	st := UserState{Name: name, Exists: o.exists, Owned: strings.HasPrefix(name, prefix)}
	if !o.exists {
		return st
	}
	st.AccessKeyIDs = o.keyIDs()
	if o.viaFiler {
		return o.filerState(st)
	}
	if doc, ok := o.inline[PolicyName]; ok {
		if b, m, ok := recognisePolicy(doc); ok {
			st.Bucket, st.Mode = b, m
			st.PolicyExact = len(o.inline) == 1 && len(o.attached) == 0 && len(o.groups) == 0
		}
	}
	return st
}

// converged reports whether the user is exactly the desired access.
func (o userObservation) converged(a Access, prefix string) bool {
	st := o.state(a.User, prefix)
	return st.Exists && st.PolicyExact && st.Bucket == a.Bucket && st.Mode == a.Mode &&
		len(o.keys) == 1 && o.keys[0].id == a.AccessKeyID && o.keys[0].active &&
		// The filer shows the secret too: a key whose secret was changed
		// would not work with the workload's credentials.
		(!o.viaFiler || o.keys[0].secret == a.SecretAccessKey)
}

// filerState is state for an observation through the filer: the access is
// recognised in the form this path writes (the access policy, attached and
// nothing else) and, so that an access written by the IAM query API path is
// still recognised, in that form (its inline policy), which is never exact
// here: the next EnsureAccess moves it to the managed policy.
//
// An access moved from the IAM query API path may keep its inline policy
// beside the managed one as long as both grant the same (see
// redundantInline): it grants nothing more, and removing it is an IAM query
// API write, which rewrites every identity.
func (o userObservation) filerState(st UserState) UserState {
	pname := accessPolicyName(st.Name)
	if o.hasAccessPolicy && slices.Contains(o.attached, pname) {
		if b, m, ok := recognisePolicy(o.accessPolicy); ok {
			st.Bucket, st.Mode = b, m
			others := 0
			for p, doc := range o.inline {
				if !redundantInline(p, doc, b, m) {
					others++
				}
			}
			st.PolicyExact = len(o.attached) == 1 && others == 0 && len(o.groups) == 0 &&
				len(o.identity.actions) == 0 && !o.identity.disabled && len(o.identity.serviceAccounts) == 0
			return st
		}
	}
	if b, m, ok := recognisePolicy(o.inline[PolicyName]); ok {
		st.Bucket, st.Mode = b, m
	}
	return st
}

// fromIdentity is the observation of a stored identity.
func fromIdentity(id identity) userObservation {
	obs := userObservation{exists: true, viaFiler: true, inline: map[string]string{}, identity: id}
	for _, cr := range id.credentials {
		obs.keys = append(obs.keys, keyInfo{id: cr.accessKey, active: cr.active(), secret: cr.secretKey})
	}
	obs.attached = slices.Clone(id.policyNames)
	return obs
}
