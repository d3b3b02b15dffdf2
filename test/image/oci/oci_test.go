package oci

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRef(t *testing.T) {
	for ref, want := range map[string]string{
		"ghcr.io/cosi-seaweedfs/cosi-seaweedfs:v1": "ghcr.io/cosi-seaweedfs/cosi-seaweedfs:v1",
		"docker.io/library/busybox":                "docker.io/library/busybox:latest",
		"localhost/pause:3":                        "localhost/pause:3",
		"127.0.0.1:5000/x:y":                       "127.0.0.1:5000/x:y",
	} {
		got, err := Ref(ref)
		if err != nil || got != want {
			t.Errorf("Ref(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
	for _, ref := range []string{"busybox", "library/busybox:1", "Bad Name:1"} {
		if got, err := Ref(ref); err == nil {
			t.Errorf("Ref(%q) = %q, want an error", ref, got)
		}
	}
}

// The same files give the same image: entries carry a fixed time and owner.
func TestBuildIsReproducible(t *testing.T) {
	src := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(src, []byte("#!/bin/true\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	spec := Spec{Files: []File{{Path: "/usr/bin/x", Src: src}, {Path: "/etc/x.conf", Data: []byte("a=b\n")}},
		Entrypoint: []string{"/usr/bin/x"}, User: "65532:65532", Labels: map[string]string{"k": "v"}}
	var digests []string
	for range 2 {
		img, err := Build(spec)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d.String())
	}
	if digests[0] != digests[1] {
		t.Fatalf("two builds of the same files differ: %v", digests)
	}
}

func TestBuildRefusesBadPaths(t *testing.T) {
	for _, files := range [][]File{
		{{Path: "relative", Data: nil}},
		{{Path: "/a/../b", Data: nil}},
		{{Path: "/a", Data: nil}, {Path: "/a", Data: nil}},
		{{Path: "/a", Data: nil}, {Path: "/a/b", Data: nil}},
	} {
		if _, err := Build(Spec{Files: files}); err == nil {
			t.Errorf("Build(%v) succeeded", files)
		}
	}
}
