package app

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// `cosi-seaweedfs check` needs no namespace (it never talks to Kubernetes);
// the driver itself still does.
func TestCheckNeedsNoNamespace(t *testing.T) {
	env := map[string]string{"SEAWEEDFS_S3_ENDPOINT": "http://127.0.0.1:1", "SEAWEEDFS_ACCESS_KEY_ID": "a", "SEAWEEDFS_SECRET_ACCESS_KEY": "b"}
	getenv := func(k string) string { return env[k] }
	cfg, err := ParseFlags([]string{"check", "--backend-timeout=1s"}, getenv)
	if err != nil {
		t.Fatalf("check without a namespace: %v", err)
	}
	if cfg.Command != CheckCommand {
		t.Fatalf("Command = %q, want %q", cfg.Command, CheckCommand)
	}
	if _, err := ParseFlags(nil, getenv); err == nil || !strings.Contains(err.Error(), "--namespace") {
		t.Fatalf("the driver without a namespace: %v, want an error naming --namespace", err)
	}
	if _, err := ParseFlags([]string{"--backend-timeout=1s", "check"}, getenv); err == nil {
		t.Fatal("check after a flag was taken as the command")
	}
}

// The check passes with the admin identity on both user paths, prints what
// it found, and names what fails with a wrong secret.
func TestCheckAgainstSeaweedFS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sw, err := stack.StartSeaweed(ctx, stack.SeaweedOptions{MutualTLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Stop()
	run := func(t *testing.T, secret string, args ...string) (string, error) {
		t.Helper()
		env := map[string]string{"SEAWEEDFS_S3_ENDPOINT": sw.Endpoint, "SEAWEEDFS_ACCESS_KEY_ID": sw.AccessKey, "SEAWEEDFS_SECRET_ACCESS_KEY": secret}
		cfg, err := ParseFlags(append([]string{"check", "--backend-timeout=5s"}, args...), func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = Check(ctx, cfg, &out)
		return out.String(), err
	}
	filer := []string{"--filer-grpc-address=" + sw.FilerGRPCAddress(), "--filer-tls-cert-file=" + sw.FilerTLS.CertFile,
		"--filer-tls-key-file=" + sw.FilerTLS.KeyFile, "--filer-tls-ca-file=" + sw.FilerTLS.CAFile}

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"IAM query API", nil, []string{"ok   anonymous access: refused", "ok   S3 with the admin identity", "ok   filer security: not used", "ok   users with the admin identity: answered by the IAM query API", "ok   user writes with the admin identity: accepted by the IAM query API"}},
		{"filer IAM gRPC", filer, []string{"ok   filer security: secured by TLS at ", "ok   users with the admin identity: answered by the filer IAM gRPC service", "ok   user writes with the admin identity: through the filer's IAM gRPC service"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, sw.SecretKey, tc.args...)
			if err != nil {
				t.Fatalf("check: %v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	t.Run("a wrong admin secret fails and is named", func(t *testing.T) {
		out, err := run(t, "not-the-secret")
		if err == nil {
			t.Fatalf("check passed with a wrong secret:\n%s", out)
		}
		if !strings.Contains(out, "FAIL S3 with the admin identity") {
			t.Errorf("output does not name the failing check:\n%s", out)
		}
		if strings.Contains(out, "not-the-secret") || strings.Contains(out, sw.SecretKey) {
			t.Errorf("output shows a secret:\n%s", out)
		}
	})
	t.Run("IAM writes disabled fail and name the setting", func(t *testing.T) {
		ro, err := stack.StartSeaweed(ctx, stack.SeaweedOptions{IAMReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Stop()
		env := map[string]string{"SEAWEEDFS_S3_ENDPOINT": ro.Endpoint, "SEAWEEDFS_ACCESS_KEY_ID": ro.AccessKey, "SEAWEEDFS_SECRET_ACCESS_KEY": ro.SecretKey}
		cfg, err := ParseFlags([]string{"check", "--backend-timeout=5s"}, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := Check(ctx, cfg, &out); err == nil {
			t.Fatalf("check passed on a SeaweedFS serving IAM read-only:\n%s", out.String())
		}
		for _, w := range []string{"ok   users with the admin identity", "FAIL user writes with the admin identity", "-iam.readOnly=false", "-s3.iam.readOnly=false"} {
			if !strings.Contains(out.String(), w) {
				t.Errorf("output lacks %q:\n%s", w, out.String())
			}
		}
		t.Logf("check:\n%s", out.String())
	})
}
