package s3admin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	"google.golang.org/grpc"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/crashpoint"
)

// Config configures the SeaweedFS client.
type Config struct {
	// Endpoint of the S3 gateway, which also serves the IAM API, e.g.
	// http://seaweedfs-s3:8333.
	Endpoint string
	// Region used to sign requests; default us-east-1.
	Region string
	// AccessKeyID and SecretAccessKey of an admin identity.
	AccessKeyID     string
	SecretAccessKey string
	// UserPrefix is the reserved name prefix of users the driver owns;
	// default DefaultUserPrefix.
	UserPrefix string
	// CallTimeout bounds every single backend call; default 10 s. An IAM
	// write in SeaweedFS rewrites every identity, so it grows with the number
	// of users.
	CallTimeout time.Duration
	// MaxAttempts per backend call, including SDK retries of transient
	// errors; default 3.
	MaxAttempts int
	// HTTPClient is optional.
	HTTPClient *http.Client
	// Credentials, when set, supplies the admin credentials in place of
	// AccessKeyID and SecretAccessKey (still required, as the values the
	// driver started with). A provider that re-reads mounted files
	// lets a rotated admin Secret take effect without a restart.
	Credentials aws.CredentialsProvider
	// APIOptions are added to every S3 and IAM call's middleware stack
	// (metrics).
	APIOptions []func(*middleware.Stack) error
	// FilerGRPCAddress, when set (host:port of the filer's gRPC port), moves
	// users, keys and grants to the filer's IAM gRPC service (see
	// filerusers.go): one write per change instead of a rewrite of every
	// identity, and one listing for all users. Empty: the IAM query API.
	FilerGRPCAddress string
	// FilerTLS is the client's TLS configuration for the filer (its client
	// certificate and the CA that signed the filer's); nil is plaintext.
	FilerTLS *tls.Config
	// FilerDialOptions are added to the filer connection (metrics).
	FilerDialOptions []grpc.DialOption
}

// SeaweedFS implements Admin against a SeaweedFS S3 gateway (4.34 or newer;
// see the package README) using the S3 API for buckets and the IAM API that
// the gateway serves on the same port for users.
//
// The server must run with IAM writes enabled — -s3.iam.readOnly=false for
// `weed server` and `weed filer -s3`, -iam.readOnly=false for `weed s3`:
// SeaweedFS 4.x refuses every IAM write by default, and this client reports
// such a refusal as ErrAccessDenied naming the flag.
type SeaweedFS struct {
	cfg  Config
	s3   *s3.Client
	iam  *iam.Client
	http *http.Client

	// iamWrite serializes every IAM mutation in this process: SeaweedFS
	// rewrites the whole identity set on each one, older versions lost
	// concurrent updates, and parallel writes only queue up on the server.
	//
	// Writes through the filer's IAM service (each to the files of one user
	// or policy) hold it shared and run together; an IAM query API write,
	// which rewrites every identity from what it read before, holds it alone
	// so that it never writes back over one of them.
	iamWrite *ctxRWMutex
	// users and buckets serialize observe-then-write per object so that two
	// reconciles of the same object cannot act on each other's stale reads.
	users   keyedMutex
	buckets keyedMutex

	// filer is the filer's IAM gRPC service; nil: users go through the IAM
	// query API.
	filer *filer

	writes atomic.Int64
	calls  atomic.Int64
}

var _ Admin = (*SeaweedFS)(nil)

// NewSeaweedFS returns a client for cfg. It makes no request.
func NewSeaweedFS(cfg Config) (*SeaweedFS, error) {
	if cfg.Endpoint == "" || cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		return nil, fmt.Errorf("%w: endpoint and admin credentials are required", ErrInvalid)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.UserPrefix == "" {
		cfg.UserPrefix = DefaultUserPrefix
	}
	if !userNameRE.MatchString(cfg.UserPrefix + "x") {
		return nil, fmt.Errorf("%w: user prefix %q has characters IAM user names cannot hold", ErrInvalid, cfg.UserPrefix)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 10 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	var creds aws.CredentialsProvider = credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")
	var s3Signer s3.HTTPSignerV4
	var iamSigner iam.HTTPSignerV4
	if cfg.Credentials != nil {
		creds = cfg.Credentials
		// Options as the SDK's default signers have them.
		s3Signer = newRotatingSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		iamSigner = newRotatingSigner(nil)
	}
	// The reconciler has its own backoff; the SDK's client-side retry quota
	// would turn an outage into "retry quota exceeded" errors that say less.
	retryer := func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = cfg.MaxAttempts
			o.RateLimiter = ratelimit.None
		})
	}
	var fl *filer
	if cfg.FilerGRPCAddress != "" {
		var err error
		if fl, err = dialFiler(cfg.FilerGRPCAddress, cfg.FilerTLS, cfg.FilerDialOptions...); err != nil {
			return nil, err
		}
	}
	return &SeaweedFS{
		filer: fl,
		cfg:   cfg,
		s3: s3.New(s3.Options{
			Region:       cfg.Region,
			BaseEndpoint: aws.String(cfg.Endpoint),
			UsePathStyle: true,
			Credentials:  creds,
			HTTPSignerV4: s3Signer,
			HTTPClient:   httpClient,
			Retryer:      retryer(),
			APIOptions:   slices.Clip(cfg.APIOptions),
			// SeaweedFS does not implement every checksum newer SDKs add by
			// default; send and check them only where the operation needs one.
			RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
			ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		}),
		iam: iam.New(iam.Options{
			Region:       cfg.Region,
			BaseEndpoint: aws.String(cfg.Endpoint),
			Credentials:  creds,
			HTTPSignerV4: iamSigner,
			HTTPClient:   httpClient,
			Retryer:      retryer(),
			APIOptions:   slices.Clip(cfg.APIOptions),
		}),
		http:     httpClient,
		iamWrite: newCtxRWMutex(),
	}, nil
}

