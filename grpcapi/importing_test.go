package grpcapi

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
)

// TestImportedBuckets: a grant on a bucket the driver did not create is
// allowed only by the import list, and leaves nothing behind when refused.
func TestImportedBuckets(t *testing.T) {
	noRecords := func(ctx context.Context, t *testing.T, env *handlerEnv) {
		t.Helper()
		if _, err := env.srv.store.GetBucket(ctx, names.BucketRecord("legacy-data")); err == nil {
			t.Fatal("a refused grant left a bucket record")
		}
		if accesses, err := env.srv.store.ListAccessRefs(ctx, names.BucketRecord("legacy-data")); err != nil || len(accesses) != 0 {
			t.Fatalf("a refused grant left access records: %v, %v", accesses, err)
		}
	}
	for _, tt := range []struct {
		name    string
		imports []string
		exists  bool
		want    codes.Code
		words   []string
	}{
		{name: "without an import list, a bucket the driver did not create is NOT_FOUND, naming the setting",
			exists: true, want: codes.NotFound, words: []string{"--import-buckets", "importBuckets"}},
		{name: "a bucket no glob matches is PERMISSION_DENIED, naming the setting",
			imports: []string{"team-*", "other"}, exists: true, want: codes.PermissionDenied, words: []string{"--import-buckets", "importBuckets"}},
		{name: "an allowed bucket that does not exist is NOT_FOUND and leaves no record",
			imports: []string{"legacy-*"}, want: codes.NotFound, words: []string{"does not exist"}},
		{name: "an allowed bucket that exists is imported and granted on",
			imports: []string{"team-*", "legacy-*"}, exists: true, want: codes.OK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, env := newHandlerEnv(t)
			env.srv.cfg.ImportBuckets = tt.imports
			if tt.exists {
				env.admin.AddBucketBy("tenant", "legacy-data", map[string]string{"team": "data"})
			}
			resp, err := env.srv.DriverGrantBucketAccess(ctx, &cosi.DriverGrantBucketAccessRequest{BucketId: "legacy-data", Name: "ba-imp",
				AuthenticationType: cosi.AuthenticationType_Key})
			wantCode(t, err, tt.want)
			for _, w := range tt.words {
				if !containsWord(err, w) {
					t.Fatalf("error %v does not name %q", err, w)
				}
			}
			if tt.want != codes.OK {
				noRecords(ctx, t, env)
				return
			}
			rec, err := env.srv.store.GetBucket(ctx, names.BucketRecord("legacy-data"))
			if err != nil || !rec.Spec.Imported || rec.Status.Phase != store.PhaseReady {
				t.Fatalf("record %+v, %v; want an imported, ready record", rec, err)
			}
			// A create of the same name never hands the imported bucket
			// out as a new one.
			_, err = env.srv.DriverCreateBucket(ctx, &cosi.DriverCreateBucketRequest{Name: "legacy-data"})
			wantCode(t, err, codes.AlreadyExists)
			// Revoking removes the driver's user; deleting the Bucket
			// keeps the bucket. (That the deletion revokes what is left is
			// shown with the real reconciler in test/conformance.)
			if _, err := env.srv.DriverRevokeBucketAccess(ctx, &cosi.DriverRevokeBucketAccessRequest{BucketId: "legacy-data", AccountId: resp.GetAccountId()}); err != nil {
				t.Fatalf("DriverRevokeBucketAccess: %v", err)
			}
			if _, err := env.srv.DriverDeleteBucket(ctx, &cosi.DriverDeleteBucketRequest{BucketId: "legacy-data"}); err != nil {
				t.Fatalf("DriverDeleteBucket: %v", err)
			}
			if st, err := env.admin.ObserveBucket(ctx, "legacy-data", s3admin.Ownership{}); err != nil || !st.Exists {
				t.Fatalf("deleting an imported bucket's record deleted the bucket: %+v, %v", st, err)
			}
			noRecords(ctx, t, env)
		})
	}
}

func containsWord(err error, w string) bool { return err != nil && strings.Contains(err.Error(), w) }

// An import that timed out before the reconciler found the bucket missing
// leaves a record; the next grant answers NOT_FOUND and removes it.
func TestAnImportLeftBlockedIsRemovedByTheNextGrant(t *testing.T) {
	ctx, env := newHandlerEnv(t)
	env.srv.cfg.ImportBuckets = []string{"legacy-*"}
	rec, _, err := env.srv.store.CreateBucket(ctx, store.BucketSpec{Name: "legacy-data", BucketID: "legacy-data", Imported: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.srv.store.SetBucketStatus(ctx, rec.RecordName, store.Status{Phase: store.PhaseBlocked, Reason: store.ReasonImportedBucketMissing}); err != nil {
		t.Fatal(err)
	}
	_, err = env.srv.DriverGrantBucketAccess(ctx, &cosi.DriverGrantBucketAccessRequest{BucketId: "legacy-data", Name: "ba-imp",
		AuthenticationType: cosi.AuthenticationType_Key})
	wantCode(t, err, codes.NotFound)
	if _, err := env.srv.store.GetBucket(ctx, rec.RecordName); err == nil {
		t.Fatal("the record of the missing imported bucket is still there")
	}
}
