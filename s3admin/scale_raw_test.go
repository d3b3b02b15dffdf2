package s3admin

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protowire"
)

// rawFiler speaks to the SeaweedFS filer's gRPC services (filer_pb and the
// IAM service iam_pb) with hand-encoded protobuf messages, so that the
// benchmark measures the backend's own floor without this module depending
// on the SeaweedFS module. Only the few fields the benchmark writes are
// encoded; field numbers are those of weed/pb/filer.proto and iam.proto.
type rawFiler struct {
	conn *grpc.ClientConn
}

func dialFiler(addr string) (*rawFiler, error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{}), grpc.MaxCallRecvMsgSize(256<<20), grpc.MaxCallSendMsgSize(256<<20)))
	if err != nil {
		return nil, fmt.Errorf("dial filer %s: %w", addr, err)
	}
	return &rawFiler{conn: conn}, nil
}

func (f *rawFiler) Close() error { return f.conn.Close() }

// invoke calls a unary method with an encoded request and returns the
// encoded response.
func (f *rawFiler) invoke(ctx context.Context, method string, req []byte) ([]byte, error) {
	var resp []byte
	if err := f.conn.Invoke(ctx, method, &req, &resp); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return resp, nil
}

const (
	iamService   = "/iam_pb.SeaweedIdentityAccessManagement/"
	filerService = "/filer_pb.SeaweedFiler/"
)

// rawIdentity is an iam_pb.Identity with one active credential.
type rawIdentity struct {
	Name, AccessKey, SecretKey string
	Actions                    []string
}

func (id rawIdentity) encode() []byte {
	var cred []byte
	cred = protowire.AppendTag(cred, 1, protowire.BytesType)
	cred = protowire.AppendString(cred, id.AccessKey)
	cred = protowire.AppendTag(cred, 2, protowire.BytesType)
	cred = protowire.AppendString(cred, id.SecretKey)
	cred = protowire.AppendTag(cred, 3, protowire.BytesType)
	cred = protowire.AppendString(cred, "Active")
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, id.Name)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, cred)
	for _, a := range id.Actions {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, a)
	}
	return b
}

// CreateUser is iam_pb CreateUser: one identity with its credential and
// actions, stored by the filer as /etc/iam/identities/<name>.json.
func (f *rawFiler) CreateUser(ctx context.Context, id rawIdentity) error {
	var req []byte
	req = protowire.AppendTag(req, 1, protowire.BytesType)
	req = protowire.AppendBytes(req, id.encode())
	_, err := f.invoke(ctx, iamService+"CreateUser", req)
	return err
}

// DeleteUser is iam_pb DeleteUser.
func (f *rawFiler) DeleteUser(ctx context.Context, name string) error {
	_, err := f.invoke(ctx, iamService+"DeleteUser", stringField(1, name))
	return err
}

// GetUser is iam_pb GetUser; it returns the encoded response size.
func (f *rawFiler) GetUser(ctx context.Context, name string) (int, error) {
	resp, err := f.invoke(ctx, iamService+"GetUser", stringField(1, name))
	return len(resp), err
}

// GetConfiguration is iam_pb GetConfiguration: every identity in one call.
// It returns the encoded response size.
func (f *rawFiler) GetConfiguration(ctx context.Context) (int, error) {
	resp, err := f.invoke(ctx, iamService+"GetConfiguration", nil)
	return len(resp), err
}

// SaveFile creates or replaces a small file whose content lives in the
// filer entry itself, as SeaweedFS's own filer.SaveInsideFiler does for
// /etc/iam files (the credential store reads Entry.content only).
func (f *rawFiler) SaveFile(ctx context.Context, dir, name string, content []byte) error {
	now := time.Now().Unix()
	var attr []byte
	attr = protowire.AppendTag(attr, 1, protowire.VarintType)
	attr = protowire.AppendVarint(attr, uint64(len(content)))
	attr = protowire.AppendTag(attr, 2, protowire.VarintType)
	attr = protowire.AppendVarint(attr, uint64(now))
	attr = protowire.AppendTag(attr, 3, protowire.VarintType)
	attr = protowire.AppendVarint(attr, 0o644)
	attr = protowire.AppendTag(attr, 6, protowire.VarintType)
	attr = protowire.AppendVarint(attr, uint64(now))
	var entry []byte
	entry = protowire.AppendTag(entry, 1, protowire.BytesType)
	entry = protowire.AppendString(entry, name)
	entry = protowire.AppendTag(entry, 4, protowire.BytesType)
	entry = protowire.AppendBytes(entry, attr)
	entry = protowire.AppendTag(entry, 9, protowire.BytesType)
	entry = protowire.AppendBytes(entry, content)
	req := stringField(1, dir)
	req = protowire.AppendTag(req, 2, protowire.BytesType)
	req = protowire.AppendBytes(req, entry)
	resp, err := f.invoke(ctx, filerService+"CreateEntry", req)
	if err != nil {
		return err
	}
	// CreateEntryResponse.error (field 1) reports failures in-band.
	if msg := stringOf(resp, 1); msg != "" {
		return fmt.Errorf("CreateEntry %s/%s: %s", dir, name, msg)
	}
	return nil
}

func stringField(num protowire.Number, s string) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// stringOf returns the last occurrence of a length-delimited field.
func stringOf(msg []byte, want protowire.Number) string {
	var out string
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return out
		}
		msg = msg[n:]
		m := protowire.ConsumeFieldValue(num, typ, msg)
		if m < 0 {
			return out
		}
		if num == want && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(msg)
			out = string(v)
		}
		msg = msg[m:]
	}
	return out
}

// rawCodec passes already encoded protobuf bytes through gRPC. It is named
// "proto" so the request carries the content type the server expects.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: unexpected %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: unexpected %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }
