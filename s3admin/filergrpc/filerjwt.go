package filergrpc

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// FilerJWTLifetime is how long each token FilerJWT mints is valid.
//
// A token is minted for every call, just before it is sent, and SeaweedFS
// checks it once, when the call arrives (exp, with no leeway). So the
// lifetime only has to cover the trip to the filer and how far the filer's
// clock runs ahead of the driver's: a minute tolerates clocks far worse
// synchronised than NTP keeps them. It is kept that short because a token
// is not bound to the call it was minted for: whoever reads one off a
// plaintext connection can replay it for any IAM call until it expires.
const JWTLifetime = time.Minute

// FilerJWT is a gRPC per-RPC credential for a filer whose security.toml sets
// jwt.filer_signing.key: SeaweedFS then refuses every call of its IAM
// service (Unauthenticated) that does not carry the metadata
// "authorization: Bearer <token>", an HS256 token signed with that key
// (weed/server/filer_server_handlers_iam_grpc.go, checkAdminAuth).
//
// The key is read from a file (a mounted Secret) and read again once it has
// been used for the refresh period, so a rotated Secret takes effect
// without a restart while a busy driver reads the file at most once per
// period. Neither the key nor a token is ever logged or put in an error.
//
// It works over plaintext and over (mutual) TLS alike: see
// RequireTransportSecurity.
type JWT struct {
	keyFile string
	refresh time.Duration

	mu     sync.Mutex
	key    []byte
	readAt time.Time
}

// NewFilerJWT returns the credential for the key in keyFile, read again
// after refresh (0: for every call). It reads the file once, so that a
// missing or empty key fails at start (ErrInvalid, naming the file).
func NewJWT(keyFile string, refresh time.Duration) (*JWT, error) {
	j := &JWT{keyFile: keyFile, refresh: refresh}
	if _, err := j.signingKey(time.Now()); err != nil {
		return nil, err
	}
	return j, nil
}

// signingKey returns the key, reading the file when the one held is older
// than the refresh period. A read that fails is reported, not papered over
// with the previous key: a Secret that was removed or emptied must show.
func (j *JWT) signingKey(now time.Time) ([]byte, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.key != nil && now.Sub(j.readAt) < j.refresh {
		return j.key, nil
	}
	b, err := os.ReadFile(j.keyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: read filer JWT signing key file: %w", s3admin.ErrInvalid, err)
	}
	// A trailing newline (a Secret written from a file) is not part of the
	// key, as for the admin credential files.
	key := []byte(strings.TrimSpace(string(b)))
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: filer JWT signing key file %s is empty", s3admin.ErrInvalid, j.keyFile)
	}
	j.key, j.readAt = key, now
	return key, nil
}

// token mints a token valid for FilerJWTLifetime from now. It carries only
// exp, no nbf or iat: a filer whose clock runs behind the driver's could
// otherwise refuse it as not yet valid.
func (j *JWT) token(now time.Time) (string, error) {
	key, err := j.signingKey(now)
	if err != nil {
		return "", err
	}
	claims := jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(now.Add(JWTLifetime))}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		// Only the fact: the error of an HMAC signer names no key.
		return "", fmt.Errorf("%w: sign a filer token: %w", s3admin.ErrInvalid, err)
	}
	return signed, nil
}

// GetRequestMetadata implements credentials.PerRPCCredentials: a fresh
// token for each call. gRPC reports an error here as the call's error with
// code Unauthenticated, classified as ErrAccessDenied.
func (j *JWT) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	t, err := j.token(time.Now())
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + t}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials. False:
// a filer with a signing key but no mutual TLS serves gRPC in plaintext, and
// its IAM service still wants the token. Such a filer is not secured by it
// (its filer service on the same port checks no token, see
// FilerRequiresToken), and over plaintext a token can be read off the
// network and replayed until it expires (see FilerJWTLifetime): mutual TLS
// is what secures the filer, the token a second lock on its IAM service.
func (j *JWT) RequireTransportSecurity() bool { return false }