// Close releases the connection to the filer, if any.
func (c *SeaweedFS) Close() error {
	if c.filer != nil {
		return c.filer.Close()
	}
	return nil
}

// Writes returns how many mutating backend calls this client has made, for
// tests and metrics.
func (c *SeaweedFS) Writes() int64 { return c.writes.Load() }

// UserPrefix returns the reserved name prefix of owned users.
func (c *SeaweedFS) UserPrefix() string { return c.cfg.UserPrefix }

// call runs one backend call under the per-call timeout and classifies its
// error.
func (c *SeaweedFS) call(ctx context.Context, op string, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	c.calls.Add(1)
	return classify(op, fn(ctx))
}

// read is call for a call whose output is wanted.
func read[T any](ctx context.Context, c *SeaweedFS, op string, fn func(context.Context) (T, error)) (T, error) {
	var out T
	err := c.call(ctx, op, func(ctx context.Context) error {
		var err error
		out, err = fn(ctx)
		return err
	})
	return out, err
}

// write is call for a mutating S3 call.
func (c *SeaweedFS) write(ctx context.Context, op string, fn func(context.Context) error) error {
	c.writes.Add(1)
	return mutation(op, func() error { return c.call(ctx, op, fn) })
}

// mutation runs one change to SeaweedFS between its crash points (see
// package crashpoint): the "after" point only once SeaweedFS acknowledged it.
func mutation(op string, fn func() error) error {
	crashpoint.Hit(crashpoint.Before(crashpoint.Backend(op)))
	err := fn()
	if err == nil {
		crashpoint.Hit(crashpoint.After(crashpoint.Backend(op)))
	}
	return err
}

// iamMutate is call for an IAM mutation: serialized process-wide, counted,
// and with the server flag named when SeaweedFS refuses it.
func (c *SeaweedFS) iamMutate(ctx context.Context, op string, fn func(context.Context) error) error {
	if err := c.iamWrite.lock(ctx); err != nil {
		return &Error{Op: op, Kind: ErrTransient, Err: err}
	}
	defer c.iamWrite.unlock()
	c.writes.Add(1)
	return mutation(op, func() error { return writeDenied(c.call(ctx, op, fn)) })
}

// ---- buckets ----

// bucketMarks reads the owner and marker tags for a decision about the
// bucket. exists is false for a missing bucket; the marks are "" for a bucket
// without them.
//
// SeaweedFS answers GetBucketTagging from a bucket cache that its filer
// subscription refreshes asynchronously, and a late event (typically the
// bucket's creation, arriving after the tags were written) can put an older,
// untagged copy back for a moment. Our marks once seen are trusted; a bucket
// that reads as not carrying own's marks is read again for up to about a
// second before that answer is believed, so that a lagging cache never makes
// the driver's own bucket look foreign. (A missing bucket is reliable:
// deleting and creating a bucket update the cache before they answer.)
func (c *SeaweedFS) bucketMarks(ctx context.Context, bucket string, own Ownership) (exists bool, marks MarkedBucket, tags []s3types.Tag, err error) {
	_, waitErr := settle(ctx, "GetBucketTagging", tagReadAttempts, tagReadInterval, func() (bool, error) {
		exists, marks, tags, err = c.readBucketMarks(ctx, bucket)
		return err != nil || !exists || marks.Owns(own), nil
	})
	if waitErr != nil {
		return false, MarkedBucket{}, nil, waitErr
	}
	return exists, marks, tags, err
}

// settle calls try up to attempts times, interval apart, until it reports
// done, and says whether it did. SeaweedFS refreshes what several calls read
// asynchronously after a write (see bucketMarks, keyAccepted); a wait cut
// short by ctx is a transient error of op, as is an error from try.
func settle(ctx context.Context, op string, attempts int, interval time.Duration, try func() (done bool, err error)) (bool, error) {
	for attempt := 1; ; attempt++ {
		done, err := try()
		if err != nil || done {
			return done, err
		}
		if attempt == attempts {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, &Error{Op: op, Kind: ErrTransient, Err: ctx.Err()}
		case <-time.After(interval):
		}
	}
}

// A bucket that reads as not ours is read up to tagReadAttempts times, a
// tagReadInterval apart (see bucketMarks).
const (
	tagReadAttempts = 10
	tagReadInterval = 100 * time.Millisecond
)

// readBucketMarks is one read of the bucket's tags, for listings where a
// bucket that reads as not ours for a moment is simply left out (see
// bucketMarks).
func (c *SeaweedFS) readBucketMarks(ctx context.Context, bucket string) (exists bool, marks MarkedBucket, tags []s3types.Tag, err error) {
	marks.Name = bucket
	var out *s3.GetBucketTaggingOutput
	out, err = read(ctx, c, "GetBucketTagging", func(ctx context.Context) (*s3.GetBucketTaggingOutput, error) {
		return c.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	})
	switch {
	case isCode(err, "NoSuchTagSet"):
		// SeaweedFS (like AWS) answers a bucket without tags with
		// NoSuchTagSet, a 404 that must not read as "no such bucket".
		return true, marks, nil, nil
	case errors.Is(err, ErrNotFound):
		return false, marks, nil, nil
	case err != nil:
		return false, marks, nil, err
	}
	for _, t := range out.TagSet {
		switch aws.ToString(t.Key) {
		case OwnerTagKey:
			marks.Owner = aws.ToString(t.Value)
		case MarkerTagKey:
			marks.Marker = aws.ToString(t.Value)
		}
	}
	return true, marks, out.TagSet, nil
}

