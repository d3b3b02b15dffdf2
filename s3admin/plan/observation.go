package plan

import (
	"slices"
	"strings"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

type KeyInfo struct {
	Id     string
	Active bool
	// secret is known through the filer only; never logged.
	secret string
}

// userObservation is everything about one user that decides its access.
type Observation struct {
	Exists   bool
	Keys     []KeyInfo
	Inline   map[string]string // policy name → document
	Attached []string          // managed policy ARNs (through the filer: names)
	Groups   []string

	// Through the filer (see filerusers.go): the stored identity and the
	// access policy's document, if that policy exists.
	ViaFiler        bool
	identity        Identity
	AccessPolicy    string
	HasAccessPolicy bool
}

func (o Observation) keyIDs() []string {
	ids := make([]string, 0, len(o.Keys))
	for _, k := range o.Keys {
		ids = append(ids, k.Id)
	}
	slices.Sort(ids)
	return ids
}

func (o Observation) State(name, prefix string) s3admin.UserState {
	st := s3admin.UserState{Name: name, Exists: o.Exists, Owned: strings.HasPrefix(name, prefix)}
	if !o.Exists {
		return st
	}
	st.AccessKeyIDs = o.keyIDs()
	if o.ViaFiler {
		return o.filerState(st)
	}
	if doc, ok := o.Inline[s3admin.PolicyName]; ok {
		if b, m, ok := RecognisePolicy(doc); ok {
			st.Bucket, st.Mode = b, m
			st.PolicyExact = len(o.Inline) == 1 && len(o.Attached) == 0 && len(o.Groups) == 0
		}
	}
	return st
}

// Converged reports whether the user is exactly the desired access.
func (o Observation) Converged(a s3admin.Access, prefix string) bool {
	st := o.State(a.User, prefix)
	return st.Exists && st.PolicyExact && st.Bucket == a.Bucket && st.Mode == a.Mode &&
		len(o.Keys) == 1 && o.Keys[0].Id == a.AccessKeyID && o.Keys[0].Active &&
		// The filer shows the secret too: a key whose secret was changed
		// would not work with the workload's credentials.
		(!o.ViaFiler || o.Keys[0].secret == a.SecretAccessKey)
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
func (o Observation) filerState(st s3admin.UserState) s3admin.UserState {
	pname := names.AccessPolicy(st.Name)
	if o.HasAccessPolicy && slices.Contains(o.Attached, pname) {
		if b, m, ok := RecognisePolicy(o.AccessPolicy); ok {
			st.Bucket, st.Mode = b, m
			others := 0
			for p, doc := range o.Inline {
				if !redundantInline(p, doc, b, m) {
					others++
				}
			}
			st.PolicyExact = len(o.Attached) == 1 && others == 0 && len(o.Groups) == 0 &&
				len(o.identity.Actions) == 0 && !o.identity.Disabled && len(o.identity.ServiceAccounts) == 0
			return st
		}
	}
	if b, m, ok := RecognisePolicy(o.Inline[s3admin.PolicyName]); ok {
		st.Bucket, st.Mode = b, m
	}
	return st
}

// FromIdentity is the observation of a stored identity.
func FromIdentity(id Identity) Observation {
	obs := Observation{Exists: true, ViaFiler: true, Inline: map[string]string{}, identity: id}
	for _, cr := range id.Credentials {
		obs.Keys = append(obs.Keys, KeyInfo{Id: cr.AccessKey, Active: cr.Active(), secret: cr.SecretKey})
	}
	obs.Attached = slices.Clone(id.PolicyNames)
	return obs
}
