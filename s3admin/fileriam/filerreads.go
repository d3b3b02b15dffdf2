package fileriam

import (
	"context"
	"errors"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/calls"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// filerReads are the filer path's reads whose cost grows with the number of
// users, each shared by the observations waiting for it (see batcher).
type filerReads struct {
	// inline: every user's inline policy documents, from one file.
	inline batcher[string, map[string]string]
	// groups: the groups of every user, from the group files.
	groups batcher[string, []string]
	// holders: the user holding an access key id ("" for none).
	holders batcher[string, string]
}

func NewReads(c *Client) *filerReads {
	r := &filerReads{}
	r.inline = batcher[string, map[string]string]{timeout: c.Timeout,
		read: func(ctx context.Context, _ []string) (map[string]map[string]string, error) {
			return c.inlinePolicies(ctx)
		}}
	r.groups = batcher[string, []string]{timeout: c.Timeout,
		read: func(ctx context.Context, _ []string) (map[string][]string, error) { return c.groupsOf(ctx) }}
	r.holders = batcher[string, string]{timeout: c.Timeout, read: c.keyHolders}
	return r
}

// keyHolders finds which user holds each of keys. One key is looked up by
// itself; several at once are looked up in the whole configuration, one
// read instead of one per key (each lookup of SeaweedFS's filer store reads
// every identity anyway).
func (c *Client) keyHolders(ctx context.Context, keys []string) (map[string]string, error) {
	if len(keys) == 1 {
		holder, err := calls.Read(ctx, c, "IAMGetUserByAccessKey", func(ctx context.Context) (plan.Identity, error) {
			return c.Filer.GetUserByAccessKey(ctx, keys[0])
		})
		switch {
		case errors.Is(err, s3admin.ErrNotFound):
			return nil, nil
		case err != nil:
			return nil, err
		}
		return map[string]string{keys[0]: holder.Name}, nil
	}
	cfg, err := calls.Read(ctx, c, "IAMGetConfiguration", func(ctx context.Context) (filergrpc.Configuration, error) {
		return c.Filer.GetConfiguration(ctx)
	})
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	out := map[string]string{}
	for _, id := range cfg.Identities {
		for _, cr := range id.Credentials {
			if want[cr.AccessKey] {
				out[cr.AccessKey] = id.Name
			}
		}
	}
	return out, nil
}