// claimBucket asks SeaweedFS to create the bucket, which is also how the
// driver learns who created an existing one: SeaweedFS answers
// BucketAlreadyOwnedByYou only to the identity that created the bucket (it
// records the creator with the bucket), and BucketAlreadyExists to every
// other identity. Both "created now" and "created by us before" are nil; a
// bucket created by anybody else is ErrNotOwned. No SDK retry: the
// reconciler retries with its own backoff.
func (c *SeaweedFS) claimBucket(ctx context.Context, name string) error {
	crashpoint.Hit(crashpoint.Before(crashpoint.Backend("CreateBucket")))
	err := c.call(ctx, "CreateBucket", func(ctx context.Context) error {
		_, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)},
			func(o *s3.Options) { o.RetryMaxAttempts = 1 })
		return err
	})
	switch {
	case err == nil:
		// Only a create that made the bucket counts as a write: the other
		// answers change nothing.
		c.writes.Add(1)
		crashpoint.Hit(crashpoint.After(crashpoint.Backend("CreateBucket")))
		return nil
	case isCode(err, "BucketAlreadyOwnedByYou"):
		return nil
	case isCode(err, "BucketAlreadyExists"):
		return newError("CreateBucket", ErrNotOwned, "bucket %q was created by another SeaweedFS identity", name)
	}
	return err
}

// CreateBucket implements Admin.
func (c *SeaweedFS) CreateBucket(ctx context.Context, name string, own Ownership) error {
	if err := ValidateBucketName(name); err != nil {
		return err
	}
	if own.Owner == "" {
		return newError("CreateBucket", ErrInvalid, "an owner id is required to mark bucket %q", name)
	}
	unlock, err := c.buckets.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()

	exists, marks, tags, err := c.bucketMarks(ctx, name, own)
	switch {
	case err != nil:
		return err
	case exists && !adoptable(marks, own):
		return newError("CreateBucket", ErrNotOwned,
			"bucket %q is marked for another owner or record (owner %q)", name, marks.Owner)
	}
	// Missing, or existing without marks of anybody else's, or with the
	// record's own marks (which can be copied): SeaweedFS decides whether the
	// driver's identity created it.
	if err := c.claimBucket(ctx, name); err != nil {
		return err
	}
	if exists && marks.Owns(own) {
		return nil
	}
	return c.putMarks(ctx, name, own, tags)
}

// adoptable reports whether a bucket's marks leave room for own: none, or
// only the same owner without a marker (a bucket from before markers).
func adoptable(marks MarkedBucket, own Ownership) bool {
	return (marks.Owner == "" || marks.Owner == own.Owner) && (marks.Marker == "" || marks.Marker == own.Marker)
}

// putMarks writes own's tags, keeping the bucket's other tags, and reads them
// back.
func (c *SeaweedFS) putMarks(ctx context.Context, name string, own Ownership, existing []s3types.Tag) error {
	tags := []s3types.Tag{{Key: aws.String(OwnerTagKey), Value: aws.String(own.Owner)}}
	if own.Marker != "" {
		tags = append(tags, s3types.Tag{Key: aws.String(MarkerTagKey), Value: aws.String(own.Marker)})
	}
	for _, t := range existing {
		// PutBucketTagging replaces the whole set: keep the other tags.
		if k := aws.ToString(t.Key); k != OwnerTagKey && k != MarkerTagKey {
			tags = append(tags, t)
		}
	}
	err := c.write(ctx, "PutBucketTagging", func(ctx context.Context) error {
		_, err := c.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{
			Bucket:  aws.String(name),
			Tagging: &s3types.Tagging{TagSet: tags},
		})
		return err
	})
	if err != nil {
		return err
	}
	// Read back through bucketMarks, which waits out a lagging cache.
	exists, marks, _, err := c.bucketMarks(ctx, name, own)
	if err != nil {
		return err
	}
	if !exists || !marks.Owns(own) {
		return newError("PutBucketTagging", ErrTransient, "the marks of bucket %q did not persist", name)
	}
	return nil
}

// ObserveBucket implements Admin.
func (c *SeaweedFS) ObserveBucket(ctx context.Context, name string, own Ownership) (BucketState, error) {
	if err := ValidateBucketName(name); err != nil {
		return BucketState{}, err
	}
	exists, marks, _, err := c.bucketMarks(ctx, name, own)
	if err != nil || !exists {
		return BucketState{}, err
	}
	empty, err := c.bucketEmpty(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return BucketState{}, nil
	}
	if err != nil {
		return BucketState{}, err
	}
	return BucketState{Exists: true, Owned: marks.Owns(own), Empty: empty}, nil
}

