package framework

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

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
	return installSplit(ctx, kube, namespace, objs)
}

// The chart's RBAC for release and namespace PrerenderedNamespace, the
// default driver name and the sidecar v0.1.0 (make chart-rbac-local), so
// that the demo needs no helm; test/chart fails when it is not what the
// chart renders.
//
//go:embed chart-rbac-local.yaml
var prerenderedRBAC []byte

// PrerenderedNamespace is the namespace chart-rbac-local.yaml is rendered for.
const PrerenderedNamespace = "cosi-seaweedfs"

// InstallPrerenderedRBAC is InstallRBAC from chart-rbac-local.yaml.
func InstallPrerenderedRBAC(ctx context.Context, kube *stack.Kube, namespace, driverName, sidecarRBAC string) error {
	if namespace != PrerenderedNamespace || driverName != DefaultDriverName || sidecarRBAC != SidecarRBAC {
		return fmt.Errorf("the prerendered RBAC is for namespace %s, driver %s and sidecar %s", PrerenderedNamespace, DefaultDriverName, SidecarRBAC)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(prerenderedRBAC), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("decode chart-rbac-local.yaml: %w", err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
	return installSplit(ctx, kube, namespace, objs)
}

func installSplit(ctx context.Context, kube *stack.Kube, namespace string, objs []*unstructured.Unstructured) error {
	split, err := chart.SplitByContainer(objs, namespace, DriverServiceAccount, SidecarServiceAccount)
	if err != nil {
		return err
	}
	if err := chart.Apply(ctx, kube.Dynamic, split, chart.RBACKinds...); err != nil {
		return fmt.Errorf("install the chart's RBAC: %w", err)
	}
	return nil
}
