package seaweedfs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// TestAnonymousAccess runs the anonymous probe against a SeaweedFS of its own
// (it changes who is anonymous), before and after an "anonymous" identity is
// given object reads.
func TestAnonymousAccess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sw, err := stack.StartSeaweed(ctx, stack.SeaweedOptions{})
	admintest.MustNil(t, "start SeaweedFS", err)
	t.Cleanup(sw.Stop)
	c, err := NewSeaweedFS(Config{Endpoint: sw.Endpoint, Region: sw.Region, AccessKeyID: sw.AccessKey, SecretAccessKey: sw.SecretKey})
	admintest.MustNil(t, "NewSeaweedFS", err)
	probe := s3admin.Ownership{Owner: "owner-anon"}
	admintest.MustNil(t, "CreateBucket", c.CreateBucket(ctx, "bucket-sample", admintest.Own, s3admin.CreateOptions{}))

	got, err := c.CheckAnonymousAccess(ctx, probe, []string{"bucket-sample"})
	admintest.MustNil(t, "CheckAnonymousAccess", err)
	if got.Any() {
		t.Fatalf("a SeaweedFS without anonymous grants: anonymous may %s", got)
	}
	// The probe bucket is the driver's, carrying the probe marker.
	st, err := c.ObserveBucket(ctx, names.ProbeBucket(probe.Owner), s3admin.Ownership{Owner: probe.Owner, Marker: names.ProbeMarker})
	admintest.MustNil(t, "ObserveBucket", err)
	if !st.Owned {
		t.Fatalf("probe bucket %+v, want it marked as the driver's", st)
	}

	// An anonymous identity allowed to read and list objects everywhere.
	admin := iam.New(iam.Options{Region: sw.Region, BaseEndpoint: aws.String(sw.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(sw.AccessKey, sw.SecretKey, "")})
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
		"Effect": "Allow", "Action": []string{"s3:GetObject", "s3:ListBucket"},
		"Resource": []string{"arn:aws:s3:::*", "arn:aws:s3:::*/*"},
	}}})
	_, err = admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("anonymous")})
	admintest.MustNil(t, "CreateUser anonymous", err)
	_, err = admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("anonymous"),
		PolicyName: aws.String("world-readable"), PolicyDocument: aws.String(string(doc))})
	admintest.MustNil(t, "PutUserPolicy anonymous", err)

	// SeaweedFS reloads identities asynchronously after an IAM write.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		got, err = c.CheckAnonymousAccess(ctx, probe, []string{"bucket-sample"})
		admintest.MustNil(t, "CheckAnonymousAccess", err)
		if got.Read || time.Now().After(deadline) {
			break
		}
	}
	if !got.Read || !got.List || got.Write {
		t.Fatalf("with an anonymous identity allowed to read and list: anonymous may %s, want read,list", got)
	}
	t.Logf("anonymous may %s", got)

	// Scoped to bucket names like the ones COSI asks for, the grant misses
	// the probe bucket; the sample of the driver's buckets still shows it.
	doc, _ = json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
		"Effect": "Allow", "Action": []string{"s3:GetObject"}, "Resource": []string{"arn:aws:s3:::bucket-*/*"},
	}}})
	_, err = admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("anonymous"),
		PolicyName: aws.String("world-readable"), PolicyDocument: aws.String(string(doc))})
	admintest.MustNil(t, "PutUserPolicy anonymous", err)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		got, err = c.CheckAnonymousAccess(ctx, probe, []string{"bucket-sample"})
		admintest.MustNil(t, "CheckAnonymousAccess", err)
		if !got.List || time.Now().After(deadline) {
			break
		}
	}
	if !got.Read || got.List {
		t.Fatalf("with anonymous reads on bucket-* only: anonymous may %s, want read", got)
	}
	if only, err := c.CheckAnonymousAccess(ctx, probe, nil); err != nil || only.Any() {
		t.Fatalf("the probe bucket alone: %s, %v; want nothing (the grant is scoped to bucket-*)", only, err)
	}
}