// bucketEmpty reports whether the bucket has no objects, no versions or
// delete markers, and no unfinished multipart uploads.
func (c *SeaweedFS) bucketEmpty(ctx context.Context, name string) (bool, error) {
	objs, err := read(ctx, c, "ListObjectsV2", func(ctx context.Context) (*s3.ListObjectsV2Output, error) {
		return c.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(name), MaxKeys: aws.Int32(1)})
	})
	if err != nil {
		return false, err
	}
	if len(objs.Contents) > 0 {
		return false, nil
	}
	// Noncurrent versions and delete markers are invisible to ListObjectsV2
	// but are still data. They are listed whatever the versioning status
	// says: SeaweedFS answers GetBucketVersioning from a bucket cache that
	// may lag behind, and a bucket whose versioning was suspended still holds
	// its versions.
	var vers *s3.ListObjectVersionsOutput
	vers, err = read(ctx, c, "ListObjectVersions", func(ctx context.Context) (*s3.ListObjectVersionsOutput, error) {
		return c.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(name), MaxKeys: aws.Int32(1)})
	})
	if err != nil {
		return false, err
	}
	if len(vers.Versions) > 0 || len(vers.DeleteMarkers) > 0 {
		return false, nil
	}
	var ups *s3.ListMultipartUploadsOutput
	ups, err = read(ctx, c, "ListMultipartUploads", func(ctx context.Context) (*s3.ListMultipartUploadsOutput, error) {
		return c.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(name), MaxUploads: aws.Int32(1)})
	})
	if errors.Is(err, ErrAccessDenied) {
		// SeaweedFS counts listing uploads as part of s3:PutObject, which the
		// driver's fence denies (see fence). Behind the fence no upload can
		// be completed any more: an unfinished one is no data to keep.
		fenced, ferr := c.fenced(ctx, name)
		if ferr != nil {
			return false, ferr
		}
		if fenced {
			return true, nil
		}
	}
	if err != nil {
		return false, err
	}
	return len(ups.Uploads) == 0, nil
}

// DeleteBucket implements Admin.
//
// SeaweedFS deletes a non-empty bucket with all its data unless the server
// runs with -s3.allowDeleteBucketNotEmpty=false, so without purge this client
// checks emptiness itself first. The check and the delete are two calls; the
// bucket is fenced against every writer before the check (see fence), so
// nothing written in between can be lost.
func (c *SeaweedFS) DeleteBucket(ctx context.Context, name string, own Ownership, purge bool) error {
	if err := ValidateBucketName(name); err != nil {
		return err
	}
	unlock, err := c.buckets.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	exists, marks, _, err := c.bucketMarks(ctx, name, own)
	if err != nil {
		return err
	}
	if !exists {
		return nil
	}
	if !marks.Owns(own) {
		return newError("DeleteBucket", ErrNotOwned, "bucket %q does not carry this record's marks", name)
	}
	// The marks can be copied by anyone who can read them; what SeaweedFS
	// recorded as the bucket's creator cannot. A bucket that was deleted and
	// created again by another identity with our marks copied onto it holds
	// somebody else's data, and is never deleted. (Should the bucket have
	// gone in the meantime, this creates an empty one of ours, which the
	// delete below removes again.)
	if err := c.claimBucket(ctx, name); err != nil {
		return err
	}
	if !purge {
		// Not fenced while it visibly holds data: a bucket that stays
		// blocked on its data should not also become read-only.
		if err := c.requireEmpty(ctx, name); err != nil {
			return err
		}
	} else if err := c.abortUploads(ctx, name); err != nil {
		// Purged: unfinished uploads go before the fence, which denies
		// listing and aborting them too. Refused on a bucket that already
		// carries our fence, the upload listing is that fence's doing: an
		// earlier attempt fenced the bucket and then ended (the driver
		// crashed, a call failed). Retrying would be refused forever; no
		// upload can be completed behind the fence, so what is left of one
		// is discarded with the bucket, as bucketEmpty judges too.
		if !errors.Is(err, ErrAccessDenied) {
			return err
		}
		fenced, ferr := c.fenced(ctx, name)
		if ferr != nil {
			return ferr
		}
		if !fenced {
			return err
		}
	}
	if err := c.fence(ctx, name); err != nil {
		return err
	}
	if !purge {
		// Again behind the fence: what was written before it is all there is.
		if err := c.requireEmpty(ctx, name); err != nil {
			return err
		}
	}
	err = c.deleteBucket(ctx, name)
	if !errors.Is(err, ErrNotEmpty) {
		return err
	}
	// The server refuses non-empty deletes (-s3.allowDeleteBucketNotEmpty=false).
	if purge {
		if err := c.emptyBucket(ctx, name); err != nil {
			return err
		}
		if err = c.deleteBucket(ctx, name); !errors.Is(err, ErrNotEmpty) {
			return err
		}
	}
	// SeaweedFS keeps the empty folders of deleted nested keys for a few
	// minutes and counts them as content, although S3 listings do not show
	// them. They hold no data (the emptiness check above, or the purge,
	// covered every key), so they are removed rather than reported.
	if err := c.removeEmptyFolders(ctx, name); err != nil {
		return err
	}
	return c.deleteBucket(ctx, name)
}

