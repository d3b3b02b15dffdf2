package plan

import (
	"net/url"
	"strings"
	"testing"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

func TestPolicyRecognition(t *testing.T) {
	for _, m := range []s3admin.Mode{s3admin.ModeReadWrite, s3admin.ModeReadOnly, s3admin.ModeWriteOnly} {
		doc, err := PolicyDocument("bucket-1", m)
		if err != nil {
			t.Fatalf("PolicyDocument: %v", err)
		}
		if strings.Contains(doc, "*\"") && !strings.Contains(doc, "bucket-1/*") {
			t.Fatalf("wildcard in %s", doc)
		}
		for _, a := range modeActions[m] {
			if strings.Contains(a, "*") {
				t.Fatalf("wildcard action %s", a)
			}
		}
		b, got, ok := RecognisePolicy(doc)
		if !ok || b != "bucket-1" || got != m {
			t.Fatalf("recognise(%s) = %q %q %v", m, b, got, ok)
		}
		b, got, ok = RecognisePolicy(url.QueryEscape(doc))
		if !ok || b != "bucket-1" || got != m {
			t.Fatalf("URL-encoded document not recognised")
		}
	}
	// The same policy written differently is still recognised.
	same := `{"Statement":{"Resource":["arn:aws:s3:::bb1/*","arn:aws:s3:::bb1"],"Effect":"Allow","Sid":"",` +
		`"Action":["s3:ListBucket","s3:GetObject","s3:GetBucketLocation","s3:GetObject"]},"Version":"2012-10-17"}`
	if b, m, ok := RecognisePolicy(same); !ok || b != "bb1" || m != s3admin.ModeReadOnly {
		t.Fatalf("reordered policy: %q %q %v", b, m, ok)
	}
	for name, doc := range map[string]string{
		"extra action":   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket","s3:GetBucketLocation","s3:PutBucketPolicy"],"Resource":["arn:aws:s3:::bb1","arn:aws:s3:::bb1/*"]}]}`,
		"wildcard":       `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::bb1","arn:aws:s3:::bb1/*"]}]}`,
		"bucket prefix":  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket","s3:GetBucketLocation"],"Resource":["arn:aws:s3:::bb1*","arn:aws:s3:::bb1*/*"]}]}`,
		"condition":      `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket","s3:GetBucketLocation"],"Resource":["arn:aws:s3:::bb1","arn:aws:s3:::bb1/*"],"Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`,
		"two statements": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket","s3:GetBucketLocation"],"Resource":["arn:aws:s3:::bb1","arn:aws:s3:::bb1/*"]},{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}`,
		"old version":    `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket","s3:GetBucketLocation"],"Resource":["arn:aws:s3:::bb1","arn:aws:s3:::bb1/*"]}]}`,
		"not json":       `nope`,
	} {
		if b, m, ok := RecognisePolicy(doc); ok {
			t.Errorf("%s: recognised as %q %q", name, b, m)
		}
	}
}
