package stack

import (
	"slices"
	"strings"
	"testing"
)

func TestUserPaths(t *testing.T) {
	tests := []struct {
		value string
		want  []UserPath
		err   string
	}{
		{value: "", want: []UserPath{IAMQueryAPI, FilerGRPC}},
		{value: "filer", want: []UserPath{FilerGRPC}},
		{value: " filer , iam ", want: []UserPath{FilerGRPC, IAMQueryAPI}},
		{value: "iam,grpc", err: `"grpc" is neither`},
		{value: "iam,iam", err: `names "iam" twice`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := UserPaths(func(k string) string {
				if k != UserPathsEnv {
					t.Errorf("read %s", k)
				}
				return tt.value
			})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("UserPaths(%q) = %v, %v; want an error saying %s", tt.value, got, err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("UserPaths(%q) = %v, %v; want %v", tt.value, got, err, tt.want)
			}
		})
	}
}

func TestUserPathDriverArgs(t *testing.T) {
	sw := &Seaweed{ports: []int{1, 2, 3, 4}}
	if args, err := IAMQueryAPI.DriverArgs(sw); err != nil || len(args) != 0 {
		t.Errorf("IAM query API: %v, %v; want no flag", args, err)
	}
	if _, err := FilerGRPC.DriverArgs(sw); err == nil {
		t.Error("filer path on a SeaweedFS without mutual TLS: no error")
	}
	if !FilerGRPC.Seaweed(SeaweedOptions{}).MutualTLS || IAMQueryAPI.Seaweed(SeaweedOptions{}).MutualTLS {
		t.Error("only the filer path asks for mutual TLS")
	}
	sw.FilerTLS = &FilerClientTLS{CertFile: "c.pem", KeyFile: "k.pem", CAFile: "ca.pem"}
	args, err := FilerGRPC.DriverArgs(sw)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--filer-grpc-address=127.0.0.1:10003", "--filer-tls-cert-file=c.pem", "--filer-tls-key-file=k.pem",
		"--filer-tls-ca-file=ca.pem", "--filer-tls-server-name=localhost"}
	if !slices.Equal(args, want) {
		t.Errorf("filer path flags = %v, want %v", args, want)
	}
	if strings.Contains(strings.Join(args, " "), "insecure") {
		t.Errorf("filer path flags %v allow an insecure filer", args)
	}
}