// removeEmptyFolders deletes the folder entries left in an emptied bucket,
// deepest first (a folder with a subfolder is not deleted).
func (c *SeaweedFS) removeEmptyFolders(ctx context.Context, name string) error {
	var folders []string
	queue := []string{""}
	for len(queue) > 0 {
		prefix := queue[0]
		queue = queue[1:]
		var token *string
		for {
			var out *s3.ListObjectsV2Output
			err := c.call(ctx, "ListObjectsV2", func(ctx context.Context) error {
				var err error
				out, err = c.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
					Bucket: aws.String(name), Prefix: aws.String(prefix), Delimiter: aws.String("/"), ContinuationToken: token,
				})
				return err
			})
			if err != nil {
				return err
			}
			for _, o := range out.Contents {
				// Listing inside a folder shows the folder itself as a key.
				if k := aws.ToString(o.Key); k != prefix {
					// New data arrived while purging; let the caller retry.
					return newError("DeleteBucket", ErrNotEmpty, "bucket %q received object %q while being purged", name, k)
				}
			}
			for _, p := range out.CommonPrefixes {
				folders = append(folders, aws.ToString(p.Prefix))
				queue = append(queue, aws.ToString(p.Prefix))
			}
			if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
				break
			}
			token = out.NextContinuationToken
		}
	}
	slices.SortFunc(folders, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, f := range folders {
		err := c.write(ctx, "DeleteObject", func(ctx context.Context) error {
			_, err := c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: aws.String(f)})
			return err
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// requireEmpty is nil for an empty bucket (or a missing one, which the
// delete then finds gone) and ErrNotEmpty otherwise.
func (c *SeaweedFS) requireEmpty(ctx context.Context, name string) error {
	empty, err := c.bucketEmpty(ctx, name)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	case !empty:
		return newError("DeleteBucket", ErrNotEmpty, "bucket %q still holds data", name)
	}
	return nil
}

func (c *SeaweedFS) deleteBucket(ctx context.Context, name string) error {
	err := c.write(ctx, "DeleteBucket", func(ctx context.Context) error {
		_, err := c.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// emptyBucket deletes every object version and delete marker of the bucket,
// one page at a time. (Unfinished uploads are aborted before the fence,
// which denies listing and aborting them; see abortUploads.)
func (c *SeaweedFS) emptyBucket(ctx context.Context, name string) error {
	var keyMarker, versionMarker *string
	for {
		var page *s3.ListObjectVersionsOutput
		err := c.call(ctx, "ListObjectVersions", func(ctx context.Context) error {
			var err error
			page, err = c.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{
				Bucket: aws.String(name), KeyMarker: keyMarker, VersionIdMarker: versionMarker,
			})
			return err
		})
		if err != nil {
			return err
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range page.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range page.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) > 0 {
			var out *s3.DeleteObjectsOutput
			err = c.write(ctx, "DeleteObjects", func(ctx context.Context) error {
				var err error
				out, err = c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
					Bucket: aws.String(name),
					Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)},
				})
				return err
			})
			if err != nil {
				return err
			}
			if len(out.Errors) > 0 {
				e := out.Errors[0]
				return newError("DeleteObjects", ErrTransient, "%d objects of bucket %q not deleted, first %q: %s",
					len(out.Errors), name, aws.ToString(e.Key), aws.ToString(e.Code))
			}
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		keyMarker, versionMarker = page.NextKeyMarker, page.NextVersionIdMarker
	}
	return nil
}

// abortUploads aborts every unfinished multipart upload of the bucket.
func (c *SeaweedFS) abortUploads(ctx context.Context, name string) error {
	for {
		ups, err := read(ctx, c, "ListMultipartUploads", func(ctx context.Context) (*s3.ListMultipartUploadsOutput, error) {
			return c.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(name)})
		})
		if err != nil {
			return err
		}
		if len(ups.Uploads) == 0 {
			return nil
		}
		for _, u := range ups.Uploads {
			err := c.write(ctx, "AbortMultipartUpload", func(ctx context.Context) error {
				_, err := c.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
					Bucket: aws.String(name), Key: u.Key, UploadId: u.UploadId,
				})
				return err
			})
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
	}
}

// ListMarkedBuckets implements Admin.
func (c *SeaweedFS) ListMarkedBuckets(ctx context.Context) ([]MarkedBucket, error) {
	var names []string
	var token *string
	for {
		out, err := read(ctx, c, "ListBuckets", func(ctx context.Context) (*s3.ListBucketsOutput, error) {
			return c.s3.ListBuckets(ctx, &s3.ListBucketsInput{ContinuationToken: token})
		})
		if err != nil {
			return nil, err
		}
		for _, b := range out.Buckets {
			names = append(names, aws.ToString(b.Name))
		}
		if aws.ToString(out.ContinuationToken) == "" || aws.ToString(out.ContinuationToken) == aws.ToString(token) {
			break
		}
		token = out.ContinuationToken
	}
	slices.Sort(names)
	var marked []MarkedBucket
	for _, n := range names {
		// One read each: a resync must not wait a second per foreign bucket,
		// and an owned bucket left out for one pass only makes the resync
		// look at its record once more.
		exists, marks, _, err := c.readBucketMarks(ctx, n)
		if err != nil {
			return nil, err
		}
		if exists && marks.Owner != "" {
			marked = append(marked, marks)
		}
	}
	return marked, nil
}

// ---- users ----

type keyInfo struct {
	id     string
	active bool
	// secret is known through the filer only; never logged.
	secret string
}

// userObservation is everything about one user that decides its access.
type userObservation struct {
	exists   bool
	keys     []keyInfo
	inline   map[string]string // policy name → document
	attached []string          // managed policy ARNs (through the filer: names)
	groups   []string

	// Through the filer (see filerusers.go): the stored identity and the
	// access policy's document, if that policy exists.
	viaFiler        bool
	identity        identity
	accessPolicy    string
	hasAccessPolicy bool
}

func (o userObservation) keyIDs() []string {
	ids := make([]string, 0, len(o.keys))
	for _, k := range o.keys {
		ids = append(ids, k.id)
	}
	slices.Sort(ids)
	return ids
}

func (o userObservation) state(name, prefix string) UserState {
	st := UserState{Name: name, Exists: o.exists, Owned: strings.HasPrefix(name, prefix)}
	if !o.exists {
		return st
	}
	st.AccessKeyIDs = o.keyIDs()
	if o.viaFiler {
		return o.filerState(st)
	}
	if doc, ok := o.inline[PolicyName]; ok {
		if b, m, ok := recognisePolicy(doc); ok {
			st.Bucket, st.Mode = b, m
			st.PolicyExact = len(o.inline) == 1 && len(o.attached) == 0 && len(o.groups) == 0
		}
	}
	return st
}

