package seaweedfs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// probeAnonymous sends unsigned requests to bucket: GetObject of a key that
// does not exist (404 proves the read was allowed: only an authorized
// request learns that the key is missing, and nothing is read where reading
// is allowed), ListObjectsV2, and, if write is set, PutObject of a probe
// key. Each answer is judged by its status alone: 2xx or 404 is allowed,
// 401/403 refused; anything else is a transient error.
func (c *SeaweedFS) probeAnonymous(ctx context.Context, bucket string, write bool) (s3admin.AnonymousAccess, error) {
	var got s3admin.AnonymousAccess
	base := strings.TrimSuffix(c.cfg.Endpoint, "/") + "/" + url.PathEscape(bucket)
	var err error
	if got.Read, err = c.unsigned(ctx, http.MethodGet, base+"/cosi-seaweedfs-anonymous-probe-"+randomSuffix()); err != nil {
		return got, err
	}
	if got.List, err = c.unsigned(ctx, http.MethodGet, base+"?list-type=2&max-keys=1"); err != nil {
		return got, err
	}
	if write {
		const writeKey = "cosi-seaweedfs-anonymous-write-probe"
		if got.Write, err = c.unsigned(ctx, http.MethodPut, base+"/"+writeKey); err != nil {
			return got, err
		}
		if got.Write {
			// Anonymous could write: remove what the probe wrote.
			_ = c.Write(ctx, "DeleteObject", func(ctx context.Context) error {
				_, err := c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(writeKey)})
				return err
			})
		}
	}
	return got, nil
}

// unsigned sends one request without credentials and reports whether
// SeaweedFS let it through.
func (c *SeaweedFS) unsigned(ctx context.Context, method, u string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	var body io.Reader
	if method == http.MethodPut {
		body = strings.NewReader("probe")
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return false, fmt.Errorf("%w: probe request: %w", s3admin.ErrInvalid, err)
	}
	c.CallCount.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return false, s3admin.NewError("anonymous "+method, s3admin.ErrTransient, "%w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2, resp.StatusCode == http.StatusNotFound:
		return true, nil
	case resp.StatusCode == http.StatusForbidden, resp.StatusCode == http.StatusUnauthorized:
		return false, nil
	default:
		return false, s3admin.NewError("anonymous "+method, s3admin.ErrTransient, "unexpected status %d", resp.StatusCode)
	}
}

// CheckAnonymousAccess implements Admin.
func (c *SeaweedFS) CheckAnonymousAccess(ctx context.Context, probe s3admin.Ownership, sample []string) (s3admin.AnonymousAccess, error) {
	name := names.ProbeBucket(probe.Owner)
	probe.Marker = names.ProbeMarker
	if err := c.CreateBucket(ctx, name, probe); err != nil {
		return s3admin.AnonymousAccess{}, fmt.Errorf("probe bucket %s: %w", name, err)
	}
	got, err := c.probeAnonymous(ctx, name, true)
	if err != nil {
		return got, err
	}
	// Grants scoped to bucket names (an anonymous identity with Read on
	// bucket-*, say) miss the probe bucket: read and list are asked of some
	// of the driver's own buckets too.
	for _, b := range sample {
		a, err := c.probeAnonymous(ctx, b, false)
		if err != nil {
			return got, err
		}
		got.Read, got.List = got.Read || a.Read, got.List || a.List
	}
	return got, nil
}

func randomSuffix() string {
	s, err := s3admin.RandomString(12, "0123456789abcdef")
	if err != nil {
		return "x"
	}
	return s
}
