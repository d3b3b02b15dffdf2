// Package cluster checks, without a container engine, what the kind CI jobs
// run (.github/workflows/ci.yaml): the workflow calls only make targets and
// test/cluster/kind.sh steps; every step runs here with stand-ins for kind,
// kubectl, docker, helm and go that record what they are asked to do; and the
// manifests and chart values those steps install are accepted by a real API
// server with server-side apply.
package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/chart"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

var st *stack.Stack

func TestMain(m *testing.M) {
	os.Exit(stack.Run(m, stack.Options{NoSeaweed: true}, func(s *stack.Stack) { st = s }))
}

func root(t *testing.T) string {
	t.Helper()
	r, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type workflow struct {
	Jobs map[string]struct {
		Strategy struct {
			Matrix map[string][]string `json:"matrix"`
		} `json:"strategy"`
		Steps []struct {
			Run  string `json:"run"`
			Uses string `json:"uses"`
		} `json:"steps"`
	} `json:"jobs"`
}

func readWorkflow(t *testing.T) workflow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), ".github", "workflows", "ci.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	return w
}

// kindSteps are the steps test/cluster/kind.sh accepts, from its case.
func kindSteps(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), "test", "cluster", "kind.sh"))
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z0-9|-]+)\)$`).FindAllStringSubmatch(string(b), -1) {
		for _, s := range strings.Split(m[1], "|") {
			steps[s] = true
		}
	}
	return steps
}

// Every command of the workflow is one the local tests exercise: .ci/run,
// make test-pods, a tool build, or a kind.sh step (matrix values expanded);
// the first two may run as root.
func TestWorkflowRunsOnlyScriptedSteps(t *testing.T) {
	w := readWorkflow(t)
	steps := kindSteps(t)
	if len(w.Jobs) == 0 {
		t.Fatal("the workflow has no jobs")
	}
	seen := map[string]bool{}
	for name, job := range w.Jobs {
		for _, s := range job.Steps {
			if s.Run == "" {
				continue
			}
			runs := []string{s.Run}
			if strings.Contains(s.Run, "${{ matrix.suite }}") {
				runs = nil
				for _, v := range job.Strategy.Matrix["suite"] {
					runs = append(runs, strings.ReplaceAll(s.Run, "${{ matrix.suite }}", v))
				}
			}
			for _, r := range runs {
				r = asRoot.ReplaceAllString(r, "")
				f := strings.Fields(r)
				switch {
				case r == ".ci/run":
				case r == "make test-pods":
					seen[r] = true
				case len(f) == 2 && f[0] == "test/tools/build.sh":
					if _, err := os.Stat(filepath.Join(root(t), "test", "tools", f[1], "go.mod")); err != nil {
						t.Errorf("job %s builds tool %s, which has no pin: %v", name, f[1], err)
					}
				case len(f) == 2 && f[0] == "test/cluster/kind.sh":
					if !steps[f[1]] {
						t.Errorf("job %s runs kind.sh %s, which is no step of it", name, f[1])
					}
					seen[f[1]] = true
				default:
					t.Errorf("job %s runs %q: only .ci/run, make test-pods, test/tools/build.sh <tool> and test/cluster/kind.sh <step> are exercised locally", name, r)
				}
			}
		}
	}
	for _, want := range []string{"cluster", "cosi", "seaweedfs", "image", "install", "e2e", "recovery", "logs"} {
		if !seen[want] {
			t.Errorf("the workflow never runs kind.sh %s", want)
		}
	}
	if !seen["make test-pods"] {
		t.Error("the workflow never runs make test-pods")
	}
}

// asRoot matches the prefix that runs a step as root with the runner's Go
// (the real node of make test-pods needs root); what follows it is the step.
var asRoot = regexp.MustCompile(`^sudo env "PATH=\$PATH" "HOME=\$HOME" `)

// stubs writes stand-ins for the external commands: each appends its name,
// its arguments and (go only) the E2E_ environment to log, and kubectl
// answers a Secret's key with base64("key-value").
func stubs(t *testing.T) (dir, log string) {
	t.Helper()
	dir = t.TempDir()
	log = filepath.Join(dir, "calls.log")
	script := `#!/usr/bin/env bash