// converged reports whether the user is exactly the desired access.
func (o userObservation) converged(a Access, prefix string) bool {
	st := o.state(a.User, prefix)
	return st.Exists && st.PolicyExact && st.Bucket == a.Bucket && st.Mode == a.Mode &&
		len(o.keys) == 1 && o.keys[0].id == a.AccessKeyID && o.keys[0].active &&
		// The filer shows the secret too: a key whose secret was changed
		// would not work with the workload's credentials.
		(!o.viaFiler || o.keys[0].secret == a.SecretAccessKey)
}

// observeUser reads the user, its keys, inline policies, attached policies
// and groups. A user deleted half-way reads as missing.
func (c *SeaweedFS) observeUser(ctx context.Context, name string) (userObservation, error) {
	obs := userObservation{inline: map[string]string{}}
	err := c.call(ctx, "GetUser", func(ctx context.Context) error {
		_, err := c.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(name)})
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return userObservation{}, nil
	}
	if err != nil {
		return obs, err
	}
	obs.exists = true

	err = c.observeUserDetails(ctx, name, &obs)
	if errors.Is(err, ErrNotFound) {
		return userObservation{}, nil
	}
	return obs, err
}

func (c *SeaweedFS) observeUserDetails(ctx context.Context, name string, obs *userObservation) error {
	// ListAccessKeys must always carry UserName: without it SeaweedFS lists
	// the caller's own keys.
	var marker *string
	for {
		out, err := read(ctx, c, "ListAccessKeys", func(ctx context.Context) (*iam.ListAccessKeysOutput, error) {
			return c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(name), Marker: marker})
		})
		if err != nil {
			return err
		}
		for _, k := range out.AccessKeyMetadata {
			obs.keys = append(obs.keys, keyInfo{
				id: aws.ToString(k.AccessKeyId),
				// An empty status is Active in SeaweedFS.
				active: k.Status == "" || k.Status == iamtypes.StatusTypeActive,
			})
		}
		if !out.IsTruncated || out.Marker == nil {
			break
		}
		marker = out.Marker
	}

	var policyNames []string
	marker = nil
	for {
		out, err := read(ctx, c, "ListUserPolicies", func(ctx context.Context) (*iam.ListUserPoliciesOutput, error) {
			return c.iam.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String(name), Marker: marker})
		})
		if err != nil {
			return err
		}
		policyNames = append(policyNames, out.PolicyNames...)
		if !out.IsTruncated || out.Marker == nil {
			break
		}
		marker = out.Marker
	}
	for _, p := range policyNames {
		out, err := read(ctx, c, "GetUserPolicy", func(ctx context.Context) (*iam.GetUserPolicyOutput, error) {
			return c.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(p)})
		})
		if err != nil {
			return err
		}
		obs.inline[p] = aws.ToString(out.PolicyDocument)
	}

	marker = nil
	for {
		out, err := read(ctx, c, "ListAttachedUserPolicies", func(ctx context.Context) (*iam.ListAttachedUserPoliciesOutput, error) {
			return c.iam.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String(name), Marker: marker})
		})
		if err != nil {
			return err
		}
		for _, p := range out.AttachedPolicies {
			obs.attached = append(obs.attached, aws.ToString(p.PolicyArn))
		}
		if !out.IsTruncated || out.Marker == nil {
			break
		}
		marker = out.Marker
	}

	marker = nil
	for {
		out, err := read(ctx, c, "ListGroupsForUser", func(ctx context.Context) (*iam.ListGroupsForUserOutput, error) {
			return c.iam.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: aws.String(name), Marker: marker})
		})
		if err != nil {
			return err
		}
		for _, g := range out.Groups {
			obs.groups = append(obs.groups, aws.ToString(g.GroupName))
		}
		if !out.IsTruncated || out.Marker == nil {
			break
		}
		marker = out.Marker
	}
	return nil
}

// ObserveUser implements Admin. Any user can be observed; only owned users
// can be changed.
func (c *SeaweedFS) ObserveUser(ctx context.Context, name string) (UserState, error) {
	if !userNameRE.MatchString(name) {
		return UserState{}, fmt.Errorf("%w: user name %q", ErrInvalid, name)
	}
	observe := c.observeUser
	if c.filer != nil {
		observe = c.observeFilerUser
	}
	obs, err := observe(ctx, name)
	if err != nil {
		return UserState{}, err
	}
	return obs.state(name, c.cfg.UserPrefix), nil
}

// maxEnsureRounds bounds observe-and-fix rounds. One round fixes everything
// that was observed; the next only confirms it, unless something changed
// behind our back in between (or a new user inherited policies a deleted
// namesake left behind).
const maxEnsureRounds = 4

