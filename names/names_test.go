package names

import (
	"strings"
	"testing"
)

func TestAccessIDOf(t *testing.T) {
	id := AccessID("ba-one")
	for _, tt := range []struct {
		user             string
		wantPrefix, want string
		wantOK           bool
	}{
		{user: "cosi-" + id, wantPrefix: "cosi-", want: id, wantOK: true},
		{user: "moved." + id, wantPrefix: "moved.", want: id, wantOK: true},
		{user: id, wantOK: false},
		{user: "cosi-admin", wantOK: false},
		{user: "cosi-" + id[:31] + "G", wantOK: false},
	} {
		prefix, got, ok := AccessIDOf(tt.user)
		if ok != tt.wantOK || prefix != tt.wantPrefix || got != tt.want {
			t.Errorf("AccessIDOf(%q) = %q, %q, %t; want %q, %q, %t", tt.user, prefix, got, ok, tt.wantPrefix, tt.want, tt.wantOK)
		}
	}
}

func TestUserNameAndAccessIDOfAreInverse(t *testing.T) {
	id := AccessID("ba-0f6a7c2e-3f5d-4a5b-9c1d-2e3f4a5b6c7d")
	for _, prefix := range []string{"cosi-", "tenant-a.cosi-", "x"} {
		p, got, ok := AccessIDOf(User(prefix, id))
		if !ok || p != prefix || got != id {
			t.Errorf("AccessIDOf(User(%q, %q)) = %q, %q, %t", prefix, id, p, got, ok)
		}
	}
}

func TestBucketID(t *testing.T) {
	long := "my-bucket-class" + "0f3c7a52-9d61-4c0e-8f7a-2b1d9e6c4a10" + "-extra-words-to-be-long"
	tests := []struct {
		name, in string
		want     string // "" means: check the mapped-name properties only
	}{
		{name: "a legal name is used as it is", in: "bucket-0f3c7a52-9d61-4c0e-8f7a-2b1d9e6c4a10", want: "bucket-0f3c7a52-9d61-4c0e-8f7a-2b1d9e6c4a10"},
		{name: "upper case is mapped", in: "MyBucket"},
		{name: "a name over 63 characters is mapped", in: long},
		{name: "an IP-like name is mapped", in: "192.168.1.1"},
		{name: "a name of symbols only is mapped", in: "___"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BucketID(tt.in)
			if tt.want != "" && got != tt.want {
				t.Fatalf("BucketID(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !LegalBucket(got) {
				t.Fatalf("BucketID(%q) = %q, not a legal S3 bucket name", tt.in, got)
			}
			if again := BucketID(tt.in); again != got {
				t.Fatalf("BucketID is not deterministic: %q then %q", got, again)
			}
		})
	}
	if BucketID(long) == BucketID(long+"x") {
		t.Fatal("two long names that share their first 40 characters map to one bucket")
	}
	if !strings.HasPrefix(BucketID("MyBucket"), "mybucket-") {
		t.Fatalf("mapped name %q does not keep the readable part", BucketID("MyBucket"))
	}
}

func TestAccessIDOfRecord(t *testing.T) {
	id := AccessID("ba-one")
	if got, ok := AccessIDOfRecord(AccessRecord(id)); !ok || got != id {
		t.Errorf("AccessIDOfRecord(AccessRecord(%q)) = %q, %t", id, got, ok)
	}
	for _, name := range []string{"access-" + id[:31], "access-" + strings.ToUpper(id), "bucket-" + id, id, "access-" + id + "0"} {
		if got, ok := AccessIDOfRecord(name); ok {
			t.Errorf("AccessIDOfRecord(%q) = %q, true; want false", name, got)
		}
	}
}
