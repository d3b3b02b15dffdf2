package seaweedfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
)

// probeAnonymous sends unsigned requests to bucket: GetObject of a key that
// does not exist (404 proves the read was allowed: only an authorized
// request learns that the key is missing, and nothing is read where reading
// is allowed), ListObjectsV2, and PutObject of a probe key (see
// probeAnonymousWrite). Each answer is judged by its status alone: 2xx or
// 404 is allowed, 401/403 refused; anything else is a transient error.
func (c *SeaweedFS) probeAnonymous(ctx context.Context, bucket string) (s3admin.AnonymousAccess, error) {
	var got s3admin.AnonymousAccess
	base := strings.TrimSuffix(c.cfg.Endpoint, "/") + "/" + url.PathEscape(bucket)
	var err error
	if got.Read, _, err = c.unsigned(ctx, http.MethodGet, base+"/cosi-seaweedfs-anonymous-probe-"+randomSuffix(), nil); err != nil {
		return got, err
	}
	if got.List, _, err = c.unsigned(ctx, http.MethodGet, base+"?list-type=2&max-keys=1", nil); err != nil {
		return got, err
	}
	got.Write, err = c.probeAnonymousWrite(ctx, bucket, base)
	return got, err
}

// probeObject is an object an unsigned write of the check made.
type probeObject struct{ bucket, key, version string }

// probeLeftovers holds the objects of the check's unsigned writes that could
// not be deleted, to be deleted by the next checks.
type probeLeftovers struct {
	mu   sync.Mutex
	objs []probeObject
}

// deleteProbeObject deletes o with the admin credentials; an object or
// bucket already gone is deleted.
func (c *SeaweedFS) deleteProbeObject(ctx context.Context, o probeObject) error {
	in := &s3.DeleteObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(o.key)}
	if o.version != "" {
		in.VersionId = aws.String(o.version)
	}
	err := c.Write(ctx, "DeleteObject", func(ctx context.Context) error {
		_, err := c.s3.DeleteObject(ctx, in)
		return err
	})
	if errors.Is(err, s3admin.ErrNotFound) {
		return nil
	}
	return err
}

// retryLeftovers deletes the objects earlier checks could not; those it
// cannot delete either stay left.
func (c *SeaweedFS) retryLeftovers(ctx context.Context) {
	c.leftovers.mu.Lock()
	objs := c.leftovers.objs
	c.leftovers.objs = nil
	c.leftovers.mu.Unlock()
	for _, o := range objs {
		if c.deleteProbeObject(ctx, o) != nil {
			c.leaveBehind(o)
		}
	}
}

func (c *SeaweedFS) leaveBehind(o probeObject) {
	c.leftovers.mu.Lock()
	defer c.leftovers.mu.Unlock()
	c.leftovers.objs = append(c.leftovers.objs, o)
}

// leftoverNames names the objects left, as bucket/key.
func (c *SeaweedFS) leftoverNames() []string {
	c.leftovers.mu.Lock()
	defer c.leftovers.mu.Unlock()
	var names []string
	for _, o := range c.leftovers.objs {
		names = append(names, o.bucket+"/"+o.key)
	}
	return names
}

// anonymousWriteProbePrefix begins the key of every unsigned write the
// anonymous check makes: a name reserved to the driver (README, "What is
// guaranteed"), which tells anyone who sees such an object what it is.
const anonymousWriteProbePrefix = "cosi-seaweedfs-anonymous-write-probe-"

// probeAnonymousWrite sends an unsigned PutObject of an empty object to
// bucket and reports whether SeaweedFS let it through; what it wrote, it
// deletes at once with the admin credentials.
//
// The buckets sampled hold tenants' data, so the write is made never to
// touch it, nor to leave anything in it:
//   - the key is the reserved prefix and a random suffix: no tenant's object
//     bears it, and two checks never write the same key;
//   - the PUT carries If-None-Match: *, so that even an object of that name
//     would not be replaced. SeaweedFS authorizes a request before it
//     evaluates its conditions, so 412 still proves the write allowed; then
//     the probe wrote nothing and deletes nothing;
//   - the delete names the version the PUT created (x-amz-version-id): in a
//     versioned bucket, a delete without it would only lay a delete marker
//     over the probe's object and keep both.
//
// The object exists for the few milliseconds between the two calls, and
// only where anonymous writes are allowed, which the check then reports. One
// whose delete fails is kept, deleted by the next checks and named in
// their results (AnonymousAccess.Left) until it is gone.
func (c *SeaweedFS) probeAnonymousWrite(ctx context.Context, bucket, base string) (bool, error) {
	key := anonymousWriteProbePrefix + randomSuffix()
	allowed, resp, err := c.unsigned(ctx, http.MethodPut, base+"/"+key, http.Header{"If-None-Match": {"*"}})
	if err != nil || !allowed || resp.StatusCode/100 != 2 {
		return allowed, err
	}
	o := probeObject{bucket: bucket, key: key, version: resp.Header.Get("x-amz-version-id")}
	if err := c.deleteProbeObject(ctx, o); err != nil {
		c.leaveBehind(o)
	}
	return true, nil
}

// unsigned sends one request without credentials and reports whether
// SeaweedFS let it through, with its answer (body drained).
func (c *SeaweedFS) unsigned(ctx context.Context, method, u string, header http.Header) (bool, *http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	var body io.Reader
	if method == http.MethodPut {
		body = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return false, nil, fmt.Errorf("%w: probe request: %w", s3admin.ErrInvalid, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	c.CallCount.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return false, nil, s3admin.NewError("anonymous "+method, s3admin.ErrTransient, "%w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2, resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusPreconditionFailed:
		return true, resp, nil
	case resp.StatusCode == http.StatusForbidden, resp.StatusCode == http.StatusUnauthorized:
		return false, resp, nil
	default:
		return false, resp, s3admin.NewError("anonymous "+method, s3admin.ErrTransient, "unexpected status %d", resp.StatusCode)
	}
}

// CheckAnonymousAccess implements Admin.
func (c *SeaweedFS) CheckAnonymousAccess(ctx context.Context, probe s3admin.Ownership, sample []string) (s3admin.AnonymousAccess, error) {
	name := names.ProbeBucket(probe.Owner)
	probe.Marker = names.ProbeMarker
	if err := c.CreateBucket(ctx, name, probe, s3admin.CreateOptions{}); err != nil {
		return s3admin.AnonymousAccess{}, fmt.Errorf("probe bucket %s: %w", name, err)
	}
	c.retryLeftovers(ctx)
	got, err := c.probeAnonymous(ctx, name)
	if err != nil {
		return got, err
	}
	// Grants scoped to bucket names (an anonymous identity with Read or
	// Write on bucket-*, say) miss the probe bucket: reads, lists and writes
	// are tried in some of the driver's own buckets too.
	for _, b := range sample {
		a, err := c.probeAnonymous(ctx, b)
		if err != nil {
			return got, err
		}
		got.Read, got.List, got.Write = got.Read || a.Read, got.List || a.List, got.Write || a.Write
	}
	got.Left = c.leftoverNames()
	return got, nil
}

func randomSuffix() string {
	s, err := s3admin.RandomString(12, "0123456789abcdef")
	if err != nil {
		return "x"
	}
	return s
}
