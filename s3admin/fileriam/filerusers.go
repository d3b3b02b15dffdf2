package fileriam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/calls"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/engine"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/iamapi"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// The filer IAM gRPC path (Config.FilerGRPCAddress) keeps users, keys and
// grants in SeaweedFS's credential store through the filer's IAM service,
// which writes one identity file per change instead of rewriting every
// identity as the IAM query API does.
//
// An access is written there as a managed policy named after its user
// (accessPolicyName) holding exactly the document PolicyDocument returns,
// and the user's identity carrying its one key and that policy's name. The
// S3 gateway authorizes an identity with policy names by its policy
// documents, action by action and resource by resource.
//
// SeaweedFS's identity actions ("Read:b", "Write:b", "List:b") would need
// no policy document at all, but cannot express any mode exactly (see the
// README's Scale section): "Write" covers PutBucketPolicy,
// DeleteBucketPolicy, PutBucketCors, PutBucketVersioning and the bucket's
// lifecycle and object-lock settings, and an action scoped to objects
// ("Write:b/*") is matched against the request's prefix parameter too, so
// any bucket-level request with ?prefix=x passes as an object write; "Write"
// also includes DeleteObject, which write-only does not grant; and "Read"
// includes reading object tags, object versions, unfinished uploads and the
// bucket's policy and settings, which read-only does not grant. So every
// mode keeps its policy document, as a managed policy.

// Where SeaweedFS's credential store keeps inline policies (written by the
// IAM query API's PutUserPolicy) and groups; the IAM gRPC service reads
// neither.
const (
	iamDir          = "/etc/iam"
	iamPoliciesFile = "policies.json"
	iamGroupsDir    = "/etc/iam/groups"
)

// filerClient is the filer IAM gRPC path's client. Inline policies and
// group membership, which only the IAM query API reaches, go through the
// iamClient it holds.
type Client struct {
	*iamapi.Client
	Filer *filergrpc.Client
	// filerReads shares the filer path's costly reads among concurrent
	// observations.
	Reads *filerReads
}

// filerMutate is one write through the filer's IAM service: counted, between
// its crash points, concurrent with other such writes (each changes files of
// its own) and never with this process's IAM query API writes, which rewrite
// every identity from what they read before (a concurrent gRPC write could
// be overwritten, or a new user's file deleted).
func (c *Client) filerMutate(ctx context.Context, op string, fn func(context.Context) error) error {
	if err := c.IAMWrite.Rlock(ctx); err != nil {
		return s3admin.NewError(op, s3admin.ErrTransient, "%w", err)
	}
	defer c.IAMWrite.Runlock()
	c.WriteCount.Add(1)
	return calls.Mutation(op, func() error { return c.Call(ctx, op, fn) })
}

// inlinePolicies reads every user's inline policy documents by user and
// policy name, in one read of the credential store's policies file.
func (c *Client) inlinePolicies(ctx context.Context) (map[string]map[string]string, error) {
	type file struct {
		Inline map[string]map[string]json.RawMessage `json:"inlinePolicies"`
	}
	content, err := calls.Read(ctx, c, "FilerReadPolicies", func(ctx context.Context) ([]byte, error) {
		b, _, err := c.Filer.ReadFile(ctx, iamDir, iamPoliciesFile)
		return b, err
	})
	if err != nil || len(content) == 0 {
		return nil, err
	}
	var f file
	if err := json.Unmarshal(content, &f); err != nil {
		return nil, s3admin.NewError("FilerReadPolicies", s3admin.ErrTransient, "%s/%s is not the policies file this client reads: %w", iamDir, iamPoliciesFile, err)
	}
	out := make(map[string]map[string]string, len(f.Inline))
	for user, docs := range f.Inline {
		out[user] = make(map[string]string, len(docs))
		for name, doc := range docs {
			out[user][name] = string(doc)
		}
	}
	return out, nil
}

