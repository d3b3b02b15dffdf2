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

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc/filerpb"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc/iampb"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// Client speaks to the SeaweedFS filer's gRPC services: the IAM service
// (iam_pb.SeaweedIdentityAccessManagement, weed/pb/iam.proto) and the reads
// of the filer service (filer_pb.SeaweedFiler) the driver needs. Its
// messages and stubs are generated from SeaweedFS's own .proto files into
// packages of this module (see generate.sh) rather than imported from the
// SeaweedFS module, whose requirements would move client-go and grpc.
type Client struct {
	conn  *grpc.ClientConn
	iam   iampb.SeaweedIdentityAccessManagementClient
	filer filerpb.SeaweedFilerClient
	// dirs caches the filer's buckets directory (see bucketsDirCached).
	dirs dirCache
}

// Dial prepares a connection to addr; it makes no request. tlsCfg nil
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
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20), grpc.MaxCallSendMsgSize(64<<20)),
	}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("%w: filer gRPC address %q: %w", s3admin.ErrInvalid, addr, err)
	}
	return &Client{conn: conn, iam: iampb.NewSeaweedIdentityAccessManagementClient(conn), filer: filerpb.NewSeaweedFilerClient(conn)}, nil
}

func (f *Client) Close() error { return f.conn.Close() }

// FilerService is the filer service on this connection, for the calls this
// client does not wrap: the benchmark fills the filer's store through it.
func (f *Client) FilerService() filerpb.SeaweedFilerClient { return f.filer }

// GetConfiguration returns every identity and group in one call.
func (f *Client) GetConfiguration(ctx context.Context) (Configuration, error) {
	resp, err := f.iam.GetConfiguration(ctx, &iampb.GetConfigurationRequest{})
	if err != nil {
		return Configuration{}, s3admin.Classify(iampb.SeaweedIdentityAccessManagement_GetConfiguration_FullMethodName, err)
	}
	return configurationOf(resp.GetConfiguration())
}

// GetUser returns the identity; ErrNotFound if there is none.
func (f *Client) GetUser(ctx context.Context, name string) (plan.Identity, error) {
	resp, err := f.iam.GetUser(ctx, &iampb.GetUserRequest{Username: name})
	if err != nil {
		return plan.Identity{}, s3admin.Classify(iampb.SeaweedIdentityAccessManagement_GetUser_FullMethodName, err)
	}
	return identityOf(resp.GetIdentity())
}

// GetUserByAccessKey returns the identity holding the key; ErrNotFound if
// none does.
func (f *Client) GetUserByAccessKey(ctx context.Context, accessKey string) (plan.Identity, error) {
	resp, err := f.iam.GetUserByAccessKey(ctx, &iampb.GetUserByAccessKeyRequest{AccessKey: accessKey})
	if err != nil {
		return plan.Identity{}, s3admin.Classify(iampb.SeaweedIdentityAccessManagement_GetUserByAccessKey_FullMethodName, err)
	}
	return identityOf(resp.GetIdentity())
}

// CreateUser stores a new identity; ErrAlreadyExists if the name is taken.
func (f *Client) CreateUser(ctx context.Context, id plan.Identity) error {
	const method = iampb.SeaweedIdentityAccessManagement_CreateUser_FullMethodName
	pb, err := identityMessage(id)
	if err != nil {
		return s3admin.NewError(method, s3admin.ErrInvalid, "%w", err)
	}
	_, err = f.iam.CreateUser(ctx, &iampb.CreateUserRequest{Identity: pb})
	return s3admin.Classify(method, err)
}

// UpdateUser replaces the stored identity of id.Name in one write.
func (f *Client) UpdateUser(ctx context.Context, id plan.Identity) error {
	const method = iampb.SeaweedIdentityAccessManagement_UpdateUser_FullMethodName
	pb, err := identityMessage(id)
	if err != nil {
		return s3admin.NewError(method, s3admin.ErrInvalid, "%w", err)
	}
	_, err = f.iam.UpdateUser(ctx, &iampb.UpdateUserRequest{Username: id.Name, Identity: pb})
	return s3admin.Classify(method, err)
}

// DeleteUser removes the identity with all its credentials.
func (f *Client) DeleteUser(ctx context.Context, name string) error {
	_, err := f.iam.DeleteUser(ctx, &iampb.DeleteUserRequest{Username: name})
	return s3admin.Classify(iampb.SeaweedIdentityAccessManagement_DeleteUser_FullMethodName, err)
}

// PutPolicy creates or replaces a managed policy in one write.
func (f *Client) PutPolicy(ctx context.Context, name, content string) error {
	_, err := f.iam.PutPolicy(ctx, &iampb.PutPolicyRequest{Name: name, Content: content})
	return s3admin.Classify(iampb.SeaweedIdentityAccessManagement_PutPolicy_FullMethodName, err)
}

// GetPolicy returns a managed policy's document; ErrNotFound if missing.
func (f *Client) GetPolicy(ctx context.Context, name string) (string, error) {
	resp, err := f.iam.GetPolicy(ctx, &iampb.GetPolicyRequest{Name: name})
	if err != nil {
		return "", s3admin.Classify(iampb.SeaweedIdentityAccessManagement_GetPolicy_FullMethodName, err)
	}
	return resp.GetContent(), nil
}

// ListPolicies returns every managed policy's document by name.
func (f *Client) ListPolicies(ctx context.Context) (map[string]string, error) {
	resp, err := f.iam.ListPolicies(ctx, &iampb.ListPoliciesRequest{})
	if err != nil {
		return nil, s3admin.Classify(iampb.SeaweedIdentityAccessManagement_ListPolicies_FullMethodName, err)
	}
	out := map[string]string{}
	for _, p := range resp.GetPolicies() {
		out[p.GetName()] = p.GetContent()
	}
	return out, nil
}

// DeletePolicy removes a managed policy.
func (f *Client) DeletePolicy(ctx context.Context, name string) error {
	_, err := f.iam.DeletePolicy(ctx, &iampb.DeletePolicyRequest{Name: name})
	return s3admin.Classify(iampb.SeaweedIdentityAccessManagement_DeletePolicy_FullMethodName, err)
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
	out := map[string][]byte{}
	err := f.list(ctx, &filerpb.ListEntriesRequest{Directory: dir, Prefix: prefix, Limit: uint32(limit)}, func(e *filerpb.Entry) {
		out[e.GetName()] = e.GetContent()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// list calls fn with every named entry the listing req answers. A missing
// directory has no entries.
func (f *Client) list(ctx context.Context, req *filerpb.ListEntriesRequest, fn func(*filerpb.Entry)) error {
	const method = filerpb.SeaweedFiler_ListEntries_FullMethodName
	stream, err := f.filer.ListEntries(ctx, req)
	if err != nil {
		return s3admin.Classify(method, err)
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if err = s3admin.Classify(method, err); errors.Is(err, s3admin.ErrNotFound) {
				return nil
			}
			return err
		}
		if e := resp.GetEntry(); e.GetName() != "" {
			fn(e)
		}
	}
}
