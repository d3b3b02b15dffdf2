package resilience

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/driver"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// requireConverged waits up to convergeWithin for SeaweedFS, the records
// and the credentials to match the model, replays every live request
// through r, and checks every driver log for secrets. It records how long
// convergence took.
func (e *environment) requireConverged(t *testing.T, pass string, r *replica) {
	t.Helper()
	began := time.Now()
	deadline := began.Add(convergeWithin)
	var err error
	for {
		if err = e.converged(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	took := time.Since(began)
	if err != nil {
		t.Errorf("%s: not converged within %s:\n%v", pass, convergeWithin, err)
	} else {
		e.stats.converged(pass, took)
		t.Logf("%s: converged %.1fs after the workload ended", pass, took.Seconds())
	}
	e.requireIdenticalReplays(t, r)
	e.requireNoSecretInLogs(t)
}

// converged compares everything observable with the model and returns
// every difference.
func (e *environment) converged() error {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	buckets, live, revoked := e.model.desired()
	var errs []error

	// SeaweedFS holds exactly the live buckets (and the anonymous probe's).
	wantBuckets := []string{}
	for _, b := range buckets {
		wantBuckets = append(wantBuckets, b.name)
	}
	out, err := e.s3.ListBuckets(c, &s3.ListBucketsInput{})
	if err != nil {
		return fmt.Errorf("admin ListBuckets: %w", err)
	}
	gotBuckets := []string{}
	for _, b := range out.Buckets {
		if n := aws.ToString(b.Name); n != e.probeBucket {
			gotBuckets = append(gotBuckets, n)
		}
	}
	slices.Sort(gotBuckets)
	if d := cmp.Diff(wantBuckets, gotBuckets); d != "" {
		errs = append(errs, fmt.Errorf("SeaweedFS buckets (-want +got):\n%s", d))
	}

	// Exactly one user of the driver's (its prefix) per live access, each
	// with exactly the returned key.
	want := map[string][]string{}
	for _, a := range live {
		want[a.account] = []string{a.keyID}
	}
	got, err := e.users(c)
	if err != nil {
		return err
	}
	if d := cmp.Diff(want, got); d != "" {
		errs = append(errs, fmt.Errorf("SeaweedFS users and their keys (-want +got):\n%s", d))
	}

	// One record per live bucket and access, none stuck in deletion.
	if err := e.checkRecords(c, buckets, live); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	// Every returned key works on its bucket and nowhere else; every revoked
	// one is unknown to SeaweedFS.
	for i, a := range live {
		if err := a.works(c); err != nil {
			errs = append(errs, err)
		}
		// Another live bucket, taken in turn; the probe bucket when there
		// is no other.
		other := e.probeBucket
		for k := range buckets {
			if b := buckets[(i+k)%len(buckets)]; b.name != a.bucket {
				other = b.name
				break
			}
		}
		_, err := s3check.List(c, a.client(), other)
		if s3check.HTTPStatus(err) != http.StatusForbidden {
			errs = append(errs, fmt.Errorf("access %s listed bucket %s, not its own: got %v, want HTTP 403", a.name, other, err))
		}
	}
	for _, a := range revoked {
		_, err := s3check.List(c, a.client(), a.bucket)
		if code := s3check.ErrorCode(err); code != "InvalidAccessKeyId" {
			errs = append(errs, fmt.Errorf("revoked access %s (key %s) on bucket %s: got %v, want InvalidAccessKeyId", a.name, a.keyID, a.bucket, err))
		}
	}
	return errors.Join(errs...)
}

// client is an S3 client that uses only what the grant returned.
func (a accessModel) client() *s3.Client {
	return stack.NewS3Client(a.endpoint, a.region, a.keyID, a.secret, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
}

// works uses the key as its mode allows: a read-write key writes and
// deletes an object (leaving the bucket empty, so that deleting it later
// needs no purge), a read-only key lists.
func (a accessModel) works(c context.Context) error {
	cl := a.client()
	if a.mode == "read-only" {
		if _, err := s3check.List(c, cl, a.bucket); err != nil {
			return fmt.Errorf("read-only access %s cannot list its bucket %s: %w", a.name, a.bucket, err)
		}
		return nil
	}
	key := "check-" + a.name
	if err := s3check.Put(c, cl, a.bucket, key, "written with the granted key"); err != nil {
		return fmt.Errorf("access %s cannot write to its bucket %s: %w", a.name, a.bucket, err)
	}
	if err := s3check.Delete(c, cl, a.bucket, key); err != nil {
		return fmt.Errorf("access %s cannot delete from its bucket %s: %w", a.name, a.bucket, err)
	}
	return nil
}

// users lists every SeaweedFS user with the driver's prefix, with its access
// key ids.
func (e *environment) users(c context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	var marker *string
	for {
		page, err := e.iam.ListUsers(c, &iam.ListUsersInput{Marker: marker})
		if err != nil {
			return nil, fmt.Errorf("admin ListUsers: %w", err)
		}
		for _, u := range page.Users {
			name := aws.ToString(u.UserName)
			if !strings.HasPrefix(name, userPrefix) {
				// Not the driver's: the admin identity.
				continue
			}
			keys, err := e.iam.ListAccessKeys(c, &iam.ListAccessKeysInput{UserName: aws.String(name)})
			if err != nil {
				return nil, fmt.Errorf("admin ListAccessKeys(%s): %w", name, err)
			}
			ids := []string{}
			for _, k := range keys.AccessKeyMetadata {
				ids = append(ids, aws.ToString(k.AccessKeyId))
			}
			slices.Sort(ids)
			out[name] = ids
		}
		if !page.IsTruncated || page.Marker == nil {
			return out, nil
		}
		marker = page.Marker
	}
}

// checkRecords compares the driver's records with the model and reports
// any record with a deletionTimestamp: a deletion that never finished.
func (e *environment) checkRecords(c context.Context, buckets []bucketModel, live []accessModel) error {
	sel := metav1.ListOptions{LabelSelector: store.LabelManagedBy + "=" + store.ManagedBy}
	cms, err := e.kube.CoreV1().ConfigMaps(driverNamespace).List(c, sel)
	if err != nil {
		return fmt.Errorf("list bucket records: %w", err)
	}
	secs, err := e.kube.CoreV1().Secrets(driverNamespace).List(c, sel)
	if err != nil {
		return fmt.Errorf("list access records: %w", err)
	}
	var errs []error
	var gotB, gotA, wantB, wantA []string
	for _, cm := range cms.Items {
		gotB = append(gotB, cm.Name)
		if cm.DeletionTimestamp != nil {
			errs = append(errs, fmt.Errorf("bucket record %s is stuck in deletion since %s", cm.Name, cm.DeletionTimestamp))
		}
	}
	for _, s := range secs.Items {
		gotA = append(gotA, s.Name)
		if s.DeletionTimestamp != nil {
			errs = append(errs, fmt.Errorf("access record %s is stuck in deletion since %s", s.Name, s.DeletionTimestamp))
		}
	}
	for _, b := range buckets {
		wantB = append(wantB, names.BucketRecord(b.name))
	}
	for _, a := range live {
		wantA = append(wantA, names.AccessRecord(names.AccessID(a.name)))
	}
	for _, l := range [][]string{gotB, gotA, wantB, wantA} {
		slices.Sort(l)
	}
	if d := cmp.Diff(wantB, gotB); d != "" {
		errs = append(errs, fmt.Errorf("bucket records (-want +got):\n%s", d))
	}
	if d := cmp.Diff(wantA, gotA); d != "" {
		errs = append(errs, fmt.Errorf("access records (-want +got):\n%s", d))
	}
	return errors.Join(errs...)
}

// requireIdenticalReplays repeats the create of every live bucket and the
// grant of every live access: each must answer byte-identically to its
// first answer.
func (e *environment) requireIdenticalReplays(t *testing.T, r *replica) {
	t.Helper()
	buckets, live, _ := e.model.desired()
	w := e.newWorkload(0, r.provisioner)
	for _, b := range buckets {
		resp, err := w.call(t, "replayed DriverCreateBucket", func(c context.Context, p cosi.ProvisionerClient) (proto.Message, error) {
			return p.DriverCreateBucket(c, &cosi.DriverCreateBucketRequest{Name: b.name, Parameters: b.params})
		})
		if err != nil || !bytes.Equal(driver.Wire(t, resp), b.wire) {
			t.Errorf("replayed DriverCreateBucket(%s) = %v, %v; want the first answer", b.name, resp, err)
		}
	}
	for _, a := range live {
		resp, err := w.call(t, "replayed DriverGrantBucketAccess", func(c context.Context, p cosi.ProvisionerClient) (proto.Message, error) {
			return p.DriverGrantBucketAccess(c, grantRequest(a.bucket, a.name, a.mode))
		})
		if err != nil || !bytes.Equal(driver.Wire(t, resp), a.wire) {
			t.Errorf("replayed DriverGrantBucketAccess(%s): %v; want the first answer's credentials", a.name, err)
		}
	}
}

// requireNoSecretInLogs scans every driver process log for the admin secret
// and every secret key a grant returned. Both are 40 characters, so every
// 40-character window of the logs is looked up in one set.
func (e *environment) requireNoSecretInLogs(t *testing.T) {
	t.Helper()
	secrets := map[string]string{e.stack.Seaweed.SecretKey: "the admin secret key"}
	e.model.mu.Lock()
	for s := range e.model.secrets {
		secrets[s] = "a secret key returned by a grant"
	}
	e.model.mu.Unlock()
	width := len(e.stack.Seaweed.SecretKey)
	for s := range secrets {
		if len(s) != width {
			t.Fatalf("a secret of %d characters, the scan expects %d", len(s), width)
		}
	}
	paths, err := e.logs()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("read %s: %v", p, err)
			continue
		}
		for i := 0; i+width <= len(data); i++ {
			if what, ok := secrets[string(data[i:i+width])]; ok {
				line := bytes.Count(data[:i], []byte("\n")) + 1
				t.Errorf("%s line %d contains %s", p, line, what)
			}
		}
	}
}

// describe is the model's size, for the pass logs.
func (e *environment) describe() string {
	buckets, live, revoked := e.model.desired()
	return fmt.Sprintf("%d live buckets, %d live accesses, %d revoked", len(buckets), len(live), len(revoked))
}
