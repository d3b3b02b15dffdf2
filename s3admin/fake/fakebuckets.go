package fake

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/engine"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// fakeBuckets is the Fake's bucketBackend: SeaweedFS's bucket requests on
// the Fake's in-memory buckets, as the driver's identity (driverIdentity). Each
// request runs the hook under its SeaweedFS operation name and counts as a
// write exactly where the SeaweedFS client counts one.
type fakeBuckets struct{ f *Fake }

var _ engine.BucketBackend = fakeBuckets{}

// fakeSettling: the Fake shows every write at once, so a read is believed
// the first time; the fence is still proven by a probe, as in SeaweedFS.
var fakeSettling = engine.Settling{Tags: engine.Pace{Tries: 1}, Fence: engine.Pace{Tries: engine.SeaweedSettling.Fence.Tries}}

func (f *Fake) bucketEngine() *engine.Buckets {
	return &engine.Buckets{Be: fakeBuckets{f}, Locks: &f.bucketLocks, Settle: fakeSettling}
}

// CreateBucket implements Admin.
func (f *Fake) CreateBucket(ctx context.Context, name string, own s3admin.Ownership, opts s3admin.CreateOptions) error {
	return f.bucketEngine().CreateBucket(ctx, name, own, opts)
}

// ObserveBucketFeatures implements Admin.
func (f *Fake) ObserveBucketFeatures(ctx context.Context, name string, want s3admin.BucketFeatures) (s3admin.BucketFeatureState, error) {
	return f.bucketEngine().ObserveBucketFeatures(ctx, name, want)
}

// EnsureBucketFeatures implements Admin.
func (f *Fake) EnsureBucketFeatures(ctx context.Context, name string, own s3admin.Ownership, want s3admin.BucketFeatures) (bool, error) {
	return f.bucketEngine().EnsureBucketFeatures(ctx, name, own, want)
}

// RemoveBucketPlacement implements Admin.
func (f *Fake) RemoveBucketPlacement(ctx context.Context, name string, own s3admin.Ownership) error {
	return f.bucketEngine().RemoveBucketPlacement(ctx, name, own)
}

// ObserveBucket implements Admin.
func (f *Fake) ObserveBucket(ctx context.Context, name string, own s3admin.Ownership) (s3admin.BucketState, error) {
	return f.bucketEngine().ObserveBucket(ctx, name, own)
}

// DeleteBucket implements Admin.
func (f *Fake) DeleteBucket(ctx context.Context, name string, own s3admin.Ownership, purge bool) error {
	return f.bucketEngine().DeleteBucket(ctx, name, own, purge)
}

// ListMarkedBuckets implements Admin.
func (f *Fake) ListMarkedBuckets(ctx context.Context) ([]s3admin.MarkedBucket, error) {
	return f.bucketEngine().ListMarkedBuckets(ctx)
}

// SetBucketTags replaces a bucket's tags behind the client's back, as an
// identity allowed PutBucketTagging on it may (nil: removes them all).
func (f *Fake) SetBucketTags(name string, tags map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.buckets[name]
	if b == nil {
		return s3admin.NewError("PutBucketTagging", s3admin.ErrNotFound, "no bucket %q", name)
	}
	b.tags = maps.Clone(tags)
	if b.tags == nil {
		b.tags = map[string]string{}
	}
	return nil
}

// bucket runs the hook for op (a write if write is set) and returns the
// bucket, or ErrNotFound as SeaweedFS answers NoSuchBucket; with f.mu held.
func (f *Fake) bucketLocked(op, name string, write bool) (*fakeBucket, error) {
	if err := f.op(op, write); err != nil {
		return nil, err
	}
	b := f.buckets[name]
	if b == nil {
		return nil, s3admin.NewError(op, s3admin.ErrNotFound, "no bucket %q", name)
	}
	return b, nil
}

// begin runs the before-request seam (see SetBeforeRequest) for op, then
// takes f.mu for the request, which the caller releases.
func (fb fakeBuckets) begin(op string) *Fake {
	f := fb.f
	f.mu.Lock()
	before := f.beforeRequest
	f.mu.Unlock()
	if before != nil {
		before(op)
	}
	f.mu.Lock()
	return f
}

