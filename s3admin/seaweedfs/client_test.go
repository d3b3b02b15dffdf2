package seaweedfs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// TestSuppliedKeyMiddleware checks the request body the SDK sends, through a
// local HTTP server standing in for the IAM endpoint.
func TestSuppliedKeyMiddleware(t *testing.T) {
	var mu sync.Mutex
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		parsed, _ := url.ParseQuery(string(body))
		mu.Lock()
		form = parsed
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, `<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey><UserName>cosi-u</UserName>`+
			`<AccessKeyId>`+parsed.Get("AccessKeyId")+`</AccessKeyId><Status>Active</Status>`+
			`<SecretAccessKey>x</SecretAccessKey></AccessKey></CreateAccessKeyResult></CreateAccessKeyResponse>`)
	}))
	defer srv.Close()
	c, err := NewSeaweedFS(Config{Endpoint: srv.URL, AccessKeyID: "A", SecretAccessKey: "S"})
	admintest.MustNil(t, "NewSeaweedFS", err)
	a := s3admin.Access{User: "cosi-u", AccessKeyID: "MYKEYID1234", SecretAccessKey: "my+secret/with=chars&more"}
	admintest.MustNil(t, "createAccessKey", c.ic.CreateAccessKey(context.Background(), a))
	mu.Lock()
	defer mu.Unlock()
	if form.Get("Action") != "CreateAccessKey" || form.Get("UserName") != a.User ||
		form.Get("AccessKeyId") != a.AccessKeyID || form.Get("SecretAccessKey") != a.SecretAccessKey {
		t.Fatalf("form sent: Action=%q UserName=%q AccessKeyId=%q secret match=%v", form.Get("Action"),
			form.Get("UserName"), form.Get("AccessKeyId"), form.Get("SecretAccessKey") == a.SecretAccessKey)
	}
}

// TestOldServerIgnoringSuppliedKey: a server that generates its own key
// instead is reported, and its key deleted again.
func TestOldServerIgnoringSuppliedKey(t *testing.T) {
	var mu sync.Mutex
	var actions []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		actions = append(actions, r.PostForm.Get("Action")+":"+r.PostForm.Get("AccessKeyId"))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		if r.PostForm.Get("Action") == "CreateAccessKey" {
			fmt.Fprint(w, `<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey><UserName>cosi-u</UserName>`+
				`<AccessKeyId>SERVERCHOSEN</AccessKeyId><Status>Active</Status><SecretAccessKey>x</SecretAccessKey>`+
				`</AccessKey></CreateAccessKeyResult></CreateAccessKeyResponse>`)
			return
		}
		fmt.Fprint(w, `<DeleteAccessKeyResponse></DeleteAccessKeyResponse>`)
	}))
	defer srv.Close()
	c, err := NewSeaweedFS(Config{Endpoint: srv.URL, AccessKeyID: "A", SecretAccessKey: "S"})
	admintest.MustNil(t, "NewSeaweedFS", err)
	err = c.ic.CreateAccessKey(context.Background(), s3admin.Access{User: "cosi-u", AccessKeyID: "MYKEYID1234", SecretAccessKey: "secret123"})
	admintest.MustIs(t, "createAccessKey", err, s3admin.ErrInvalid)
	mu.Lock()
	defer mu.Unlock()
	if len(actions) != 2 || actions[1] != "DeleteAccessKey:SERVERCHOSEN" {
		t.Fatalf("requests %v, want the server's key deleted", actions)
	}
}

