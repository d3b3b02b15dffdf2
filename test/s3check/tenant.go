package s3check

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Tenant is another SeaweedFS identity sharing the server with the driver:
// not an admin, but allowed every S3 action (s3:*) on the buckets its
// pattern matches, so it can create buckets, tag them and write to them.
// Tests use it as the hostile identity of the threat model.
type Tenant struct {
	Name string
	S3   *s3.Client
	// Endpoint, Region and the key sign what the S3 client cannot send (a
	// browser-form POST; see FormPost).
	Endpoint, Region     string
	AccessKey, SecretKey string
}

// TenantOption changes how NewTenant's S3 client reaches SeaweedFS.
type TenantOption func(*s3.Options)

// WithHTTPClient sends the tenant's requests through c: a test whose
// SeaweedFS lives in a network namespace reaches it only through its own
// transport.
func WithHTTPClient(c *http.Client) TenantOption {
	return func(o *s3.Options) { o.HTTPClient = c }
}

// NewTenant creates the identity through the IAM API with the admin client
// and returns an S3 client signing with its key, once SeaweedFS accepts it.
// bucketPattern is an S3 ARN bucket pattern such as "bucket-*".
func NewTenant(ctx context.Context, admin *iam.Client, endpoint, region, name, bucketPattern string, opts ...TenantOption) (*Tenant, error) {
	doc, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":   "Allow",
			"Action":   []string{"s3:*"},
			"Resource": []string{"arn:aws:s3:::" + bucketPattern, "arn:aws:s3:::" + bucketPattern + "/*"},
		}},
	})
	if err != nil {
		return nil, err
	}
	if _, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil && ErrorCode(err) != "EntityAlreadyExists" {
		return nil, fmt.Errorf("create tenant %s: %w", name, err)
	}
	if _, err := admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{
		UserName: aws.String(name), PolicyName: aws.String("tenant"), PolicyDocument: aws.String(string(doc)),
	}); err != nil {
		return nil, fmt.Errorf("put tenant policy: %w", err)
	}
	key, err := admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("create tenant key: %w", err)
	}
	client := s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(
			aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), ""),
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}, func(o *s3.Options) {
		for _, opt := range opts {
			opt(o)
		}
	})
	// SeaweedFS reloads identities asynchronously after an IAM write: wait
	// until the gateway knows the key. The probe bucket matches the
	// pattern and does not exist, so a known key is answered 404; anything
	// else (an unknown key, a connection error) is not yet.
	probe := strings.TrimSuffix(bucketPattern, "*") + "probe-" + randomHex(6)
	for deadline := time.Now().Add(30 * time.Second); ; {
		_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(probe)})
		if HTTPStatus(err) == http.StatusNotFound {
			return &Tenant{Name: name, S3: client, Endpoint: endpoint, Region: region,
				AccessKey: aws.ToString(key.AccessKey.AccessKeyId), SecretKey: aws.ToString(key.AccessKey.SecretAccessKey)}, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("SeaweedFS did not accept tenant %s's key: %w", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// RandomSuffix is a short random hex string for names tests make up.
func RandomSuffix() string { return randomHex(4) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateBucket creates a bucket as the tenant and tags it with tags (none
// when empty).
func (tn *Tenant) CreateBucket(ctx context.Context, name string, tags map[string]string) error {
	if _, err := tn.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return fmt.Errorf("tenant CreateBucket(%s): %w", name, err)
	}
	if len(tags) == 0 {
		return nil
	}
	return tn.Tag(ctx, name, tags)
}

// Tag replaces the bucket's tags as the tenant.
func (tn *Tenant) Tag(ctx context.Context, name string, tags map[string]string) error {
	var set []s3types.Tag
	for k, v := range tags {
		set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := tn.S3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(name), Tagging: &s3types.Tagging{TagSet: set}}); err != nil {
		return fmt.Errorf("tenant PutBucketTagging(%s): %w", name, err)
	}
	return nil
}
