package scale

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// rawIdentity is an identity with one active credential, as the benchmark
// fills SeaweedFS with them.
type rawIdentity struct {
	Name, AccessKey, SecretKey string
	Actions                    []string
}

func (id rawIdentity) Identity() plan.Identity {
	return plan.Identity{Name: id.Name, Actions: id.Actions,
		Credentials: []plan.Credential{{AccessKey: id.AccessKey, SecretKey: id.SecretKey, Status: "Active"}}}
}

// createRaw is iam_pb CreateUser: one identity with its credential and
// actions, stored by the filer as /etc/iam/identities/<name>.json.
func createRaw(ctx context.Context, f *filergrpc.Client, id rawIdentity) error {
	return f.CreateUser(ctx, id.Identity())
}

// SaveFile creates or replaces a small file whose content lives in the
// filer entry itself, as SeaweedFS's own filer.SaveInsideFiler does for
// /etc/iam files (the credential store reads Entry.content only).
func saveFile(ctx context.Context, f *filergrpc.Client, dir, name string, content []byte) error {
	now := time.Now().Unix()
	var attr []byte
	attr = protowire.AppendTag(attr, 1, protowire.VarintType)
	attr = protowire.AppendVarint(attr, uint64(len(content)))
	attr = protowire.AppendTag(attr, 2, protowire.VarintType)
	attr = protowire.AppendVarint(attr, uint64(now))
	attr = protowire.AppendTag(attr, 3, protowire.VarintType)
	attr = protowire.AppendVarint(attr, 0o644)
	attr = protowire.AppendTag(attr, 6, protowire.VarintType)
	attr = protowire.AppendVarint(attr, uint64(now))
	entry := filergrpc.AppendString(nil, 1, name)
	entry = protowire.AppendTag(entry, 4, protowire.BytesType)
	entry = protowire.AppendBytes(entry, attr)
	entry = protowire.AppendTag(entry, 9, protowire.BytesType)
	entry = protowire.AppendBytes(entry, content)
	req := filergrpc.AppendString(nil, 1, dir)
	req = protowire.AppendTag(req, 2, protowire.BytesType)
	req = protowire.AppendBytes(req, entry)
	resp, err := f.Invoke(ctx, filergrpc.IAMService+"CreateEntry", req)
	if err != nil {
		return err
	}
	// CreateEntryResponse.error (field 1) reports failures in-band.
	if msg := string(filergrpc.BytesOf(resp, 1)); msg != "" {
		return fmt.Errorf("CreateEntry %s/%s: %s", dir, name, msg)
	}
	return nil
}

// getUserSize is iam_pb GetUser for the benchmark's floor.
func getUserSize(ctx context.Context, f *filergrpc.Client, name string) error {
	_, err := f.GetUser(ctx, name)
	return err
}