func (fb fakeBuckets) CreateBucket(ctx context.Context, name string, opts s3admin.CreateOptions) (plan.CreateAnswer, error) {
	f := fb.begin("CreateBucket")
	defer f.mu.Unlock()
	b := f.buckets[name]
	if err := f.op("CreateBucket", b == nil); err != nil {
		return 0, err
	}
	switch {
	case b == nil:
		b := &fakeBucket{creator: driverIdentity, tags: map[string]string{}, objects: map[string]bool{}}
		if opts.ObjectLock {
			// As SeaweedFS: object lock only on creation, and it implies
			// versioning.
			b.objectLock, b.versioning = true, s3admin.VersioningEnabled
		}
		f.buckets[name] = b
		return plan.AnswerCreated, nil
	case opts.ObjectLock != b.objectLock:
		// As SeaweedFS: a request whose object-lock setting differs from
		// the existing bucket's conflicts with it, whoever asks.
		return plan.AnswerExistsForAnother, nil
	case b.creator == driverIdentity || b.creator == "":
		// As SeaweedFS: a bucket without a recorded creator is "yours" to
		// every identity.
		return plan.AnswerOwnedByYou, nil
	default:
		return plan.AnswerExistsForAnother, nil
	}
}

func (fb fakeBuckets) Creator(ctx context.Context, name string) (string, bool, error) {
	f := fb.begin("LookupBucketEntry")
	defer f.mu.Unlock()
	if f.creatorsHidden {
		return "", false, nil
	}
	if err := f.op("LookupBucketEntry", false); err != nil {
		return "", false, err
	}
	if b := f.buckets[name]; b != nil {
		return b.creator, true, nil
	}
	return "", true, nil
}

func (fb fakeBuckets) Tags(ctx context.Context, name string) (map[string]string, bool, error) {
	f := fb.begin("GetBucketTagging")
	defer f.mu.Unlock()
	if err := f.op("GetBucketTagging", false); err != nil {
		return nil, false, err
	}
	b := f.buckets[name]
	if b == nil {
		return nil, false, nil
	}
	return maps.Clone(b.tags), true, nil
}

func (fb fakeBuckets) PutTags(ctx context.Context, name string, tags map[string]string) error {
	f := fb.begin("PutBucketTagging")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("PutBucketTagging", name, true)
	if err == nil {
		b.tags = maps.Clone(tags)
	}
	return err
}

func (fb fakeBuckets) ListBuckets(ctx context.Context) ([]string, error) {
	f := fb.begin("ListBuckets")
	defer f.mu.Unlock()
	if err := f.op("ListBuckets", false); err != nil {
		return nil, err
	}
	return slices.Collect(maps.Keys(f.buckets)), nil
}

func (fb fakeBuckets) HasObjects(ctx context.Context, name string) (bool, error) {
	f := fb.begin("ListObjectsV2")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("ListObjectsV2", name, false)
	return err == nil && len(b.objects) > 0, err
}

// HasVersions: the Fake's buckets are unversioned, so each object is its
// one version, as ListObjectVersions shows it in SeaweedFS.
func (fb fakeBuckets) HasVersions(ctx context.Context, name string) (bool, error) {
	f := fb.begin("ListObjectVersions")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("ListObjectVersions", name, false)
	return err == nil && len(b.objects) > 0, err
}

// Uploads: the Fake holds no unfinished uploads; the fence denies listing
// them, as SeaweedFS counts it as part of s3:PutObject.
func (fb fakeBuckets) Uploads(ctx context.Context, name string, limit int) ([]engine.Upload, error) {
	f := fb.begin("ListMultipartUploads")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("ListMultipartUploads", name, false)
	if err == nil && b.fenced {
		err = s3admin.NewError("ListMultipartUploads", s3admin.ErrAccessDenied, "bucket %q is fenced", name)
	}
	return nil, err
}

func (fb fakeBuckets) AbortUpload(ctx context.Context, name string, u engine.Upload) error {
	f := fb.begin("AbortMultipartUpload")
	defer f.mu.Unlock()
	if _, err := f.bucketLocked("AbortMultipartUpload", name, true); err != nil {
		return err
	}
	return s3admin.NewError("AbortMultipartUpload", s3admin.ErrNotFound, "no upload %q", u.ID)
}

// PutFence: the fence denies policy changes, its own renewal included.
func (fb fakeBuckets) PutFence(ctx context.Context, name string) error {
	f := fb.begin("PutBucketPolicy")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("PutBucketPolicy", name, true)
	switch {
	case err != nil:
		return err
	case b.fenced:
		return s3admin.NewError("PutBucketPolicy", s3admin.ErrAccessDenied, "bucket %q is fenced", name)
	}
	b.fenced = true
	return nil
}

func (fb fakeBuckets) Fenced(ctx context.Context, name string) (bool, error) {
	f := fb.begin("GetBucketPolicy")
	defer f.mu.Unlock()
	if err := f.op("GetBucketPolicy", false); err != nil {
		return false, err
	}
	b := f.buckets[name]
	return b != nil && b.fenced, nil
}

