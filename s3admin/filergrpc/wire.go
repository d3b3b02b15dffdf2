package filergrpc

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

func AppendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// eachField calls fn with every field of msg: its number, type, value (the
// bytes of a length-delimited field, the varint bytes otherwise) and the
// field's whole encoding.
func eachField(msg []byte, fn func(num protowire.Number, typ protowire.Type, v, raw []byte) error) error {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return fmt.Errorf("decode filer answer: %w", protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, msg[n:])
		if m < 0 {
			return fmt.Errorf("decode filer answer: %w", protowire.ParseError(m))
		}
		raw := msg[:n+m]
		v := msg[n : n+m]
		if typ == protowire.BytesType {
			v, _ = protowire.ConsumeBytes(v)
		}
		if err := fn(num, typ, v, raw); err != nil {
			return err
		}
		msg = msg[n+m:]
	}
	return nil
}

// BytesOf returns the last occurrence of a length-delimited field.
func BytesOf(msg []byte, want protowire.Number) []byte {
	var out []byte
	_ = eachField(msg, func(num protowire.Number, typ protowire.Type, v, _ []byte) error {
		if num == want && typ == protowire.BytesType {
			out = v
		}
		return nil
	})
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

func encodeIdentity(id plan.Identity) []byte {
	b := AppendString(nil, 1, id.Name)
	for _, c := range id.Credentials {
		var cb []byte
		cb = AppendString(cb, 1, c.AccessKey)
		cb = AppendString(cb, 2, c.SecretKey)
		cb = AppendString(cb, 3, c.Status)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, cb)
	}
	for _, a := range id.Actions {
		b = AppendString(b, 3, a)
	}
	if id.Disabled {
		b = protowire.AppendTag(b, 5, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	for _, s := range id.ServiceAccounts {
		b = AppendString(b, 6, s)
	}
	for _, p := range id.PolicyNames {
		b = AppendString(b, 7, p)
	}
	return append(b, id.Others...)
}

func decodeIdentity(msg []byte) (plan.Identity, error) {
	var id plan.Identity
	err := eachField(msg, func(num protowire.Number, typ protowire.Type, v []byte, raw []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			id.Name = string(v)
		case num == 2 && typ == protowire.BytesType:
			var c plan.Credential
			err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, _ []byte) error {
				if typ != protowire.BytesType {
					return nil
				}
				switch num {
				case 1:
					c.AccessKey = string(v)
				case 2:
					c.SecretKey = string(v)
				case 3:
					c.Status = string(v)
				}
				return nil
			})
			if err != nil {
				return err
			}
			id.Credentials = append(id.Credentials, c)
		case num == 3 && typ == protowire.BytesType:
			id.Actions = append(id.Actions, string(v))
		case num == 5 && typ == protowire.VarintType:
			n, _ := protowire.ConsumeVarint(v)
			id.Disabled = n != 0
		case num == 6 && typ == protowire.BytesType:
			id.ServiceAccounts = append(id.ServiceAccounts, string(v))
		case num == 7 && typ == protowire.BytesType:
			id.PolicyNames = append(id.PolicyNames, string(v))
		case num == 8:
			// is_static: loaded from a configuration file, never ours to
			// change; not written back.
		default:
			id.Others = append(id.Others, raw...)
		}
		return nil
	})
	return id, err
}

// Group is an iam_pb.Group: the policies of a group apply to its members.
type Group struct {
	Name    string
	Members []string
}

// Configuration is an iam_pb.S3ApiConfiguration: every identity and group.
type Configuration struct {
	Identities []plan.Identity
	Groups     []Group
}

func decodeConfiguration(msg []byte) (Configuration, error) {
	var cfg Configuration
	err := eachField(msg, func(num protowire.Number, typ protowire.Type, v []byte, _ []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			id, err := decodeIdentity(v)
			if err != nil {
				return err
			}
			cfg.Identities = append(cfg.Identities, id)
		case 5:
			var g Group
			err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, _ []byte) error {
				switch {
				case num == 1 && typ == protowire.BytesType:
					g.Name = string(v)
				case num == 2 && typ == protowire.BytesType:
					g.Members = append(g.Members, string(v))
				}
				return nil
			})
			if err != nil {
				return err
			}
			cfg.Groups = append(cfg.Groups, g)
		}
		return nil
	})
	return cfg, err
}
