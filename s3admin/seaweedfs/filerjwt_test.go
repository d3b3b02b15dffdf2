package seaweedfs

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

func writeKeyFile(t *testing.T, path, key string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tokenOf returns the claims of the bearer token in md if it is an HS256
// token signed with key and valid now, as SeaweedFS's DecodeJwt checks it.
func tokenOf(md map[string]string, key string) (*jwt.RegisteredClaims, error) {
	bearer, ok := strings.CutPrefix(md["authorization"], "Bearer ")
	if !ok {
		return nil, fmt.Errorf("no bearer token in %d metadata entries", len(md))
	}
	claims := &jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(bearer, claims, func(*jwt.Token) (any, error) { return []byte(key), nil },
		jwt.WithValidMethods([]string{"HS256"}))
	return claims, err
}

func TestFilerJWTTokens(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	writeKeyFile(t, keyFile, "first-signing-key\n")

	t.Run("each call carries a fresh HS256 token signed with the key, valid for FilerJWTLifetime, with no nbf or iat", func(t *testing.T) {
		j, err := filergrpc.NewJWT(keyFile, time.Hour)
		admintest.MustNil(t, "NewFilerJWT", err)
		before := time.Now().Truncate(time.Second)
		md, err := j.GetRequestMetadata(ctx)
		admintest.MustNil(t, "GetRequestMetadata", err)
		claims, err := tokenOf(md, "first-signing-key")
		admintest.MustNil(t, "the token under the key without its trailing newline", err)
		if claims.ExpiresAt == nil || claims.ExpiresAt.Before(before.Add(filergrpc.JWTLifetime)) ||
			claims.ExpiresAt.After(time.Now().Add(filergrpc.JWTLifetime)) || claims.NotBefore != nil || claims.IssuedAt != nil {
			t.Errorf("exp %v nbf %v iat %v, want exp about now + %s and no nbf or iat", claims.ExpiresAt, claims.NotBefore, claims.IssuedAt, filergrpc.JWTLifetime)
		}
		if _, err := tokenOf(md, "another-key"); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
			t.Errorf("the token verifies under another key: %v", err)
		}
		if j.RequireTransportSecurity() {
			t.Error("the token requires TLS: a filer secured by its key alone serves plaintext")
		}
	})
	t.Run("a rotated key is used once the refresh period is over, the key read last until then", func(t *testing.T) {
		rotating := filepath.Join(dir, "rotating")
		writeKeyFile(t, rotating, "key-one")
		always, err := filergrpc.NewJWT(rotating, 0)
		admintest.MustNil(t, "NewFilerJWT", err)
		bounded, err := filergrpc.NewJWT(rotating, time.Hour)
		admintest.MustNil(t, "NewFilerJWT", err)
		writeKeyFile(t, rotating, "key-two")
		md, err := always.GetRequestMetadata(ctx)
		admintest.MustNil(t, "GetRequestMetadata after rotation", err)
		if _, err := tokenOf(md, "key-two"); err != nil {
			t.Errorf("the rotated key was not used: %v", err)
		}
		md, err = bounded.GetRequestMetadata(ctx)
		admintest.MustNil(t, "GetRequestMetadata within the refresh period", err)
		if _, err := tokenOf(md, "key-one"); err != nil {
			t.Errorf("the file was read again within the refresh period: %v", err)
		}
	})
	t.Run("a missing or emptied key file fails, naming the file and never the key", func(t *testing.T) {
		if _, err := filergrpc.NewJWT(filepath.Join(dir, "missing"), 0); !errors.Is(err, s3admin.ErrInvalid) || !strings.Contains(err.Error(), "missing") {
			t.Errorf("NewFilerJWT(missing file) = %v, want ErrInvalid naming the file", err)
		}
		emptied := filepath.Join(dir, "emptied")
		writeKeyFile(t, emptied, "secret-before-emptying")
		j, err := filergrpc.NewJWT(emptied, 0)
		admintest.MustNil(t, "NewFilerJWT", err)
		writeKeyFile(t, emptied, " \n")
		_, err = j.GetRequestMetadata(ctx)
		if !errors.Is(err, s3admin.ErrInvalid) || !strings.Contains(err.Error(), emptied) || strings.Contains(err.Error(), "secret-before-emptying") {
			t.Errorf("emptied key file: %v, want ErrInvalid naming the file and not the old key", err)
		}
	})
}

// startSeaweedWith starts a SeaweedFS of the test's own, stopped at its end
// (its log shown if the test failed).
func startSeaweedWith(t *testing.T, opts stack.SeaweedOptions) *stack.Seaweed {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sw, err := stack.StartSeaweed(ctx, opts)
	if err != nil {
		t.Fatalf("StartSeaweed: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			var b bytes.Buffer
			sw.DumpLogs(&b)
			t.Log(b.String())
		}
		sw.Stop()
	})
	return sw
}

