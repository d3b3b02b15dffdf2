package s3admin

import (
	"crypto/rand"
	"fmt"
)

const (
	keyIDAlphabet  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	keyIDLength    = 20
	secretLength   = 40
)

// GenerateCredentials returns a new random key pair from crypto/rand: a
// 20-character access key id of upper-case letters and digits (about 103
// bits) and a 40-character secret of letters and digits (about 238 bits).
// Both are within what SeaweedFS accepts for caller-supplied keys and in the
// same shape as AWS keys, so every S3 client takes them.
//
// The driver generates keys itself, rather than letting the store do it, so
// that the key is known before the store is called: a retried grant can
// return byte-identical credentials, and a crash between the store write and
// recording the key leaves a key the driver recognises.
func GenerateCredentials() (accessKeyID, secret string, err error) {
	if accessKeyID, err = RandomString(keyIDLength, keyIDAlphabet); err != nil {
		return "", "", err
	}
	if secret, err = RandomString(secretLength, secretAlphabet); err != nil {
		return "", "", err
	}
	return accessKeyID, secret, nil
}

// RandomString draws n characters uniformly from alphabet (at most 256
// characters), rejecting bytes that would bias the distribution.
func RandomString(n int, alphabet string) (string, error) {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out = append(out, alphabet[int(b)%len(alphabet)])
			if len(out) == n {
				break
			}
		}
	}
	return string(out), nil
}

// NewMarker returns a new random record marker (see Ownership): 32
// lower-case hex digits from crypto/rand, a legal tag value.
func NewMarker() (string, error) {
	return RandomString(32, "0123456789abcdef")
}
