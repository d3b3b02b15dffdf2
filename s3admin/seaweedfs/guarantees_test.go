package seaweedfs

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/s3check"
)

// TestForeignObjectsAreNeverModified runs every Admin method against a user
// and a bucket the driver did not create and checks, with the admin key,
// that nothing about them changed.
func TestForeignObjectsAreNeverModified(t *testing.T) {
	onEachUserPath(t, "frg", testForeignObjectsAreNeverModified)
}

func testForeignObjectsAreNeverModified(t *testing.T, e *admintest.Env) {
	ctx := admintest.Context(t)
	bd := e.Backdoor.(*seaweedBackdoor)
	raw := bd.raw

	// A tenant's bucket, and a bucket of another installation.
	fb := e.Bucket("foreign")
	e.Backdoor.AddTenantBucket(t, fb, map[string]string{"team": "data"})
	e.Backdoor.TenantPutObject(t, fb, "precious")
	otherOwned := e.Bucket("other-driver")
	e.Backdoor.AddBucket(t, otherOwned, map[string]string{names.OwnerTagKey: "another-driver"})
	fu := e.ForeignUser("svc")
	fuKey := e.Backdoor.AddUser(t, fu)
	fuPolicy, _ := plan.PolicyDocument(fb, s3admin.ModeReadWrite)
	e.Backdoor.PutUserPolicy(t, fu, "svc-policy", fuPolicy)
	// A user carrying the prefix of another driver instance.
	otherPrefixUser := "cosi-other-" + e.ID
	otherKey := e.Backdoor.AddUser(t, otherPrefixUser)

	snapshot := func() string {
		var sb strings.Builder
		for _, bk := range []string{fb, otherOwned} {
			tags, err := raw.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bk)})
			admintest.MustNil(t, "GetBucketTagging", err)
			var kv []string
			for _, tg := range tags.TagSet {
				kv = append(kv, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
			}
			slices.Sort(kv)
			objs, err := raw.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bk)})
			admintest.MustNil(t, "ListObjectsV2", err)
			var keys []string
			for _, o := range objs.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
			fmt.Fprintf(&sb, "bucket %s tags %v objects %v\n", bk, kv, keys)
		}
		for _, u := range []string{fu, otherPrefixUser} {
			ks, err := raw.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(u)})
			admintest.MustNil(t, "ListAccessKeys", err)
			var ids []string
			for _, k := range ks.AccessKeyMetadata {
				ids = append(ids, aws.ToString(k.AccessKeyId)+":"+string(k.Status))
			}
			ps, err := raw.iam.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String(u)})
			admintest.MustNil(t, "ListUserPolicies", err)
			var docs []string
			for _, p := range ps.PolicyNames {
				d, err := raw.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(u), PolicyName: aws.String(p)})
				admintest.MustNil(t, "GetUserPolicy", err)
				docs = append(docs, p+"="+aws.ToString(d.PolicyDocument))
			}
			fmt.Fprintf(&sb, "user %s keys %v policies %v\n", u, ids, docs)
		}
		return sb.String()
	}
	before := snapshot()
	if !strings.Contains(before, fuKey) || !strings.Contains(before, otherKey) {
		t.Fatalf("snapshot misses the seeded keys:\n%s", before)
	}

	ownB := e.Bucket("mine")
	admintest.CreateBucket(t, e, ownB)
	for _, bk := range []string{fb, otherOwned} {
		admintest.MustIs(t, "CreateBucket "+bk, e.Admin.CreateBucket(ctx, bk, e.Own, s3admin.CreateOptions{}), s3admin.ErrNotOwned)
		admintest.MustIs(t, "DeleteBucket "+bk, e.Admin.DeleteBucket(ctx, bk, e.Own, false), s3admin.ErrNotOwned)
		admintest.MustIs(t, "DeleteBucket purge "+bk, e.Admin.DeleteBucket(ctx, bk, e.Own, true), s3admin.ErrNotOwned)
		_, err := e.Admin.ObserveBucket(ctx, bk, e.Own)
		admintest.MustNil(t, "ObserveBucket", err)
		_, err = e.Admin.EnsureAccess(ctx, e.Access(t, e.User("x"), bk, s3admin.ModeReadWrite))
		admintest.MustIs(t, "EnsureAccess on "+bk, err, s3admin.ErrNotOwned)
	}
	for _, u := range []string{fu, otherPrefixUser} {
		admintest.MustIs(t, "DeleteUser "+u, e.Admin.DeleteUser(ctx, u, ""), s3admin.ErrNotOwned)
		_, err := e.Admin.EnsureAccess(ctx, e.Access(t, u, ownB, s3admin.ModeReadOnly))
		admintest.MustIs(t, "EnsureAccess "+u, err, s3admin.ErrNotOwned)
		_, err = e.Admin.ObserveUser(ctx, u)
		admintest.MustNil(t, "ObserveUser", err)
	}
	// The foreign user's key, supplied for an owned user, is refused.
	steal := e.Access(t, e.User("steal"), ownB, s3admin.ModeReadOnly)
	steal.AccessKeyID = fuKey
	_, err := e.Admin.EnsureAccess(ctx, steal)
	admintest.MustIs(t, "EnsureAccess with the foreign user's key id", err, s3admin.ErrAlreadyExists)
	users, err := e.Admin.ListOwnedUsers(ctx)
	admintest.MustNil(t, "ListOwnedUsers", err)
	for _, u := range users {
		if u.Name == fu || u.Name == otherPrefixUser {
			t.Errorf("ListOwnedUsers lists foreign user %s", u.Name)
		}
	}
	want := []s3admin.MarkedBucket{{Name: ownB, Owner: e.Own.Owner, Marker: e.Own.Marker}, {Name: otherOwned, Owner: "another-driver"}}
	slices.SortFunc(want, func(a, b s3admin.MarkedBucket) int { return strings.Compare(a.Name, b.Name) })
	if got := admintest.ListMarked(t, e); !slices.Equal(got, want) {
		t.Errorf("ListMarkedBuckets = %v, want %v", got, want)
	}
	if after := snapshot(); after != before {
		t.Fatalf("foreign objects changed\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestConcurrentEnsureAccess runs 20 EnsureAccess calls for distinct users at
// once: every grant must persist and every key authenticate.
func TestConcurrentEnsureAccess(t *testing.T) { onEachUserPath(t, "par", testConcurrentEnsureAccess) }

func testConcurrentEnsureAccess(t *testing.T, e *admintest.Env) {
	ctx := admintest.Context(t)
	b := e.Bucket("b")
	admintest.CreateBucket(t, e, b)
	const n = 20
	accesses := make([]s3admin.Access, n)
	for i := range accesses {
		accesses[i] = e.Access(t, e.User(fmt.Sprintf("u%02d", i)), b, []s3admin.Mode{s3admin.ModeReadWrite, s3admin.ModeReadOnly, s3admin.ModeWriteOnly}[i%3])
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, a := range accesses {
		wg.Go(func() { _, errs[i] = e.Admin.EnsureAccess(ctx, a) })
	}
	wg.Wait()
	t.Logf("%d concurrent EnsureAccess for new users took %s", n, time.Since(start).Round(time.Millisecond))
	for i, err := range errs {
		admintest.MustNil(t, fmt.Sprintf("EnsureAccess %d", i), err)
	}
	users, err := e.Admin.ListOwnedUsers(ctx)
	admintest.MustNil(t, "ListOwnedUsers", err)
	if len(users) != n {
		t.Fatalf("ListOwnedUsers found %d users, want %d", len(users), n)
	}
	for i, a := range accesses {
		want := s3admin.UserState{Name: a.User, Exists: true, Owned: true, AccessKeyIDs: []string{a.AccessKeyID},
			Bucket: b, Mode: a.Mode, PolicyExact: true}
		if !admintest.SameUser(users[i], want) {
			t.Errorf("user %d\n got %+v\nwant %+v", i, users[i], want)
		}
		// Every mode may call GetBucketLocation: it proves the key
		// authenticates and the policy is in force.
		_, err := userS3(a).GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(b)})
		s3check.RequireAllowed(t, fmt.Sprintf("GetBucketLocation with key %d", i), err)
	}
	before := e.Backdoor.WriteCount()
	for _, a := range accesses {
		if admintest.Ensure(t, e, a) {
			t.Errorf("%s: converged EnsureAccess reported a change", a.User)
		}
	}
	if w := e.Backdoor.WriteCount() - before; w != 0 {
		t.Errorf("converged EnsureAccess made %d writes", w)
	}
}

// TestDeleteFence: before deciding that a bucket is empty, DeleteBucket
// fences it so that nobody (a tenant allowed s3:* on it, the admin key) can
// write an object that the delete would then destroy.
func TestDeleteFence(t *testing.T) {
	e := isoEnv(t, "fnc")
	ctx := admintest.Context(t)
	bd := e.Backdoor.(*seaweedBackdoor)
	tenant := theTenant(t).S3

	t.Run("a fenced bucket refuses every write and policy change, and can still be read, emptied and deleted", func(t *testing.T) {
		b := e.Bucket("f")
		admintest.CreateBucket(t, e, b)
		e.Backdoor.PutObject(t, b, "kept")
		admintest.MustNil(t, "fence", bd.admin.fence(ctx, b))
		s3check.RequireDenied(t, "tenant PutObject", s3check.Put(ctx, tenant, b, "late", "x"))
		s3check.RequireDenied(t, "admin PutObject", s3check.Put(ctx, bd.raw.s3, b, "late", "x"))
		_, err := tenant.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp")})
		s3check.RequireDenied(t, "tenant CreateMultipartUpload", err)
		_, err = tenant.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy"), CopySource: aws.String(b + "/kept")})
		s3check.RequireDenied(t, "tenant CopyObject", err)
		_, err = tenant.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(b)})
		s3check.RequireDenied(t, "tenant DeleteBucketPolicy", err)
		_, err = tenant.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
		s3check.RequireDenied(t, "tenant PutBucketPolicy", err)
		if body, err := s3check.Get(ctx, bd.raw.s3, b, "kept"); err != nil || body != "data" {
			t.Fatalf("read in a fenced bucket: %q, %v", body, err)
		}
		admintest.MustIs(t, "DeleteBucket of the fenced, non-empty bucket", e.Admin.DeleteBucket(ctx, b, e.Own, false), s3admin.ErrNotEmpty)
		admintest.MustNil(t, "fence again", bd.admin.fence(ctx, b))
		admintest.MustNil(t, "DeleteObject", s3check.Delete(ctx, bd.raw.s3, b, "kept"))
		admintest.MustNil(t, "DeleteBucket", e.Admin.DeleteBucket(ctx, b, e.Own, false))
		if st := admintest.ObserveBucket(t, e, b); st.Exists {
			t.Fatal("bucket still exists")
		}
	})

	t.Run("a tenant's form upload passes the fence, and one made while DeleteBucket reads behind its fence is kept and readable", func(t *testing.T) {
		// SeaweedFS's POST Object handler never reads the bucket policy: the
		// fence cannot stop a form upload, the check behind it must see it.
		cred, err := tenant.Options().Credentials.Retrieve(ctx)
		admintest.MustNil(t, "tenant credentials", err)
		b := e.Bucket("form")
		admintest.CreateBucket(t, e, b)
		admintest.MustNil(t, "fence", bd.admin.fence(ctx, b))
		admintest.MustNil(t, "tenant form upload in a fenced bucket", formUpload(ctx, cred.AccessKeyID, cred.SecretAccessKey, b, "passed", "x"))
		admintest.MustNil(t, "DeleteObject", s3check.Delete(ctx, bd.raw.s3, b, "passed"))

		b = e.Bucket("form-late")
		admintest.CreateBucket(t, e, b)
		var putErr, formErr error
		uploaded := false
		bd.BeforeRequest(func(op string) {
			// GetBucketPolicy is read only behind the fence: the listing of
			// uploads was refused, and DeleteBucket asks whether its fence
			// is why.
			if op != "GetBucketPolicy" || uploaded {
				return
			}
			uploaded = true
			putErr = s3check.Put(ctx, tenant, b, "put", "x")
			formErr = formUpload(ctx, cred.AccessKeyID, cred.SecretAccessKey, b, "late", "late data")
		})
		err = e.Admin.DeleteBucket(ctx, b, e.Own, false)
		bd.BeforeRequest(nil)
		if !uploaded {
			t.Fatal("DeleteBucket never read the bucket policy behind its fence")
		}
		s3check.RequireDenied(t, "tenant PutObject behind the fence", putErr)
		admintest.MustNil(t, "tenant form upload behind the fence", formErr)
		admintest.MustIs(t, "DeleteBucket with a form upload behind the fence", err, s3admin.ErrNotEmpty)
		if body, err := s3check.Get(ctx, tenant, b, "late"); err != nil || body != "late data" {
			t.Fatalf("the form upload after DeleteBucket: %q, %v", body, err)
		}
		admintest.MustIs(t, "DeleteBucket again", e.Admin.DeleteBucket(ctx, b, e.Own, false), s3admin.ErrNotEmpty)
		if body, err := s3check.Get(ctx, tenant, b, "late"); err != nil || body != "late data" {
			t.Fatalf("the form upload after DeleteBucket again: %q, %v", body, err)
		}
	})

	t.Run("a form upload after DeleteBucket makes the bucket again, holding the object, without the record's marks", func(t *testing.T) {
		// What the README says of an upload that starts after the delete:
		// kept, not lost, but in a bucket the driver does not own.
		b := e.Bucket("form-after")
		admintest.CreateBucket(t, e, b)
		admintest.MustNil(t, "DeleteBucket", e.Admin.DeleteBucket(ctx, b, e.Own, false))
		admintest.MustNil(t, "form upload after the delete", formUpload(ctx, seaweed.AccessKey, seaweed.SecretKey, b, "after", "after data"))
		if body, err := s3check.Get(ctx, bd.raw.s3, b, "after"); err != nil || body != "after data" {
			t.Fatalf("the form upload after the delete: %q, %v", body, err)
		}
		if st := admintest.ObserveBucket(t, e, b); !st.Exists || st.Empty || st.Owned {
			t.Fatalf("bucket %+v, want it back, holding the upload, not the record's", st)
		}
	})

	t.Run("a purge delete retried after an earlier attempt fenced the bucket deletes it with its objects", func(t *testing.T) {
		// The earlier attempt ended (the driver crashed) between the fence
		// and the delete: the fence also denies listing the unfinished
		// uploads that a purge aborts before fencing.
		b := e.Bucket("p")
		admintest.CreateBucket(t, e, b)
		e.Backdoor.PutObject(t, b, "purged")
		admintest.MustNil(t, "fence", bd.admin.fence(ctx, b))
		admintest.MustNil(t, "DeleteBucket with purge", e.Admin.DeleteBucket(ctx, b, e.Own, true))
		if st := admintest.ObserveBucket(t, e, b); st.Exists {
			t.Fatal("bucket still exists")
		}
	})
}
