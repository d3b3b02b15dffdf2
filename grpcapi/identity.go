package grpcapi

import (
	"context"

	"github.com/go-logr/logr"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"
)

// Identity serves DriverGetInfo.
type Identity struct {
	cosi.UnimplementedIdentityServer
	Name string
	// Version is logged with each DriverGetInfo: a sidecar asks once when it
	// starts, so the log shows which driver build it connected to.
	Version string
	Log     logr.Logger
}

// DriverGetInfo returns the driver name BucketClasses refer to.
func (i *Identity) DriverGetInfo(context.Context, *cosi.DriverGetInfoRequest) (*cosi.DriverGetInfoResponse, error) {
	i.Log.Info("driver info requested", "driverName", i.Name, "version", i.Version)
	return &cosi.DriverGetInfoResponse{Name: i.Name}, nil
}
