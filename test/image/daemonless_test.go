package image

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/image/dockerfile"
)

const (
	testImage    = "example.org/cosi/cosi-seaweedfs"
	testVersion  = "v0.0.0-daemonless-test"
	testRevision = "0123456789abcdef"
	testRef      = testImage + ":" + testVersion
)

var built struct {
	once sync.Once
	dir  string
	out  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// archive is the driver image `make image` builds without a container
// builder, built once for every test that looks at it.
func archive(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "cosi-image-test-"); built.err != nil {
			return
		}
		built.out, built.err = makeCmd(t, repoRoot(t), nil, "image", "CONTAINER_TOOLS=cosi-test-no-such-builder",
			"VERSION="+testVersion, "REVISION="+testRevision, "IMAGE="+testImage,
			"IMAGE_ARCHIVE="+filepath.Join(built.dir, "driver.tar"))
	})
	if built.err != nil {
		t.Fatalf("make image without a builder: %v\n%s", built.err, built.out)
	}
	return filepath.Join(built.dir, "driver.tar")
}

func TestMakeImageWithoutABuilderBuildsTheArchive(t *testing.T) {
	path := archive(t)
	if !strings.Contains(built.out, "no container builder found (looked for: cosi-test-no-such-builder): building "+testRef+" without one") {
		t.Errorf("make image did not say how it builds:\n%s", built.out)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no archive: %v\n%s", err, built.out)
	}
}

// A docker client without an engine (as on a machine with only the CLI) is
// no builder: make image builds the archive instead of failing in docker.
func TestMakeImageWithADockerClientButNoEngine(t *testing.T) {
	root := repoRoot(t)
	dir := t.TempDir()
	docker := "#!/bin/sh\necho \"$@\" >> " + filepath.Join(dir, "docker.args") + "\n[ \"$1\" != info ]\n"
	goStub := "#!/bin/sh\necho \"$@\" > " + filepath.Join(dir, "go.args") + "\n"
	for name, body := range map[string]string{"docker": docker, "go": goStub} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH")}
	out, err := makeCmd(t, root, env, "image", "CONTAINER_TOOLS=docker", "VERSION=v1.2.3", "REVISION=abc", "IMAGE=example.org/x",
		"PLATFORM=linux/arm64", "IMAGE_ARCHIVE=out/x.tar")
	if err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	if !strings.Contains(out, "docker is installed but no Docker engine answers") {
		t.Errorf("make image did not say why it builds without docker:\n%s", out)
	}
	dockerArgs, _ := os.ReadFile(filepath.Join(dir, "docker.args"))
	if strings.Contains(string(dockerArgs), "build") {
		t.Errorf("make image ran docker build without an engine: %s", dockerArgs)
	}
	goArgs, err := os.ReadFile(filepath.Join(dir, "go.args"))
	if err != nil {
		t.Fatalf("make image did not build the archive: %v\n%s", err, out)
	}
	want := "run ./test/image/build -f Dockerfile -ref example.org/x:v1.2.3 -version v1.2.3 -revision abc -platform linux/arm64 -o out/x.tar"
	if got := strings.Join(strings.Fields(string(goArgs)), " "); got != want {
		t.Errorf("the archive build ran as\n  go %s\nwant\n  go %s", got, want)
	}
}

