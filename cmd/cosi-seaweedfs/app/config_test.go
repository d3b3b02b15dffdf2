package app

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(keyFile, []byte("ADMINKEY\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte("admin-secret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	base := map[string]string{"POD_NAMESPACE": "cosi", "SEAWEEDFS_S3_ENDPOINT": "http://127.0.0.1:8333",
		"SEAWEEDFS_ACCESS_KEY_ID": "ADMINKEY", "SEAWEEDFS_SECRET_ACCESS_KEY": "admin-secret-value"}

	t.Run("a complete environment is enough, with documented defaults", func(t *testing.T) {
		c, err := ParseFlags(nil, env(base))
		if err != nil {
			t.Fatal(err)
		}
		if c.Endpoint != "unix:///var/lib/cosi/cosi.sock" || c.PublicURL != c.S3Endpoint || c.PublicRegn != "us-east-1" ||
			c.OwnerID != "" || c.UserPrefix != "cosi-" || c.WaitTimeout != 20*time.Second || !c.LeaderElect ||
			c.KeyAcceptWait != time.Second || c.KeyPollInterval != 200*time.Millisecond || c.KubeQPS != 200 || c.KubeBurst != 400 {
			t.Errorf("unexpected defaults: endpoint %q public %q/%q owner %q prefix %q wait %s leader %t",
				c.Endpoint, c.PublicURL, c.PublicRegn, c.OwnerID, c.UserPrefix, c.WaitTimeout, c.LeaderElect)
		}
	})
	t.Run("credentials are read from files and trimmed", func(t *testing.T) {
		m := map[string]string{"POD_NAMESPACE": "cosi", "SEAWEEDFS_S3_ENDPOINT": "http://127.0.0.1:8333"}
		c, err := ParseFlags([]string{"--admin-access-key-file=" + keyFile, "--admin-secret-key-file=" + secretFile}, env(m))
		if err != nil {
			t.Fatal(err)
		}
		if c.AccessKey != "ADMINKEY" || c.SecretKey != "admin-secret-value" {
			t.Error("credentials from files were not read as written")
		}
	})
	bad := []struct {
		name  string
		args  []string
		env   map[string]string
		words []string
	}{
		{name: "a missing namespace is named", env: map[string]string{"SEAWEEDFS_S3_ENDPOINT": "http://x", "SEAWEEDFS_ACCESS_KEY_ID": "k", "SEAWEEDFS_SECRET_ACCESS_KEY": "s"}, words: []string{"--namespace"}},
		{name: "missing credentials are named", env: map[string]string{"POD_NAMESPACE": "cosi", "SEAWEEDFS_S3_ENDPOINT": "http://x"}, words: []string{"access key", "secret key"}},
		{name: "an endpoint without a scheme is refused", args: []string{"--s3-endpoint=seaweedfs:8333"}, env: base, words: []string{"http://"}},
		{name: "a non-positive timeout is refused", args: []string{"--wait-timeout=0s"}, env: base, words: []string{"--wait-timeout"}},
		{name: "a non-positive key poll interval is refused", args: []string{"--key-poll-interval=0s"}, env: base, words: []string{"--key-poll-interval"}},
		{name: "a non-positive Kubernetes API limit is refused", args: []string{"--kube-api-qps=0"}, env: base, words: []string{"--kube-api-qps"}},
		{name: "an empty user prefix is refused", args: []string{"--user-prefix="}, env: base, words: []string{"--user-prefix"}},
		{name: "a user prefix that cannot name a SeaweedFS user is refused", args: []string{"--user-prefix=cosi/"}, env: base, words: []string{"--user-prefix", "cosi/"}},
		{name: "a user prefix too long for a 64-character user name is refused", args: []string{"--user-prefix=" + strings.Repeat("p", 33)}, env: base, words: []string{"--user-prefix", "32"}},
		{name: "an owner id that is no S3 tag value is refused", args: []string{"--owner-id=a b"}, env: base, words: []string{"--owner-id"}},
		{name: "an unknown flag is refused", args: []string{"--frobnicate"}, env: base, words: []string{"frobnicate"}},
		{name: "an unreadable credentials file is refused", args: []string{"--admin-access-key-file=/nonexistent"}, env: base, words: []string{"access key file"}},
		{name: "a filer without mutual TLS is refused unless insecure use is allowed", args: []string{"--filer-grpc-address=127.0.0.1:18888"}, env: base, words: []string{"--filer-grpc-address", "--allow-insecure-filer", "--filer-tls-cert-file"}},
		{name: "filer TLS files go together", args: []string{"--filer-grpc-address=127.0.0.1:18888", "--filer-tls-cert-file=c.pem"}, env: base, words: []string{"--filer-tls-key-file", "--filer-tls-ca-file"}},
		{name: "filer settings need a filer address", args: []string{"--allow-insecure-filer"}, env: base, words: []string{"--filer-grpc-address"}},
	}
	t.Run("a filer is used with mutual TLS, or in plaintext when allowed", func(t *testing.T) {
		for _, args := range [][]string{
			{"--filer-grpc-address=127.0.0.1:18888", "--filer-tls-cert-file=c.pem", "--filer-tls-key-file=k.pem", "--filer-tls-ca-file=ca.pem"},
			{"--filer-grpc-address=127.0.0.1:18888", "--allow-insecure-filer"},
		} {
			if _, err := ParseFlags(args, env(base)); err != nil {
				t.Errorf("%v: %v", args, err)
			}
		}
	})
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFlags(tt.args, env(tt.env))
			if err == nil {
				t.Fatal("accepted a bad configuration")
			}
			for _, w := range tt.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "admin-secret-value") {
				t.Error("the error shows the secret")
			}
		})
	}
}

