package iamapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// suppliedAccessKey appends AccessKeyId and SecretAccessKey to a
// CreateAccessKey request body. AWS IAM has no such fields; SeaweedFS 4.22+
// accepts them (an extension), which lets the driver choose the key so that
// it knows the credentials before the store does. It runs in the serialize
// step right after the SDK's own query serializer, so the SDK still signs
// the complete body and computes its length.
type suppliedAccessKey struct {
	id, secret string
}

func (suppliedAccessKey) ID() string { return "SeaweedFSSuppliedAccessKey" }

func (m suppliedAccessKey) HandleSerialize(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (
	middleware.SerializeOutput, middleware.Metadata, error,
) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return middleware.SerializeOutput{}, middleware.Metadata{}, fmt.Errorf("supplied access key: unexpected transport %T", in.Request)
	}
	var body []byte
	if s := req.GetStream(); s != nil {
		b, err := io.ReadAll(s)
		if err != nil {
			return middleware.SerializeOutput{}, middleware.Metadata{}, fmt.Errorf("supplied access key: read body: %w", err)
		}
		body = b
	}
	extra := url.Values{"AccessKeyId": {m.id}, "SecretAccessKey": {m.secret}}.Encode()
	if len(body) > 0 {
		body = append(body, '&')
	}
	body = append(body, extra...)
	req, err := req.SetStream(bytes.NewReader(body))
	if err != nil {
		return middleware.SerializeOutput{}, middleware.Metadata{}, fmt.Errorf("supplied access key: set body: %w", err)
	}
	in.Request = req
	return next.HandleSerialize(ctx, in)
}

// WithSuppliedAccessKey is a per-call option for iam.Client.CreateAccessKey.
func WithSuppliedAccessKey(id, secret string) func(*iam.Options) {
	return func(o *iam.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Serialize.Insert(suppliedAccessKey{id: id, secret: secret}, "OperationSerializer", middleware.After)
		})
	}
}
