package app

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc/filerpb"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/seaweedfs"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// The driver uses the filer's IAM gRPC service over mutual TLS with a
// SeaweedFS whose security.toml requires it, and refuses to start against a
// filer that answers without TLS unless --allow-insecure-filer is set.
func TestFilerMutualTLS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	config := func(sw *stack.Seaweed, args ...string) Config {
		t.Helper()
		env := map[string]string{"POD_NAMESPACE": "cosi", "SEAWEEDFS_S3_ENDPOINT": sw.Endpoint,
			"SEAWEEDFS_ACCESS_KEY_ID": sw.AccessKey, "SEAWEEDFS_SECRET_ACCESS_KEY": sw.SecretKey}
		c, err := ParseFlags(append([]string{"--filer-grpc-address=" + sw.FilerGRPCAddress(), "--backend-timeout=5s"}, args...),
			func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	check := func(cfg Config) (*seaweedfs.SeaweedFS, error) {
		t.Helper()
		admin, err := newAdmin(cfg, nil)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { _ = admin.Close() })
		_, err = checkFiler(ctx, cfg, admin)
		return admin, err
	}

	secured, err := stack.StartSeaweed(ctx, stack.SeaweedOptions{MutualTLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer secured.Stop()
	tlsArgs := []string{"--filer-tls-cert-file=" + secured.FilerTLS.CertFile, "--filer-tls-key-file=" + secured.FilerTLS.KeyFile,
		"--filer-tls-ca-file=" + secured.FilerTLS.CAFile}

	t.Run("a filer requiring mutual TLS is used with the client certificate", func(t *testing.T) {
		admin, err := check(config(secured, tlsArgs...))
		if err != nil {
			t.Fatalf("checkFiler: %v", err)
		}
		own := s3admin.Ownership{Owner: "owner", Marker: "marker"}
		if err := admin.CreateBucket(ctx, "tls-bucket", own, s3admin.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		id, secret, err := s3admin.GenerateCredentials()
		if err != nil {
			t.Fatal(err)
		}
		a := s3admin.Access{User: "cosi-tls", Bucket: "tls-bucket", Mode: s3admin.ModeReadWrite, AccessKeyID: id, SecretAccessKey: secret, BucketOwner: own}
		if _, err := admin.EnsureAccess(ctx, a); err != nil {
			t.Fatalf("EnsureAccess through the secured filer: %v", err)
		}
		c := stack.NewS3Client(secured.Endpoint, secured.Region, id, secret, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tls-bucket"), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
			t.Fatalf("the granted key cannot write its bucket: %v", err)
		}
		users, err := admin.ListOwnedUsers(ctx)
		if err != nil || len(users) != 1 || !users[0].PolicyExact {
			t.Fatalf("ListOwnedUsers = %+v, %v", users, err)
		}
	})
	t.Run("without a client certificate the secured filer cannot be used", func(t *testing.T) {
		if _, err := check(config(secured, "--allow-insecure-filer")); err == nil {
			t.Fatal("a plaintext client used a filer requiring mutual TLS")
		}
	})

	open, err := stack.StartSeaweed(ctx, stack.SeaweedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer open.Stop()
	t.Run("a filer answering without TLS is refused", func(t *testing.T) {
		// Even a client holding certificates must not use it.
		cfg := config(open, tlsArgs...)
		_, err := check(cfg)
		if err == nil || !strings.Contains(err.Error(), "--allow-insecure-filer") {
			t.Fatalf("checkFiler = %v, want a refusal naming --allow-insecure-filer", err)
		}
	})
	t.Run("a filer answering without TLS is used when allowed", func(t *testing.T) {
		if _, err := check(config(open, "--allow-insecure-filer")); err != nil {
			t.Fatalf("checkFiler with --allow-insecure-filer: %v", err)
		}
	})
}

// A filer secured by a token signing key alone (security.toml
// [jwt.filer_signing], no mutual TLS) is open: the token guards its IAM
// service, but the filer's own gRPC service on the same port takes an
// unsigned plaintext write of an identity file, which gives whoever reaches
// the port an Admin identity. The driver refuses such a filer unless
// --allow-insecure-filer says the risk is accepted, uses it with the key
// when it is, says which flag is missing when started without the key, and
// still refuses a filer that answers without TLS or token.
func TestFilerJWTAtStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	key := "filer-signing-key-" + s3check.RandomSuffix()
	secured, err := stack.StartSeaweed(ctx, stack.SeaweedOptions{FilerJWTKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer secured.Stop()
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keyFlag := "--filer-jwt-signing-key-file=" + keyFile
	// checkConfig is the start-up check of the filer; check parses the
	// flags first, as the driver does.
	checkConfig := func(cfg Config) error {
		t.Helper()
		admin, err := newAdmin(cfg, nil)
		if err != nil {
			return err
		}
		defer admin.Close()
		_, err = checkFiler(ctx, cfg, admin)
		return err
	}
	check := func(sw *stack.Seaweed, args ...string) error {
		t.Helper()
		env := map[string]string{"POD_NAMESPACE": "cosi", "SEAWEEDFS_S3_ENDPOINT": sw.Endpoint,
			"SEAWEEDFS_ACCESS_KEY_ID": sw.AccessKey, "SEAWEEDFS_SECRET_ACCESS_KEY": sw.SecretKey}
		cfg, err := ParseFlags(append([]string{"--filer-grpc-address=" + sw.FilerGRPCAddress(), "--backend-timeout=5s"}, args...),
			func(k string) string { return env[k] })
		if err != nil {
			return err
		}
		return checkConfig(cfg)
	}

	t.Run("the token-only filer's own gRPC service takes an unsigned plaintext write of an Admin identity", func(t *testing.T) {
		// What a token does not protect, and why the driver calls such a
		// filer open: no certificate, no token, one CreateEntry.
		f, err := filergrpc.Dial(secured.FilerGRPCAddress(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		name := "intruder-" + s3check.RandomSuffix()
		ak, sk, err := s3admin.GenerateCredentials()
		if err != nil {
			t.Fatal(err)
		}
		doc, err := json.Marshal(map[string]any{"name": name, "actions": []string{"Admin"},
			"credentials": []map[string]string{{"access_key": ak, "secret_key": sk}}})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().Unix()
		_, err = f.FilerService().CreateEntry(ctx, &filerpb.CreateEntryRequest{Directory: "/etc/iam/identities", Entry: &filerpb.Entry{
			Name: name + ".json", Content: doc,
			Attributes: &filerpb.FuseAttributes{Mtime: now, Crtime: now, FileMode: 0o644, FileSize: uint64(len(doc))}}})
		if err != nil {
			t.Fatalf("unsigned plaintext CreateEntry: %v (should SeaweedFS guard its filer service with the token, this test and the driver's refusal can be revisited)", err)
		}
		// SeaweedFS serves the minted key as an administrator: its IAM API
		// lists the users, which it answers to Admin identities only.
		c := iam.New(iam.Options{Region: secured.Region, BaseEndpoint: aws.String(secured.Endpoint), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")})
		stack.Eventually(t, 20*time.Second, func() error {
			_, err := c.ListUsers(ctx, &iam.ListUsersInput{})
			return err
		})
	})
	t.Run("a filer secured by a token alone is refused without --allow-insecure-filer", func(t *testing.T) {
		err := check(secured, keyFlag)
		if err == nil || !strings.Contains(err.Error(), "--allow-insecure-filer") || strings.Contains(err.Error(), key) {
			t.Fatalf("start-up = %v, want a refusal naming --allow-insecure-filer", err)
		}
		// The flags refuse a plaintext client; the probe refuses the filer
		// itself, whatever the configuration let through.
		err = checkConfig(Config{FilerGRPCAddress: secured.FilerGRPCAddress(), FilerJWTKeyFile: keyFile, BackendTimeout: 5 * time.Second,
			S3Endpoint: secured.Endpoint, AccessKey: secured.AccessKey, SecretKey: secured.SecretKey})
		if err == nil || !strings.Contains(err.Error(), "filer gRPC service on the same port takes writes in plaintext") || strings.Contains(err.Error(), key) {
			t.Fatalf("checkFiler = %v, want a refusal saying the filer service is open", err)
		}
	})
	t.Run("a filer secured by a token alone is used with its signing key and --allow-insecure-filer", func(t *testing.T) {
		if err := check(secured, keyFlag, "--allow-insecure-filer"); err != nil {
			t.Fatalf("checkFiler: %v", err)
		}
	})
	t.Run("without the key the error names the flag", func(t *testing.T) {
		err := check(secured, "--allow-insecure-filer")
		if err == nil || !strings.Contains(err.Error(), "--filer-jwt-signing-key-file") || strings.Contains(err.Error(), key) {
			t.Fatalf("checkFiler = %v, want a refusal naming --filer-jwt-signing-key-file", err)
		}
	})
	t.Run("a wrong key is refused", func(t *testing.T) {
		wrong := filepath.Join(t.TempDir(), "wrong")
		if err := os.WriteFile(wrong, []byte("not-"+key), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := check(secured, "--filer-jwt-signing-key-file="+wrong, "--allow-insecure-filer"); !errors.Is(err, s3admin.ErrAccessDenied) {
			t.Fatalf("checkFiler = %v, want ErrAccessDenied", err)
		}
	})

	open, err := stack.StartSeaweed(ctx, stack.SeaweedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer open.Stop()
	t.Run("a filer answering without TLS or token is refused even to a client holding a key", func(t *testing.T) {
		err := check(open, keyFlag)
		if err == nil || !strings.Contains(err.Error(), "--allow-insecure-filer") {
			t.Fatalf("checkFiler = %v, want a refusal naming --allow-insecure-filer", err)
		}
	})
}
