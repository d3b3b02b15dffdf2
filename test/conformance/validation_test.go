package conformance

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/grpcapi"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

// TestBadInput: a request the driver can never carry out is answered
// INVALID_ARGUMENT on the first call, naming what is wrong, and leaves no
// trace — the sidecar retries it forever, so it must be cheap and harmless.
func TestBadInput(t *testing.T) {
	e := mustEnv(t)
	bucket := e.mustCreateBucket(t, bucketName(), nil)
	a := e.mustGrant(t, bucket, nil)

	createReq := func(name string, params map[string]string) func(context.Context, cosi.ProvisionerClient) error {
		return func(c context.Context, p cosi.ProvisionerClient) error {
			_, err := p.DriverCreateBucket(c, &cosi.DriverCreateBucketRequest{Name: name, Parameters: params})
			return err
		}
	}
	grantReq := func(req *cosi.DriverGrantBucketAccessRequest) func(context.Context, cosi.ProvisionerClient) error {
		return func(c context.Context, p cosi.ProvisionerClient) error {
			_, err := p.DriverGrantBucketAccess(c, req)
			return err
		}
	}
	withAuth := func(req *cosi.DriverGrantBucketAccessRequest, at cosi.AuthenticationType) *cosi.DriverGrantBucketAccessRequest {
		req.AuthenticationType = at
		return req
	}
	cases := []struct {
		sentence string
		call     func(context.Context, cosi.ProvisionerClient) error
		mentions []string
	}{
		{"Create with an empty name", createReq("", nil), []string{"name"}},
		{"Create with a name longer than 253 characters", createReq(strings.Repeat("b", 254), nil), []string{"name"}},
		{"Create with control characters in the name", createReq("bucket-\n-x", nil), []string{"name"}},
		{"Create with an unknown parameter", createReq(bucketName(), map[string]string{"quota": "1Gi"}), []string{`"quota"`, grpcapi.ParamPurge}},
		{`Create with purge that is not "true" or "false"`, createReq(bucketName(), map[string]string{grpcapi.ParamPurge: "yes"}), []string{`"purge"`, `"yes"`}},
		{`Create with purge "1" (a boolean elsewhere, not here)`, createReq(bucketName(), map[string]string{grpcapi.ParamPurge: "1"}), []string{`"purge"`, `"1"`}},
		{`Create with purge "TRUE"`, createReq(bucketName(), map[string]string{grpcapi.ParamPurge: "TRUE"}), []string{`"purge"`, `"TRUE"`}},
		{"Create with a right-to-left override in the name", createReq("bucket-\u202egnp", nil), []string{"name"}},
		{"Grant with a zero-width joiner in the name", grantReq(grantRequest(bucket, "ba-\u200d"+uid(), nil)), []string{"name"}},
		{"Delete with an empty bucket_id", func(c context.Context, p cosi.ProvisionerClient) error {
			_, err := p.DriverDeleteBucket(c, &cosi.DriverDeleteBucketRequest{})
			return err
		}, []string{"bucket_id"}},
		{"Grant with an empty bucket_id", grantReq(grantRequest("", accessName(), nil)), []string{"bucket_id"}},
		{"Grant with an empty name", grantReq(grantRequest(bucket, "", nil)), []string{"name"}},
		{"Grant with an unknown parameter", grantReq(grantRequest(bucket, accessName(), map[string]string{"policy": "admin"})), []string{`"policy"`, grpcapi.ParamMode}},
		{"Grant with an unknown mode", grantReq(grantRequest(bucket, accessName(), map[string]string{grpcapi.ParamMode: "admin"})), []string{`"mode"`, `"admin"`}},
		{"Grant with authentication type IAM", grantReq(withAuth(grantRequest(bucket, accessName(), nil), cosi.AuthenticationType_IAM)), []string{"IAM"}},
		{"Grant with an unknown authentication type", grantReq(withAuth(grantRequest(bucket, accessName(), nil), cosi.AuthenticationType_UnknownAuthenticationType)), []string{"Key"}},
		{"Revoke with an empty account_id", func(c context.Context, p cosi.ProvisionerClient) error {
			_, err := p.DriverRevokeBucketAccess(c, &cosi.DriverRevokeBucketAccessRequest{BucketId: bucket})
			return err
		}, []string{"account_id"}},
		{"Revoke with an empty bucket_id", func(c context.Context, p cosi.ProvisionerClient) error {
			_, err := p.DriverRevokeBucketAccess(c, &cosi.DriverRevokeBucketAccessRequest{AccountId: a.account})
			return err
		}, []string{"bucket_id"}},
	}

	beforeB, beforeR := e.backend(t), e.records(t)
	for _, tc := range cases {
		t.Run(tc.sentence+" returns INVALID_ARGUMENT naming the field", func(t *testing.T) {
			err := tc.call(ctx(t), e.driver.Provisioner())
			requireCode(t, err, codes.InvalidArgument, tc.mentions...)
		})
	}
	t.Run("Bad input leaves no record and changes nothing in SeaweedFS", func(t *testing.T) {
		if d := cmp.Diff(beforeR, e.records(t)); d != "" {
			t.Errorf("records changed (-before +after):\n%s", d)
		}
		if d := cmp.Diff(beforeB, e.backend(t)); d != "" {
			t.Errorf("SeaweedFS changed (-before +after):\n%s", d)
		}
		if _, err := s3check.List(ctx(t), a.s3(), bucket); err != nil {
			t.Errorf("the existing access stopped working: %v", err)
		}
	})
}
