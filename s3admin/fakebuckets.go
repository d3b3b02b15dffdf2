package s3admin

import (
	"context"
	"slices"
	"strings"
)

func (f *Fake) bucketMarksLocked(name string) (exists bool, marks MarkedBucket, err error) {
	if err := f.op("GetBucketTagging", false); err != nil {
		return false, MarkedBucket{}, err
	}
	b := f.buckets[name]
	if b == nil {
		return false, MarkedBucket{}, nil
	}
	return true, MarkedBucket{Name: name, Owner: b.tags[OwnerTagKey], Marker: b.tags[MarkerTagKey]}, nil
}

// claimBucketLocked creates the bucket, or finds it created by the driver's
// identity; a bucket another identity created is ErrNotOwned (see
// SeaweedFS.claimBucket).
func (f *Fake) claimBucketLocked(name string) error {
	b := f.buckets[name]
	if err := f.op("CreateBucket", b == nil); err != nil {
		return err
	}
	switch {
	case b == nil:
		f.buckets[name] = &fakeBucket{tags: map[string]string{}, objects: map[string]bool{}}
	case b.creator != "":
		return newError("CreateBucket", ErrNotOwned, "bucket %q was created by another identity", name)
	}
	return nil
}

// CreateBucket implements Admin.
func (f *Fake) CreateBucket(ctx context.Context, name string, own Ownership) error {
	if err := ValidateBucketName(name); err != nil {
		return err
	}
	if own.Owner == "" {
		return newError("CreateBucket", ErrInvalid, "an owner id is required to mark bucket %q", name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	exists, marks, err := f.bucketMarksLocked(name)
	switch {
	case err != nil:
		return err
	case exists && !adoptable(marks, own):
		return newError("CreateBucket", ErrNotOwned, "bucket %q is marked for another owner or record", name)
	}
	if err := f.claimBucketLocked(name); err != nil {
		return err
	}
	if exists && marks.Owns(own) {
		return nil
	}
	if err := f.op("PutBucketTagging", true); err != nil {
		return err
	}
	f.buckets[name].tags[OwnerTagKey] = own.Owner
	if own.Marker != "" {
		f.buckets[name].tags[MarkerTagKey] = own.Marker
	}
	return nil
}

// ObserveBucket implements Admin.
func (f *Fake) ObserveBucket(ctx context.Context, name string, own Ownership) (BucketState, error) {
	if err := ValidateBucketName(name); err != nil {
		return BucketState{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	exists, marks, err := f.bucketMarksLocked(name)
	if err != nil || !exists {
		return BucketState{}, err
	}
	if err := f.op("ListObjectsV2", false); err != nil {
		return BucketState{}, err
	}
	return BucketState{Exists: true, Owned: marks.Owns(own), Empty: len(f.buckets[name].objects) == 0}, nil
}

// DeleteBucket implements Admin.
func (f *Fake) DeleteBucket(ctx context.Context, name string, own Ownership, purge bool) error {
	if err := ValidateBucketName(name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	exists, marks, err := f.bucketMarksLocked(name)
	if err != nil {
		return err
	}
	if !exists {
		return nil
	}
	if !marks.Owns(own) {
		return newError("DeleteBucket", ErrNotOwned, "bucket %q does not carry this record's marks", name)
	}
	if err := f.claimBucketLocked(name); err != nil {
		return err
	}
	if !purge {
		if err := f.op("ListObjectsV2", false); err != nil {
			return err
		}
		if len(f.buckets[name].objects) > 0 {
			return newError("DeleteBucket", ErrNotEmpty, "bucket %q still holds data", name)
		}
	}
	if !f.buckets[name].fenced {
		if err := f.op("PutBucketPolicy", true); err != nil {
			return err
		}
		f.buckets[name].fenced = true
	}
	if err := f.op("DeleteBucket", true); err != nil {
		return err
	}
	delete(f.buckets, name)
	f.lapseGrantsLocked(name)
	return nil
}

// ListMarkedBuckets implements Admin.
func (f *Fake) ListMarkedBuckets(ctx context.Context) ([]MarkedBucket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("ListBuckets", false); err != nil {
		return nil, err
	}
	var marked []MarkedBucket
	for n, b := range f.buckets {
		if b.tags[OwnerTagKey] != "" {
			marked = append(marked, MarkedBucket{Name: n, Owner: b.tags[OwnerTagKey], Marker: b.tags[MarkerTagKey]})
		}
	}
	slices.SortFunc(marked, func(a, b MarkedBucket) int { return strings.Compare(a.Name, b.Name) })
	return marked, nil
}

// CheckAnonymousDenied implements Admin.
func (f *Fake) CheckAnonymousDenied(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("anonymous ListBuckets", false); err != nil {
		return err
	}
	if f.anonymous {
		return newError("anonymous ListBuckets", ErrAnonymousAllowed, "the fake store accepts unsigned requests")
	}
	return nil
}

// SetAnonymousAccess makes CheckAnonymousAccess report a, as a store with an
// anonymous identity would.
func (f *Fake) SetAnonymousAccess(a AnonymousAccess) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.anonymousObj = a
}

// CheckAnonymousAccess implements Admin.
func (f *Fake) CheckAnonymousAccess(ctx context.Context, probe Ownership, sample []string) (AnonymousAccess, error) {
	probe.Marker = ProbeMarker
	if err := f.CreateBucket(ctx, ProbeBucketName(probe.Owner), probe); err != nil {
		return AnonymousAccess{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("anonymous GET", false); err != nil {
		return AnonymousAccess{}, err
	}
	return f.anonymousObj, nil
}
