package scale

import (
	"context"
	"fmt"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc/filerpb"
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
	resp, err := f.FilerService().CreateEntry(ctx, &filerpb.CreateEntryRequest{Directory: dir, Entry: &filerpb.Entry{
		Name:       name,
		Attributes: &filerpb.FuseAttributes{FileSize: uint64(len(content)), Mtime: now, FileMode: 0o644, Crtime: now},
		Content:    content,
	}})
	if err != nil {
		return err
	}
	// CreateEntryResponse.error reports failures in-band.
	if msg := resp.GetError(); msg != "" {
		return fmt.Errorf("CreateEntry %s/%s: %s", dir, name, msg)
	}
	return nil
}

// getUserSize is iam_pb GetUser for the benchmark's floor.
func getUserSize(ctx context.Context, f *filergrpc.Client, name string) error {
	_, err := f.GetUser(ctx, name)
	return err
}
