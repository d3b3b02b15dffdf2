// Command build builds the driver image without a container engine, from the
// Dockerfile itself: the build stage's `go build` (its environment, flags and
// package, with the build args expanded) runs on this machine, and the final
// stage's COPY --from, LABEL, USER and ENTRYPOINT make the image, on the
// files of its distroless "nonroot" base that the driver relies on. The
// image is written as an archive containerd, docker and kind load.
//
//	go run ./test/image/build -ref ghcr.io/cosi-seaweedfs/cosi-seaweedfs:v1 -o bin/images/cosi-seaweedfs.tar
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/image/dockerfile"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/image/oci"
)

type config struct {
	dockerfile, ref, out, caBundle, platform string
	buildArgs                                map[string]string
}

func main() {
	var c config
	var version, revision string
	flag.StringVar(&c.dockerfile, "f", "Dockerfile", "the Dockerfile; the build runs in its directory")
	flag.StringVar(&c.ref, "ref", "", "the image's name, with registry host and tag")
	flag.StringVar(&c.out, "o", "", "the archive to write")
	flag.StringVar(&c.caBundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "the CA bundle put into the image")
	flag.StringVar(&c.platform, "platform", "linux/amd64", "the image's platform, os/arch")
	flag.StringVar(&version, "version", "dev", "build arg VERSION")
	flag.StringVar(&revision, "revision", "unknown", "build arg REVISION")
	flag.Parse()
	c.buildArgs = map[string]string{"VERSION": version, "REVISION": revision}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "image build:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	if c.ref == "" || c.out == "" {
		return fmt.Errorf("-ref and -o are required")
	}
	goos, goarch, ok := strings.Cut(c.platform, "/")
	if !ok {
		return fmt.Errorf("-platform %q is not os/arch", c.platform)
	}
	df, err := dockerfile.ParseFile(c.dockerfile)
	if err != nil {
		return fmt.Errorf("%s: %w", c.dockerfile, err)
	}
	final := df.Final()
	copies, err := final.Copies()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "cosi-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// Every file the final stage copies from a build stage is what that
	// stage's `go build -o` writes; nothing else is copied.
	files := oci.NonRootFiles(c.caBundle)
	for _, cp := range copies {
		if cp.From == "" || len(cp.Srcs) != 1 {
			return fmt.Errorf("COPY %v %s: only a single file from a build stage can be built here", cp.Srcs, cp.Dst)
		}
		st, err := df.Stage(cp.From)
		if err != nil {
			return err
		}
		bin := filepath.Join(tmp, filepath.Base(cp.Dst))
		if err := goBuild(st, cp.Srcs[0], bin, filepath.Dir(c.dockerfile), goos, goarch, c.buildArgs); err != nil {
			return err
		}
		files = append(files, oci.File{Path: cp.Dst, Src: bin})
	}
	args := final.Args(c.buildArgs)
	labels, err := final.Labels(args)
	if err != nil {
		return err
	}
	entrypoint, err := final.Entrypoint()
	if err != nil {
		return err
	}
	img, err := oci.Build(oci.Spec{
		Files:        files,
		Entrypoint:   entrypoint,
		User:         final.Last("USER"),
		Labels:       labels,
		OS:           goos,
		Architecture: goarch,
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
		return err
	}
	if err := oci.WriteArchive(c.out, c.ref, img); err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("built %s (%s, %s) into %s\n", c.ref, c.platform, d, c.out)
	return nil
}

// goBuild replays the RUN of stage st that writes output: its environment
// assignments and its go command, with the build args and the target
// platform expanded, writing to bin instead.
func goBuild(st dockerfile.Stage, output, bin, dir, goos, goarch string, buildArgs map[string]string) error {
	vars := st.Args(buildArgs)
	vars["TARGETOS"], vars["TARGETARCH"] = goos, goarch
	for _, run := range st.All("RUN") {
		words, err := dockerfile.Words(run)
		if err != nil {
			return err
		}
		var env, cmd []string
		for i, w := range words {
			if k, _, ok := strings.Cut(w, "="); ok && cmd == nil && !strings.HasPrefix(k, "-") {
				env = append(env, w)
				continue
			}
			cmd = words[i:]
			break
		}
		if len(cmd) < 2 || cmd[0] != "go" || cmd[1] != "build" {
			continue
		}
		out := -1
		for i := range cmd {
			if cmd[i] == "-o" && i+1 < len(cmd) && cmd[i+1] == output {
				out = i + 1
			}
		}
		if out < 0 {
			continue
		}
		for i := range env {
			if env[i], err = dockerfile.Expand(env[i], vars); err != nil {
				return err
			}
		}
		for i := range cmd {
			if cmd[i], err = dockerfile.Expand(cmd[i], vars); err != nil {
				return err
			}
		}
		cmd[out] = bin
		c := exec.Command(cmd[0], cmd[1:]...)
		c.Dir = dir
		c.Env = append(os.Environ(), env...)
		c.Stdout, c.Stderr = os.Stderr, os.Stderr
		if err := c.Run(); err != nil {
			return fmt.Errorf("%s %s: %w", strings.Join(env, " "), strings.Join(cmd, " "), err)
		}
		return nil
	}
	return fmt.Errorf("stage %q has no RUN go build -o %s", st.Name, output)
}
