package fake

import (
	"context"
	"fmt"
	"maps"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// The Fake's bucket features, with SeaweedFS's semantics: the quota is a
// field of the bucket (its filer entry), placement rules live apart from
// the buckets and outlive them (the filer configuration), and neither
// exists for a Fake reached through S3 alone (HideCreators).

func (fb fakeBuckets) Filer() bool {
	f := fb.f
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.creatorsHidden
}

func (fb fakeBuckets) Quota(ctx context.Context, name string) (int64, error) {
	f := fb.begin("LookupBucketEntry")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("LookupBucketEntry", name, false)
	if err != nil {
		return 0, err
	}
	return b.quota, nil
}

func (fb fakeBuckets) SetQuota(ctx context.Context, name string, quota int64) error {
	f := fb.begin("UpdateBucketEntry")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("UpdateBucketEntry", name, true)
	if err == nil {
		b.quota = quota
	}
	return err
}

func (fb fakeBuckets) Placement(ctx context.Context, name string) (plan.Placement, error) {
	f := fb.begin("ReadFilerConf")
	defer f.mu.Unlock()
	if err := f.op("ReadFilerConf", false); err != nil {
		return plan.Placement{}, err
	}
	return f.rules[name].Placement, nil
}

func (fb fakeBuckets) SetPlacement(ctx context.Context, name string, want plan.Placement) (bool, error) {
	f := fb.begin("ReadFilerConf")
	defer f.mu.Unlock()
	if err := f.op("ReadFilerConf", false); err != nil {
		return false, err
	}
	r := f.rules[name]
	next, changed := plan.MergePlacement(r.Placement, want)
	if !changed {
		return false, nil
	}
	if err := f.op("WriteFilerConf", true); err != nil {
		return false, err
	}
	r.Placement = next
	f.rules[name] = r
	return true, nil
}

func (fb fakeBuckets) RemovePlacement(ctx context.Context, name string) error {
	f := fb.begin("ReadFilerConf")
	defer f.mu.Unlock()
	if err := f.op("ReadFilerConf", false); err != nil {
		return err
	}
	if _, ok := f.rules[name]; !ok {
		return nil
	}
	if err := f.op("WriteFilerConf", true); err != nil {
		return err
	}
	delete(f.rules, name)
	return nil
}

func (fb fakeBuckets) Versioning(ctx context.Context, name string) (string, error) {
	f := fb.begin("GetBucketVersioning")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("GetBucketVersioning", name, false)
	if err != nil {
		return "", err
	}
	return b.versioning, nil
}

func (fb fakeBuckets) EnableVersioning(ctx context.Context, name string) error {
	f := fb.begin("PutBucketVersioning")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("PutBucketVersioning", name, true)
	if err == nil {
		b.versioning = s3admin.VersioningEnabled
	}
	return err
}

func (fb fakeBuckets) ObjectLock(ctx context.Context, name string) (bool, error) {
	f := fb.begin("GetObjectLockConfiguration")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("GetObjectLockConfiguration", name, false)
	return err == nil && b.objectLock, err
}

// UsedBytes is the sum of the sizes of the bucket's objects.
func (fb fakeBuckets) UsedBytes(ctx context.Context, name string) (int64, error) {
	f := fb.begin("GetObject")
	defer f.mu.Unlock()
	b, err := f.bucketLocked("GetObject", name, false)
	if err != nil {
		return 0, err
	}
	var used int64
	for k := range b.objects {
		used += b.sizes[k]
	}
	return used, nil
}

// SetQuota sets the bucket's quota behind the client's back, as weed
// shell's s3.bucket.quota does (0: removed, negative: disabled).
func (f *Fake) SetQuota(bucket string, quota int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.buckets[bucket]
	if b == nil {
		return fmt.Errorf("SetQuota: %w: bucket %q", s3admin.ErrNotFound, bucket)
	}
	b.quota = quota
	return nil
}

// QuotaOf reads the bucket's quota behind the client's back.
func (f *Fake) QuotaOf(bucket string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.buckets[bucket]
	if b == nil {
		return 0, fmt.Errorf("QuotaOf: %w: bucket %q", s3admin.ErrNotFound, bucket)
	}
	return b.quota, nil
}

// SetRule replaces the location rule of the bucket's directory behind the
// client's back, as weed shell's fs.configure or SeaweedFS's quota
// enforcement (readOnly) do; the bucket need not exist.
func (f *Fake) SetRule(bucket string, p plan.Placement, readOnly bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules[bucket] = fakeRule{Placement: p, ReadOnly: readOnly}
}

// Rule reads the location rule of the bucket's directory; ok is false when
// there is none.
func (f *Fake) Rule(bucket string) (p plan.Placement, readOnly, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.rules[bucket]
	return r.Placement, r.ReadOnly, ok
}

// SetVersioning sets the bucket's versioning status behind the client's
// back ("Enabled" or "Suspended").
func (f *Fake) SetVersioning(bucket, status string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.buckets[bucket]
	if b == nil {
		return fmt.Errorf("SetVersioning: %w: bucket %q", s3admin.ErrNotFound, bucket)
	}
	b.versioning = status
	return nil
}

// PutObjectSized stores an object of size bytes behind the client's back.
func (f *Fake) PutObjectSized(bucket, key string, size int64) error {
	if err := f.PutObject(bucket, key); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.buckets[bucket]
	if b.sizes == nil {
		b.sizes = map[string]int64{}
	}
	b.sizes[key] = size
	return nil
}

// PutLockedObject stores an object version under a COMPLIANCE retention
// behind the client's back; the bucket must have object lock.
func (f *Fake) PutLockedObject(bucket, key string) error {
	f.mu.Lock()
	b := f.buckets[bucket]
	switch {
	case b == nil:
		f.mu.Unlock()
		return fmt.Errorf("PutLockedObject: %w: bucket %q", s3admin.ErrNotFound, bucket)
	case !b.objectLock:
		f.mu.Unlock()
		return fmt.Errorf("PutLockedObject: %w: bucket %q has no object lock", s3admin.ErrInvalid, bucket)
	}
	f.mu.Unlock()
	if err := f.PutObject(bucket, key); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if b.locked == nil {
		b.locked = map[string]bool{}
	}
	b.locked[key] = true
	return nil
}

// DeleteObjectVersion deletes an object's version behind the client's back,
// as its holder would; a version under retention is refused
// (ErrAccessDenied), as SeaweedFS refuses it.
func (f *Fake) DeleteObjectVersion(bucket, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.buckets[bucket]
	switch {
	case b == nil:
		return fmt.Errorf("DeleteObjectVersion: %w: bucket %q", s3admin.ErrNotFound, bucket)
	case b.locked[key]:
		return fmt.Errorf("DeleteObjectVersion: %w: %q is under retention", s3admin.ErrAccessDenied, key)
	}
	delete(b.objects, key)
	return nil
}

// BucketTags reads the bucket's tags behind the client's back.
func (f *Fake) BucketTags(bucket string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.buckets[bucket]
	if b == nil {
		return nil, fmt.Errorf("BucketTags: %w: bucket %q", s3admin.ErrNotFound, bucket)
	}
	return maps.Clone(b.tags), nil
}
