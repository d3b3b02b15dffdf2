package app

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// credentialsRefresh is how long admin credentials read from files are used
// before the files are read again.
const credentialsRefresh = 10 * time.Second

// fileCredentials reads the admin credentials from the mounted Secret's
// files and marks them as expiring soon, so that the SDK's credential cache
// reads the files again: the kubelet updates a mounted Secret in place, and
// a rotated admin key takes effect without restarting the driver.
type fileCredentials struct {
	idFile, secretFile string
	refresh            time.Duration
}

// Retrieve implements aws.CredentialsProvider. Errors name the files, never
// their contents.
func (f fileCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	id, err := readTrimmed(f.idFile)
	if err != nil {
		return aws.Credentials{}, err
	}
	secret, err := readTrimmed(f.secretFile)
	if err != nil {
		return aws.Credentials{}, err
	}
	return aws.Credentials{
		AccessKeyID:     id,
		SecretAccessKey: secret,
		Source:          "cosi-seaweedfs admin key files",
		CanExpire:       true,
		Expires:         time.Now().Add(f.refresh),
	}, nil
}

func readTrimmed(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read admin credentials file: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("admin credentials file %s is empty", path)
	}
	return v, nil
}
