package connection

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	const keys = "adminAccessKeyFile: /k/id\nadminSecretKeyFile: /k/secret\n"
	tests := []struct {
		name, file string
		data       string
		want       Config
		// words the error must contain; empty: accepted.
		words []string
	}{
		{name: "the smallest connection", file: "east", data: "s3Endpoint: http://s3-east:8333\n" + keys,
			want: Config{Name: "east", S3Endpoint: "http://s3-east:8333", AdminAccessKeyFile: "/k/id", AdminSecretKeyFile: "/k/secret"}},
		{name: "every key", file: "west-2", data: `s3Endpoint: https://s3-west:8333
s3Region: eu-west-2
publicEndpoint: https://s3.example.com
publicRegion: eu-west
adminAccessKeyFile: /k/id
adminSecretKeyFile: /k/secret
filerGRPCAddress: filer-west:18888
filerTLSCAFile: /t/ca.crt
filerTLSCertFile: /t/tls.crt
filerTLSKeyFile: /t/tls.key
filerTLSServerName: filer-west
filerJWTSigningKeyFile: /j/key
userPrefix: west-
ownerId: west-owner
`, want: Config{Name: "west-2", S3Endpoint: "https://s3-west:8333", S3Region: "eu-west-2", PublicEndpoint: "https://s3.example.com",
			PublicRegion: "eu-west", AdminAccessKeyFile: "/k/id", AdminSecretKeyFile: "/k/secret", FilerGRPCAddress: "filer-west:18888",
			FilerTLSCAFile: "/t/ca.crt", FilerTLSCertFile: "/t/tls.crt", FilerTLSKeyFile: "/t/tls.key", FilerTLSServerName: "filer-west",
			FilerJWTSigningKeyFile: "/j/key", UserPrefix: "west-", OwnerID: "west-owner"}},
		{name: "an unknown key", file: "east", data: "s3Endpoint: http://s3:8333\ns3Endpont: http://x\n" + keys, words: []string{"s3Endpont"}},
		{name: "a secret in the file is an unknown key", file: "east", data: "s3Endpoint: http://s3:8333\nadminSecretKey: hunter22\n" + keys, words: []string{"adminSecretKey"}},
		{name: "no endpoint", file: "east", data: keys, words: []string{"s3Endpoint is required"}},
		{name: "an endpoint without a scheme", file: "east", data: "s3Endpoint: s3:8333\n" + keys, words: []string{"http://"}},
		{name: "no key files", file: "east", data: "s3Endpoint: http://s3:8333\n", words: []string{"adminAccessKeyFile"}},
		{name: "a plaintext filer", file: "east", data: "s3Endpoint: http://s3:8333\nfilerGRPCAddress: f:18888\n" + keys, words: []string{"mutual TLS", "allowInsecureFiler"}},
		{name: "a plaintext filer allowed", file: "east", data: "s3Endpoint: http://s3:8333\nfilerGRPCAddress: f:18888\nallowInsecureFiler: true\n" + keys,
			want: Config{Name: "east", S3Endpoint: "http://s3:8333", FilerGRPCAddress: "f:18888", AllowInsecureFiler: true, AdminAccessKeyFile: "/k/id", AdminSecretKeyFile: "/k/secret"}},
		{name: "half the TLS files", file: "east", data: "s3Endpoint: http://s3:8333\nfilerGRPCAddress: f:18888\nfilerTLSCAFile: /ca\n" + keys, words: []string{"go together"}},
		{name: "a bad name", file: "East_1", data: "s3Endpoint: http://s3:8333\n" + keys, words: []string{"connection name"}},
		{name: "not YAML", file: "east", data: "s3Endpoint: [", words: []string{"connection east"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.file, []byte(tt.data))
			if len(tt.words) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("config (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			for _, w := range tt.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter22") {
				t.Errorf("the error repeats a value of the file: %v", err)
			}
		})
	}
}

// ReadDir takes every file that parses, reports every one that does not,
// and ignores what is not a connection file (a mounted Secret's links).
func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keys := "adminAccessKeyFile: /k/id\nadminSecretKeyFile: /k/secret\n"
	write("east.yaml", "s3Endpoint: http://s3-east:8333\n"+keys)
	write("west.yaml", "s3Endpoint: http://s3-west:8333\n"+keys)
	write("broken.yaml", "s3Endpoint: http://s3:8333\nbogus: 1\n"+keys)
	write("README", "not a connection")
	if err := os.Mkdir(filepath.Join(dir, "..data"), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"east", "west"}, s.Names()); diff != "" {
		t.Errorf("connections (-want +got):\n%s", diff)
	}
	if len(s.Errors) != 1 || s.Errors["broken"] == nil {
		t.Errorf("errors %v, want one for broken", s.Errors)
	}
	if _, err := ReadDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing directory read as empty")
	}
}
