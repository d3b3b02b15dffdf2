package grpcapi

import (
	"context"

	cosi "sigs.k8s.io/container-object-storage-interface-spec"
)

// Identity serves DriverGetInfo.
type Identity struct {
	cosi.UnimplementedIdentityServer
	Name string
}

// DriverGetInfo returns the driver name BucketClasses refer to.
func (i *Identity) DriverGetInfo(context.Context, *cosi.DriverGetInfoRequest) (*cosi.DriverGetInfoResponse, error) {
	return &cosi.DriverGetInfoResponse{Name: i.Name}, nil
}
