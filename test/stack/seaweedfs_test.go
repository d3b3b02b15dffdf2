package stack

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

// startSeaweedForTest starts a private SeaweedFS for one test and stops it at
// the end, dumping its log if the test failed.
func startSeaweedForTest(t *testing.T, opts SeaweedOptions) *Seaweed {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sw, err := StartSeaweed(ctx, opts)
	if err != nil {
		t.Fatalf("StartSeaweed: %v", err)
	}
	t.Logf("SeaweedFS S3 ready at %s in %s", sw.Endpoint, sw.StartDuration.Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			var b bytes.Buffer
			sw.DumpLogs(&b)
			t.Log(b.String())
		}
		sw.Stop()
	})
	return sw
}

func TestSeaweedServesS3WithAdminCredentials(t *testing.T) {
	if shared == nil || shared.Seaweed == nil {
		t.Fatal("the shared stack has no SeaweedFS")
	}
	sw := shared.Seaweed
	t.Logf("shared SeaweedFS S3 at %s was ready in %s", sw.Endpoint, sw.StartDuration.Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := sw.S3Client()

	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("stack-seaweed-test")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	const body = "hello from the stack test"
	if err := s3check.Put(ctx, client, "stack-seaweed-test", "dir/object.txt", body); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	got, err := s3check.Get(ctx, client, "stack-seaweed-test", "dir/object.txt")
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	if got != body {
		t.Fatalf("object body = %q, want %q", got, body)
	}

	t.Run("anonymous requests are denied", func(t *testing.T) {
		anon := NewS3Client(sw.Endpoint, sw.Region, "", "", func(o *s3.Options) {
			o.Credentials = aws.AnonymousCredentials{}
			o.RetryMaxAttempts = 1
		})
		_, err := anon.ListBuckets(ctx, &s3.ListBucketsInput{})
		s3check.RequireDenied(t, "anonymous ListBuckets", err)
		_, err = s3check.Get(ctx, anon, "stack-seaweed-test", "dir/object.txt")
		s3check.RequireDenied(t, "anonymous GetObject", err)
		s3check.RequireDenied(t, "anonymous PutObject", s3check.Put(ctx, anon, "stack-seaweed-test", "anon.txt", "x"))
	})

	t.Run("wrong secret is rejected", func(t *testing.T) {
		bad := NewS3Client(sw.Endpoint, sw.Region, sw.AccessKey, sw.SecretKey+"x", func(o *s3.Options) { o.RetryMaxAttempts = 1 })
		_, err := bad.ListBuckets(ctx, &s3.ListBucketsInput{})
		s3check.RequireRejected(t, "ListBuckets with a wrong secret", err)
	})

	t.Run("every listening socket is on 127.0.0.1", func(t *testing.T) {
		addrs, err := listeningAddrs(sw.PID())
		if err != nil {
			t.Skipf("cannot inspect sockets: %v", err)
		}
		if len(addrs) < 8 {
			t.Errorf("found %d listening sockets, want at least 8 (4 HTTP + 4 gRPC): %v", len(addrs), addrs)
		}
		for _, a := range addrs {
			if !strings.HasPrefix(a, "127.0.0.1:") {
				t.Errorf("SeaweedFS listens on %s, want only 127.0.0.1", a)
			}
		}
		t.Logf("listening: %v", addrs)
	})
}

func TestSeaweedRestartKeepsState(t *testing.T) {
	sw := startSeaweedForTest(t, SeaweedOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	client := sw.S3Client()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("survives")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if err := s3check.Put(ctx, client, "survives", "k", "v"); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	// An IAM user with a key and a policy, created through the IAM API.
	ic := iam.New(iam.Options{Region: sw.Region, BaseEndpoint: aws.String(sw.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(sw.AccessKey, sw.SecretKey, "")})
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("reader")}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("reader"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::survives/*"]}]}`)}); err != nil {
		t.Fatalf("PutUserPolicy: %v", err)
	}
	key, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("reader")})
	if err != nil {
		t.Fatalf("CreateAccessKey: %v", err)
	}
	reader := func() *s3.Client {
		return NewS3Client(sw.Endpoint, sw.Region, aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey),
			func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	}
	// SeaweedFS reloads the identities its S3 authentication uses after each
	// IAM write, asynchronously: a fresh key may be unknown for a moment.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, err := s3check.Get(ctx, reader(), "survives", "k")
		if err == nil {
			break
		}
		if s3check.ErrorCode(err) != "InvalidAccessKeyId" || time.Now().After(deadline) {
			t.Fatalf("GetObject as the IAM user: %v", err)
		}
	}

	oldPID := sw.PID()
	began := time.Now()
	if err := sw.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	t.Logf("restart after SIGKILL took %s", time.Since(began).Round(time.Millisecond))
	if sw.PID() == oldPID {
		t.Fatalf("Restart kept pid %d", oldPID)
	}
	got, err := s3check.Get(ctx, sw.S3Client(), "survives", "k")
	if err != nil {
		t.Fatalf("GetObject after restart: %v", err)
	}
	if got != "v" {
		t.Fatalf("object after restart = %q, want %q", got, "v")
	}
	if _, err := s3check.Get(ctx, reader(), "survives", "k"); err != nil {
		t.Fatalf("GetObject as the IAM user after restart: %v", err)
	}
}

// listeningAddrs returns the local addresses of the TCP sockets in LISTEN
// state that process pid holds, read from /proc.
func listeningAddrs(pid int) ([]string, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	var addrs []string
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(fields) < 10 || fields[3] != "0A" || !inodes[fields[9]] {
				continue
			}
			addrs = append(addrs, decodeProcAddr(fields[1]))
		}
		f.Close()
	}
	return addrs, nil
}

// decodeProcAddr turns /proc/net/tcp's "0100007F:1F90" into "127.0.0.1:8080";
// IPv6 addresses are returned as hex, which never matches the 127.0.0.1 check.
func decodeProcAddr(s string) string {
	host, port, _ := strings.Cut(s, ":")
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return s
	}
	if len(host) == 8 {
		var b [4]uint64
		for i := range 4 {
			if b[i], err = strconv.ParseUint(host[2*(3-i):2*(3-i)+2], 16, 8); err != nil {
				return s
			}
		}
		return fmt.Sprintf("%d.%d.%d.%d:%d", b[0], b[1], b[2], b[3], p)
	}
	return fmt.Sprintf("[%s]:%d", host, p)
}

// A filer signing key guards the filer's HTTP writes as well as its IAM gRPC
// service: a write without a token is refused, while the S3 gateway of the
// same process, which signs its own filer writes with the key, still
// serves reads and writes.
func TestSeaweedWithFilerJWTKey(t *testing.T) {
	key := "filer-signing-key-" + randomString(16, upperLowerDigits)
	sw := startSeaweedForTest(t, SeaweedOptions{FilerJWTKey: key})
	if sw.FilerJWTKey != key {
		t.Fatal("the stack does not report its filer signing key")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := sw.S3Client()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("signed")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if err := s3check.Put(ctx, client, "signed", "dir/k", "v"); err != nil {
		t.Fatalf("PutObject through the S3 gateway: %v", err)
	}
	if got, err := s3check.Get(ctx, client, "signed", "dir/k"); err != nil || got != "v" {
		t.Fatalf("GetObject through the S3 gateway = %q, %v", got, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sw.FilerURL()+"/unsigned/file.txt", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("filer HTTP write: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("filer HTTP write without a token answered %d, want %d", resp.StatusCode, http.StatusUnauthorized)
	}
}
