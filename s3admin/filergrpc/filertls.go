package filergrpc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// FilerTLSConfig is the client side of SeaweedFS's mutual TLS on gRPC
// (security.toml: [grpc] ca, [grpc.filer] cert and key on the filer): the
// client's certificate and key, and the CA that signed the filer's
// certificate (SeaweedFS signs every component's and client's certificate
// with that one CA). serverName, when set, is the name the filer's
// certificate must carry instead of the host of the address.
//
// The certificate is read again for every new connection, so a rotated
// certificate (a mounted Secret) is presented from the next one on.
func TLSConfig(certFile, keyFile, caFile, serverName string) (*tls.Config, error) {
	load := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: filer client certificate %s and key %s: %w", s3admin.ErrInvalid, certFile, keyFile, err)
		}
		return &cert, nil
	}
	if _, err := load(nil); err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%w: filer CA: %w", s3admin.ErrInvalid, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%w: filer CA %s holds no PEM certificate", s3admin.ErrInvalid, caFile)
	}
	return &tls.Config{
		GetClientCertificate: load,
		RootCAs:              pool,
		ServerName:           serverName,
		MinVersion:           tls.VersionTLS12,
	}, nil
}

// FilerSecurity is how a filer guards its IAM gRPC service against a
// client that presents neither a certificate nor a token.
type Security int

const (
	// FilerSecurityUnknown: the probe could not tell (it failed).
	SecurityUnknown Security = iota
	// FilerOpen: the service answers in plaintext without any token, so
	// anyone who reaches the port can read and change every identity.
	Open
	// FilerRequiresTLS: the filer refuses a plaintext connection (mutual
	// TLS in security.toml [grpc.filer]).
	RequiresTLS
	// FilerRequiresToken: the IAM service answers in plaintext but refuses
	// a call without a token signed with jwt.filer_signing.key. That is no
	// security for the filer: its filer service (filer_pb.SeaweedFiler) on
	// the same port checks no token, and writes the identity files under
	// /etc/iam for anyone who reaches the port. Only mutual TLS guards both.
	RequiresToken
)

func (s Security) String() string {
	switch s {
	case Open:
		return "open"
	case RequiresTLS:
		return "secured by TLS"
	case RequiresToken:
		return "open, with a token on its IAM service only"
	}
	return "unknown"
}

// ProbeFilerSecurity makes one read of the filer's IAM service at addr over
// a plaintext connection, without client certificate or token, and tells
// from the answer how the filer is secured: whatever this client's own
// settings, a filer that serves such a call serves everyone.
func ProbeSecurity(ctx context.Context, addr string, timeout time.Duration) (Security, error) {
	f, err := Dial(addr, nil)
	if err != nil {
		return SecurityUnknown, err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err = f.GetPolicy(ctx, names.AccessPolicy("cosi-probe"))
	switch {
	case err == nil, errors.Is(err, s3admin.ErrNotFound), errors.Is(err, s3admin.ErrInvalid):
		// An answer of the IAM service itself: the connection carried it.
		return Open, nil
	case status.Code(err) == codes.Unauthenticated:
		// SeaweedFS's checkAdminAuth: no token, no answer.
		return RequiresToken, nil
	case status.Code(err) == codes.Unavailable:
		// A filer requiring TLS fails the handshake. (So does one that is
		// down; the client's own first call then fails too.)
		return RequiresTLS, nil
	}
	// Timed out, or refused otherwise (PermissionDenied is no answer
	// SeaweedFS gives here): cannot tell, and a filer that might be open
	// is not taken for a secured one.
	return SecurityUnknown, err
}
