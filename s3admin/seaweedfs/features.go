package seaweedfs

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/calls"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc/filerpb"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// The requests behind a bucket's features (see engine.FeatureBackend):
// versioning, object lock and the used bytes through S3; the quota and the
// placement rule through the filer, which holds them and serves no S3 or
// IAM request for them.

func (b s3Buckets) Filer() bool { return b.c.filer != nil }

// noFiler is what the filer's methods answer on a client without one; the
// engine asks Filer first, so only a bug reaches it.
func noFiler(op string) error {
	return s3admin.NewError(op, s3admin.ErrUnsupported, "no filer: set --filer-grpc-address")
}

func (b s3Buckets) Quota(ctx context.Context, name string) (int64, error) {
	if b.c.filer == nil {
		return 0, noFiler("Quota")
	}
	return calls.Read(ctx, b.c, "LookupBucketEntry", func(ctx context.Context) (int64, error) {
		e, err := b.c.filer.BucketEntry(ctx, name)
		return e.GetQuota(), err
	})
}

// SetQuota is a read-modify-write of the bucket's entry, as weed shell's
// s3.bucket.quota does it: everything else of the entry (its tags, its
// creator, its bucket configuration) is written back as read. The bucket's
// lock keeps the driver's own changes of the bucket apart; a change by
// somebody else landing between the two requests (a tag or versioning
// change by a user allowed them) is lost. The window is two requests, and
// the driver's own marks and versioning are read back and written again by
// the next reconcile.
func (b s3Buckets) SetQuota(ctx context.Context, name string, quota int64) error {
	if b.c.filer == nil {
		return noFiler("SetQuota")
	}
	e, err := calls.Read(ctx, b.c, "LookupBucketEntry", func(ctx context.Context) (*filerpb.Entry, error) {
		return b.c.filer.BucketEntry(ctx, name)
	})
	if err != nil {
		return err
	}
	e.Quota = quota
	return b.c.Write(ctx, "UpdateBucketEntry", func(ctx context.Context) error {
		return b.c.filer.UpdateBucketEntry(ctx, e)
	})
}

func (b s3Buckets) Placement(ctx context.Context, name string) (plan.Placement, error) {
	if b.c.filer == nil {
		return plan.Placement{}, noFiler("Placement")
	}
	var p plan.Placement
	err := b.c.Call(ctx, "ReadFilerConf", func(ctx context.Context) error {
		prefix, err := b.c.filer.BucketPrefix(ctx, name)
		if err != nil {
			return err
		}
		conf, _, err := b.c.filer.ReadFilerConf(ctx)
		if err != nil {
			return err
		}
		p = filergrpc.PlacementOf(filergrpc.RuleOf(conf, prefix))
		return nil
	})
	return p, err
}

// editFilerConf is one read-modify-write of the filer configuration: edit
// changes the rules read and reports whether it changed them; the file is
// written only then.
//
// The file is shared by every bucket (one rule each) and by others than the
// driver. The client's own writes are serialized here, so that buckets
// converging concurrently never write over each other's rules. Others write
// it too, and nothing makes their write and ours exclusive: SeaweedFS's
// S3 gateway flips a bucket's read-only flag for its quota enforcement
// (every minute, when a bucket crosses its quota), and an operator's weed
// shell fs.configure rewrites it. Either write landing between our read and
// our write is lost, or loses ours: a lost rule of ours is written again at
// the next resync, which reads the rule back; a lost read-only flag is set
// again by the next enforcement round; an operator's lost change has to be
// made again. The window is two requests.
func (b s3Buckets) editFilerConf(ctx context.Context, edit func(conf *filerpb.FilerConf, prefix string) bool, name string) (bool, error) {
	if err := b.c.filerConf.Lock(ctx); err != nil {
		return false, s3admin.NewError("EditFilerConf", s3admin.ErrTransient, "%w", err)
	}
	defer b.c.filerConf.Unlock()
	var conf *filerpb.FilerConf
	var entry *filerpb.Entry
	var prefix string
	err := b.c.Call(ctx, "ReadFilerConf", func(ctx context.Context) error {
		var err error
		if prefix, err = b.c.filer.BucketPrefix(ctx, name); err != nil {
			return err
		}
		conf, entry, err = b.c.filer.ReadFilerConf(ctx)
		return err
	})
	if err != nil {
		return false, err
	}
	if !edit(conf, prefix) {
		return false, nil
	}
	err = b.c.Write(ctx, "WriteFilerConf", func(ctx context.Context) error {
		return b.c.filer.WriteFilerConf(ctx, entry, conf, time.Now().Unix())
	})
	return err == nil, err
}

