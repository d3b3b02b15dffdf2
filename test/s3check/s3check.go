// Package s3check holds the helpers tests use to call S3 and to judge S3's
// answers: object calls that return plain values, and checks that tell a
// refusal (HTTP 403) from any other failure by the error's type.
package s3check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ErrorCode is the S3 or IAM error code of err, "" when it has none.
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// HTTPStatus is the HTTP status of the response err came with, 0 when no
// response came (a transport failure, or no error).
func HTTPStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// RequireDenied fails the test unless err is the S3 or IAM API refusing a
// request it authenticated: HTTP 403 for what was asked. A 403 for an
// unknown key or a bad signature does not count: S3 then never looked at
// what the key may do, and a check of isolation would pass without testing
// anything (a key the gateway has not taken in yet answers that way). Any
// other failure would let a broken request pass for a refused one.
func RequireDenied(t testing.TB, what string, err error) {
	t.Helper()
	switch {
	case !requireForbidden(t, what, err):
	case unauthenticated[ErrorCode(err)]:
		t.Errorf("%s: S3 does not know the key (%s); want it known and the request denied", what, ErrorCode(err))
	default:
		t.Logf("%s denied as expected: %s", what, ErrorCode(err))
	}
}

// RequireRejected fails the test unless err is HTTP 403 of any kind: for a
// key that must no longer work (revoked, replaced, its user deleted), where
// an unknown key is the expected answer.
func RequireRejected(t testing.TB, what string, err error) {
	t.Helper()
	if requireForbidden(t, what, err) {
		t.Logf("%s rejected as expected: %s", what, ErrorCode(err))
	}
}

// requireForbidden reports whether err is an HTTP 403, failing the test if
// not.
func requireForbidden(t testing.TB, what string, err error) bool {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s succeeded, want it refused", what)
	case HTTPStatus(err) != http.StatusForbidden:
		t.Errorf("%s: got %v, want HTTP 403", what, err)
	default:
		return true
	}
	return false
}

// unauthenticated are the codes of a 403 that S3 answers before it looks
// at what the request asks.
var unauthenticated = map[string]bool{"InvalidAccessKeyId": true, "SignatureDoesNotMatch": true}

// RequireAllowed fails the test if the request failed.
func RequireAllowed(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: got %v, want it allowed", what, err)
	}
}

// Put writes body as the object bucket/key.
func Put(ctx context.Context, client *s3.Client, bucket, key, body string) error {
	_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	return err
}

// Get reads the object bucket/key whole; a body that cannot be read is an
// error too, so an allowed read really delivered the object.
func Get(ctx context.Context, client *s3.Client, bucket, key string) (string, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, out.Body); err != nil {
		return "", fmt.Errorf("read %s/%s: %w", bucket, key, err)
	}
	return b.String(), nil
}

// List returns the keys of the first page (up to 1,000) of the bucket's
// objects.
func List(ctx context.Context, client *s3.Client, bucket string) ([]string, error) {
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys, nil
}

// Delete removes the object bucket/key.
func Delete(ctx context.Context, client *s3.Client, bucket, key string) error {
	_, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return err
}
