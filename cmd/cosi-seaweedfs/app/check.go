package app

import (
	"context"
	"fmt"
	"io"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc"
)

// CheckCommand is the first argument that runs Check instead of the driver.
const CheckCommand = "check"

// Check verifies, with the driver's own configuration and without the
// Kubernetes API, what the driver needs of SeaweedFS: anonymous requests are
// refused, the admin identity is accepted by S3 (buckets) and by the user
// path (IAM query API or the filer's IAM gRPC service), and a configured
// filer is secured as the flags require. It prints one line per finding to
// out and fails if any check does. The chart's `helm test` pod runs it from
// the driver's image, so the test needs no other image in the cluster.
func Check(ctx context.Context, cfg Config, out io.Writer) error {
	admin, err := newAdmin(cfg, nil)
	if err != nil {
		return err
	}
	userPath := "IAM query API at " + cfg.S3Endpoint
	if cfg.FilerGRPCAddress != "" {
		userPath = "filer IAM gRPC service at " + cfg.FilerGRPCAddress
	}
	checks := []struct {
		what string
		run  func(context.Context) (string, error)
	}{
		{"anonymous access", func(ctx context.Context) (string, error) {
			return "refused at " + cfg.S3Endpoint, admin.CheckAnonymousDenied(ctx)
		}},
		{"S3 with the admin identity", func(ctx context.Context) (string, error) {
			marked, err := admin.ListMarkedBuckets(ctx)
			return fmt.Sprintf("answered at %s; %d buckets carry an owner tag", cfg.S3Endpoint, len(marked)), err
		}},
		{"filer security", func(ctx context.Context) (string, error) {
			if cfg.FilerGRPCAddress == "" {
				return "not used (users through the IAM query API)", nil
			}
			sec, err := checkFiler(ctx, cfg, admin)
			if err == nil && sec != filergrpc.RequiresTLS {
				return fmt.Sprintf("%s at %s, used as --allow-insecure-filer allows: anyone reaching its gRPC port can change every identity", sec, cfg.FilerGRPCAddress), err
			}
			return fmt.Sprintf("%s at %s", sec, cfg.FilerGRPCAddress), err
		}},
		{"users with the admin identity", func(ctx context.Context) (string, error) {
			_, err := admin.ObserveUser(ctx, cfg.UserPrefix+readinessProbeUser)
			return "answered by the " + userPath, err
		}},
		{"user writes with the admin identity", func(ctx context.Context) (string, error) {
			if cfg.FilerGRPCAddress != "" {
				return "through the filer's IAM gRPC service, which the S3 gateway's IAM setting does not govern", nil
			}
			return "accepted by the IAM query API at " + cfg.S3Endpoint, admin.CheckUserWrites(ctx)
		}},
	}
	var failed int
	for _, c := range checks {
		ctx, cancel := context.WithTimeout(ctx, 3*cfg.BackendTimeout)
		found, err := c.run(ctx)
		cancel()
		if err != nil {
			failed++
			fmt.Fprintf(out, "FAIL %s: %v\n", c.what, err)
			continue
		}
		fmt.Fprintf(out, "ok   %s: %s\n", c.what, found)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d checks of SeaweedFS failed", failed, len(checks))
	}
	return nil
}
