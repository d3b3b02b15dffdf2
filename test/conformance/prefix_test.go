package conformance

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// restartWith restarts the driver with flag set to value, and restores the
// original setting (with another restart) when the test ends. The driver
// must run with the flag set (see restartSetting for one that may be
// empty).
func (e *environment) restartWith(t *testing.T, flag, value string) {
	t.Helper()
	if old := e.restartSetting(t, flag, value); old == "" {
		t.Fatalf("the driver runs without %s", flag)
	}
}

// TestUserPrefixChange: changing --user-prefix on an installation with
// accesses strands no credential. The driver acts on the user each record
// names.
func TestUserPrefixChange(t *testing.T) {
	e := mustEnv(t)
	bucket := e.mustCreateBucket(t, bucketName(), nil)
	kept := e.mustGrant(t, bucket, nil)
	revoked := e.mustGrant(t, bucket, nil)
	for _, a := range []access{kept, revoked} {
		if !strings.HasPrefix(a.account, userPrefix) {
			t.Fatalf("account %s does not carry the prefix %s", a.account, userPrefix)
		}
	}
	const moved = "moved-"
	e.restartWith(t, "--user-prefix", moved)

	t.Run("Revoke of an access granted under the earlier prefix deletes its user and its key", func(t *testing.T) {
		requireOK(t, e.revoke(t, bucket, revoked.account), "DriverRevokeBucketAccess")
		if e.userExists(t, revoked.account) {
			t.Errorf("user %s still exists", revoked.account)
		}
		requireKeyRejected(t, revoked, bucket)
	})

	t.Run("An access granted under the earlier prefix keeps working, and is repaired under its recorded user", func(t *testing.T) {
		if err := s3check.Put(ctx(t), kept.s3(), bucket, "kept.txt", "ok"); err != nil {
			t.Fatalf("write with the kept access: %v", err)
		}
		e.deleteUserOutOfBand(t, kept.account)
		stack.Eventually(t, repairWithin, func() error {
			if !e.userExists(t, kept.account) {
				return fmt.Errorf("user %s was not re-created", kept.account)
			}
			return s3check.Put(ctx(t), kept.s3(), bucket, "repaired.txt", "ok")
		})
	})

	t.Run("A grant after the change names its user with the new prefix", func(t *testing.T) {
		a := e.mustGrant(t, bucket, nil)
		if !strings.HasPrefix(a.account, moved) {
			t.Errorf("account %s, want the prefix %s", a.account, moved)
		}
		if err := s3check.Put(ctx(t), a.s3(), bucket, "new.txt", "ok"); err != nil {
			t.Errorf("write with the new access: %v", err)
		}
	})

	t.Run("No access record is left failed or stuck", func(t *testing.T) {
		stack.Eventually(t, repairWithin, func() error {
			if e.accessRecordExists(t, "access-"+revoked.account[len(revoked.account)-32:]) {
				return errors.New("the revoked access's record is still there")
			}
			return nil
		})
	})
}
