package s3admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
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
			err := classify("Op", &smithy.OperationError{ServiceID: "S", OperationName: "Op", Err: c.err})
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
	if classify("Op", nil) != nil {
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

func TestPolicyRecognition(t *testing.T) {
	for _, m := range []Mode{ModeReadWrite, ModeReadOnly, ModeWriteOnly} {
		doc, err := PolicyDocument("bucket-1", m)
		mustNil(t, "PolicyDocument", err)
		if strings.Contains(doc, "*\"") && !strings.Contains(doc, "bucket-1/*") {
			t.Fatalf("wildcard in %s", doc)
		}
		for _, a := range modeActions[m] {
			if strings.Contains(a, "*") {
				t.Fatalf("wildcard action %s", a)
			}
		}
		b, got, ok := recognisePolicy(doc)
		if !ok || b != "bucket-1" || got != m {
			t.Fatalf("recognise(%s) = %q %q %v", m, b, got, ok)
		}
		b, got, ok = recognisePolicy(url.QueryEscape(doc))
		if !ok || b != "bucket-1" || got != m {
			t.Fatalf("URL-encoded document not recognised")
		}
	}
	// The same policy written differently is still recognised.
	same := `{"Statement":{"Resource":["arn:aws:s3:::bb1/*","arn:aws:s3:::bb1"],"Effect":"Allow","Sid":"",` +
		`"Action":["s3:ListBucket","s3:GetObject","s3:GetBucketLocation","s3:GetObject"]},"Version":"2012-10-17"}`
	if b, m, ok := recognisePolicy(same); !ok || b != "bb1" || m != ModeReadOnly {
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
		if b, m, ok := recognisePolicy(doc); ok {
			t.Errorf("%s: recognised as %q %q", name, b, m)
		}
	}
}

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
	mustNil(t, "NewSeaweedFS", err)
	a := Access{User: "cosi-u", AccessKeyID: "MYKEYID1234", SecretAccessKey: "my+secret/with=chars&more"}
	mustNil(t, "createAccessKey", c.createAccessKey(context.Background(), a))
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
	mustNil(t, "NewSeaweedFS", err)
	err = c.createAccessKey(context.Background(), Access{User: "cosi-u", AccessKeyID: "MYKEYID1234", SecretAccessKey: "secret123"})
	mustIs(t, "createAccessKey", err, ErrInvalid)
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
	mustNil(t, "FreePort", err)
	closed := fmt.Sprintf("http://127.0.0.1:%d", port)

	for name, endpoint := range map[string]string{"hanging": hang.URL, "503": fail.URL, "nothing listening": closed} {
		t.Run(name, func(t *testing.T) {
			c, err := NewSeaweedFS(Config{Endpoint: endpoint, AccessKeyID: "A", SecretAccessKey: "S",
				CallTimeout: 300 * time.Millisecond, MaxAttempts: 2})
			mustNil(t, "NewSeaweedFS", err)
			start := time.Now()
			_, err = c.ObserveBucket(context.Background(), "some-bucket", testOwn)
			if !IsTransient(err) {
				t.Fatalf("ObserveBucket: %v, want transient", err)
			}
			_, err = c.ObserveUser(context.Background(), "cosi-x")
			if !IsTransient(err) {
				t.Fatalf("ObserveUser: %v, want transient", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %s despite a 300ms call timeout", d)
			}
			if err := c.CheckAnonymousDenied(context.Background()); !IsTransient(err) {
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
	mustNil(t, "start read-only SeaweedFS", roErr)
	mustNil(t, "start open SeaweedFS", openErr)

	t.Run("IAM writes disabled: ErrAccessDenied naming the flag", func(t *testing.T) {
		c, err := NewSeaweedFS(Config{Endpoint: readOnly.Endpoint, AccessKeyID: readOnly.AccessKey,
			SecretAccessKey: readOnly.SecretKey})
		mustNil(t, "NewSeaweedFS", err)
		mustNil(t, "CheckAnonymousDenied", c.CheckAnonymousDenied(ctx))
		mustNil(t, "CreateBucket", c.CreateBucket(ctx, "ro-bucket", testOwn))
		a := Access{User: "cosi-ro", Bucket: "ro-bucket", Mode: ModeReadOnly, BucketOwner: testOwn}
		a.AccessKeyID, a.SecretAccessKey, _ = GenerateCredentials()
		_, err = c.EnsureAccess(ctx, a)
		mustIs(t, "EnsureAccess", err, ErrAccessDenied)
		if !strings.Contains(err.Error(), "-s3.iam.readOnly=false") {
			t.Fatalf("error does not name the flag: %v", err)
		}
		if IsTransient(err) {
			t.Fatal("a disabled IAM API is not transient")
		}
		if strings.Contains(err.Error(), a.SecretAccessKey) {
			t.Fatal("error contains the secret")
		}
		t.Logf("error: %v", err)
	})
	newClient := func(t *testing.T) *SeaweedFS {
		c, err := NewSeaweedFS(Config{Endpoint: readOnly.Endpoint, AccessKeyID: readOnly.AccessKey,
			SecretAccessKey: readOnly.SecretKey})
		mustNil(t, "NewSeaweedFS", err)
		return c
	}
	raw := readOnly.S3Client()
	put := func(t *testing.T, b, k string) {
		t.Helper()
		mustNil(t, "PutObject", s3check.Put(ctx, raw, b, k, "data"))
	}
	t.Run("purge empties a bucket itself when the server refuses non-empty deletes", func(t *testing.T) {
		c := newClient(t)
		const b = "purge-me"
		mustNil(t, "CreateBucket", c.CreateBucket(ctx, b, testOwn))
		put(t, b, "a")
		put(t, b, "dir/b")
		put(t, b, "dir/sub/c")
		_, err := raw.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("upload")})
		mustNil(t, "CreateMultipartUpload", err)
		mustIs(t, "DeleteBucket without purge", c.DeleteBucket(ctx, b, testOwn, false), ErrNotEmpty)
		w := c.Writes()
		mustNil(t, "DeleteBucket with purge", c.DeleteBucket(ctx, b, testOwn, true))
		// Refused DeleteBucket, DeleteObjects, AbortMultipartUpload, DeleteBucket.
		if n := c.Writes() - w; n < 4 {
			t.Fatalf("purge made %d writes: the server did not refuse, so emptying was not exercised", n)
		}
		st, err := c.ObserveBucket(ctx, b, testOwn)
		mustNil(t, "ObserveBucket", err)
		if st.Exists {
			t.Fatal("bucket still exists after purge")
		}
	})
	t.Run("DeleteBucket of a bucket its user emptied removes the leftover folders", func(t *testing.T) {
		c := newClient(t)
		const b = "emptied"
		mustNil(t, "CreateBucket", c.CreateBucket(ctx, b, testOwn))
		put(t, b, "dir/sub/c")
		mustNil(t, "DeleteObject", s3check.Delete(ctx, raw, b, "dir/sub/c"))
		mustNil(t, "DeleteBucket", c.DeleteBucket(ctx, b, testOwn, false))
		st, err := c.ObserveBucket(ctx, b, testOwn)
		mustNil(t, "ObserveBucket", err)
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
		mustNil(t, "CreateBucket", c.CreateBucket(ctx, b, testOwn))
		_, err := raw.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
		mustNil(t, "PutBucketVersioning", err)
		put(t, b, "k")
		put(t, b, "k")
		mustNil(t, "DeleteObject (delete marker)", s3check.Delete(ctx, raw, b, "k"))
		st, err := c.ObserveBucket(ctx, b, testOwn)
		mustNil(t, "ObserveBucket", err)
		if st.Empty {
			t.Fatal("a bucket with noncurrent versions and a delete marker reads as empty")
		}
		mustIs(t, "DeleteBucket without purge", c.DeleteBucket(ctx, b, testOwn, false), ErrNotEmpty)
		// Suspending versioning keeps the versions: still data.
		_, err = raw.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}})
		mustNil(t, "PutBucketVersioning (suspend)", err)
		if st, err := c.ObserveBucket(ctx, b, testOwn); err != nil || st.Empty {
			t.Fatalf("a bucket whose versioning was suspended reads as %+v, %v; want not empty", st, err)
		}
		put(t, b, "current")
		mustIs(t, "DeleteBucket without purge", c.DeleteBucket(ctx, b, testOwn, false), ErrNotEmpty)
		_, err = raw.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)})
		if err == nil {
			t.Log("confirmed: the server deleted a versioned bucket holding a current object despite -s3.allowDeleteBucketNotEmpty=false")
		} else {
			t.Logf("the server refused (%v): its check now covers versioned buckets", err)
		}

		const u = "uploads-only"
		mustNil(t, "CreateBucket", c.CreateBucket(ctx, u, testOwn))
		_, err = raw.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(u), Key: aws.String("upload")})
		mustNil(t, "CreateMultipartUpload", err)
		mustIs(t, "DeleteBucket of a bucket with an unfinished upload", c.DeleteBucket(ctx, u, testOwn, false), ErrNotEmpty)
		mustNil(t, "DeleteBucket with purge", c.DeleteBucket(ctx, u, testOwn, true))
	})
	t.Run("no identity: CheckAnonymousDenied returns ErrAnonymousAllowed", func(t *testing.T) {
		c, err := NewSeaweedFS(Config{Endpoint: open.Endpoint, AccessKeyID: "ANY", SecretAccessKey: "anysecret"})
		mustNil(t, "NewSeaweedFS", err)
		err = c.CheckAnonymousDenied(ctx)
		mustIs(t, "CheckAnonymousDenied", err, ErrAnonymousAllowed)
		t.Logf("error: %v", err)
	})
}
