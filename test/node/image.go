package node

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/image/oci"
)

// caBundle is the host's CA bundle, put into every image as distroless has
// one; the node's pods talk plain HTTP, so an image without it still works.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// Image is a container image made of static files on an empty base, built
// without a container engine (test/image/oci): the node has no registry to
// pull from.
type Image struct {
	Ref        string
	Files      map[string]string // path in the image → file on the host
	Entrypoint []string
	User       string // default 65532:65532, non-root
	WorkingDir string
}

// WriteArchive writes the image as an archive that `ctr images import`
// (and `docker load`) accept.
func (img Image) WriteArchive(dst string) error {
	var files []oci.File
	for _, f := range oci.NonRootFiles(caBundle) {
		if f.Src != "" {
			if _, err := os.Stat(f.Src); err != nil {
				continue
			}
		}
		files = append(files, f)
	}
	paths := make([]string, 0, len(img.Files))
	for p := range img.Files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		files = append(files, oci.File{Path: p, Src: img.Files[p]})
	}
	user := img.User
	if user == "" {
		user = "65532:65532"
	}
	built, err := oci.Build(oci.Spec{Files: files, Entrypoint: img.Entrypoint, User: user, WorkingDir: img.WorkingDir})
	if err != nil {
		return fmt.Errorf("image %s: %w", img.Ref, err)
	}
	if err := oci.WriteArchive(dst, img.Ref, built); err != nil {
		return fmt.Errorf("image %s: %w", img.Ref, err)
	}
	return nil
}

func archiveName(ref string) string {
	return strings.NewReplacer("/", "_", ":", "_").Replace(ref) + ".tar"
}
