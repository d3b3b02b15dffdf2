package seaweedfs

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
)

// formUpload stores body under key in bucket the way a browser form does:
// a POST Object request carrying a signature v4 POST policy signed with the
// key id and secret. SeaweedFS serves it with a handler of its own, which
// checks the policy's signature and the identity's actions but never the
// bucket policy.
func formUpload(ctx context.Context, keyID, secret, bucket, key, body string) error {
	now := time.Now().UTC()
	day := now.Format("20060102")
	credential := strings.Join([]string{keyID, day, seaweed.Region, "s3", "aws4_request"}, "/")
	fields := [][2]string{
		{"key", key},
		{"x-amz-algorithm", "AWS4-HMAC-SHA256"},
		{"x-amz-credential", credential},
		{"x-amz-date", now.Format("20060102T150405Z")},
	}
	conditions := []any{map[string]string{"bucket": bucket}}
	for _, f := range fields {
		conditions = append(conditions, map[string]string{f[0]: f[1]})
	}
	doc, err := json.Marshal(map[string]any{
		"expiration": now.Add(10 * time.Minute).Format("2006-01-02T15:04:05.000Z"),
		"conditions": conditions,
	})
	if err != nil {
		return err
	}
	policy := base64.StdEncoding.EncodeToString(doc)
	signingKey := []byte("AWS4" + secret)
	for _, part := range []string{day, seaweed.Region, "s3", "aws4_request"} {
		signingKey = hmacSHA256(signingKey, part)
	}
	fields = append(fields, [2]string{"policy", policy}, [2]string{"x-amz-signature", hex.EncodeToString(hmacSHA256(signingKey, policy))})

	var form bytes.Buffer
	w := multipart.NewWriter(&form)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			return err
		}
	}
	// The file goes last: fields after it are not part of the form.
	file, err := w.CreateFormFile("file", "upload.txt")
	if err != nil {
		return err
	}
	if _, err := io.WriteString(file, body); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, seaweed.Endpoint+"/"+bucket, &form)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("form upload of %s/%s: %s: %s", bucket, key, resp.Status, answer)
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
