package filergrpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// filer speaks to the SeaweedFS filer's gRPC services: the IAM service
// (iam_pb.SeaweedIdentityAccessManagement, weed/pb/iam.proto) and the one
// read of the filer service (filer_pb.SeaweedFiler) the IAM path needs. The
// few messages are encoded by hand with protowire, field numbers as in
// weed/pb/iam.proto and filer.proto of SeaweedFS 4.39, so that this module
// does not depend on the SeaweedFS module (whose requirements would move
// client-go and grpc).
type Client struct {
	conn *grpc.ClientConn
}

// dialFiler prepares a connection to addr; it makes no request. tlsCfg nil
// means plaintext, which the caller allows only when told to.
func Dial(addr string, tlsCfg *tls.Config, opts ...grpc.DialOption) (*Client, error) {
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		// The whole identity configuration comes in one answer: thousands of
		// identities are a few megabytes.
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{}), grpc.MaxCallRecvMsgSize(256<<20), grpc.MaxCallSendMsgSize(64<<20)),
	}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("%w: filer gRPC address %q: %w", s3admin.ErrInvalid, addr, err)
	}
	return &Client{conn: conn}, nil
}

func (f *Client) Close() error { return f.conn.Close() }

const (
	iamService = "/iam_pb.SeaweedIdentityAccessManagement/"
	IAMService = "/filer_pb.SeaweedFiler/"
)

// Invoke calls a unary method with an encoded request and returns the
// encoded response, its error classified.
func (f *Client) Invoke(ctx context.Context, method string, req []byte) ([]byte, error) {
	var resp []byte
	if err := f.conn.Invoke(ctx, method, &req, &resp); err != nil {
		return nil, s3admin.Classify(method, err)
	}
	return resp, nil
}

// GetConfiguration returns every identity and group in one call.
func (f *Client) GetConfiguration(ctx context.Context) (Configuration, error) {
	resp, err := f.Invoke(ctx, iamService+"GetConfiguration", nil)
	if err != nil {
		return Configuration{}, err
	}
	return decodeConfiguration(BytesOf(resp, 1))
}

// GetUser returns the identity; ErrNotFound if there is none.
func (f *Client) GetUser(ctx context.Context, name string) (plan.Identity, error) {
	resp, err := f.Invoke(ctx, iamService+"GetUser", AppendString(nil, 1, name))
	if err != nil {
		return plan.Identity{}, err
	}
	return decodeIdentity(BytesOf(resp, 1))
}

// GetUserByAccessKey returns the identity holding the key; ErrNotFound if
// none does.
func (f *Client) GetUserByAccessKey(ctx context.Context, accessKey string) (plan.Identity, error) {
	resp, err := f.Invoke(ctx, iamService+"GetUserByAccessKey", AppendString(nil, 1, accessKey))
	if err != nil {
		return plan.Identity{}, err
	}
	return decodeIdentity(BytesOf(resp, 1))
}

// CreateUser stores a new identity; ErrAlreadyExists if the name is taken.
func (f *Client) CreateUser(ctx context.Context, id plan.Identity) error {
	req := protowire.AppendTag(nil, 1, protowire.BytesType)
	req = protowire.AppendBytes(req, encodeIdentity(id))
	_, err := f.Invoke(ctx, iamService+"CreateUser", req)
	return err
}

// UpdateUser replaces the stored identity of id.name in one write.
func (f *Client) UpdateUser(ctx context.Context, id plan.Identity) error {
	req := AppendString(nil, 1, id.Name)
	req = protowire.AppendTag(req, 2, protowire.BytesType)
	req = protowire.AppendBytes(req, encodeIdentity(id))
	_, err := f.Invoke(ctx, iamService+"UpdateUser", req)
	return err
}

// DeleteUser removes the identity with all its credentials.
func (f *Client) DeleteUser(ctx context.Context, name string) error {
	_, err := f.Invoke(ctx, iamService+"DeleteUser", AppendString(nil, 1, name))
	return err
}

// PutPolicy creates or replaces a managed policy in one write.
func (f *Client) PutPolicy(ctx context.Context, name, content string) error {
	_, err := f.Invoke(ctx, iamService+"PutPolicy", AppendString(AppendString(nil, 1, name), 2, content))
	return err
}

// GetPolicy returns a managed policy's document; ErrNotFound if missing.
func (f *Client) GetPolicy(ctx context.Context, name string) (string, error) {
	resp, err := f.Invoke(ctx, iamService+"GetPolicy", AppendString(nil, 1, name))
	if err != nil {
		return "", err
	}
	return string(BytesOf(resp, 2)), nil
}

// ListPolicies returns every managed policy's document by name.
func (f *Client) ListPolicies(ctx context.Context) (map[string]string, error) {
	resp, err := f.Invoke(ctx, iamService+"ListPolicies", nil)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = eachField(resp, func(num protowire.Number, typ protowire.Type, v []byte, _ []byte) error {
		if num == 1 && typ == protowire.BytesType {
			out[string(BytesOf(v, 1))] = string(BytesOf(v, 2))
		}
		return nil
	})
	return out, err
}

// DeletePolicy removes a managed policy.
func (f *Client) DeletePolicy(ctx context.Context, name string) error {
	_, err := f.Invoke(ctx, iamService+"DeletePolicy", AppendString(nil, 1, name))
	return err
}

// ReadFile returns the content of a small file the filer keeps inside its
// entry, as SeaweedFS keeps every file under /etc/iam; ok is false for a
// missing file. It lists the directory from the file's name on: a lookup of
// a missing entry answers with an error that carries no status code.
func (f *Client) ReadFile(ctx context.Context, dir, name string) (content []byte, ok bool, err error) {
	files, err := f.listDir(ctx, dir, name, 1)
	if err != nil {
		return nil, false, err
	}
	content, ok = files[name]
	return content, ok, nil
}

// ReadDir returns the name and content of every file of dir whose content
// the filer keeps inside its entry (as for every file under /etc/iam), up
// to limit files; a missing directory is empty.
func (f *Client) ReadDir(ctx context.Context, dir string, limit int) (map[string][]byte, error) {
	return f.listDir(ctx, dir, "", limit)
}

// listDir lists up to limit files of dir whose names start with prefix.
func (f *Client) listDir(ctx context.Context, dir, prefix string, limit int) (map[string][]byte, error) {
	const method = IAMService + "ListEntries"
	stream, err := f.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
	if err != nil {
		return nil, s3admin.Classify(method, err)
	}
	req := AppendString(nil, 1, dir)
	if prefix != "" {
		req = AppendString(req, 2, prefix)
	}
	req = protowire.AppendTag(req, 5, protowire.VarintType)
	req = protowire.AppendVarint(req, uint64(limit))
	if err := stream.SendMsg(&req); err != nil {
		return nil, s3admin.Classify(method, err)
	}
	if err := stream.CloseSend(); err != nil {
		return nil, s3admin.Classify(method, err)
	}
	out := map[string][]byte{}
	for {
		var resp []byte
		err := stream.RecvMsg(&resp)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			err = s3admin.Classify(method, err)
			if errors.Is(err, s3admin.ErrNotFound) {
				return out, nil
			}
			return nil, err
		}
		entry := BytesOf(resp, 1)
		// Entry.name (1), Entry.is_directory (2), Entry.content (9).
		name := string(BytesOf(entry, 1))
		if name != "" {
			out[name] = BytesOf(entry, 9)
		}
	}
}
