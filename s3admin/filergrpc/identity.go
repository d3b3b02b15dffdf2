package filergrpc

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc/iampb"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// identityOf is the identity as the driver reads it. Every field it does
// not model (account, tags, and fields of a newer SeaweedFS this code does
// not know) is kept in Others, encoded, so that writing the identity back
// keeps what SeaweedFS or an operator set there.
func identityOf(pb *iampb.Identity) (plan.Identity, error) {
	if pb == nil {
		return plan.Identity{}, nil
	}
	id := plan.Identity{
		Name:            pb.GetName(),
		Actions:         pb.GetActions(),
		Disabled:        pb.GetDisabled(),
		ServiceAccounts: pb.GetServiceAccountIds(),
		PolicyNames:     pb.GetPolicyNames(),
	}
	for _, c := range pb.GetCredentials() {
		id.Credentials = append(id.Credentials, plan.Credential{AccessKey: c.GetAccessKey(), SecretKey: c.GetSecretKey(), Status: c.GetStatus()})
	}
	others := proto.CloneOf(pb)
	others.Name, others.Credentials, others.Actions, others.Disabled = "", nil, nil, false
	others.ServiceAccountIds, others.PolicyNames = nil, nil
	// is_static: loaded from a configuration file, never the driver's to
	// change, and refused in a write; not written back.
	others.IsStatic = false
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(others)
	if err != nil {
		return plan.Identity{}, fmt.Errorf("encode the fields of identity %q the driver does not manage: %w", id.Name, err)
	}
	if len(b) > 0 {
		id.Others = b
	}
	return id, nil
}

// identityMessage is id as written: the fields kept in Others, then every
// field the driver manages set to id's.
func identityMessage(id plan.Identity) (*iampb.Identity, error) {
	pb := &iampb.Identity{}
	if err := proto.Unmarshal(id.Others, pb); err != nil {
		return nil, fmt.Errorf("decode the fields of identity %q the driver does not manage: %w", id.Name, err)
	}
	pb.Name = id.Name
	pb.Credentials = nil
	for _, c := range id.Credentials {
		pb.Credentials = append(pb.Credentials, &iampb.Credential{AccessKey: c.AccessKey, SecretKey: c.SecretKey, Status: c.Status})
	}
	pb.Actions, pb.Disabled, pb.ServiceAccountIds, pb.PolicyNames = id.Actions, id.Disabled, id.ServiceAccounts, id.PolicyNames
	pb.IsStatic = false
	return pb, nil
}

// Group is an iam_pb.Group: the policies of a group apply to its members.
type Group struct {
	Name    string
	Members []string
}

// Configuration is an iam_pb.S3ApiConfiguration: every identity and group.
type Configuration struct {
	Identities []plan.Identity
	Groups     []Group
}

func configurationOf(pb *iampb.S3ApiConfiguration) (Configuration, error) {
	var cfg Configuration
	for _, i := range pb.GetIdentities() {
		id, err := identityOf(i)
		if err != nil {
			return Configuration{}, err
		}
		cfg.Identities = append(cfg.Identities, id)
	}
	for _, g := range pb.GetGroups() {
		cfg.Groups = append(cfg.Groups, Group{Name: g.GetName(), Members: g.GetMembers()})
	}
	return cfg, nil
}