name=$(basename "$0")
echo "$name $*" >> ` + log + `
if [[ $name == go ]]; then env | grep '^E2E_' | sort | sed 's/^/  env /' >> ` + log + `; fi
if [[ $name == kubectl && "$*" == *"jsonpath={.data."* ]]; then printf 'a2V5LXZhbHVl'; fi
exit 0
`
	for _, name := range []string{"kind", "kubectl", "docker", "helm", "go"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir, log
}

// Each step of kind.sh, run with the stand-ins, asks them for what the job
// needs: the pinned COSI release, the port mapping, the image the chart
// values name, helm --wait and helm test, the e2e suite in cluster mode with
// SeaweedFS's admin identity, and the recovery tests with both pods' places.
func TestKindStepsRunWithStandIns(t *testing.T) {
	r := root(t)
	bin, log := stubs(t)
	kindDir := t.TempDir()
	run := func(step string) string {
		t.Helper()
		_ = os.Remove(log)
		cmd := exec.Command(filepath.Join(r, "test", "cluster", "kind.sh"), step)
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"KIND_BIN="+filepath.Join(bin, "kind"), "HELM_BIN="+filepath.Join(bin, "helm"), "KIND_DIR="+kindDir,
			"CONTAINER_TOOLS=docker")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kind.sh %s: %v\n%s", step, err, out)
		}
		b, _ := os.ReadFile(log)
		return string(b)
	}
	kc := filepath.Join(kindDir, "kubeconfig")
	for _, tc := range []struct {
		step string
		want []string
	}{
		{"cluster", []string{"kind create cluster --name cosi-seaweedfs --config test/cluster/kind.yaml --kubeconfig " + kc + " --wait 5m"}},
		{"cosi", []string{
			"kubectl create -k github.com/kubernetes-sigs/container-object-storage-interface?ref=v0.2.2",
			"kubectl -n container-object-storage-system rollout status deployment/container-object-storage-controller"}},
		{"seaweedfs", []string{"kubectl -n seaweedfs create secret generic seaweedfs-s3-secret --from-literal=admin_access_key_id=",
			"kubectl apply -f test/cluster/seaweedfs.yaml", "rollout status deployment/seaweedfs"}},
		{"image", []string{"docker build --build-arg VERSION=ci", "-t cosi-seaweedfs.local/cosi-seaweedfs:ci -f Dockerfile .",
			"kind load docker-image --name cosi-seaweedfs cosi-seaweedfs.local/cosi-seaweedfs:ci"}},
		{"install", []string{"helm upgrade --install cosi-seaweedfs charts/cosi-seaweedfs --namespace seaweedfs --values test/cluster/values.yaml --wait",
			"helm test cosi-seaweedfs --namespace seaweedfs"}},
		{"e2e", []string{"go test -count=1 -timeout 40m -v ./test/e2e/", "env E2E_KUBECONFIG=" + kc,
			"env E2E_S3_ENDPOINT=http://127.0.0.1:30333", "env E2E_S3_ADMIN_ACCESS_KEY_ID=key-value",
			"env E2E_DRIVER_NAMESPACE=seaweedfs", "env E2E_CONTROLLER_NAMESPACE=container-object-storage-system"}},
		{"recovery", []string{"-run TestControllerAndDriverReplacedMidFlow|TestRestartChangesNothing ./test/e2e/", "env E2E_CONTROLLER_NAMESPACE=container-object-storage-system"}},
		{"logs", []string{"kubectl -n seaweedfs logs deployment/cosi-seaweedfs -c driver", "kubectl -n seaweedfs logs deployment/cosi-seaweedfs -c objectstorage-sidecar"}},
		{"delete", []string{"kind delete cluster --name cosi-seaweedfs"}},
	} {
		t.Run(tc.step, func(t *testing.T) {
			calls := run(tc.step)
			for _, w := range tc.want {
				if !strings.Contains(calls, w) {
					t.Errorf("kind.sh %s did not run %q; it ran:\n%s", tc.step, w, calls)
				}
			}
		})
	}
}

// The port SeaweedFS's Service exposes is the one kind maps to loopback and
// the one the suite is pointed at.
func TestSeaweedFSPortIsMappedToLoopback(t *testing.T) {
	r := root(t)
	var kindCfg struct {
		Nodes []struct {
			ExtraPortMappings []struct {
				ContainerPort int    `json:"containerPort"`
				HostPort      int    `json:"hostPort"`
				ListenAddress string `json:"listenAddress"`
			} `json:"extraPortMappings"`
		} `json:"nodes"`
	}
	b, err := os.ReadFile(filepath.Join(r, "test", "cluster", "kind.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &kindCfg); err != nil {
		t.Fatal(err)
	}
	objs := manifests(t, filepath.Join(r, "test", "cluster", "seaweedfs.yaml"))
	var nodePort int64
	for _, o := range objs {
		if o.GetKind() == "Service" {
			ports, _, _ := unstructured.NestedSlice(o.Object, "spec", "ports")
			switch v := ports[0].(map[string]any)["nodePort"].(type) {
			case int64:
				nodePort = v
			case float64:
				nodePort = int64(v)
			}
		}
	}
	m := kindCfg.Nodes[0].ExtraPortMappings[0]
	if int64(m.ContainerPort) != nodePort || m.HostPort != m.ContainerPort || m.ListenAddress != "127.0.0.1" {
		t.Errorf("kind maps %+v, SeaweedFS's NodePort is %d", m, nodePort)
	}
	script, _ := os.ReadFile(filepath.Join(r, "test", "cluster", "kind.sh"))
	if !strings.Contains(string(script), "S3_LOCAL=http://127.0.0.1:"+jsonInt(nodePort)) {
		t.Errorf("kind.sh does not point the suite at 127.0.0.1:%d", nodePort)
	}
}

func jsonInt(i int64) string { b, _ := json.Marshal(i); return string(b) }

func manifests(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			break
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
	return objs
}

// What the seaweedfs and install steps put into the cluster is accepted by
// a real API server, server-side: the SeaweedFS manifest, and the chart with
// the jobs' values, whose Deployment mounts the Secret the seaweedfs step
// creates and runs the image the image step loads.
func TestClusterManifestsApplyServerSide(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := root(t)
	dyn := dynamic.NewForConfigOrDie(st.Kube.Config)
	gvr := map[string]struct{ group, version, resource string }{
		"Namespace":  {"", "v1", "namespaces"},
		"Deployment": {"apps", "v1", "deployments"},
		"Service":    {"", "v1", "services"},
	}
	for _, o := range manifests(t, filepath.Join(r, "test", "cluster", "seaweedfs.yaml")) {
		g, ok := gvr[o.GetKind()]
		if !ok {
			t.Fatalf("seaweedfs.yaml has an unexpected kind %s", o.GetKind())
		}
		res := dyn.Resource(schemaGVR(g.group, g.version, g.resource))
		var ri dynamic.ResourceInterface = res
		if o.GetNamespace() != "" {
			ri = res.Namespace(o.GetNamespace())
		}
		if _, err := ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: chart.FieldManager, Force: true}); err != nil {
			t.Fatalf("apply %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	objs, err := chart.RenderValues(ctx, "cosi-seaweedfs", "seaweedfs", []string{filepath.Join(r, "test", "cluster", "values.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if err := chart.Apply(ctx, dyn, objs); err != nil {
		t.Fatal(err)
	}
	d, err := st.Kube.Client.AppsV1().Deployments("seaweedfs").Get(ctx, "cosi-seaweedfs", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	if img := pod.Containers[0].Image; img != "cosi-seaweedfs.local/cosi-seaweedfs:ci" {
		t.Errorf("driver image %s, not the one kind.sh image loads", img)
	}
	for _, v := range pod.Volumes {
		if v.Name == "admin" && v.Secret.SecretName != "seaweedfs-s3-secret" {
			t.Errorf("admin Secret %s, not the one kind.sh seaweedfs creates", v.Secret.SecretName)
		}
	}
	if !strings.Contains(strings.Join(pod.Containers[0].Args, " "), "--s3-endpoint=http://seaweedfs-s3.seaweedfs:8333") {
		t.Errorf("driver args %v do not name the seaweedfs-s3 Service", pod.Containers[0].Args)
	}
}

func schemaGVR(group, version, resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
}
