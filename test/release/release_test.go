// Package release checks the release workflow (.github/workflows/release.yaml)
// without a registry: it runs only test/release/release.sh steps and tool
// builds, and every step runs here with stand-ins for docker, helm and git
// that record what they are asked to do.
package release

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

func root(t *testing.T) string {
	t.Helper()
	r, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// chartVersion is Chart.yaml's version and appVersion.
func chartVersion(t *testing.T) (version, appVersion string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), "charts", "cosi-seaweedfs", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Version     string `json:"version"`
		AppVersion  string `json:"appVersion"`
		KubeVersion string `json:"kubeVersion"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if c.KubeVersion == "" {
		t.Error("Chart.yaml has no kubeVersion")
	}
	return c.Version, c.AppVersion
}

// The chart's version and appVersion are one version, CHANGELOG.md has a
// section for it, and a release tag of it passes the workflow's check.
func TestChartVersionIsTheReleaseVersion(t *testing.T) {
	v, app := chartVersion(t)
	if v != app {
		t.Fatalf("Chart.yaml version %s and appVersion %s differ: a release tag names both", v, app)
	}
	b, err := os.ReadFile(filepath.Join(root(t), "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^## \[` + regexp.QuoteMeta(v) + `\]`).Match(b) {
		t.Errorf("CHANGELOG.md has no section ## [%s]", v)
	}
	if out, err := run(t, nil, "check", "v"+v); err != nil {
		t.Errorf("release.sh check v%s: %v\n%s", v, err, out)
	}
	for _, bad := range []string{"v9.9.9", v, "v" + v + "x"} {
		if out, err := run(t, nil, "check", bad); err == nil {
			t.Errorf("release.sh check %s passed:\n%s", bad, out)
		}
	}
}

// run runs a release.sh step with stand-ins for docker, helm and git that
// append their name and arguments (and helm's standard input) to calls.log
// in the stand-ins' directory, which it returns as the output on success.
func run(t *testing.T, env []string, step, tag string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "calls.log")
	script := `#!/usr/bin/env bash
name=$(basename "$0")
echo "$name $*" >> ` + log + `
if [[ $name == helm && "$*" == *--password-stdin* ]]; then echo "  stdin $(cat)" >> ` + log + `; fi
if [[ $name == git ]]; then echo 0123abcd; fi
exit 0
`
	for _, name := range []string{"docker", "helm", "git"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(filepath.Join(root(t), "test", "release", "release.sh"), step, tag)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HELM_BIN="+filepath.Join(dir, "helm"), "DOCKER_BIN="+filepath.Join(dir, "docker"))
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), err
	}
	b, _ := os.ReadFile(log)
	return string(b), nil
}

// The images step builds both architectures with the tag stamped in and
// pushes them under the chart's default image and the chart's appVersion;
// the chart step packages that version and pushes it to the same registry,
// logging in with the token on standard input only.
func TestReleaseStepsRunWithStandIns(t *testing.T) {
	v, _ := chartVersion(t)
	tag := "v" + v
	for _, tc := range []struct {
		step string
		env  []string
		want []string
		not  []string
	}{
		{"images", nil, []string{"docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=" + tag +
			" --build-arg REVISION=0123abcd -t ghcr.io/cosi-seaweedfs/cosi-seaweedfs:" + v + " -f Dockerfile --push ."}, nil},
		{"chart", []string{"REGISTRY_USER=someone", "REGISTRY_TOKEN=s3cr3t-token"}, []string{
			"helm registry login ghcr.io --username someone --password-stdin", "  stdin s3cr3t-token",
			"helm package charts/cosi-seaweedfs --version " + v + " --app-version " + v + " --destination ",
			"/cosi-seaweedfs-" + v + ".tgz oci://ghcr.io/cosi-seaweedfs/charts"},
			[]string{"login ghcr.io --username someone --password-stdin s3cr3t"}},
		{"chart", nil, []string{"helm push"}, []string{"registry login"}},
	} {
		t.Run(tc.step, func(t *testing.T) {
			calls, err := run(t, tc.env, tc.step, tag)
			if err != nil {
				t.Fatalf("release.sh %s %s: %v\n%s", tc.step, tag, err, calls)
			}
			for _, w := range tc.want {
				if !strings.Contains(calls, w) {
					t.Errorf("release.sh %s did not run %q; it ran:\n%s", tc.step, w, calls)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(calls, n) {
					t.Errorf("release.sh %s ran %q:\n%s", tc.step, n, calls)
				}
			}
		})
	}
}

// Every command of the release workflow is a release.sh step or a tool
// build, so that the tests above exercise what a tag runs; it triggers on
// version tags only.
func TestReleaseWorkflowRunsOnlyScriptedSteps(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root(t), ".github", "workflows", "release.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		// YAML 1.1 reads the key on as true.
		On struct {
			Push struct {
				Tags     []string `json:"tags"`
				Branches []string `json:"branches"`
			} `json:"push"`
		} `json:"true"`
		Jobs map[string]struct {
			Steps []struct {
				Run string `json:"run"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if strings.Join(w.On.Push.Tags, ",") != "v*.*.*" || len(w.On.Push.Branches) != 0 {
		t.Errorf("the release workflow runs on %+v, want tags v*.*.* only", w.On.Push)
	}
	steps := map[string]bool{}
	for _, job := range w.Jobs {
		for _, s := range job.Steps {
			f := strings.Fields(s.Run)
			switch {
			case s.Run == "":
			case len(f) == 3 && f[0] == "test/release/release.sh" && f[2] == `"$GITHUB_REF_NAME"`:
				steps[f[1]] = true
			case len(f) == 2 && f[0] == "test/tools/build.sh":
			default:
				t.Errorf("the release workflow runs %q: only test/release/release.sh <step> \"$GITHUB_REF_NAME\" and tool builds are exercised locally", s.Run)
			}
		}
	}
	for _, want := range []string{"check", "images", "chart"} {
		if !steps[want] {
			t.Errorf("the release workflow never runs release.sh %s", want)
		}
	}
}
