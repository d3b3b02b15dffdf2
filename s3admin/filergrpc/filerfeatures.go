package filergrpc

import (
	"context"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/filergrpc/filerpb"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/plan"
)

// The filer's side of a bucket's features: the quota field of the bucket's
// entry, and the bucket's location rule in the filer configuration file.
// Each method is one request (or two, the first time the buckets directory
// is needed); read-modify-write sequences and their serialization are the
// caller's (package seaweedfs).

// FilerConfDir and FilerConfName are where SeaweedFS keeps its filer
// configuration (weed/filer/filer_conf.go): the location rules that set a
// path's replication, disk type, TTL, read-only flag and more.
const (
	FilerConfDir  = "/etc/seaweedfs"
	FilerConfName = "filer.conf"
)

// dirCache holds the buckets directory once read: it is the filer's
// start-up configuration, which does not change while it runs.
type dirCache struct {
	mu  sync.Mutex
	dir string
}

// BucketPrefix is the location prefix of the bucket's rule: exactly its
// directory, with the trailing "/" SeaweedFS's quota enforcement uses
// (weed/s3api/bucket_size_metrics.go), so that both write the same rule.
func (f *Client) BucketPrefix(ctx context.Context, name string) (string, error) {
	dir, err := f.bucketsDirCached(ctx)
	if err != nil {
		return "", err
	}
	return dir + "/" + name + "/", nil
}

// BucketEntry returns the bucket's entry in the buckets directory;
// ErrNotFound for a missing bucket. A listing from the name on, not a
// lookup: a lookup of a missing entry answers with an error that carries
// no status code (see ReadFile).
func (f *Client) BucketEntry(ctx context.Context, name string) (*filerpb.Entry, error) {
	const method = filerpb.SeaweedFiler_ListEntries_FullMethodName
	dir, err := f.bucketsDirCached(ctx)
	if err != nil {
		return nil, err
	}
	var found *filerpb.Entry
	err = f.list(ctx, &filerpb.ListEntriesRequest{Directory: dir, Prefix: name, Limit: 1}, func(e *filerpb.Entry) {
		if e.GetName() == name && e.GetIsDirectory() {
			found = e
		}
	})
	switch {
	case err != nil:
		return nil, err
	case found == nil:
		return nil, s3admin.NewError(method, s3admin.ErrNotFound, "no bucket entry %q in %s", name, dir)
	}
	return found, nil
}

// UpdateBucketEntry writes the bucket's entry back as given: the whole
// entry, so the caller changes only what it means to on the entry it read
// (as weed shell's s3.bucket.quota does).
func (f *Client) UpdateBucketEntry(ctx context.Context, e *filerpb.Entry) error {
	const method = filerpb.SeaweedFiler_UpdateEntry_FullMethodName
	dir, err := f.bucketsDirCached(ctx)
	if err != nil {
		return err
	}
	_, err = f.filer.UpdateEntry(ctx, &filerpb.UpdateEntryRequest{Directory: dir, Entry: e})
	return s3admin.Classify(method, err)
}

// ReadFilerConf reads the filer configuration: its entry (nil when the file
// does not exist) and its rules (empty then). Content the filer keeps in
// chunks rather than inside the entry is refused (ErrUnsupported): SeaweedFS
// itself writes the file inline (filer.SaveInsideFiler), and writing back
// over content that was not read would lose every rule in it. So is content
// that does not parse, for the same reason: the parse is strict, so that a
// field this client does not know is never dropped by a rewrite.
func (f *Client) ReadFilerConf(ctx context.Context) (*filerpb.FilerConf, *filerpb.Entry, error) {
	const method = "ReadFilerConf"
	var entry *filerpb.Entry
	err := f.list(ctx, &filerpb.ListEntriesRequest{Directory: FilerConfDir, Prefix: FilerConfName, Limit: 1}, func(e *filerpb.Entry) {
		if e.GetName() == FilerConfName && !e.GetIsDirectory() {
			entry = e
		}
	})
	if err != nil {
		return nil, nil, err
	}
	conf := &filerpb.FilerConf{}
	if entry == nil {
		return conf, nil, nil
	}
	content := entry.GetContent()
	if len(content) == 0 && len(entry.GetChunks()) > 0 {
		return nil, nil, s3admin.NewError(method, s3admin.ErrUnsupported, "%s/%s is stored in chunks, not inside its entry: not rewritten", FilerConfDir, FilerConfName)
	}
	if len(content) > 0 {
		if err := protojson.Unmarshal(content, conf); err != nil {
			return nil, nil, s3admin.NewError(method, s3admin.ErrUnsupported, "%s/%s does not parse: %w", FilerConfDir, FilerConfName, err)
		}
	}
	return conf, entry, nil
}