// An "anonymous" identity allowed to write only to bucket names like the
// driver's (bucket-*) misses the probe bucket: the check's unsigned write to
// the sample of the driver's buckets reports it, and leaves nothing behind
// in them, neither an object nor, in a versioned bucket, a version or a
// delete marker; a tenant's object is never touched.
func TestAnonymousWriteToTheDriversBuckets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sw, err := stack.StartSeaweed(ctx, stack.SeaweedOptions{})
	admintest.MustNil(t, "start SeaweedFS", err)
	t.Cleanup(sw.Stop)
	c, err := NewSeaweedFS(Config{Endpoint: sw.Endpoint, Region: sw.Region, AccessKeyID: sw.AccessKey, SecretAccessKey: sw.SecretKey})
	admintest.MustNil(t, "NewSeaweedFS", err)
	probe := s3admin.Ownership{Owner: "owner-anon-write"}
	plain, versioned := "bucket-plain", "bucket-versioned"
	for _, b := range []string{plain, versioned} {
		admintest.MustNil(t, "CreateBucket "+b, c.CreateBucket(ctx, b, admintest.Own, s3admin.CreateOptions{}))
	}
	s3c := stack.NewS3Client(sw.Endpoint, sw.Region, sw.AccessKey, sw.SecretKey)
	_, err = s3c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(versioned),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
	admintest.MustNil(t, "PutBucketVersioning", err)
	// A tenant's object, which the check must neither replace nor remove.
	for _, b := range []string{plain, versioned} {
		admintest.MustNil(t, "tenant object", s3check.Put(ctx, s3c, b, "tenant-data", "tenant"))
	}

	// What the probe's If-None-Match rests on: SeaweedFS authorizes a
	// request before it evaluates its condition, so a conditional write of
	// an existing key is refused (403) where anonymous writes are, and
	// answered 412, replacing nothing, where they are allowed (below).
	conditional := func() (bool, int) {
		t.Helper()
		allowed, resp, err := c.unsigned(ctx, http.MethodPut, sw.Endpoint+"/"+plain+"/tenant-data", http.Header{"If-None-Match": {"*"}})
		admintest.MustNil(t, "unsigned conditional PUT", err)
		return allowed, resp.StatusCode
	}
	if allowed, code := conditional(); allowed || code != http.StatusForbidden {
		t.Fatalf("unsigned conditional PUT of an existing key without anonymous grants: allowed %t, status %d; want refused, 403", allowed, code)
	}

	admin := iam.New(iam.Options{Region: sw.Region, BaseEndpoint: aws.String(sw.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(sw.AccessKey, sw.SecretKey, "")})
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
		"Effect": "Allow", "Action": []string{"s3:PutObject"}, "Resource": []string{"arn:aws:s3:::bucket-*/*"},
	}}})
	_, err = admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("anonymous")})
	admintest.MustNil(t, "CreateUser anonymous", err)
	_, err = admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("anonymous"),
		PolicyName: aws.String("world-writable"), PolicyDocument: aws.String(string(doc))})
	admintest.MustNil(t, "PutUserPolicy anonymous", err)

	for _, b := range []string{plain, versioned} {
		var got s3admin.AnonymousAccess
		// SeaweedFS reloads identities asynchronously after an IAM write.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			got, err = c.CheckAnonymousAccess(ctx, probe, []string{b})
			admintest.MustNil(t, "CheckAnonymousAccess", err)
			if got.Write || time.Now().After(deadline) {
				break
			}
		}
		if !got.Write || got.Read || got.List {
			t.Errorf("with anonymous writes on bucket-* only, sampling %s: anonymous may %s, want write", b, got)
		}
		out, err := s3c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
		admintest.MustNil(t, "ListObjectVersions", err)
		var left []string
		for _, v := range out.Versions {
			left = append(left, aws.ToString(v.Key)+" version "+aws.ToString(v.VersionId))
		}
		for _, m := range out.DeleteMarkers {
			left = append(left, aws.ToString(m.Key)+" delete marker "+aws.ToString(m.VersionId))
		}
		if len(left) != 1 || !strings.HasPrefix(left[0], "tenant-data version ") {
			t.Errorf("%s after the check holds %q, want the tenant's object alone", b, left)
		}
		if v, err := s3check.Get(ctx, s3c, b, "tenant-data"); err != nil || v != "tenant" {
			t.Errorf("the tenant's object in %s: %q, %v", b, v, err)
		}
	}
	if allowed, code := conditional(); !allowed || code != http.StatusPreconditionFailed {
		t.Errorf("unsigned conditional PUT of an existing key with anonymous writes allowed: allowed %t, status %d; want allowed, 412", allowed, code)
	}
	if v, err := s3check.Get(ctx, s3c, plain, "tenant-data"); err != nil || v != "tenant" {
		t.Errorf("the tenant's object after a conditional unsigned PUT: %q, %v", v, err)
	}
	t.Run("a probe object whose delete failed is named and deleted by the next check", func(t *testing.T) {
		// A bucket policy denying deletes to everybody, the admin included
		// (an explicit Deny overrides every grant), makes the delete fail.
		deny, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
			"Effect": "Deny", "Principal": "*", "Action": []string{"s3:DeleteObject", "s3:DeleteObjectVersion"},
			"Resource": []string{"arn:aws:s3:::" + plain + "/*"},
		}}})
		_, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(plain), Policy: aws.String(string(deny))})
		admintest.MustNil(t, "PutBucketPolicy", err)
		var got s3admin.AnonymousAccess
		// SeaweedFS applies a bucket policy asynchronously.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			got, err = c.CheckAnonymousAccess(ctx, probe, []string{plain})
			admintest.MustNil(t, "CheckAnonymousAccess", err)
			if len(got.Left) > 0 || time.Now().After(deadline) {
				break
			}
		}
		if !got.Write || len(got.Left) != 1 || !strings.HasPrefix(got.Left[0], plain+"/cosi-seaweedfs-anonymous-write-probe-") {
			t.Fatalf("CheckAnonymousAccess with deletes denied: %s, left %q; want write and the object left named", got, got.Left)
		}
		again, err := c.CheckAnonymousAccess(ctx, probe, nil)
		if err != nil || len(again.Left) != 1 || again.Left[0] != got.Left[0] {
			t.Fatalf("the next check: left %q, %v; want the same object named while deletes are denied", again.Left, err)
		}
		_, err = s3c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(plain)})
		admintest.MustNil(t, "DeleteBucketPolicy", err)
		// The next check, whatever its sample, deletes what was left.
		stack.Eventually(t, 10*time.Second, func() error {
			if got, err := c.CheckAnonymousAccess(ctx, probe, nil); err != nil || len(got.Left) > 0 {
				return fmt.Errorf("left %q, %v", got.Left, err)
			}
			out, err := s3c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(plain)})
			if err != nil {
				return err
			}
			if n := len(out.Versions) + len(out.DeleteMarkers); n != 1 {
				return fmt.Errorf("%s holds %d versions and delete markers, want the tenant's object alone", plain, n)
			}
			return nil
		})
	})
	if only, err := c.CheckAnonymousAccess(ctx, probe, nil); err != nil || only.Any() {
		t.Fatalf("the probe bucket alone: %s, %v; want nothing (the grant is scoped to bucket-*)", only, err)
	}
}
