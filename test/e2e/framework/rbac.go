package framework

import (
	"context"
	"fmt"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/chart"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// ServiceAccount is the identity the local driver and sidecar share, as they
// do in the chart's pod. InstallRBAC gives it exactly the chart's RBAC, so the
// e2e suite proves that RBAC against the real sidecar.
const ServiceAccount = "cosi-seaweedfs"

// InstallRBAC renders the Helm chart (release ServiceAccount, in namespace)
// with the pinned helm and creates its ServiceAccount and RBAC objects.
func InstallRBAC(ctx context.Context, kube *stack.Kube, namespace string) error {
	objs, err := chart.Render(ctx, ServiceAccount, namespace)
	if err != nil {
		return err
	}
	if err := chart.Apply(ctx, kube.Dynamic, objs, chart.RBACKinds...); err != nil {
		return fmt.Errorf("install the chart's RBAC: %w", err)
	}
	return nil
}
