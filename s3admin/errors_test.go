package s3admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// testOwn is the Ownership of the records in tests that need only one.
var testOwn = Ownership{Owner: "owner-test", Marker: "marker-test"}

func responseErr(status int, err error) error {
	return &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      err,
	}
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error // nil: no kind
	}{
		{"typed NoSuchEntity", responseErr(404, apiErr("NoSuchEntity")), ErrNotFound},
		{"S3 HeadBucket NotFound", responseErr(404, apiErr("NotFound")), ErrNotFound},
		{"generic 404", responseErr(404, errors.New("no body")), ErrNotFound},
		{"reused key id 409 EntityAlreadyExists", responseErr(409, apiErr("EntityAlreadyExists")), ErrAlreadyExists},
		{"BucketAlreadyOwnedByYou", responseErr(409, apiErr("BucketAlreadyOwnedByYou")), ErrAlreadyExists},
		{"BucketNotEmpty", responseErr(409, apiErr("BucketNotEmpty")), ErrNotEmpty},
		{"IAM writes disabled", responseErr(403, apiErr("AccessDenied")), ErrAccessDenied},
		{"bad signature", responseErr(403, apiErr("SignatureDoesNotMatch")), ErrAccessDenied},
		{"generic 403", responseErr(403, errors.New("x")), ErrAccessDenied},
		{"ServiceFailure", responseErr(500, apiErr("ServiceFailure")), ErrTransient},
		{"generic 503", responseErr(503, errors.New("x")), ErrTransient},
		{"SlowDown", responseErr(503, apiErr("SlowDown")), ErrTransient},
		{"429", responseErr(429, errors.New("x")), ErrTransient},
		{"MalformedPolicyDocument", responseErr(400, apiErr("MalformedPolicyDocument")), ErrInvalid},
		{"LimitExceeded is not access denied despite 403", responseErr(403, apiErr("LimitExceeded")), nil},
		{"DeleteConflict", responseErr(409, apiErr("DeleteConflict")), nil},
		{"unknown 409", responseErr(409, errors.New("x")), nil},
		{"connection refused", &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}, ErrTransient},
		{"deadline", fmt.Errorf("op: %w", context.DeadlineExceeded), ErrTransient},
		{"canceled", fmt.Errorf("op: %w", context.Canceled), nil},
	}
	kinds := []error{ErrNotFound, ErrAlreadyExists, ErrNotOwned, ErrNotEmpty, ErrAccessDenied, ErrTransient, ErrInvalid}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Classify("Op", &smithy.OperationError{ServiceID: "S", OperationName: "Op", Err: c.err})
			for _, k := range kinds {
				if got := errors.Is(err, k); got != (k == c.want) {
					t.Errorf("errors.Is(%v, %v) = %v", err, k, got)
				}
			}
			if IsTransient(err) != (c.want == ErrTransient) {
				t.Errorf("IsTransient = %v", IsTransient(err))
			}
			// The SDK error stays reachable.
			var oe *smithy.OperationError
			if !errors.As(err, &oe) {
				t.Errorf("operation error lost from the chain")
			}
		})
	}
	if Classify("Op", nil) != nil {
		t.Error("classify(nil) != nil")
	}
}

func TestGenerateCredentials(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		id, secret, err := GenerateCredentials()
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 20 || len(secret) != 40 {
			t.Fatalf("lengths %d/%d", len(id), len(secret))
		}
		if strings.Trim(id, keyIDAlphabet) != "" || strings.Trim(secret, secretAlphabet) != "" {
			t.Fatalf("characters outside the alphabet")
		}
		if err := ValidateCredentials(id, secret); err != nil {
			t.Fatal(err)
		}
		if seen[id] || seen[secret] {
			t.Fatal("repeated value")
		}
		seen[id], seen[secret] = true, true
	}
}

func TestAccessNeverPrintsTheSecret(t *testing.T) {
	a := Access{User: "cosi-u", Bucket: "b", Mode: ModeReadOnly, AccessKeyID: "KEYID", SecretAccessKey: "TOPSECRETVALUE", BucketOwner: testOwn}
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%v", a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a), a.String()} {
		if strings.Contains(s, a.SecretAccessKey) {
			t.Fatalf("secret printed: %s", s)
		}
	}
}
