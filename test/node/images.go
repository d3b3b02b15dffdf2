package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// CoreDNSImage runs cluster DNS, from the pinned bin/coredns.
const CoreDNSImage = "cosi.test/coredns:node"

// BuildProgram builds a static binary of one of this repository's packages
// (./test/node/pause) into dir and returns its path.
func BuildProgram(ctx context.Context, pkg, dir string) (string, error) {
	root, err := stack.RepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w: %s", pkg, err, strings.TrimSpace(string(b)))
	}
	return out, nil
}

// WriteImage writes img as an archive in the node's directory and returns
// its path, for Options.Images or LoadImages.
func WriteImage(dir string, img Image) (string, error) {
	p := filepath.Join(dir, archiveName(img.Ref))
	if err := img.WriteArchive(p); err != nil {
		return "", err
	}
	return p, nil
}

// systemImages builds the images the node itself runs: the pod sandbox and
// CoreDNS.
func (n *Node) systemImages(ctx context.Context) ([]string, error) {
	dir := filepath.Join(n.Dir, "images")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	pause, err := BuildProgram(ctx, "./test/node/pause", dir)
	if err != nil {
		return nil, err
	}
	coredns, err := stack.Binary("coredns")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, img := range []Image{
		{Ref: PauseImage, Files: map[string]string{"/pause": pause}, Entrypoint: []string{"/pause"}},
		{Ref: CoreDNSImage, Files: map[string]string{"/coredns": coredns}, Entrypoint: []string{"/coredns"}},
	} {
		p, err := WriteImage(dir, img)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