// EnsureAccess implements Admin.
func (c *SeaweedFS) EnsureAccess(ctx context.Context, a Access) (changed bool, err error) {
	if err := validateAccess(a, c.cfg.UserPrefix); err != nil {
		return false, err
	}
	unlock, err := c.users.lock(ctx, a.User)
	if err != nil {
		return false, err
	}
	defer unlock()

	// Granting on a bucket the driver does not own would change who can read
	// someone else's data; granting on a missing bucket would pre-authorize
	// whoever creates that name next.
	exists, marks, _, err := c.bucketMarks(ctx, a.Bucket, a.BucketOwner)
	if err != nil {
		return false, err
	}
	if !exists {
		return false, newError("EnsureAccess", ErrNotFound, "bucket %q does not exist", a.Bucket)
	}
	if a.BucketOwner.Owner == "" || !marks.Owns(a.BucketOwner) {
		return false, newError("EnsureAccess", ErrNotOwned, "bucket %q does not carry its record's marks", a.Bucket)
	}

	if c.filer != nil {
		return c.ensureFilerAccess(ctx, a)
	}
	wantPolicy, err := PolicyDocument(a.Bucket, a.Mode)
	if err != nil {
		return false, err
	}
	want, _ := parsePolicy(wantPolicy)
	rewrite := a.RewritePolicy
	keyConflicts := 0
	for range maxEnsureRounds {
		obs, err := c.observeUser(ctx, a.User)
		if err != nil {
			return changed, err
		}
		if obs.converged(a, c.cfg.UserPrefix) && !rewrite {
			if changed {
				return changed, c.keyAccepted(ctx, a)
			}
			return changed, nil
		}
		if !obs.exists {
			err := c.iamMutate(ctx, "CreateUser", func(ctx context.Context) error {
				_, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(a.User)})
				return err
			})
			if err != nil && !errors.Is(err, ErrAlreadyExists) {
				return changed, err
			}
			changed = true
			// A fresh user has no keys or policies of its own, but may have
			// inherited inline policies of a deleted user with the same name;
			// the read-back in the next round finds and removes them.
			obs = userObservation{exists: true, inline: map[string]string{}}
		}

		// Policy before keys: when the bucket or mode changes, the old grant is
		// replaced before any new key exists, and PutUserPolicy replaces it in
		// one step, so there is no moment with both or neither.
		if got, ok := parsePolicy(obs.inline[PolicyName]); rewrite || !ok || !got.equal(want) {
			err := c.iamMutate(ctx, "PutUserPolicy", func(ctx context.Context) error {
				_, err := c.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{
					UserName: aws.String(a.User), PolicyName: aws.String(PolicyName), PolicyDocument: aws.String(wantPolicy),
				})
				return err
			})
			if err != nil {
				return changed, err
			}
			changed, rewrite = true, false
		}
		// Anything else granting the user access was not written by this
		// client for this access; the user is ours, so remove it.
		for p := range obs.inline {
			if p == PolicyName {
				continue
			}
			if err := c.deleteUserPolicy(ctx, a.User, p); err != nil {
				return changed, err
			}
			changed = true
		}
		for _, arn := range obs.attached {
			err := c.iamMutate(ctx, "DetachUserPolicy", func(ctx context.Context) error {
				_, err := c.iam.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String(a.User), PolicyArn: aws.String(arn)})
				return err
			})
			if err != nil && !errors.Is(err, ErrNotFound) {
				return changed, err
			}
			changed = true
		}
		for _, g := range obs.groups {
			// Membership is the user's property (SeaweedFS's DeleteUser drops
			// it too); the group itself is not touched.
			err := c.iamMutate(ctx, "RemoveUserFromGroup", func(ctx context.Context) error {
				_, err := c.iam.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: aws.String(a.User), GroupName: aws.String(g)})
				return err
			})
			if err != nil && !errors.Is(err, ErrNotFound) {
				return changed, err
			}
			changed = true
		}

		// New key before removing old ones, so the user is never without a
		// working key while being converged.
		var have *keyInfo
		for i := range obs.keys {
			if obs.keys[i].id == a.AccessKeyID {
				have = &obs.keys[i]
			}
		}
		switch {
		case have == nil:
			err := c.createAccessKey(ctx, a)
			if errors.Is(err, ErrAlreadyExists) {
				// Either our own earlier attempt succeeded after all (the next
				// observation shows the key on this user) or the key id
				// belongs to another identity; a second conflict settles it.
				keyConflicts++
				if keyConflicts > 1 {
					return changed, newError("CreateAccessKey", ErrAlreadyExists,
						"access key id %s is in use by another identity", a.AccessKeyID)
				}
				continue
			}
			if err != nil {
				return changed, err
			}
			changed = true
		case !have.active:
			err := c.iamMutate(ctx, "UpdateAccessKey", func(ctx context.Context) error {
				_, err := c.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{
					UserName: aws.String(a.User), AccessKeyId: aws.String(a.AccessKeyID), Status: iamtypes.StatusTypeActive,
				})
				return err
			})
			if err != nil {
				return changed, err
			}
			changed = true
		}
		if err := removeUnissued(a, obs.keys, func(id string) error { return c.deleteAccessKey(ctx, a.User, id) }); err != nil {
			return true, err
		}
	}
	return changed, newError("EnsureAccess", ErrTransient,
		"user %q did not converge after %d rounds: it is being changed concurrently", a.User, maxEnsureRounds)
}

// keyAccepted waits, for up to about two seconds, until SeaweedFS's S3
// authentication knows the access's key. SeaweedFS reloads the identities it
// authenticates with after each IAM write, asynchronously and unordered with
// the write itself, so a key handed to a workload at once could be refused as
// unknown. Any answer but "unknown key" or "bad signature" proves the key
// known: a listing, or AccessDenied for a write-only key. Still unknown after
// the wait, the access is reported not yet converged and retried.
func (c *SeaweedFS) keyAccepted(ctx context.Context, a Access) error {
	probe := s3.New(c.s3.Options(), func(o *s3.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(a.AccessKeyID, a.SecretAccessKey, "")
		o.RetryMaxAttempts = 1
	})
	accepted, err := settle(ctx, "EnsureAccess", keyAcceptAttempts, keyAcceptInterval, func() (bool, error) {
		err := c.call(ctx, "ListObjectsV2", func(ctx context.Context) error {
			_, err := probe.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(a.Bucket), MaxKeys: aws.Int32(1)})
			return err
		})
		switch {
		case isCode(err, "InvalidAccessKeyId"), isCode(err, "SignatureDoesNotMatch"):
			return false, nil
		case err == nil, errors.Is(err, ErrAccessDenied):
			return true, nil
		default:
			return false, err
		}
	})
	if err == nil && !accepted {
		err = newError("EnsureAccess", ErrTransient, "SeaweedFS does not accept the access key %s yet", a.AccessKeyID)
	}
	return err
}

