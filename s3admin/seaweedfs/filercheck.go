package seaweedfs

import (
	"context"
	"errors"
	"slices"

	"google.golang.org/grpc"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/calls"
)

// filerDialOptions are the dial options of cfg's filer connection: the
// caller's, and the token credential when there is one.
func (cfg Config) filerDialOptions() []grpc.DialOption {
	opts := slices.Clip(cfg.FilerDialOptions)
	if cfg.FilerJWT != nil {
		opts = append(opts, grpc.WithPerRPCCredentials(cfg.FilerJWT))
	}
	return opts
}

// CheckFiler makes one read through the filer's IAM service with this
// client's connection: nil when the filer answers it (a policy that does not
// exist is an answer).
func (c *SeaweedFS) CheckFiler(ctx context.Context) error {
	if c.filer == nil {
		return nil
	}
	_, err := calls.Read(ctx, c, "IAMGetPolicy", func(ctx context.Context) (string, error) {
		return c.filer.GetPolicy(ctx, names.AccessPolicy("cosi-probe"))
	})
	if errors.Is(err, s3admin.ErrNotFound) {
		return nil
	}
	return err
}
