// Package oci builds container images from static files without a container
// engine, and writes them as archives that containerd (`ctr images import`,
// and so `kind load image-archive`) and `docker load` all accept.
//
// An image is one layer on an empty base: the files a static binary needs
// (the binary, a CA bundle, passwd entries for its user, a writable /tmp).
// Layers are reproducible: every entry has a fixed time and root ownership,
// so the same inputs always give the same digest.
package oci

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one entry of the image's layer: a file copied from the host
// (Src) or given inline (Data), or a directory (Dir).
type File struct {
	Path string // absolute path in the image
	Src  string // host file to copy; empty: Data
	Data []byte
	Dir  bool
	Mode os.FileMode // 0: 0755 for directories and files from Src, 0644 for Data
}

// Spec is an image: its layer's files and the configuration a Dockerfile's
// final stage would set.
type Spec struct {
	Files      []File
	Entrypoint []string
	Cmd        []string
	User       string
	Env        []string
	WorkingDir string
	Labels     map[string]string
	// Platform of the binaries in Files; empty: the running one (linux).
	OS, Architecture string
}

// epoch is every layer entry's time, so that a rebuild of the same files
// gives the same digest.
var epoch = time.Unix(0, 0).UTC()

// Build returns the image spec describes.
func Build(spec Spec) (v1.Image, error) {
	layerTar, err := layerBytes(spec.Files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, MediaType: types.OCILayer, History: v1.History{
		Created:   v1.Time{Time: epoch},
		CreatedBy: "cosi-seaweedfs test/image/oci",
	}})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = spec.OS, spec.Architecture
	if cf.OS == "" {
		cf.OS = "linux"
	}
	if cf.Architecture == "" {
		cf.Architecture = runtime.GOARCH
	}
	cf.Created = v1.Time{Time: epoch}
	cf.Config = v1.Config{
		Entrypoint: spec.Entrypoint,
		Cmd:        spec.Cmd,
		User:       spec.User,
		Env:        spec.Env,
		WorkingDir: spec.WorkingDir,
		Labels:     spec.Labels,
	}
	if len(cf.Config.Env) == 0 {
		// What every base image sets, so that a program that looks up
		// another one (or a shell) finds it.
		cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	return mutate.ConfigFile(img, cf)
}

// layerBytes is the uncompressed tar of files, with every parent directory
// present once and entries in path order.
func layerBytes(files []File) ([]byte, error) {
	entries := map[string]File{}
	for _, f := range files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
			return nil, fmt.Errorf("image path %q must be absolute and clean", f.Path)
		}
		if _, dup := entries[f.Path]; dup {
			return nil, fmt.Errorf("image path %q given twice", f.Path)
		}
		entries[f.Path] = f
		for d := path.Dir(f.Path); d != "/"; d = path.Dir(d) {
			if _, ok := entries[d]; !ok {
				entries[d] = File{Path: d, Dir: true}
			}
		}
	}
	paths := make([]string, 0, len(entries))
	for p := range entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		f := entries[p]
		if !f.Dir && entries[path.Dir(p)].Path != "" && !entries[path.Dir(p)].Dir {
			return nil, fmt.Errorf("image path %q is below the file %q", p, path.Dir(p))
		}
		hdr := &tar.Header{Name: strings.TrimPrefix(p, "/"), ModTime: epoch, Format: tar.FormatPAX}
		var data []byte
		switch {
		case f.Dir:
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, hdr.Name+"/", 0o755
		case f.Src != "":
			b, err := os.ReadFile(f.Src)
			if err != nil {
				return nil, fmt.Errorf("image file %s: %w", p, err)
			}
			data, hdr.Typeflag, hdr.Mode = b, tar.TypeReg, 0o755
		default:
			data, hdr.Typeflag, hdr.Mode = f.Data, tar.TypeReg, 0o644
		}
		if f.Mode != 0 {
			hdr.Mode = int64(f.Mode.Perm())
			if f.Mode&os.ModeSticky != 0 {
				hdr.Mode |= 0o1000
			}
		}
		hdr.Size = int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// NonRootFiles are the files of distroless's "nonroot" base that a static
