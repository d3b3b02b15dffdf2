package node

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"time"
)

// Image is a container image made of static files on an empty base, built
// without a container engine: the node has no registry to pull from.
type Image struct {
	Ref        string
	Files      map[string]string // path in the image → file on the host
	Entrypoint []string
	User       string // default 65532:65532, non-root
}

// WriteArchive writes the image as a `docker save` archive, which
// `ctr images import` (and `docker load`) accept. Entries have a fixed time
// and owner, so the same files always give the same digest.
func (img Image) WriteArchive(dst string) error {
	layer, err := img.layer()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(layer)
	user := img.User
	if user == "" {
		user = "65532:65532"
	}
	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      time.Unix(0, 0).UTC(),
		"config": map[string]any{
			"User":       user,
			"Entrypoint": img.Entrypoint,
			"Env":        []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(sum[:])}},
	})
	if err != nil {
		return err
	}
	manifest, err := json.Marshal([]map[string]any{{
		"Config": "config.json", "RepoTags": []string{img.Ref}, "Layers": []string{"layer.tar"},
	}})
	if err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("create image archive: %w", err)
	}
	tw := tar.NewWriter(f)
	for _, e := range []struct {
		name string
		data []byte
	}{{"config.json", config}, {"layer.tar", layer}, {"manifest.json", manifest}} {
		if err := writeEntry(tw, e.name, 0o644, e.data); err != nil {
			f.Close()
			return err
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (img Image) layer() ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	var addDir func(string) error
	addDir = func(d string) error {
		if d == "/" || d == "." || dirs[d] {
			return nil
		}
		if err := addDir(path.Dir(d)); err != nil {
			return err
		}
		dirs[d] = true
		mode := int64(0o755)
		if d == "/tmp" {
			mode = 0o1777
		}
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d[1:] + "/", Mode: mode, ModTime: time.Unix(0, 0)})
	}
	if err := addDir("/tmp"); err != nil {
		return nil, err
	}
	if err := addDir("/etc"); err != nil {
		return nil, err
	}
	// Programs that look their user up (SeaweedFS, Go's os/user) find it.
	if err := writeEntry(tw, "etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/tmp:/sbin/nologin\n")); err != nil {
		return nil, err
	}
	if err := writeEntry(tw, "etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n")); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(img.Files))
	for p := range img.Files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		if err := addDir(path.Dir(p)); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(img.Files[p])
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img.Ref, err)
		}
		if err := writeEntry(tw, p[1:], 0o755, data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeEntry(tw *tar.Writer, name string, mode int64, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	_, err := io.Copy(tw, bytes.NewReader(data))
	return err
}
