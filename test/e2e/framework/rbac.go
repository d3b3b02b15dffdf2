package framework

import (
	"context"
	"fmt"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/chart"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// ServiceAccount is the chart's release name here, and so the name of the
// pod's ServiceAccount the chart renders. Locally the driver and the sidecar
// each run as their own ServiceAccount instead (DriverServiceAccount,
// SidecarServiceAccount) bound to exactly the roles the chart grants that
// container, so the e2e suite proves each container's rules on their own.
const ServiceAccount = "cosi-seaweedfs"

// The per-container identities of the local processes.
const (
	DriverServiceAccount  = ServiceAccount + "-driver"
	SidecarServiceAccount = ServiceAccount + "-sidecar"
)

// SidecarRBAC is the chart's sidecar.rbac for the sidecar the local mode
// runs by default (bin/objectstorage-sidecar, v0.1.0).
const SidecarRBAC = "v0.1"

// InstallRBAC renders the Helm chart (release ServiceAccount, in namespace,
// for driverName and the sidecar line sidecarRBAC) with the pinned helm and
// creates its roles, bound per container to DriverServiceAccount and
// SidecarServiceAccount.
func InstallRBAC(ctx context.Context, kube *stack.Kube, namespace, driverName, sidecarRBAC string) error {
	// The image tag is not used here; it is set so that the chart's check
	// of sidecar.rbac against it passes.
	objs, err := chart.Render(ctx, ServiceAccount, namespace,
		"driverName="+driverName, "sidecar.rbac="+sidecarRBAC, "sidecar.image.tag="+sidecarRBAC+".0")
	if err != nil {
		return err
	}
	split, err := chart.SplitByContainer(objs, namespace, DriverServiceAccount, SidecarServiceAccount)
	if err != nil {
		return err
	}
	if err := chart.Apply(ctx, kube.Dynamic, split, chart.RBACKinds...); err != nil {
		return fmt.Errorf("install the chart's RBAC: %w", err)
	}
	return nil
}
