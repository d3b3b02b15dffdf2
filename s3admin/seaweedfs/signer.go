package seaweedfs

import (
	"context"
	"crypto/sha256"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// rotatingSigner is the SDK's SigV4 signer, made again whenever the secret
// key changes. The SDK's signer caches the key it derives from the secret
// for a day under the access key id alone, so a secret rotated under the
// same key id would otherwise go on signing with the old secret.
type rotatingSigner struct {
	opts func(*v4.SignerOptions)

	mu     sync.Mutex
	secret [sha256.Size]byte // of the secret the signer was made for
	signer *v4.Signer
}

func newRotatingSigner(opts func(*v4.SignerOptions)) *rotatingSigner {
	if opts == nil {
		opts = func(*v4.SignerOptions) {}
	}
	return &rotatingSigner{opts: opts}
}

// SignHTTP implements the S3 and IAM clients' HTTPSignerV4.
func (s *rotatingSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, signingTime time.Time, optFns ...func(*v4.SignerOptions)) error {
	sum := sha256.Sum256([]byte(creds.SecretAccessKey))
	s.mu.Lock()
	if s.signer == nil || sum != s.secret {
		s.signer, s.secret = v4.NewSigner(s.opts), sum
	}
	signer := s.signer
	s.mu.Unlock()
	return signer.SignHTTP(ctx, creds, r, payloadHash, service, region, signingTime, optFns...)
}