// maxGroups bounds the groups read for one observation: SeaweedFS groups
// are made by operators, a handful in any installation.
const maxGroups = 10000

// groupsOf reads which groups every user is a member of, from the group
// files (one read, whatever the number of users).
func (c *Client) groupsOf(ctx context.Context) (map[string][]string, error) {
	files, err := calls.Read(ctx, c, "FilerReadGroups", func(ctx context.Context) (map[string][]byte, error) {
		return c.Filer.ReadDir(ctx, iamGroupsDir, maxGroups)
	})
	if err != nil {
		return nil, err
	}
	var groups []filergrpc.Group
	for name, content := range files {
		var g struct {
			Name    string   `json:"name"`
			Members []string `json:"members"`
		}
		if err := json.Unmarshal(content, &g); err != nil {
			return nil, s3admin.NewError("FilerReadGroups", s3admin.ErrTransient, "group file %s/%s is not the form this client reads: %w", iamGroupsDir, name, err)
		}
		groups = append(groups, filergrpc.Group{Name: g.Name, Members: g.Members})
	}
	return membership(groups), nil
}

func membership(groups []filergrpc.Group) map[string][]string {
	out := map[string][]string{}
	for _, g := range groups {
		for _, m := range g.Members {
			out[m] = append(out[m], g.Name)
		}
	}
	return out
}

// observeFilerUser reads the user's identity, its access policy, its
// inline policies and its groups, as far as scope asks (see observeScope):
// four reads, whatever the number of users.
func (c *Client) ObserveUser(ctx context.Context, name string, scope engine.Scope) (plan.Observation, error) {
	id, err := calls.Read(ctx, c, "IAMGetUser", func(ctx context.Context) (plan.Identity, error) { return c.Filer.GetUser(ctx, name) })
	obs := plan.Observation{ViaFiler: true, Inline: map[string]string{}}
	switch {
	case errors.Is(err, s3admin.ErrNotFound):
		if scope != engine.ScopeAll {
			return obs, nil
		}
	case err != nil:
		return obs, err
	default:
		obs = plan.FromIdentity(id)
		if scope == engine.ScopeExists {
			return obs, nil
		}
	}
	doc, err := calls.Read(ctx, c, "IAMGetPolicy", func(ctx context.Context) (string, error) {
		return c.Filer.GetPolicy(ctx, names.AccessPolicy(name))
	})
	switch {
	case errors.Is(err, s3admin.ErrNotFound):
	case err != nil:
		return obs, err
	default:
		obs.AccessPolicy, obs.HasAccessPolicy = doc, true
	}
	if !obs.Exists {
		return obs, nil
	}
	inline, err := c.Reads.inline.get(ctx, name)
	if err != nil {
		return obs, err
	}
	for p, d := range inline {
		obs.Inline[p] = d
	}
	if obs.Groups, err = c.Reads.groups.get(ctx, name); err != nil {
		return obs, err
	}
	return obs, nil
}

// filerUsers is the filer IAM gRPC service's userBackend: the grant is a
// managed policy named after its user, and the identity (its one key and
// that policy's name) is written whole. Inline policies and group
// membership, which only the IAM query API reaches, are removed through it.
type users struct{ c *Client }

func (users) Form() plan.Form { return plan.ManagedGrant }

func (b users) Observe(ctx context.Context, name string, scope engine.Scope) (plan.Observation, error) {
	return b.c.ObserveUser(ctx, name, scope)
}

// KeyConfirmDelay: the filer pushes a new identity to the S3 gateway
// directly (weed/s3api/s3api_server_grpc.go PutIdentity) and the gateway
// also reloads every identity after each IAM change it sees. The reload the
// grant's policy write started can read the store before the identity
// landed and end after the push: the key is accepted, then refused until
// the identity write's own reload (seen under load: a grant answered and
// the workload's first request refused as an unknown key). A key accepted
// twice this far apart has outlived such a reload.
func (users) KeyConfirmDelay() time.Duration { return 100 * time.Millisecond }