// How the filer's IAM gRPC service may be secured: mutual TLS, with or
// without a token signing key; a token signing key alone or neither only
// when explicitly allowed (a filer reached in plaintext takes writes to its
// filer service from anyone, token or not); and the filer flags need the
// filer's address.
func TestParseFlagsFilerSecurity(t *testing.T) {
	env := map[string]string{"POD_NAMESPACE": "cosi", "SEAWEEDFS_S3_ENDPOINT": "http://127.0.0.1:8333",
		"SEAWEEDFS_ACCESS_KEY_ID": "ADMINKEY", "SEAWEEDFS_SECRET_ACCESS_KEY": "admin-secret-value"}
	const addr = "--filer-grpc-address=127.0.0.1:18888"
	const jwt = "--filer-jwt-signing-key-file=/etc/cosi-seaweedfs/filer-jwt/key"
	tls := []string{"--filer-tls-cert-file=c.pem", "--filer-tls-key-file=k.pem", "--filer-tls-ca-file=ca.pem"}
	for _, tt := range []struct {
		name  string
		args  []string
		env   map[string]string
		words []string // empty: accepted
	}{
		{name: "mutual TLS", args: append([]string{addr}, tls...)},
		{name: "a token signing key alone is refused: it leaves the filer service open", args: []string{addr, jwt},
			words: []string{"--filer-tls-cert-file", "--allow-insecure-filer", "guards only the filer's IAM service"}},
		{name: "a token signing key alone, explicitly allowed", args: []string{addr, jwt, "--allow-insecure-filer"}},
		{name: "the token signing key from the environment, explicitly allowed", args: []string{addr, "--allow-insecure-filer"},
			env: map[string]string{"SEAWEEDFS_FILER_JWT_SIGNING_KEY_FILE": "/etc/cosi-seaweedfs/filer-jwt/key"}},
		{name: "mutual TLS and a token signing key", args: append([]string{addr, jwt}, tls...)},
		{name: "neither, explicitly allowed", args: []string{addr, "--allow-insecure-filer"}},
		{name: "neither is refused, naming mutual TLS and the opt-in", args: []string{addr},
			words: []string{"--filer-grpc-address", "--filer-tls-cert-file", "--allow-insecure-filer"}},
		{name: "a token signing key without the filer's address is refused", args: []string{jwt},
			words: []string{"--filer-jwt-signing-key-file", "need --filer-grpc-address"}},
		{name: "half the TLS files are refused, even with a token signing key", args: []string{addr, jwt, tls[0]},
			words: []string{"--filer-tls-key-file", "--filer-tls-ca-file"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := map[string]string{}
			for _, m := range []map[string]string{env, tt.env} {
				for k, v := range m {
					e[k] = v
				}
			}
			c, err := ParseFlags(tt.args, func(k string) string { return e[k] })
			if len(tt.words) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if want := slices.Contains(tt.args, jwt) || tt.env != nil; want != (c.FilerJWTKeyFile != "") {
					t.Errorf("FilerJWTKeyFile = %q", c.FilerJWTKeyFile)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestParseFlagsImportBuckets: the import list is names and globs,
// comma-separated, checked at start-up.
func TestParseFlagsImportBuckets(t *testing.T) {
	env := map[string]string{"POD_NAMESPACE": "cosi", "SEAWEEDFS_S3_ENDPOINT": "http://127.0.0.1:8333",
		"SEAWEEDFS_ACCESS_KEY_ID": "ADMINKEY", "SEAWEEDFS_SECRET_ACCESS_KEY": "admin-secret-value"}
	getenv := func(k string) string { return env[k] }
	c, err := ParseFlags([]string{"--import-buckets= legacy-data , team-a-*,"}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"legacy-data", "team-a-*"}; !slices.Equal(c.ImportBuckets, want) {
		t.Fatalf("ImportBuckets = %q, want %q", c.ImportBuckets, want)
	}
	if c, err := ParseFlags(nil, getenv); err != nil || c.ImportBuckets != nil {
		t.Fatalf("default: %q, %v; want none", c.ImportBuckets, err)
	}
	_, err = ParseFlags([]string{"--import-buckets=team-[a"}, getenv)
	if err == nil || !strings.Contains(err.Error(), "--import-buckets") || !strings.Contains(err.Error(), "team-[a") {
		t.Fatalf("a bad glob: %v, want a refusal naming --import-buckets and the glob", err)
	}
}
