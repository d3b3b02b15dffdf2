package grpcapi

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

func TestParameters(t *testing.T) {
	tests := []struct {
		name     string
		bucket   bool
		noFiler  bool
		params   map[string]string
		wantCode codes.Code
		wantMode s3admin.Mode
	}{
		{name: "no bucket parameters", bucket: true, wantCode: codes.OK},
		{name: "purge true", bucket: true, params: map[string]string{"purge": "true"}, wantCode: codes.OK},
		{name: "purge false", bucket: true, params: map[string]string{"purge": "false"}, wantCode: codes.OK},
		{name: "purge not a boolean", bucket: true, params: map[string]string{"purge": "yes please"}, wantCode: codes.InvalidArgument},
		{name: "purge 1 is not a documented spelling", bucket: true, params: map[string]string{"purge": "1"}, wantCode: codes.InvalidArgument},
		{name: "purge t is not a documented spelling", bucket: true, params: map[string]string{"purge": "t"}, wantCode: codes.InvalidArgument},
		{name: "purge TRUE is not a documented spelling", bucket: true, params: map[string]string{"purge": "TRUE"}, wantCode: codes.InvalidArgument},
		{name: "unknown bucket parameter", bucket: true, params: map[string]string{"quota": "1Gi"}, wantCode: codes.InvalidArgument},
		{name: "maxSize with a filer", bucket: true, params: map[string]string{"maxSize": "10Gi"}, wantCode: codes.OK},
		{name: "maxSize without a filer", bucket: true, noFiler: true, params: map[string]string{"maxSize": "10Gi"}, wantCode: codes.InvalidArgument},
		{name: "replication without a filer", bucket: true, noFiler: true, params: map[string]string{"replication": "001"}, wantCode: codes.InvalidArgument},
		{name: "versioning without a filer", bucket: true, noFiler: true, params: map[string]string{"versioning": "true"}, wantCode: codes.OK},
		{name: "objectLock without a filer", bucket: true, noFiler: true, params: map[string]string{"objectLock": "true"}, wantCode: codes.OK},
		{name: "maxSize not a quantity", bucket: true, params: map[string]string{"maxSize": "lots"}, wantCode: codes.InvalidArgument},
		{name: "mode defaults to read-write", wantCode: codes.OK, wantMode: s3admin.ModeReadWrite},
		{name: "mode read-only", params: map[string]string{"mode": "read-only"}, wantCode: codes.OK, wantMode: s3admin.ModeReadOnly},
		{name: "mode write-only", params: map[string]string{"mode": "write-only"}, wantCode: codes.OK, wantMode: s3admin.ModeWriteOnly},
		{name: "mode unknown", params: map[string]string{"mode": "admin"}, wantCode: codes.InvalidArgument},
		{name: "unknown access parameter", params: map[string]string{"Mode": "read-only"}, wantCode: codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			var mode s3admin.Mode
			if tt.bucket {
				_, err = bucketParams(tt.params, !tt.noFiler)
			} else {
				mode, err = accessParams(tt.params)
			}
			if got := status.Code(err); got != tt.wantCode {
				t.Fatalf("code = %v, want %v (%v)", got, tt.wantCode, err)
			}
			if err != nil {
				for k := range tt.params {
					if !strings.Contains(err.Error(), k) {
						t.Fatalf("error %q does not name parameter %q", err, k)
					}
				}
			}
			if mode != tt.wantMode {
				t.Fatalf("mode = %q, want %q", mode, tt.wantMode)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name, in string
		wantCode codes.Code
	}{
		{name: "a COSI grant name", in: "ba-0f3c7a52-9d61-4c0e-8f7a-2b1d9e6c4a10", wantCode: codes.OK},
		{name: "letters outside ASCII are names too", in: "bücket-ß", wantCode: codes.OK},
		{name: "empty", in: "", wantCode: codes.InvalidArgument},
		{name: "too long", in: strings.Repeat("a", 254), wantCode: codes.InvalidArgument},
		{name: "a newline", in: "bucket\nx", wantCode: codes.InvalidArgument},
		{name: "DEL", in: "bucket\x7f", wantCode: codes.InvalidArgument},
		{name: "a C1 control character", in: "bucket\u0085", wantCode: codes.InvalidArgument},
		{name: "a right-to-left override", in: "bucket-\u202egnp.exe", wantCode: codes.InvalidArgument},
		{name: "a right-to-left isolate", in: "bucket-\u2067x", wantCode: codes.InvalidArgument},
		{name: "a left-to-right mark", in: "bucket\u200e", wantCode: codes.InvalidArgument},
		{name: "a zero-width joiner", in: "buc\u200dket", wantCode: codes.InvalidArgument},
		{name: "a byte-order mark", in: "\ufeffbucket", wantCode: codes.InvalidArgument},
		{name: "invalid UTF-8", in: "bucket\xff", wantCode: codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := status.Code(checkName("name", tt.in)); got != tt.wantCode {
				t.Fatalf("checkName(%q) = %v, want %v", tt.in, got, tt.wantCode)
			}
		})
	}
}

func TestSocketPath(t *testing.T) {
	for in, want := range map[string]string{
		"unix:///var/lib/cosi/cosi.sock": "/var/lib/cosi/cosi.sock",
		"unix://relative/cosi.sock":      "relative/cosi.sock",
	} {
		got, err := SocketPath(in)
		if err != nil || got != want {
			t.Errorf("SocketPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"tcp://127.0.0.1:9000", "unix://", "/plain/path"} {
		if _, err := SocketPath(bad); err == nil {
			t.Errorf("SocketPath(%q) accepted a bad endpoint", bad)
		}
	}
}
