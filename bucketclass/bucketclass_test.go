package bucketclass

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		want   Class
		// refused names the parameter the error must name ("-" for an
		// unknown one); empty: accepted.
		refused string
	}{
		{name: "nothing", want: Class{}},
		{name: "purge", params: map[string]string{Purge: "true"}, want: Class{Purge: true}},
		{name: "every feature", params: map[string]string{MaxSize: "500Mi", Replication: "001", DiskType: "ssd", TTL: "7d", Versioning: "true"},
			want: Class{Features: s3admin.BucketFeatures{QuotaBytes: 500 << 20, Replication: "001", DiskType: "ssd", TTL: "7d", Versioning: true}}},
		{name: "decimal quantity", params: map[string]string{MaxSize: "1G"}, want: Class{Features: s3admin.BucketFeatures{QuotaBytes: 1e9}}},
		{name: "fractional binary quantity", params: map[string]string{MaxSize: "1.5Gi"}, want: Class{Features: s3admin.BucketFeatures{QuotaBytes: 3 << 29}}},
		{name: "object lock alone", params: map[string]string{ObjectLock: "true"}, want: Class{Features: s3admin.BucketFeatures{ObjectLock: true}}},
		{name: "object lock with versioning", params: map[string]string{ObjectLock: "true", Versioning: "true"},
			want: Class{Features: s3admin.BucketFeatures{ObjectLock: true, Versioning: true}}},
		{name: "unknown", params: map[string]string{"quota": "1Gi"}, refused: "-"},
		{name: "maxSize zero", params: map[string]string{MaxSize: "0"}, refused: MaxSize},
		{name: "maxSize negative", params: map[string]string{MaxSize: "-1Gi"}, refused: MaxSize},
		{name: "maxSize milli", params: map[string]string{MaxSize: "100m"}, refused: MaxSize},
		{name: "maxSize words", params: map[string]string{MaxSize: "ten gigs"}, refused: MaxSize},
		{name: "maxSize beyond 8Pi", params: map[string]string{MaxSize: "9Pi"}, refused: MaxSize},
		{name: "replication of two digits", params: map[string]string{Replication: "01"}, refused: Replication},
		{name: "replication with letters", params: map[string]string{Replication: "0a1"}, refused: Replication},
		{name: "diskType upper case", params: map[string]string{DiskType: "SSD"}, refused: DiskType},
		{name: "diskType with a path", params: map[string]string{DiskType: "ssd/../x"}, refused: DiskType},
		{name: "ttl without unit", params: map[string]string{TTL: "7"}, refused: TTL},
		{name: "ttl zero", params: map[string]string{TTL: "0d"}, refused: TTL},
		{name: "ttl unknown unit", params: map[string]string{TTL: "7s"}, refused: TTL},
		{name: "ttl of 255 days", params: map[string]string{TTL: "255d"}, want: Class{Features: s3admin.BucketFeatures{TTL: "255d"}}},
		{name: "ttl SeaweedFS would round", params: map[string]string{TTL: "1000d"}, refused: TTL},
		{name: "ttl of 256", params: map[string]string{TTL: "256m"}, refused: TTL},
		{name: "versioning yes", params: map[string]string{Versioning: "yes"}, refused: Versioning},
		{name: "objectLock TRUE", params: map[string]string{ObjectLock: "TRUE"}, refused: ObjectLock},
		{name: "object lock without versioning", params: map[string]string{ObjectLock: "true", Versioning: "false"}, refused: Versioning},
		{name: "object lock with purge", params: map[string]string{ObjectLock: "true", Purge: "true"}, refused: Purge},
		{name: "purge 1", params: map[string]string{Purge: "1"}, refused: Purge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.params)
			var pe *Error
			switch {
			case tt.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.refused == "":
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("class (-want +got):\n%s", diff)
				}
			case !errors.As(err, &pe):
				t.Fatalf("error %v, want an *Error naming %q", err, tt.refused)
			case tt.refused == "-" && pe.Param != "", tt.refused != "-" && pe.Param != tt.refused:
				t.Fatalf("error names %q (%v), want %q", pe.Param, err, tt.refused)
			}
		})
	}
}