func (b s3Buckets) SetPlacement(ctx context.Context, name string, want plan.Placement) (bool, error) {
	if b.c.filer == nil {
		return false, noFiler("SetPlacement")
	}
	return b.editFilerConf(ctx, func(conf *filerpb.FilerConf, prefix string) bool {
		return filergrpc.SetPlacement(conf, prefix, want)
	}, name)
}

func (b s3Buckets) RemovePlacement(ctx context.Context, name string) error {
	if b.c.filer == nil {
		return noFiler("RemovePlacement")
	}
	_, err := b.editFilerConf(ctx, filergrpc.RemoveRule, name)
	return err
}

func (b s3Buckets) Versioning(ctx context.Context, name string) (string, error) {
	out, err := calls.Read(ctx, b.c, "GetBucketVersioning", func(ctx context.Context) (*s3.GetBucketVersioningOutput, error) {
		return b.c.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(name)})
	})
	if err != nil {
		return "", err
	}
	return string(out.Status), nil
}

func (b s3Buckets) EnableVersioning(ctx context.Context, name string) error {
	return b.c.Write(ctx, "PutBucketVersioning", func(ctx context.Context) error {
		_, err := b.c.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket:                  aws.String(name),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
		})
		return err
	})
}

func (b s3Buckets) ObjectLock(ctx context.Context, name string) (bool, error) {
	out, err := calls.Read(ctx, b.c, "GetObjectLockConfiguration", func(ctx context.Context) (*s3.GetObjectLockConfigurationOutput, error) {
		return b.c.s3.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(name)})
	})
	switch {
	case calls.IsCode(err, "ObjectLockConfigurationNotFoundError"):
		// A 404 that is about the configuration, not the bucket: a bucket
		// created without object lock.
		return false, nil
	case err != nil:
		return false, err
	}
	return out.ObjectLockConfiguration != nil && out.ObjectLockConfiguration.ObjectLockEnabled == s3types.ObjectLockEnabledEnabled, nil
}

// capacityKey is the virtual object in which SeaweedFS's S3 gateway reports
// a bucket's capacity (the SOSAPI of backup clients,
// weed/s3api/s3api_sosapi.go): Used is the bytes of the bucket's
// collection, which is what its quota enforcement compares to the quota.
const capacityKey = ".system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c/capacity.xml"

func (b s3Buckets) UsedBytes(ctx context.Context, name string) (int64, error) {
	var info struct {
		Used int64 `xml:"Used"`
	}
	err := b.c.Call(ctx, "GetObject", func(ctx context.Context) error {
		out, err := b.c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(name), Key: aws.String(capacityKey)})
		if err != nil {
			return err
		}
		defer out.Body.Close()
		body, err := io.ReadAll(io.LimitReader(out.Body, 64<<10))
		if err != nil {
			return err
		}
		if err := xml.Unmarshal(body, &info); err != nil {
			return s3admin.NewError("GetObject", s3admin.ErrUnsupported, "%s of bucket %q: %w", capacityKey, name, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if info.Used < 0 {
		return 0, errors.New("negative used bytes")
	}
	return info.Used, nil
}
