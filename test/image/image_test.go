// Package image checks the driver image: the Dockerfile's build stage
// compiles the driver from exactly the files it copies, with the version
// stamped in; `make image` drives whichever builder is present and, with
// none, builds the same image without a container engine, from the
// Dockerfile's own stages, into an archive a real containerd loads and runs.
package image

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/image/dockerfile"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// buildStage returns the instructions of the Dockerfile's first stage, one
// logical line each (continuations joined).
func buildStage(t *testing.T, root string) []string {
	t.Helper()
	df, err := dockerfile.ParseFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, in := range df.Stages[0].Instructions {
		lines = append(lines, in.Cmd+" "+in.Args)
	}
	return lines
}

// ignored reports whether .dockerignore keeps rel out of the build context
// (its patterns here are plain paths, optionally with a trailing slash).
func ignored(t *testing.T, root, rel string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(b)) {
		p = strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/")
		if rel == p || strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	return false
}

// The build stage, replayed outside a container: only what its COPY lines
// bring (and .dockerignore lets through) is in the context, and the driver
// builds from it with the Dockerfile's link flags; the binary reports the
// stamped version. A package added to the driver but not to the Dockerfile
// fails here instead of in the first image build.
func TestDockerfileBuildsTheDriverFromWhatItCopies(t *testing.T) {
	root := repoRoot(t)
	ctxDir := t.TempDir()
	var build string
	for _, line := range buildStage(t, root) {
		f := strings.Fields(line)
		switch {
		case f[0] == "COPY" && !strings.HasPrefix(f[1], "--"):
			srcs, dst := f[1:len(f)-1], f[len(f)-1]
			for _, src := range srcs {
				rel := strings.TrimSuffix(src, "/")
				if ignored(t, root, rel) {
					t.Errorf("Dockerfile copies %s, which .dockerignore leaves out of the build context", src)
					continue
				}
				if err := copyInto(filepath.Join(root, rel), filepath.Join(ctxDir, dst), strings.HasSuffix(dst, "/")); err != nil {
					t.Fatalf("COPY %s %s: %v", src, dst, err)
				}
			}
		case f[0] == "RUN" && strings.Contains(line, "go build"):
			build = line
		}
	}
	if build == "" {
		t.Fatal("no go build in the Dockerfile's build stage")
	}
	m := regexp.MustCompile(`-X (\S+)=\$\{VERSION\}`).FindStringSubmatch(build)
	if m == nil {
		t.Fatalf("the build stage does not stamp VERSION with -X: %s", build)
	}
	const stamp = "v0.0.0-image-test"
	bin := filepath.Join(t.TempDir(), "cosi-seaweedfs")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X "+m[1]+"="+stamp, "-o", bin, "./cmd/cosi-seaweedfs")
	cmd.Dir = ctxDir
	// The module cache is what `go mod download` fills in the image.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the driver does not build from the files the Dockerfile copies: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "cosi-seaweedfs "+stamp; got != want {
		t.Fatalf("--version printed %q, want %q", got, want)
	}
}

// copyInto copies src into dst as COPY does: a directory's content into dst,
// a file to dst, or into dst when dst names a directory.
func copyInto(src, dst string, dstIsDir bool) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		src += "/."
	} else if dstIsDir {
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
	}
	if out, err := exec.Command("cp", "-R", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

func makeCmd(t *testing.T, root string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-s", "--no-print-directory"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// make build stamps VERSION into the binary.
func TestMakeBuildStampsTheVersion(t *testing.T) {
	root := repoRoot(t)
	bin := filepath.Join(t.TempDir(), "cosi-seaweedfs")
	if out, err := makeCmd(t, root, nil, "build", "VERSION=v0.0.0-make-test", "OUT="+bin); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "cosi-seaweedfs v0.0.0-make-test" {
		t.Fatalf("--version printed %q", got)
	}
}

// Each builder gets the same docker-compatible build command: the tag, the
// version and revision for the stamp and the labels, the Dockerfile, and the
// platform when one is asked for.
func TestMakeImageDrivesTheBuilderFound(t *testing.T) {
	root := repoRoot(t)
	for _, tool := range []string{"docker", "podman", "buildah"} {
		t.Run(tool, func(t *testing.T) {
			dir := t.TempDir()
			record := filepath.Join(dir, "args")
			stub := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + record + "\n"
			if err := os.WriteFile(filepath.Join(dir, tool), []byte(stub), 0o755); err != nil {
				t.Fatal(err)
			}
			env := []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH")}
			out, err := makeCmd(t, root, env, "image", "CONTAINER_TOOLS="+tool, "VERSION=v1.2.3", "REVISION=abc123",
				"IMAGE=example.org/cosi-seaweedfs", "PLATFORM=linux/arm64")
			if err != nil {
				t.Fatalf("make image: %v\n%s", err, out)
			}
			b, err := os.ReadFile(record)
			if err != nil {
				t.Fatalf("make image did not run %s: %v\n%s", tool, err, out)
			}
			got := strings.Join(strings.Fields(string(b)), " ")
			want := "build --platform linux/arm64 --build-arg VERSION=v1.2.3 --build-arg REVISION=abc123 -t example.org/cosi-seaweedfs:v1.2.3 -f Dockerfile ."
			if got != want {
				t.Fatalf("%s ran with\n  %s\nwant\n  %s", tool, got, want)
			}
		})
	}
}
