package framework

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	corev1 "k8s.io/api/core/v1"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// BucketInfoKey is the key of the credentials Secret that holds the JSON a
// workload reads.
const BucketInfoKey = "BucketInfo"

// PlaceholderEndpoint is what the sidecar v0.1.0 writes as the S3 endpoint
// of every credentials Secret, whatever the driver returned; its region is
// always us-west-1.
const PlaceholderEndpoint = "https://s3.amazonaws.com"

// BucketInfo is the document under BucketInfoKey, as the sidecar writes it.
type BucketInfo struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		// BucketName is the name of the Kubernetes Bucket object, which is the
		// S3 bucket name only when that name is a legal S3 name.
		BucketName         string   `json:"bucketName"`
		AuthenticationType string   `json:"authenticationType"`
		Protocols          []string `json:"protocols"`
		S3                 *S3Info  `json:"secretS3"`
	} `json:"spec"`
}

// S3Info is the S3 part of a BucketInfo.
type S3Info struct {
	Endpoint        string `json:"endpoint"`
	Region          string `json:"region"`
	AccessKeyID     string `json:"accessKeyID"`
	AccessSecretKey string `json:"accessSecretKey"`
}

// ParseBucketInfo decodes the credentials Secret a sidecar wrote.
func ParseBucketInfo(secret *corev1.Secret) (*BucketInfo, error) {
	raw, ok := secret.Data[BucketInfoKey]
	if !ok {
		return nil, fmt.Errorf("secret %s/%s has no key %s", secret.Namespace, secret.Name, BucketInfoKey)
	}
	var info BucketInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("secret %s/%s: %s is not BucketInfo JSON: %w", secret.Namespace, secret.Name, BucketInfoKey, err)
	}
	if info.Spec.S3 == nil {
		return nil, fmt.Errorf("secret %s/%s: BucketInfo has no secretS3", secret.Namespace, secret.Name)
	}
	if info.Spec.S3.AccessKeyID == "" || info.Spec.S3.AccessSecretKey == "" {
		return nil, errors.New("BucketInfo secretS3 has an empty access key id or secret key")
	}
	return &info, nil
}

// Client returns the S3 client a workload would build from the BucketInfo,
// sending to endpoint when it is set (see PlaceholderEndpoint) and to the
// Secret's endpoint otherwise. Retries are off so that a denial is seen as
// it is.
func (i *BucketInfo) Client(endpoint string) *s3.Client {
	if endpoint == "" {
		endpoint = i.Spec.S3.Endpoint
	}
	return stack.NewS3Client(endpoint, i.Spec.S3.Region, i.Spec.S3.AccessKeyID, i.Spec.S3.AccessSecretKey,
		func(o *s3.Options) { o.RetryMaxAttempts = 1 })
}
