package seaweedfs

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
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
	admintest.MustNil(t, "CreateBucket", c.CreateBucket(ctx, "bucket-sample", admintest.Own))

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
