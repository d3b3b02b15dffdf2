package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// TestAnonymousAccessIsReported: SeaweedFS's "anonymous" identity, given
// object reads and writes on the bucket names COSI uses, makes the driver's
// buckets world-readable and world-writable although an unsigned ListBuckets
// is still refused. The driver notices both on its resync (the write in its
// own buckets, not only in its probe bucket, which the grant misses) and
// says so until it is fixed.
func TestAnonymousAccessIsReported(t *testing.T) {
	e := mustEnv(t)
	e.mustCreateBucket(t, bucketName(), nil)
	const anonymous = "anonymous"
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
		"Effect": "Allow", "Action": []string{"s3:GetObject", "s3:PutObject"}, "Resource": []string{"arn:aws:s3:::bucket-*/*"},
	}}})
	if _, err := e.iam.CreateUser(ctx(t), &iam.CreateUserInput{UserName: aws.String(anonymous)}); err != nil {
		t.Fatalf("admin CreateUser(anonymous): %v", err)
	}
	removeGrant := func() {
		// Policy first: SeaweedFS hands a deleted user's policies to the next
		// user of the same name.
		_, _ = e.iam.DeleteUserPolicy(ctx(t), &iam.DeleteUserPolicyInput{UserName: aws.String(anonymous), PolicyName: aws.String("public")})
		_, _ = e.iam.DeleteUser(ctx(t), &iam.DeleteUserInput{UserName: aws.String(anonymous)})
	}
	t.Cleanup(removeGrant)
	offset := logSize(t, e.driver)
	if _, err := e.iam.PutUserPolicy(ctx(t), &iam.PutUserPolicyInput{UserName: aws.String(anonymous),
		PolicyName: aws.String("public"), PolicyDocument: aws.String(string(doc))}); err != nil {
		t.Fatalf("admin PutUserPolicy(anonymous): %v", err)
	}

	t.Run("Anonymous reads and writes of the driver's buckets are reported in the log on the next resync", func(t *testing.T) {
		stack.Eventually(t, repairWithin, func() error {
			log := logSince(t, e.driver, offset)
			if !strings.Contains(log, "anonymous requests may access the driver's buckets") || !strings.Contains(log, `"allowed":"read,write"`) {
				return errors.New("the driver has not reported anonymous reads and writes")
			}
			return nil
		})
	})

	t.Run("Readiness fails and the metric says which operation is open", func(t *testing.T) {
		stack.Eventually(t, repairWithin, func() error {
			if code, body := httpGet(t, e.driver, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "[-]anonymousAccess failed") {
				return fmt.Errorf("/readyz = %d:\n%s", code, body)
			}
			return nil
		})
		for _, op := range []string{"read", "write"} {
			if v := scrape(t, e.driver)[series("cosi_seaweedfs_anonymous_access", "operation", op)]; v != 1 {
				t.Errorf("anonymous_access{operation=%s} = %v, want 1", op, v)
			}
		}
	})

	t.Run("Their end is reported too", func(t *testing.T) {
		removeGrant()
		offset := logSize(t, e.driver)
		stack.Eventually(t, repairWithin, func() error {
			if !strings.Contains(logSince(t, e.driver, offset), "anonymous requests are refused again") {
				return errors.New("the driver has not reported that anonymous requests are refused again")
			}
			return nil
		})
		stack.Eventually(t, repairWithin, func() error {
			if code, body := httpGet(t, e.driver, "/readyz"); code != http.StatusOK {
				return fmt.Errorf("/readyz = %d:\n%s", code, body)
			}
			return nil
		})
		for _, op := range []string{"read", "write"} {
			if v := scrape(t, e.driver)[series("cosi_seaweedfs_anonymous_access", "operation", op)]; v != 0 {
				t.Errorf("anonymous_access{operation=%s} = %v, want 0", op, v)
			}
		}
	})
}
