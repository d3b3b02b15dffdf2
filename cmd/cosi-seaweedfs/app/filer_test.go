package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
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
	check := func(cfg Config) (*s3admin.SeaweedFS, error) {
		t.Helper()
		admin, err := newAdmin(cfg, nil)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { _ = admin.Close() })
		return admin, checkFiler(ctx, cfg, admin)
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
		if err := admin.CreateBucket(ctx, "tls-bucket", own); err != nil {
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
