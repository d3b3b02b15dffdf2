// Command s3workload is the workload pod of the node tests: it reads the
// BucketInfo a COSI sidecar wrote into the credentials Secret mounted at
// --bucketinfo and uses it as an application would. It exits 0 only when
// S3 answered as --expect says, and prints what it did (never the keys).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/e2e/framework"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

type config struct {
	bucketInfo string
	endpoint   string
	expect     string
	key        string
	existing   string
	keep       bool
}

func main() {
	var cfg config
	flag.StringVar(&cfg.bucketInfo, "bucketinfo", "/cosi/BucketInfo", "the BucketInfo file of the mounted credentials Secret")
	flag.StringVar(&cfg.endpoint, "endpoint", "", "S3 endpoint to use when the Secret holds the sidecar v0.1.0 placeholder")
	flag.StringVar(&cfg.expect, "expect", "readwrite", "readwrite: write, read back and delete an object; readonly: the write is refused")
	flag.StringVar(&cfg.key, "key", "workload/object.txt", "object key to write")
	flag.StringVar(&cfg.existing, "existing", "", "readwrite: the key of an object already in the bucket, read and printed first (test data, never a secret)")
	flag.BoolVar(&cfg.keep, "keep", false, "readwrite: leave the written object in the bucket instead of deleting it")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, cfg); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	raw, err := os.ReadFile(cfg.bucketInfo)
	if err != nil {
		return fmt.Errorf("read credentials: %w", err)
	}
	info, err := framework.ParseBucketInfo(&corev1.Secret{Data: map[string][]byte{framework.BucketInfoKey: raw}})
	if err != nil {
		return err
	}
	endpoint := info.Spec.S3.Endpoint
	if endpoint == framework.PlaceholderEndpoint && cfg.endpoint != "" {
		log.Printf("the Secret names the placeholder %s (sidecar v0.1.0); using %s", endpoint, cfg.endpoint)
		endpoint = cfg.endpoint
	}
	client, bucket := info.Client(endpoint), info.Spec.BucketName
	body := "written from a pod with the credentials of " + info.Metadata.Name
	switch cfg.expect {
	case "readwrite":
		if cfg.existing != "" {
			got, err := s3check.Get(ctx, client, bucket, cfg.existing)
			if err != nil {
				return fmt.Errorf("GetObject of the existing %s/%s: %w", bucket, cfg.existing, err)
			}
			fmt.Printf("read existing %s/%s: %q\n", bucket, cfg.existing, got)
		}
		if err := s3check.Put(ctx, client, bucket, cfg.key, body); err != nil {
			return fmt.Errorf("PutObject %s/%s at %s: %w", bucket, cfg.key, endpoint, err)
		}
		got, err := s3check.Get(ctx, client, bucket, cfg.key)
		if err != nil {
			return fmt.Errorf("GetObject %s/%s: %w", bucket, cfg.key, err)
		}
		if got != body {
			return fmt.Errorf("GetObject %s/%s = %q, want %q", bucket, cfg.key, got, body)
		}
		if cfg.keep {
			fmt.Printf("round trip ok: wrote, read back and kept %d bytes at %s/%s through %s\n", len(body), bucket, cfg.key, endpoint)
			break
		}
		if err := s3check.Delete(ctx, client, bucket, cfg.key); err != nil {
			return fmt.Errorf("DeleteObject %s/%s: %w", bucket, cfg.key, err)
		}
		fmt.Printf("round trip ok: wrote, read back and deleted %d bytes at %s/%s through %s\n", len(body), bucket, cfg.key, endpoint)
	case "readonly":
		if _, err := s3check.List(ctx, client, bucket); err != nil {
			return fmt.Errorf("ListObjectsV2 %s with read-only credentials: %w", bucket, err)
		}
		err := s3check.Put(ctx, client, bucket, cfg.key, body)
		if err == nil {
			return errors.New("a read-only access could write")
		}
		if code := s3check.ErrorCode(err); code != "AccessDenied" {
			return fmt.Errorf("PutObject with read-only credentials: want AccessDenied, got %w", err)
		}
		fmt.Printf("read-only ok: listed %s and the write was refused with AccessDenied through %s\n", bucket, endpoint)
	default:
		return fmt.Errorf("unknown --expect %q", cfg.expect)
	}
	return nil
}
