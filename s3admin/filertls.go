package s3admin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"
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
func FilerTLSConfig(certFile, keyFile, caFile, serverName string) (*tls.Config, error) {
	load := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: filer client certificate %s and key %s: %w", ErrInvalid, certFile, keyFile, err)
		}
		return &cert, nil
	}
	if _, err := load(nil); err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%w: filer CA: %w", ErrInvalid, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%w: filer CA %s holds no PEM certificate", ErrInvalid, caFile)
	}
	return &tls.Config{
		GetClientCertificate: load,
		RootCAs:              pool,
		ServerName:           serverName,
		MinVersion:           tls.VersionTLS12,
	}, nil
}

// CheckFiler makes one read through the filer's IAM service with this
// client's connection: nil when the filer answers it (a policy that does not
// exist is an answer).
func (c *SeaweedFS) CheckFiler(ctx context.Context) error {
	if c.filer == nil {
		return nil
	}
	_, err := read(ctx, c, "IAMGetPolicy", func(ctx context.Context) (string, error) {
		return c.filer.GetPolicy(ctx, accessPolicyName("cosi-probe"))
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// FilerAcceptsPlaintext reports whether the filer at addr answers its IAM
// service over a plaintext connection, without any client certificate: then
// anyone who reaches its gRPC port can read and change every identity. A
// filer that requires TLS fails the handshake, which reads as unavailable.
func FilerAcceptsPlaintext(ctx context.Context, addr string, timeout time.Duration) (bool, error) {
	f, err := dialFiler(addr, nil)
	if err != nil {
		return false, err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err = f.GetPolicy(ctx, accessPolicyName("cosi-probe"))
	var e *Error
	switch {
	case err == nil, errors.Is(err, ErrNotFound), errors.Is(err, ErrAccessDenied), errors.Is(err, ErrInvalid):
		// An answer of the IAM service itself: the connection carried it.
		// (Refused for want of a token is still an answer in plaintext.)
		return true, nil
	case errors.As(err, &e) && e.Code == "Unavailable":
		return false, nil
	case errors.Is(err, ErrTransient):
		// Timed out or failed otherwise: cannot tell.
		return false, err
	}
	return false, err
}