// WriteFilerConf writes conf as the filer configuration, inside the entry,
// in the text SeaweedFS writes (filer.ProtoToText), the way
// filer.SaveInsideFiler does: a new entry when read found none, else the
// entry read with its content replaced.
func (f *Client) WriteFilerConf(ctx context.Context, entry *filerpb.Entry, conf *filerpb.FilerConf, now int64) error {
	content, err := protojson.MarshalOptions{EmitUnpopulated: true, Indent: "  "}.Marshal(conf)
	if err != nil {
		return s3admin.NewError("WriteFilerConf", s3admin.ErrInvalid, "%w", err)
	}
	if entry == nil {
		const method = filerpb.SeaweedFiler_CreateEntry_FullMethodName
		resp, err := f.filer.CreateEntry(ctx, &filerpb.CreateEntryRequest{Directory: FilerConfDir, Entry: &filerpb.Entry{
			Name:       FilerConfName,
			Attributes: &filerpb.FuseAttributes{Mtime: now, Crtime: now, FileMode: 0o644, FileSize: uint64(len(content))},
			Content:    content,
		}})
		if err != nil {
			return s3admin.Classify(method, err)
		}
		if resp.GetError() != "" {
			// The filer answers some failures inside the response.
			return s3admin.NewError(method, s3admin.ErrTransient, "%s", resp.GetError())
		}
		return nil
	}
	e := proto.Clone(entry).(*filerpb.Entry)
	e.Content = content
	if e.Attributes == nil {
		e.Attributes = &filerpb.FuseAttributes{}
	}
	e.Attributes.Mtime = now
	e.Attributes.FileSize = uint64(len(content))
	_, err = f.filer.UpdateEntry(ctx, &filerpb.UpdateEntryRequest{Directory: FilerConfDir, Entry: e})
	return s3admin.Classify(filerpb.SeaweedFiler_UpdateEntry_FullMethodName, err)
}

// RuleOf returns the rule for exactly prefix; nil when there is none.
func RuleOf(conf *filerpb.FilerConf, prefix string) *filerpb.FilerConf_PathConf {
	for _, l := range conf.GetLocations() {
		if l.GetLocationPrefix() == prefix {
			return l
		}
	}
	return nil
}

// PlacementOf is the part of rule the driver manages (zero for nil).
func PlacementOf(rule *filerpb.FilerConf_PathConf) plan.Placement {
	return plan.Placement{Replication: rule.GetReplication(), DiskType: rule.GetDiskType(), TTL: rule.GetTtl()}
}

// SetPlacement merges want into the rule for exactly prefix
// (plan.MergePlacement), adding the rule if missing; every other field of
// the rule (ReadOnly above all, which SeaweedFS's quota enforcement flips)
// and every other rule stay as they are. It reports whether conf changed.
func SetPlacement(conf *filerpb.FilerConf, prefix string, want plan.Placement) bool {
	rule := RuleOf(conf, prefix)
	next, changed := plan.MergePlacement(PlacementOf(rule), want)
	if !changed {
		return false
	}
	if rule == nil {
		rule = &filerpb.FilerConf_PathConf{LocationPrefix: prefix}
		conf.Locations = append(conf.Locations, rule)
	}
	rule.Replication, rule.DiskType, rule.Ttl = next.Replication, next.DiskType, next.TTL
	return true
}

// RemoveRule removes the rule for exactly prefix, and no other (a rule for
// a prefix of it, or under it, is somebody else's); it reports whether
// there was one.
func RemoveRule(conf *filerpb.FilerConf, prefix string) bool {
	n := len(conf.Locations)
	kept := conf.Locations[:0]
	for _, l := range conf.Locations {
		if l.GetLocationPrefix() != prefix {
			kept = append(kept, l)
		}
	}
	conf.Locations = kept
	return len(kept) != n
}

// bucketsDirCached is bucketsDir, asked once per client.
func (f *Client) bucketsDirCached(ctx context.Context) (string, error) {
	f.dirs.mu.Lock()
	defer f.dirs.mu.Unlock()
	if f.dirs.dir != "" {
		return f.dirs.dir, nil
	}
	resp, err := f.filer.GetFilerConfiguration(ctx, &filerpb.GetFilerConfigurationRequest{})
	if err != nil {
		return "", s3admin.Classify(filerpb.SeaweedFiler_GetFilerConfiguration_FullMethodName, err)
	}
	dir := strings.TrimSuffix(resp.GetDirBuckets(), "/")
	if dir == "" {
		dir = defaultBucketsDir
	}
	f.dirs.dir = dir
	return dir, nil
}