var _ engine.KeyConfirmer = users{}

func (b users) ProbeKey(ctx context.Context, a s3admin.Access) (bool, error) {
	return b.c.ProbeKey(ctx, a)
}

// List observes every user carrying one of prefixes in three reads: the
// whole configuration, every managed policy, the inline policies. The
// window is not needed: all users cost what one does.
func (b users) List(ctx context.Context, prefixes []string, _ s3admin.UserWindow) (engine.Listing, error) {
	observed, err := b.list(ctx, prefixes)
	if err != nil {
		return engine.Listing{}, err
	}
	return engine.Listing{Names: slices.Sorted(maps.Keys(observed)), Observed: observed}, nil
}

func (b users) list(ctx context.Context, prefixes []string) (map[string]plan.Observation, error) {
	c := b.c
	cfg, err := calls.Read(ctx, c, "IAMGetConfiguration", func(ctx context.Context) (filergrpc.Configuration, error) {
		return c.Filer.GetConfiguration(ctx)
	})
	if err != nil {
		return nil, err
	}
	policies, err := calls.Read(ctx, c, "IAMListPolicies", func(ctx context.Context) (map[string]string, error) {
		return c.Filer.ListPolicies(ctx)
	})
	if err != nil {
		return nil, err
	}
	inline, err := c.inlinePolicies(ctx)
	if err != nil {
		return nil, err
	}
	groups := membership(cfg.Groups)
	out := map[string]plan.Observation{}
	for _, id := range cfg.Identities {
		if _, seen := out[id.Name]; seen || !s3admin.HasAnyPrefix(id.Name, prefixes) {
			continue
		}
		obs := plan.FromIdentity(id)
		obs.AccessPolicy, obs.HasAccessPolicy = policies[names.AccessPolicy(id.Name)]
		for p, d := range inline[id.Name] {
			obs.Inline[p] = d
		}
		obs.Groups = groups[id.Name]
		out[id.Name] = obs
	}
	return out, nil
}

func (b users) Apply(ctx context.Context, s plan.Step) error {
	c := b.c
	switch s.Kind {
	case plan.StepPutGrant:
		return c.filerMutate(ctx, "IAMPutPolicy", func(ctx context.Context) error {
			return c.Filer.PutPolicy(ctx, names.AccessPolicy(s.User), s.Doc)
		})
	case plan.StepCheckKeyFree:
		holder, err := c.Reads.holders.get(ctx, s.Name)
		switch {
		case err != nil:
			return err
		case holder != "" && holder != s.User:
			return s3admin.NewError("IAMCreateUser", s3admin.ErrAlreadyExists, "access key id %s is in use by another identity", s.Name)
		}
		return nil
	case plan.StepWriteIdentity:
		if s.Create {
			return c.filerMutate(ctx, "IAMCreateUser", func(ctx context.Context) error { return c.Filer.CreateUser(ctx, s.Identity) })
		}
		return c.filerMutate(ctx, "IAMUpdateUser", func(ctx context.Context) error { return c.Filer.UpdateUser(ctx, s.Identity) })
	case plan.StepDeleteInline:
		return c.DeleteUserPolicy(ctx, s.User, s.Name)
	case plan.StepLeaveGroup:
		return c.RemoveFromGroup(ctx, s.User, s.Name)
	case plan.StepDeleteGrant:
		return c.filerMutate(ctx, "IAMDeletePolicy", func(ctx context.Context) error { return c.Filer.DeletePolicy(ctx, s.Name) })
	case plan.StepDeleteUser:
		return c.filerMutate(ctx, "IAMDeleteUser", func(ctx context.Context) error { return c.Filer.DeleteUser(ctx, s.User) })
	}
	return fmt.Errorf("%w: step %s is not one of the filer IAM service's", s3admin.ErrInvalid, s)
}

// Users is this path's engine.UserBackend.
func (c *Client) Users() engine.UserBackend { return users{c} }
