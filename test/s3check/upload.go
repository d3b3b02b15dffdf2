package s3check

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MarkerPut writes the directory marker dir (a key ending in "/") as the
// tenant. SeaweedFS makes a missing bucket for it without recording a
// creator: the tenant needs s3:PutObject only.
func (tn *Tenant) MarkerPut(ctx context.Context, bucket, dir string) error {
	if !strings.HasSuffix(dir, "/") {
		return fmt.Errorf("directory marker %q does not end in /", dir)
	}
	_, err := tn.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(dir), Body: bytes.NewReader(nil)})
	if err != nil {
		return fmt.Errorf("tenant PutObject(%s/%s): %w", bucket, dir, err)
	}
	return nil
}

// FormPost uploads body as key by a browser-form POST (an S3 POST policy
// signed with the tenant's key), which SeaweedFS also accepts into a
// missing bucket, making it without recording a creator.
func (tn *Tenant) FormPost(ctx context.Context, bucket, key, body string) error {
	return FormPost(ctx, tn.Endpoint, tn.Region, tn.AccessKey, tn.SecretKey, bucket, key, body)
}

// FormPost uploads body as key into bucket at endpoint by a browser-form
// POST, signed (AWS signature version 4 POST policy) with the given key.
func FormPost(ctx context.Context, endpoint, region, accessKey, secretKey, bucket, key, body string) error {
	now := time.Now().UTC()
	day := now.Format("20060102")
	credential := accessKey + "/" + day + "/" + region + "/s3/aws4_request"
	amzDate := now.Format("20060102T150405Z")
	policy, err := json.Marshal(map[string]any{
		"expiration": now.Add(10 * time.Minute).Format("2006-01-02T15:04:05.000Z"),
		"conditions": []any{
			map[string]string{"bucket": bucket},
			[]string{"eq", "$key", key},
			map[string]string{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
			map[string]string{"x-amz-credential": credential},
			map[string]string{"x-amz-date": amzDate},
		},
	})
	if err != nil {
		return err
	}
	encoded := base64.StdEncoding.EncodeToString(policy)
	signingKey := []byte("AWS4" + secretKey)
	for _, part := range []string{day, region, "s3", "aws4_request"} {
		signingKey = hmacSHA256(signingKey, part)
	}
	var form bytes.Buffer
	w := multipart.NewWriter(&form)
	for _, f := range [][2]string{
		{"key", key}, {"policy", encoded}, {"x-amz-algorithm", "AWS4-HMAC-SHA256"}, {"x-amz-credential", credential},
		{"x-amz-date", amzDate}, {"x-amz-signature", hex.EncodeToString(hmacSHA256(signingKey, encoded))},
	} {
		if err := w.WriteField(f[0], f[1]); err != nil {
			return err
		}
	}
	// The file comes last: S3 ignores the fields after it.
	fw, err := w.CreateFormFile("file", "upload")
	if err != nil {
		return err
	}
	if _, err := io.WriteString(fw, body); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+"/"+bucket, &form)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s/%s: %w", bucket, key, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s/%s: HTTP %d: %s", bucket, key, resp.StatusCode, answer)
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// AwaitBucket waits until the tenant's S3 requests see bucket. A bucket made
// by an upload into a missing bucket is written through the filer, and the
// gateway's bucket cache (which remembers missing buckets too) learns of it
// asynchronously: until then bucket requests answer NoSuchBucket.
func (tn *Tenant) AwaitBucket(ctx context.Context, bucket string) error {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, err := tn.S3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
		if ErrorCode(err) != "NoSuchBucket" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bucket %s made by an upload is still unknown to the gateway: %w", bucket, err)
		}
	}
}