// binary running as 65532 relies on: its passwd and group entries, the CA
// bundle for TLS (taken from the host at caBundle, e.g. Debian's
// /etc/ssl/certs/ca-certificates.crt) and a /tmp it may write to.
func NonRootFiles(caBundle string) []File {
	return []File{
		{Path: "/etc/passwd", Data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{Path: "/etc/group", Data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{Path: "/home/nonroot", Dir: true, Mode: 0o700},
		{Path: "/etc/ssl/certs/ca-certificates.crt", Src: caBundle, Mode: 0o644},
		{Path: "/tmp", Dir: true, Mode: os.ModeSticky | 0o777},
	}
}

// Ref is ref as containerd names an image: a registry host is required
// (docker.io/library/... for Docker Hub), and a ref without tag or digest
// gets :latest.
func Ref(ref string) (string, error) {
	host := strings.SplitN(ref, "/", 2)[0]
	if !strings.Contains(ref, "/") || (!strings.ContainsAny(host, ".:") && host != "localhost") {
		return "", fmt.Errorf("image reference %q needs a registry host (e.g. docker.io/library/%s): containerd and docker would name it differently", ref, ref)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	reg := r.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	sep := ":"
	if _, digest := r.(name.Digest); digest {
		sep = "@"
	}
	return reg + "/" + r.Context().RepositoryStr() + sep + r.Identifier(), nil
}

// WriteArchive writes img as an OCI image layout in a tar file at path,
// named ref; with docker's manifest.json beside the layout, as `docker save`
// writes it, so that both containerd and docker load it under that name.
func WriteArchive(file, ref string, img v1.Image) error {
	full, err := Ref(ref)
	if err != nil {
		return err
	}
	var tag string
	if i := strings.LastIndex(full, ":"); i > strings.LastIndex(full, "/") && !strings.Contains(full, "@") {
		tag = full[i+1:]
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return err
	}
	manifestDigest, err := img.Digest()
	if err != nil {
		return err
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	configDigest, err := img.ConfigName()
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}

	tmp := file + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	tw := tar.NewWriter(out)
	put := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	blob := func(d v1.Hash) string { return "blobs/" + d.Algorithm + "/" + d.Hex }
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/", Mode: 0o755, ModTime: epoch, Typeflag: tar.TypeDir}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/sha256/", Mode: 0o755, ModTime: epoch, Typeflag: tar.TypeDir}); err != nil {
		return err
	}
	if err := put(blob(manifestDigest), manifest); err != nil {
		return err
	}
	if err := put(blob(configDigest), config); err != nil {
		return err
	}
	var layerPaths []string
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if err := put(blob(d), b); err != nil {
			return err
		}
		layerPaths = append(layerPaths, blob(d))
	}
	// containerd names an imported image by io.containerd.image.name;
	// org.opencontainers.image.ref.name is the OCI layout's own (the tag).
	annotations := map[string]string{"io.containerd.image.name": full}
	if tag != "" {
		annotations["org.opencontainers.image.ref.name"] = tag
	}
	index, err := json.Marshal(v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType:   types.OCIManifestSchema1,
			Size:        int64(len(manifest)),
			Digest:      manifestDigest,
			Annotations: annotations,
		}},
	})
	if err != nil {
		return err
	}
	if err := put("index.json", index); err != nil {
		return err
	}
	if err := put("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	// docker load reads manifest.json; a RepoTag needs a tag.
	var repoTags []string
	if tag != "" {
		repoTags = []string{full}
	}
	dockerManifest, err := json.Marshal([]struct {
		Config   string
		RepoTags []string
		Layers   []string
	}{{Config: blob(configDigest), RepoTags: repoTags, Layers: layerPaths}})
	if err != nil {
		return err
	}
	if err := put("manifest.json", dockerManifest); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
