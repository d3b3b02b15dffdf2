package stack

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Client returns an S3 client for the admin identity, path-style, with
// checksums only where an operation requires them (SeaweedFS does not
// implement every newer default checksum).
func (sw *Seaweed) S3Client(optFns ...func(*s3.Options)) *s3.Client {
	return NewS3Client(sw.Endpoint, sw.Region, sw.AccessKey, sw.SecretKey, optFns...)
}

// NewS3Client returns a path-style S3 client for endpoint signing with the
// given static credentials.
func NewS3Client(endpoint, region, accessKey, secretKey string, optFns ...func(*s3.Options)) *s3.Client {
	opts := s3.Options{
		Region:                     region,
		BaseEndpoint:               aws.String(endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	return s3.New(opts, optFns...)
}

// IAMClient returns a client of the SeaweedFS IAM API for the admin
// identity.
func (sw *Seaweed) IAMClient() *iam.Client {
	return NewIAMClient(sw.Endpoint, sw.Region, sw.AccessKey, sw.SecretKey)
}

// NewIAMClient returns a client of the SeaweedFS IAM API at endpoint, which
// shares the S3 port and signature, signing with the given static
// credentials.
func NewIAMClient(endpoint, region, accessKey, secretKey string) *iam.Client {
	return iam.New(iam.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	})
}