// One definition of the image: the archive carries exactly the Dockerfile's
// final stage (entrypoint, user, labels with the build args, the binary at
// the path it copies to) and what its distroless base gives the driver (CA
// bundle, the nonroot user, a writable /tmp); containerd's OCI index and
// docker's manifest name the same image.
func TestDaemonlessImageIsTheDockerfilesImage(t *testing.T) {
	root := repoRoot(t)
	path := archive(t)
	df, err := dockerfile.ParseFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	final := df.Final()
	if final.From != "gcr.io/distroless/static:nonroot" {
		t.Fatalf("the final stage is FROM %s: the daemonless build stands in for distroless/static:nonroot only; update test/image/oci.NonRootFiles", final.From)
	}
	wantLabels, err := final.Labels(final.Args(map[string]string{"VERSION": testVersion, "REVISION": testRevision}))
	if err != nil {
		t.Fatal(err)
	}
	wantEntrypoint, err := final.Entrypoint()
	if err != nil {
		t.Fatal(err)
	}
	copies, err := final.Copies()
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xf", path, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("untar: %v\n%s", err, out)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("not an OCI layout: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["io.containerd.image.name"] != testRef ||
		im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != testVersion {
		t.Fatalf("OCI index does not name the image %s: %+v", testRef, im.Manifests)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	tag := mustTag(t)
	dockerImg, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("docker's manifest.json does not name %s: %v", testRef, err)
	}
	ociCfg, _ := img.ConfigName()
	dockerCfg, _ := dockerImg.ConfigName()
	if ociCfg != dockerCfg {
		t.Fatalf("OCI index and docker manifest name different configs: %s, %s", ociCfg, dockerCfg)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantEntrypoint, cf.Config.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-Dockerfile +image):\n%s", diff)
	}
	if got, want := cf.Config.User, final.Last("USER"); got != want {
		t.Errorf("user %q, the Dockerfile says %q", got, want)
	}
	if diff := cmp.Diff(wantLabels, cf.Config.Labels); diff != "" {
		t.Errorf("labels (-Dockerfile +image):\n%s", diff)
	}
	if cf.OS != "linux" || cf.Architecture == "" {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}

	files := layerFiles(t, img)
	for _, cp := range copies {
		f, ok := files[strings.TrimPrefix(cp.Dst, "/")]
		if !ok || f.mode&0o111 == 0 {
			t.Errorf("the Dockerfile copies %s to %s; the image has %+v", cp.Srcs, cp.Dst, f.hdr)
		}
	}
	if f := files[strings.TrimPrefix(wantEntrypoint[0], "/")]; f.hdr == nil {
		t.Errorf("the entrypoint %s is not in the image", wantEntrypoint[0])
	}
	if f := files["etc/ssl/certs/ca-certificates.crt"]; !strings.Contains(string(f.data), "BEGIN CERTIFICATE") {
		t.Error("no CA bundle at /etc/ssl/certs/ca-certificates.crt")
	}
	if f := files["etc/passwd"]; !strings.Contains(string(f.data), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd lacks the nonroot user 65532: %q", f.data)
	}
	if f := files["tmp"]; f.hdr == nil || f.hdr.Typeflag != tar.TypeDir || f.mode != 0o1777 {
		t.Errorf("/tmp is not a sticky, world-writable directory: %+v", f.hdr)
	}

	bin := filepath.Join(t.TempDir(), "driver")
	if err := os.WriteFile(bin, files[strings.TrimPrefix(wantEntrypoint[0], "/")].data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if got, want := strings.TrimSpace(string(out)), "cosi-seaweedfs "+testVersion; err != nil || got != want {
		t.Errorf("the image's binary --version: %q (%v), want %q", got, err, want)
	}
}

func mustTag(t *testing.T) name.Tag {
	t.Helper()
	tag, err := name.NewTag(testRef)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

type layerFile struct {
	hdr  *tar.Header
	mode int64
	data []byte
}

// layerFiles reads every file of img's layers (uncompressed), by path.
func layerFiles(t *testing.T, img v1.Image) map[string]layerFile {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]layerFile{}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(rc)
		if err != nil {
			t.Fatalf("layer is not gzip: %v", err)
		}
		tr := tar.NewReader(zr)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[strings.TrimSuffix(hdr.Name, "/")] = layerFile{hdr: hdr, mode: hdr.Mode & 0o7777, data: data}
		}
		rc.Close()
	}
	return files
}

// The archive loads into a real containerd (as `kind load image-archive`
// does it) under the image's name, and its entrypoint runs there.
func TestArchiveRunsInContainerd(t *testing.T) {
	for _, tool := range []string{"containerd", "ctr", "runc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run `make tools` (as root it installs Debian's containerd, runc and CNI plugins)", tool)
		}
	}
	path := archive(t)
	dir, err := os.MkdirTemp("", "ctd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "containerd.sock")
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[debug]
  address = %[5]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, sock+".ttrpc", filepath.Join(dir, "debug.sock"))
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("containerd log:\n%s", b)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctr := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "ctr", append([]string{"--address", sock, "--namespace", "k8s.io"}, args...)...).CombinedOutput()
		return string(out), err
	}
	for {
		if _, err := ctr("version"); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("containerd did not answer")
		case <-time.After(100 * time.Millisecond):
		}
	}
	if out, err := ctr("images", "import", path); err != nil {
		t.Fatalf("ctr images import: %v\n%s", err, out)
	}
	out, err := ctr("images", "ls", "-q")
	if err != nil || !strings.Contains(out, testRef) {
		t.Fatalf("containerd does not list %s: %v\n%s", testRef, err, out)
	}
	out, err = ctr("run", "--rm", testRef, "cosi-image-test", "/cosi-seaweedfs", "--version")
	if got, want := strings.TrimSpace(out), "cosi-seaweedfs "+testVersion; err != nil || got != want {
		t.Fatalf("ctr run %s --version: %q (%v), want %q", testRef, got, err, want)
	}
}