// A written access's key is tried up to keyAcceptAttempts times, a
// keyAcceptInterval apart (see keyAccepted).
const (
	keyAcceptAttempts = 20
	keyAcceptInterval = 100 * time.Millisecond
)

// createAccessKey creates the caller-supplied key. SeaweedFS before 4.22
// ignores the supplied fields and generates its own key; that key is deleted
// again and the server reported as too old.
func (c *SeaweedFS) createAccessKey(ctx context.Context, a Access) error {
	var out *iam.CreateAccessKeyOutput
	err := c.iamMutate(ctx, "CreateAccessKey", func(ctx context.Context) error {
		var err error
		out, err = c.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(a.User)},
			withSuppliedAccessKey(a.AccessKeyID, a.SecretAccessKey))
		return err
	})
	if err != nil {
		return err
	}
	if out.AccessKey == nil || aws.ToString(out.AccessKey.AccessKeyId) != a.AccessKeyID {
		if out.AccessKey != nil && out.AccessKey.AccessKeyId != nil {
			_ = c.deleteAccessKey(ctx, a.User, aws.ToString(out.AccessKey.AccessKeyId))
		}
		return newError("CreateAccessKey", ErrInvalid,
			"the server ignored the caller-supplied access key: SeaweedFS 4.22 or newer is required")
	}
	return nil
}

func (c *SeaweedFS) deleteAccessKey(ctx context.Context, user, id string) error {
	err := c.iamMutate(ctx, "DeleteAccessKey", func(ctx context.Context) error {
		_, err := c.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(id)})
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func (c *SeaweedFS) deleteUserPolicy(ctx context.Context, user, policy string) error {
	err := c.iamMutate(ctx, "DeleteUserPolicy", func(ctx context.Context) error {
		_, err := c.iam.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(policy)})
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// DeleteUser implements Admin. The order matters: SeaweedFS's DeleteUser
// leaves the user's inline policies behind and a later user with the same
// name inherits them, so policies go first, taking every permission away;
// then the user, with all its keys.
func (c *SeaweedFS) DeleteUser(ctx context.Context, name, prefix string) error {
	if err := validateUserName(name, prefixOr(prefix, c.cfg.UserPrefix)); err != nil {
		return err
	}
	unlock, err := c.users.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	if c.filer != nil {
		return c.deleteFilerUser(ctx, name)
	}
	obs, err := c.observeUser(ctx, name)
	if err != nil {
		return err
	}
	if !obs.exists {
		return nil
	}
	for p := range obs.inline {
		if err := c.deleteUserPolicy(ctx, name, p); err != nil {
			return err
		}
	}
	for _, arn := range obs.attached {
		err := c.iamMutate(ctx, "DetachUserPolicy", func(ctx context.Context) error {
			_, err := c.iam.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String(name), PolicyArn: aws.String(arn)})
			return err
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	// No key is deleted one by one: SeaweedFS's DeleteUser removes the user
	// with every credential it holds in one write, however many keys the
	// user minted for itself, and the user has no permission left by now.
	err = c.iamMutate(ctx, "DeleteUser", func(ctx context.Context) error {
		_, err := c.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(name)})
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	// Read back: a user that is still there (e.g. re-created concurrently)
	// must not be reported as deleted.
	after, err := c.observeUser(ctx, name)
	if err != nil {
		return err
	}
	if after.exists {
		return newError("DeleteUser", ErrTransient, "user %q still exists after deletion", name)
	}
	return nil
}

// ListOwnedUsers implements Admin.
func (c *SeaweedFS) ListOwnedUsers(ctx context.Context, extraPrefixes ...string) ([]UserState, error) {
	prefixes := append([]string{c.cfg.UserPrefix}, extraPrefixes...)
	if c.filer != nil {
		return c.listFilerUsers(ctx, prefixes)
	}
	var names []string
	var marker *string
	for {
		out, err := read(ctx, c, "ListUsers", func(ctx context.Context) (*iam.ListUsersOutput, error) {
			return c.iam.ListUsers(ctx, &iam.ListUsersInput{Marker: marker})
		})
		if err != nil {
			return nil, err
		}
		for _, u := range out.Users {
			if n := aws.ToString(u.UserName); hasAnyPrefix(n, prefixes) {
				names = append(names, n)
			}
		}
		if !out.IsTruncated || out.Marker == nil {
			break
		}
		marker = out.Marker
	}
	slices.Sort(names)
	names = slices.Compact(names)
	states := make([]UserState, 0, len(names))
	for _, n := range names {
		obs, err := c.observeUser(ctx, n)
		if err != nil {
			return nil, err
		}
		if obs.exists {
			states = append(states, obs.state(n, c.cfg.UserPrefix))
		}
	}
	return states, nil
}

// CheckAnonymousDenied implements Admin: an unsigned ListBuckets must be
// refused. SeaweedFS with no identity configured serves everyone.
func (c *SeaweedFS) CheckAnonymousDenied(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.cfg.Endpoint, "/")+"/", nil)
	if err != nil {
		return fmt.Errorf("%w: endpoint %q: %w", ErrInvalid, c.cfg.Endpoint, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &Error{Op: "anonymous ListBuckets", Kind: ErrTransient, Err: err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
		return nil
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return newError("anonymous ListBuckets", ErrAnonymousAllowed,
			"the S3 endpoint answered an unsigned request with %d: configure at least one identity", resp.StatusCode)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return newError("anonymous ListBuckets", ErrTransient, "status %d", resp.StatusCode)
	default:
		return newError("anonymous ListBuckets", nil, "unexpected status %d", resp.StatusCode)
	}
}