func (fb fakeBuckets) ProbeWrite(ctx context.Context, name, key string) error {
	f := fb.begin("PutObject")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("PutObject", name, false)
	switch {
	case err != nil:
		return err
	case b.fenced:
		return s3admin.NewError("PutObject", s3admin.ErrAccessDenied, "bucket %q is fenced", name)
	}
	b.objects[key] = true
	return nil
}

func (fb fakeBuckets) DeleteObject(ctx context.Context, name, key string) error {
	f := fb.begin("DeleteObject")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("DeleteObject", name, true)
	if err == nil {
		delete(b.objects, key)
	}
	return err
}

// Versions lists every object (see hasVersions) in one page.
func (fb fakeBuckets) Versions(ctx context.Context, name string, cursor *engine.VersionCursor) ([]engine.ObjectVersion, *engine.VersionCursor, error) {
	f := fb.begin("ListObjectVersions")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("ListObjectVersions", name, false)
	if err != nil {
		return nil, nil, err
	}
	var vs []engine.ObjectVersion
	for _, k := range slices.Sorted(maps.Keys(b.objects)) {
		vs = append(vs, engine.ObjectVersion{Key: k, VersionID: "null"})
	}
	return vs, nil, nil
}

func (fb fakeBuckets) DeleteVersions(ctx context.Context, name string, vs []engine.ObjectVersion) error {
	f := fb.begin("DeleteObjects")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("DeleteObjects", name, true)
	if err != nil {
		return err
	}
	refused := 0
	for _, v := range vs {
		if b.locked[v.Key] {
			// As SeaweedFS: a version under retention is not deleted, and
			// the others of the request are.
			refused++
			continue
		}
		delete(b.objects, v.Key)
	}
	if refused > 0 {
		return s3admin.NewError("DeleteObjects", s3admin.ErrTransient, "%d objects of bucket %q not deleted: AccessDenied", refused, name)
	}
	return nil
}

// FolderLevel: the Fake keeps no folder entries of its own; folders are the
// key prefixes up to a "/".
func (fb fakeBuckets) FolderLevel(ctx context.Context, name, prefix string) (keys, folders []string, err error) {
	f := fb.begin("ListObjectsV2")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("ListObjectsV2", name, false)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(b.objects)) {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if dir, _, nested := strings.Cut(rest, "/"); nested {
			if p := prefix + dir + "/"; !slices.Contains(folders, p) {
				folders = append(folders, p)
			}
			continue
		}
		keys = append(keys, k)
	}
	return keys, folders, nil
}

// DeleteBucket deletes the bucket with whatever it holds, as SeaweedFS does
// by default, and takes away every user's permissions on it.
func (fb fakeBuckets) DeleteBucket(ctx context.Context, name string) error {
	f := fb.begin("DeleteBucket")
	defer f.mu.Unlock()
	if _, err := f.bucketLocked("DeleteBucket", name, true); err != nil {
		return err
	}
	delete(f.buckets, name)
	f.lapseGrantsLocked(name)
	return nil
}

// CheckAnonymousDenied implements Admin.
func (f *Fake) CheckAnonymousDenied(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("anonymous ListBuckets", false); err != nil {
		return err
	}
	if f.anonymous {
		return s3admin.NewError("anonymous ListBuckets", s3admin.ErrAnonymousAllowed, "the fake store accepts unsigned requests")
	}
	return nil
}

// SetUserWritesDisabled makes CheckUserWrites answer
// as a SeaweedFS serving its IAM API read-only does.
func (f *Fake) SetUserWritesDisabled(disabled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.userWritesDisabled = disabled
}

// CheckUserWrites implements Admin.
func (f *Fake) CheckUserWrites(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("DeleteUser", false); err != nil {
		return err
	}
	if f.userWritesDisabled {
		return &s3admin.Error{Op: "DeleteUser", Kind: s3admin.ErrAccessDenied, Code: "AccessDenied", Status: 403,
			Hint: s3admin.HintIAMWritesDisabled, Err: errors.New("IAM write operations are disabled on this server")}
	}
	return nil
}

// SetAnonymousAccess makes CheckAnonymousAccess report a, as a store with an
// anonymous identity would.
func (f *Fake) SetAnonymousAccess(a s3admin.AnonymousAccess) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.anonymousObj = a
}

// CheckAnonymousAccess implements Admin.
func (f *Fake) CheckAnonymousAccess(ctx context.Context, probe s3admin.Ownership, sample []string) (s3admin.AnonymousAccess, error) {
	probe.Marker = names.ProbeMarker
	if err := f.CreateBucket(ctx, names.ProbeBucket(probe.Owner), probe, s3admin.CreateOptions{}); err != nil {
		return s3admin.AnonymousAccess{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("anonymous GET", false); err != nil {
		return s3admin.AnonymousAccess{}, err
	}
	return f.anonymousObj, nil
}