// TestCallTimeoutAndUnreachable: a hanging or absent store yields
// ErrTransient within the per-call timeout.
func TestCallTimeoutAndUnreachable(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer fail.Close()
	port, err := stack.FreePort()
	admintest.MustNil(t, "FreePort", err)
	closed := fmt.Sprintf("http://127.0.0.1:%d", port)

	for name, endpoint := range map[string]string{"hanging": hang.URL, "503": fail.URL, "nothing listening": closed} {
		t.Run(name, func(t *testing.T) {
			c, err := NewSeaweedFS(Config{Endpoint: endpoint, AccessKeyID: "A", SecretAccessKey: "S",
				CallTimeout: 300 * time.Millisecond, MaxAttempts: 2})
			admintest.MustNil(t, "NewSeaweedFS", err)
			start := time.Now()
			_, err = c.ObserveBucket(context.Background(), "some-bucket", admintest.Own)
			if !s3admin.IsTransient(err) {
				t.Fatalf("ObserveBucket: %v, want transient", err)
			}
			_, err = c.ObserveUser(context.Background(), "cosi-x")
			if !s3admin.IsTransient(err) {
				t.Fatalf("ObserveUser: %v, want transient", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %s despite a 300ms call timeout", d)
			}
			if err := c.CheckAnonymousDenied(context.Background()); !s3admin.IsTransient(err) {
				t.Fatalf("CheckAnonymousDenied: %v, want transient", err)
			}
		})
	}
}

// TestMisconfiguredServers runs the client against a SeaweedFS with IAM
// writes left disabled and one with no identity at all. The first one also
// refuses non-empty bucket deletes (-s3.allowDeleteBucketNotEmpty=false), the
// setting operators should use, so purge has to empty buckets itself.
func TestMisconfiguredServers(t *testing.T) {
	var readOnly, open *stack.Seaweed
	var roErr, openErr error
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wg.Go(func() {
		readOnly, roErr = stack.StartSeaweed(ctx, stack.SeaweedOptions{IAMReadOnly: true, RefuseNonEmptyBucketDelete: true})
	})
	wg.Go(func() { open, openErr = stack.StartSeaweed(ctx, stack.SeaweedOptions{NoAdminIdentity: true}) })
	wg.Wait()
	for _, s := range []*stack.Seaweed{readOnly, open} {
		if s != nil {
			t.Cleanup(s.Stop)
		}
	}
	admintest.MustNil(t, "start read-only SeaweedFS", roErr)
	admintest.MustNil(t, "start open SeaweedFS", openErr)

	t.Run("IAM writes disabled: ErrAccessDenied naming the flag", func(t *testing.T) {
		c, err := NewSeaweedFS(Config{Endpoint: readOnly.Endpoint, AccessKeyID: readOnly.AccessKey,
			SecretAccessKey: readOnly.SecretKey})
		admintest.MustNil(t, "NewSeaweedFS", err)
		admintest.MustNil(t, "CheckAnonymousDenied", c.CheckAnonymousDenied(ctx))
		admintest.MustNil(t, "CreateBucket", c.CreateBucket(ctx, "ro-bucket", admintest.Own, s3admin.CreateOptions{}))
		a := s3admin.Access{User: "cosi-ro", Bucket: "ro-bucket", Mode: s3admin.ModeReadOnly, BucketOwner: admintest.Own}
		a.AccessKeyID, a.SecretAccessKey, _ = s3admin.GenerateCredentials()
		_, err = c.EnsureAccess(ctx, a)
		admintest.MustIs(t, "EnsureAccess", err, s3admin.ErrAccessDenied)
		if !strings.Contains(err.Error(), "-s3.iam.readOnly=false") {
			t.Fatalf("error does not name the flag: %v", err)
		}
		if s3admin.IsTransient(err) {
			t.Fatal("a disabled IAM API is not transient")
		}
		if strings.Contains(err.Error(), a.SecretAccessKey) {
			t.Fatal("error contains the secret")
		}
		t.Logf("error: %v", err)
	})
	t.Run("IAM writes disabled: CheckUserWrites names the flag, on the IAM query API path only", func(t *testing.T) {
		c, err := NewSeaweedFS(Config{Endpoint: readOnly.Endpoint, AccessKeyID: readOnly.AccessKey,
			SecretAccessKey: readOnly.SecretKey})
		admintest.MustNil(t, "NewSeaweedFS", err)
		err = c.CheckUserWrites(ctx)
		admintest.MustIs(t, "CheckUserWrites", err, s3admin.ErrAccessDenied)
		for _, want := range []string{"-s3.iam.readOnly=false", "-iam.readOnly=false"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not name %s: %v", want, err)
			}
		}
		t.Logf("error: %v", err)
	})
	newClient := func(t *testing.T) *SeaweedFS {
		c, err := NewSeaweedFS(Config{Endpoint: readOnly.Endpoint, AccessKeyID: readOnly.AccessKey,
			SecretAccessKey: readOnly.SecretKey})
		admintest.MustNil(t, "NewSeaweedFS", err)
		return c
	}
	raw := readOnly.S3Client()
	put := func(t *testing.T, b, k string) {
		t.Helper()
		admintest.MustNil(t, "PutObject", s3check.Put(ctx, raw, b, k, "data"))
	}
	t.Run("purge empties a bucket itself when the server refuses non-empty deletes", func(t *testing.T) {
		c := newClient(t)
		const b = "purge-me"
		admintest.MustNil(t, "CreateBucket", c.CreateBucket(ctx, b, admintest.Own, s3admin.CreateOptions{}))
		put(t, b, "a")
		put(t, b, "dir/b")
		put(t, b, "dir/sub/c")
		_, err := raw.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("upload")})
		admintest.MustNil(t, "CreateMultipartUpload", err)
		admintest.MustIs(t, "DeleteBucket without purge", c.DeleteBucket(ctx, b, admintest.Own, false), s3admin.ErrNotEmpty)
		w := c.Writes()
		admintest.MustNil(t, "DeleteBucket with purge", c.DeleteBucket(ctx, b, admintest.Own, true))
		// Refused DeleteBucket, DeleteObjects, AbortMultipartUpload, DeleteBucket.
		if n := c.Writes() - w; n < 4 {
			t.Fatalf("purge made %d writes: the server did not refuse, so emptying was not exercised", n)
		}
		st, err := c.ObserveBucket(ctx, b, admintest.Own)
		admintest.MustNil(t, "ObserveBucket", err)
		if st.Exists {
			t.Fatal("bucket still exists after purge")
		}
	})
	t.Run("DeleteBucket of a bucket its user emptied removes the leftover folders", func(t *testing.T) {
		c := newClient(t)
		const b = "emptied"
		admintest.MustNil(t, "CreateBucket", c.CreateBucket(ctx, b, admintest.Own, s3admin.CreateOptions{}))
		put(t, b, "dir/sub/c")
		admintest.MustNil(t, "DeleteObject", s3check.Delete(ctx, raw, b, "dir/sub/c"))
		admintest.MustNil(t, "DeleteBucket", c.DeleteBucket(ctx, b, admintest.Own, false))
		st, err := c.ObserveBucket(ctx, b, admintest.Own)
		admintest.MustNil(t, "ObserveBucket", err)
		if st.Exists {
			t.Fatal("bucket still exists")
		}
	})
	t.Run("versions, delete markers and uploads count as data", func(t *testing.T) {
		// Why DeleteBucket checks emptiness itself even when operators set
		// -s3.allowDeleteBucketNotEmpty=false: SeaweedFS 4.39 skips the
		// .versions and .uploads folders when it checks, so it deletes a
		// versioned bucket with all its data.
		c := newClient(t)
		const b = "versioned"
		admintest.MustNil(t, "CreateBucket", c.CreateBucket(ctx, b, admintest.Own, s3admin.CreateOptions{}))
		_, err := raw.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
		admintest.MustNil(t, "PutBucketVersioning", err)
		put(t, b, "k")
		put(t, b, "k")
		admintest.MustNil(t, "DeleteObject (delete marker)", s3check.Delete(ctx, raw, b, "k"))
		st, err := c.ObserveBucket(ctx, b, admintest.Own)
		admintest.MustNil(t, "ObserveBucket", err)
		if st.Empty {
			t.Fatal("a bucket with noncurrent versions and a delete marker reads as empty")
		}
		admintest.MustIs(t, "DeleteBucket without purge", c.DeleteBucket(ctx, b, admintest.Own, false), s3admin.ErrNotEmpty)
		// Suspending versioning keeps the versions: still data.
		_, err = raw.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}})
		admintest.MustNil(t, "PutBucketVersioning (suspend)", err)
		if st, err := c.ObserveBucket(ctx, b, admintest.Own); err != nil || st.Empty {
			t.Fatalf("a bucket whose versioning was suspended reads as %+v, %v; want not empty", st, err)
		}
		put(t, b, "current")
		admintest.MustIs(t, "DeleteBucket without purge", c.DeleteBucket(ctx, b, admintest.Own, false), s3admin.ErrNotEmpty)
		_, err = raw.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)})
		if err == nil {
			t.Log("confirmed: the server deleted a versioned bucket holding a current object despite -s3.allowDeleteBucketNotEmpty=false")
		} else {
			t.Logf("the server refused (%v): its check now covers versioned buckets", err)
		}

		const u = "uploads-only"
		admintest.MustNil(t, "CreateBucket", c.CreateBucket(ctx, u, admintest.Own, s3admin.CreateOptions{}))
		_, err = raw.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(u), Key: aws.String("upload")})
		admintest.MustNil(t, "CreateMultipartUpload", err)
		admintest.MustIs(t, "DeleteBucket of a bucket with an unfinished upload", c.DeleteBucket(ctx, u, admintest.Own, false), s3admin.ErrNotEmpty)
		admintest.MustNil(t, "DeleteBucket with purge", c.DeleteBucket(ctx, u, admintest.Own, true))
	})
	t.Run("no identity: CheckAnonymousDenied returns ErrAnonymousAllowed", func(t *testing.T) {
		c, err := NewSeaweedFS(Config{Endpoint: open.Endpoint, AccessKeyID: "ANY", SecretAccessKey: "anysecret"})
		admintest.MustNil(t, "NewSeaweedFS", err)
		err = c.CheckAnonymousDenied(ctx)
		admintest.MustIs(t, "CheckAnonymousDenied", err, s3admin.ErrAnonymousAllowed)
		t.Logf("error: %v", err)
	})
}