// filerAdminOf is a client of sw managing users through its filer, with
// the token signed with the key in keyFile (none if empty) and tlsCfg (nil:
// plaintext).
func filerAdminOf(t *testing.T, sw *stack.Seaweed, prefix, keyFile string, tlsCfg *tls.Config) *SeaweedFS {
	t.Helper()
	cfg := Config{Endpoint: sw.Endpoint, Region: sw.Region, AccessKeyID: sw.AccessKey, SecretAccessKey: sw.SecretKey,
		UserPrefix: prefix, CallTimeout: 30 * time.Second, FilerGRPCAddress: sw.FilerGRPCAddress(), FilerTLS: tlsCfg}
	if keyFile != "" {
		var err error
		cfg.FilerJWT, err = filergrpc.NewJWT(keyFile, 0)
		admintest.MustNil(t, "NewFilerJWT", err)
	}
	a, err := NewSeaweedFS(cfg)
	admintest.MustNil(t, "NewSeaweedFS", err)
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// requireRefusedAndUnchanged checks that client's grant of a was refused as
// ErrAccessDenied and that, as seen by observer, neither its user nor its
// policy exists.
func requireRefusedAndUnchanged(t *testing.T, client, observer *SeaweedFS, a s3admin.Access) {
	t.Helper()
	ctx := admintest.Context(t)
	if err := client.CheckFiler(ctx); !errors.Is(err, s3admin.ErrAccessDenied) {
		t.Errorf("CheckFiler = %v, want ErrAccessDenied", err)
	}
	if _, err := client.EnsureAccess(ctx, a); !errors.Is(err, s3admin.ErrAccessDenied) {
		t.Fatalf("EnsureAccess = %v, want ErrAccessDenied", err)
	}
	u, err := observer.ObserveUser(ctx, a.User)
	admintest.MustNil(t, "ObserveUser", err)
	if u.Exists {
		t.Errorf("the refused client created user %s", a.User)
	}
	if _, err := observer.filer.GetPolicy(ctx, names.AccessPolicy(a.User)); !errors.Is(err, s3admin.ErrNotFound) {
		t.Errorf("the refused client's policy: %v, want ErrNotFound", err)
	}
}

// With a filer whose security.toml sets jwt.filer_signing.key, the IAM
// service answers only calls carrying a token signed with that key: the
// start-up probe tells such a filer from an open one, a client without the
// key or with a wrong one is refused and changes nothing, and with the key
// grants and deletes work end to end (the S3 gateway of the same process
// still serves the granted key, its own filer writes signed).
func TestFilerJWT(t *testing.T) {
	key := "filer-signing-" + s3check.RandomSuffix() + s3check.RandomSuffix()
	sw := startSeaweedWith(t, stack.SeaweedOptions{FilerJWTKey: key})
	dir := t.TempDir()
	keyFile, wrongFile := filepath.Join(dir, "key"), filepath.Join(dir, "wrong")
	writeKeyFile(t, keyFile, key+"\n")
	writeKeyFile(t, wrongFile, key+"-wrong")
	ctx := admintest.Context(t)
	id := fmt.Sprintf("jwt%04x", time.Now().UnixNano()&0xffff)
	prefix := "cosi-" + id + "-"
	keyed := filerAdminOf(t, sw, prefix, keyFile, nil)
	own := s3admin.Ownership{Owner: "owner-" + id, Marker: "marker-" + id}
	bucket := id + "-b"
	admintest.MustNil(t, "CreateBucket through the S3 gateway of the token-secured filer", keyed.CreateBucket(ctx, bucket, own, s3admin.CreateOptions{}))
	access := func(user string) s3admin.Access {
		ak, secret, err := s3admin.GenerateCredentials()
		admintest.MustNil(t, "GenerateCredentials", err)
		return s3admin.Access{User: prefix + user, Bucket: bucket, Mode: s3admin.ModeReadWrite, AccessKeyID: ak, SecretAccessKey: secret, BucketOwner: own}
	}

	t.Run("the start-up probe says the filer wants a token on its IAM service only, and an unsecured one is open", func(t *testing.T) {
		sec, err := filergrpc.ProbeSecurity(ctx, sw.FilerGRPCAddress(), 10*time.Second)
		if err != nil || sec != filergrpc.RequiresToken || sec.String() != "open, with a token on its IAM service only" {
			t.Errorf("token-secured filer: %v, %v; want a token on its IAM service only", sec, err)
		}
		sec, err = filergrpc.ProbeSecurity(ctx, seaweed.FilerGRPCAddress(), 10*time.Second)
		if err != nil || sec != filergrpc.Open || sec.String() != "open" {
			t.Errorf("unsecured filer: %v, %v; want open", sec, err)
		}
	})
	t.Run("a client without the key is refused and changes nothing", func(t *testing.T) {
		requireRefusedAndUnchanged(t, filerAdminOf(t, sw, prefix, "", nil), keyed, access("nokey"))
	})
	t.Run("a client with a wrong key is refused and changes nothing", func(t *testing.T) {
		requireRefusedAndUnchanged(t, filerAdminOf(t, sw, prefix, wrongFile, nil), keyed, access("wrongkey"))
	})
	t.Run("with the key, a grant works over S3 and its delete takes it away", func(t *testing.T) {
		admintest.MustNil(t, "CheckFiler", keyed.CheckFiler(ctx))
		a := access("granted")
		changed, err := keyed.EnsureAccess(ctx, a)
		admintest.MustNil(t, "EnsureAccess", err)
		if !changed {
			t.Fatal("the first EnsureAccess reported no change")
		}
		users, err := keyed.ListOwnedUsers(ctx)
		if err != nil || len(users) != 1 || users[0].Name != a.User || !users[0].PolicyExact {
			t.Fatalf("ListOwnedUsers = %+v, %v", users, err)
		}
		c := stack.NewS3Client(sw.Endpoint, sw.Region, a.AccessKeyID, a.SecretAccessKey, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
		stack.Eventually(t, 10*time.Second, func() error { return s3check.Put(ctx, c, bucket, "k", "v") })
		got, err := s3check.Get(ctx, c, bucket, "k")
		if err != nil || got != "v" {
			t.Fatalf("GetObject with the granted key = %q, %v", got, err)
		}

		// What the token does not cover, so that the README can say it:
		// the filer's own gRPC service, which stores every identity
		// (secrets included) under /etc/iam, answers without a token.
		// Should SeaweedFS start guarding it, this fails.
		open := filerAdminOf(t, sw, prefix, "", nil)
		if _, ok, err := open.filer.ReadFile(ctx, "/etc/iam/identities", a.User+".json"); err != nil || !ok {
			t.Errorf("reading the identity's file without a token: found %t, %v", ok, err)
		}

		admintest.MustNil(t, "DeleteUser", keyed.DeleteUser(ctx, a.User, ""))
		u, err := keyed.ObserveUser(ctx, a.User)
		if err != nil || u.Exists {
			t.Fatalf("after DeleteUser: exists %t, %v", u.Exists, err)
		}
		stack.Eventually(t, 10*time.Second, func() error {
			if err := s3check.Put(ctx, c, bucket, "late", "v"); s3check.HTTPStatus(err) != http.StatusForbidden {
				return fmt.Errorf("PutObject with the deleted user's key: %v, want HTTP 403", err)
			}
			return nil
		})
	})
}

// Mutual TLS and the token together: the probe sees a filer that requires
// TLS; a client with the certificate but no token is refused, one with both
// is served.
func TestFilerJWTWithMutualTLS(t *testing.T) {
	key := "filer-signing-" + s3check.RandomSuffix()
	sw := startSeaweedWith(t, stack.SeaweedOptions{MutualTLS: true, FilerJWTKey: key})
	keyFile := filepath.Join(t.TempDir(), "key")
	writeKeyFile(t, keyFile, key)
	ctx := admintest.Context(t)
	tlsCfg := func() *tls.Config {
		c, err := filergrpc.TLSConfig(sw.FilerTLS.CertFile, sw.FilerTLS.KeyFile, sw.FilerTLS.CAFile, "")
		admintest.MustNil(t, "FilerTLSConfig", err)
		return c
	}
	if sec, err := filergrpc.ProbeSecurity(ctx, sw.FilerGRPCAddress(), 10*time.Second); err != nil || sec != filergrpc.RequiresTLS {
		t.Errorf("probe: %v, %v; want secured by TLS", sec, err)
	}
	id := fmt.Sprintf("jwtls%04x", time.Now().UnixNano()&0xffff)
	prefix := "cosi-" + id + "-"
	both := filerAdminOf(t, sw, prefix, keyFile, tlsCfg())
	own := s3admin.Ownership{Owner: "owner-" + id, Marker: "marker-" + id}
	bucket := id + "-b"
	admintest.MustNil(t, "CreateBucket", both.CreateBucket(ctx, bucket, own, s3admin.CreateOptions{}))
	ak, secret, err := s3admin.GenerateCredentials()
	admintest.MustNil(t, "GenerateCredentials", err)
	a := s3admin.Access{User: prefix + "u", Bucket: bucket, Mode: s3admin.ModeReadOnly, AccessKeyID: ak, SecretAccessKey: secret, BucketOwner: own}

	requireRefusedAndUnchanged(t, filerAdminOf(t, sw, prefix, "", tlsCfg()), both, a)
	if _, err := both.EnsureAccess(ctx, a); err != nil {
		t.Fatalf("EnsureAccess with certificate and token: %v", err)
	}
	admintest.MustNil(t, "DeleteUser", both.DeleteUser(ctx, a.User, ""))
}
