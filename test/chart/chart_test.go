package chart

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

var st *stack.Stack

func TestMain(m *testing.M) {
	os.Exit(stack.Run(m, stack.Options{NoSeaweed: true}, func(s *stack.Stack) { st = s }))
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestChartLintsStrictly(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	if out, err := Lint(ctx); err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	// The other sidecar line and every optional object, linted too.
	if out, err := helm(ctx, "lint", "--strict", dir, "--set", "sidecar.rbac=v0.1,sidecar.image.tag=v0.1.0",
		"--set", "bucketClass.create=true,bucketAccessClass.create=true,rbac.secretNamespaces={apps}",
		"--set", "seaweedfs.adminSecret.create=true,seaweedfs.adminSecret.accessKeyID=AK,seaweedfs.adminSecret.secretAccessKey=SECRETKEY"); err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
}

// A typo, a wrong type or a value out of range fails helm template (and so
// helm install) with a message that names the value.
func TestSchemaRefusesBadValues(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		set  string // one --set, or a values file's content when it has a newline
		want []string
	}{
		{"sidecr.logLevel=3", []string{"additional properties 'sidecr' not allowed"}},
		{"seaweedfs.adminSecret.nme=x", []string{"/seaweedfs/adminSecret", "'nme'"}},
		{"replicas=two", []string{"/replicas", "want integer"}},
		{"logLevel=-1", []string{"/logLevel", "minimum"}},
		{"sidecar.rbac=v0.3", []string{"/sidecar/rbac", "v0.2", "v0.1"}},
		{"image.pullPolicy=Sometimes", []string{"/image/pullPolicy"}},
		{"seaweedfs.endpoint=seaweedfs-s3:8333", []string{"/seaweedfs/endpoint", "pattern"}},
		{"public.endpoint=s3.example.org", []string{"/public/endpoint"}},
		{"timeouts.wait=20", []string{"/timeouts/wait", "want string"}},
		{"metrics.port=70000", []string{"/metrics/port", "maximum"}},
		{"driverName=Not_A_DNS_Name", []string{"/driverName", "pattern"}},
		{"bucketClass.deletionPolicy=Keep", []string{"/bucketClass/deletionPolicy"}},
		{"collectDeletedBucketAccesses=yes", []string{"/collectDeletedBucketAccesses", "want boolean"}},
		{"podLabels.team=1", []string{"/podLabels/team", "want string"}},
		{"rbac:\n  secretNamespace: [apps]\n", []string{"/rbac", "'secretNamespace'"}},
		{"extraEnv:\n  - value: x\n", []string{"/extraEnv/0", "name"}},
		// Checks the schema cannot express: the template refuses them.
		{"sidecar.rbac=v0.1", []string{"sidecar.rbac", "sidecar.image.tag", "v0.2"}},
		{"seaweedfs.adminSecret.existingSecret=", []string{"seaweedfs.adminSecret.existingSecret"}},
		{"seaweedfs.adminSecret.create=true", []string{"seaweedfs.adminSecret.accessKeyID"}},
		{"seaweedfs.filer.grpcAddress=http://filer:18888", []string{"/seaweedfs/filer/grpcAddress", "pattern"}},
		{"seaweedfs.filer.tls.cert=x", []string{"/seaweedfs/filer/tls", "'cert'"}},
		{"seaweedfs.filer.allowInsecure=yes", []string{"/seaweedfs/filer/allowInsecure", "want boolean"}},
		{"seaweedfs.filer.jwt.keyFile=x", []string{"/seaweedfs/filer/jwt", "'keyFile'"}},
		{"seaweedfs.filer.jwt.existingSecret=Filer_JWT", []string{"/seaweedfs/filer/jwt/existingSecret", "pattern"}},
		{"seaweedfs.filer.jwt.key=a/b", []string{"/seaweedfs/filer/jwt/key", "pattern"}},
		{"seaweedfs.filer.grpcAddress=filer:18888", []string{"seaweedfs.filer.tls.existingSecret", "seaweedfs.filer.allowInsecure"}},
		// A token alone leaves the filer's own gRPC service open.
		{"seaweedfs:\n  filer:\n    grpcAddress: filer:18888\n    jwt:\n      existingSecret: filer-jwt\n",
			[]string{"seaweedfs.filer.tls.existingSecret", "seaweedfs.filer.allowInsecure", "filer gRPC service"}},
	} {
		t.Run(tc.set, func(t *testing.T) {
			args := []string{"template", "r", dir, "--kube-version", KubeVersion}
			if strings.Contains(tc.set, "\n") {
				f := filepath.Join(t.TempDir(), "values.yaml")
				if err := os.WriteFile(f, []byte(tc.set), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--values", f)
			} else {
				args = append(args, "--set", tc.set)
			}
			out, err := helm(ctx, args...)
			if err == nil {
				t.Fatalf("helm template accepted %q:\n%s", tc.set, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not name %q:\n%v", w, err)
				}
			}
		})
	}
}

// Every object carries the standard labels; names follow nameOverride and
// fullnameOverride; the pod options reach the pod.
func TestLabelsNamesAndPodOptions(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	objs, err := Render(ctx, "rel", "ns1",
		"nameOverride=swfs", "imagePullSecrets[0].name=regcred", "nodeSelector.disk=ssd",
		"tolerations[0].key=dedicated", "tolerations[0].operator=Exists", "priorityClassName=high",
		"podAnnotations.a=b", "podLabels.team=storage",
		"extraArgs[0]=--workers=8", "extraEnv[0].name=X", "extraEnv[0].value=y",
		"sidecar.extraArgs[0]=--kube-api-qps=20", "logLevel=2")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		l := o.GetLabels()
		name := "swfs"
		if l["app.kubernetes.io/component"] == "test" {
			// The test pod stays after it ends: the driver's selector
			// (Deployment, PodDisruptionBudget, metrics Service) must not
			// count it.
			name = "swfs-test"
		}
		for k, want := range map[string]string{
			"helm.sh/chart": "cosi-seaweedfs-0.2.0", "app.kubernetes.io/managed-by": "Helm",
			"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "rel",
		} {
			if l[k] != want {
				t.Errorf("%s %s: label %s=%q, want %q", o.GetKind(), o.GetName(), k, l[k], want)
			}
		}
		if o.GetKind() == "Deployment" && o.GetName() != "rel-swfs" {
			t.Errorf("Deployment name %q, want rel-swfs", o.GetName())
		}
	}
	d := find(t, objs, "Deployment")
	spec, _, _ := unstructured.NestedMap(d.Object, "spec", "template", "spec")
	for path, want := range map[string]any{
		"priorityClassName": "high",
	} {
		if spec[path] != want {
			t.Errorf("pod %s = %v, want %v", path, spec[path], want)
		}
	}
	for _, want := range []string{"regcred", "ssd", "dedicated", "--workers=8", "--kube-api-qps=20", "--v=2", `"name":"X"`} {
		if !strings.Contains(mustJSON(t, d), want) {
			t.Errorf("the Deployment does not contain %s", want)
		}
	}
	if got := d.Object["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)["labels"].(map[string]any)["team"]; got != "storage" {
		t.Errorf("podLabels not on the pod: team=%v", got)
	}
	full, err := Render(ctx, "rel", "ns1", "fullnameOverride=cosi")
	if err != nil {
		t.Fatal(err)
	}
	if n := find(t, full, "Deployment").GetName(); n != "cosi" {
		t.Errorf("fullnameOverride: Deployment %q, want cosi", n)
	}
}

// With the filer's address and a Secret holding the client certificate, the
// driver gets the flags naming the mounted files and the Secret is mounted
// read-only; without the Secret, only when insecure use is allowed.
func TestFilerMutualTLSValues(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	objs, err := Render(ctx, "rel", "ns1", "seaweedfs.filer.grpcAddress=seaweedfs-filer:18888",
		"seaweedfs.filer.tls.existingSecret=driver-filer-tls", "seaweedfs.filer.tls.serverName=seaweedfs-filer")
	if err != nil {
		t.Fatal(err)
	}
	d := mustJSON(t, find(t, objs, "Deployment"))
	for _, want := range []string{
		"--filer-grpc-address=seaweedfs-filer:18888",
		"--filer-tls-cert-file=/etc/cosi-seaweedfs/filer-tls/tls.crt", "--filer-tls-key-file=/etc/cosi-seaweedfs/filer-tls/tls.key",
		"--filer-tls-ca-file=/etc/cosi-seaweedfs/filer-tls/ca.crt", "--filer-tls-server-name=seaweedfs-filer",
		`"secretName":"driver-filer-tls"`, `"mountPath":"/etc/cosi-seaweedfs/filer-tls","name":"filer-tls","readOnly":true`,
	} {
		if !strings.Contains(d, want) {
			t.Errorf("the Deployment does not contain %s", want)
		}
	}
	if strings.Contains(d, "--allow-insecure-filer") {
		t.Error("insecure filer use allowed without being asked for")
	}
	objs, err = Render(ctx, "rel", "ns1", "seaweedfs.filer.grpcAddress=seaweedfs-filer:18888", "seaweedfs.filer.allowInsecure=true")
	if err != nil {
		t.Fatal(err)
	}
	if d := mustJSON(t, find(t, objs, "Deployment")); !strings.Contains(d, "--allow-insecure-filer") || strings.Contains(d, "filer-tls") {
		t.Errorf("insecure filer: the Deployment has no --allow-insecure-filer or mounts a certificate:\n%s", d)
	}
	objs, err = Render(ctx, "rel", "ns1")
	if err != nil {
		t.Fatal(err)
	}
	if d := mustJSON(t, find(t, objs, "Deployment")); strings.Contains(d, "filer") {
		t.Error("the default Deployment mentions the filer")
	}
}

// With the filer's address and a Secret holding the filer's signing key, the
// driver gets the flag naming the mounted key, and only that key of the
// Secret is mounted, read-only; with a client certificate too, both. A
// token alone is used only with allowInsecure (it guards the filer's IAM
// service, not its filer service), and the token never brings
// --allow-insecure-filer by itself.
func TestFilerJWTValues(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	objs, err := Render(ctx, "rel", "ns1", "seaweedfs.filer.grpcAddress=seaweedfs-filer:18888", "seaweedfs.filer.jwt.existingSecret=filer-jwt",
		"seaweedfs.filer.allowInsecure=true")
	if err != nil {
		t.Fatal(err)
	}
	d := mustJSON(t, find(t, objs, "Deployment"))
	for _, want := range []string{
		"--filer-grpc-address=seaweedfs-filer:18888", "--filer-jwt-signing-key-file=/etc/cosi-seaweedfs/filer-jwt/signing-key",
		`"mountPath":"/etc/cosi-seaweedfs/filer-jwt","name":"filer-jwt","readOnly":true`,
		`"items":[{"key":"signing-key","path":"signing-key"}],"secretName":"filer-jwt"`,
		"--allow-insecure-filer",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("the Deployment does not contain %s:\n%s", want, d)
		}
	}
	if strings.Contains(d, "filer-tls") {
		t.Error("the Deployment with a token only mounts a certificate")
	}
	objs, err = Render(ctx, "rel", "ns1", "seaweedfs.filer.grpcAddress=seaweedfs-filer:18888",
		"seaweedfs.filer.jwt.existingSecret=filer-jwt", "seaweedfs.filer.jwt.key=jwt.key", "seaweedfs.filer.tls.existingSecret=driver-filer-tls")
	if err != nil {
		t.Fatal(err)
	}
	d = mustJSON(t, find(t, objs, "Deployment"))
	for _, want := range []string{
		"--filer-jwt-signing-key-file=/etc/cosi-seaweedfs/filer-jwt/jwt.key", "--filer-tls-cert-file=/etc/cosi-seaweedfs/filer-tls/tls.crt",
		`"items":[{"key":"jwt.key","path":"jwt.key"}],"secretName":"filer-jwt"`, `"secretName":"driver-filer-tls"`,
	} {
		if !strings.Contains(d, want) {
			t.Errorf("the Deployment with token and TLS does not contain %s", want)
		}
	}
	if strings.Contains(d, "--allow-insecure-filer") {
		t.Error("the Deployment with token and TLS allows an insecure filer")
	}
	objs, err = Render(ctx, "rel", "ns1", "seaweedfs.filer.jwt.existingSecret=filer-jwt")
	if err != nil {
		t.Fatal(err)
	}
	if d := mustJSON(t, find(t, objs, "Deployment")); strings.Contains(d, "filer") {
		t.Error("a signing key Secret without the filer's address mounts or passes something")
	}
}

// The chart for the sidecar v0.2 and v0.1 and with every optional object is
// accepted by a real API server with server-side apply (schema-validated,
// unknown fields refused), and the pod's identity may do what each
// container's source does, and not more in the places that matter.
func TestChartAppliesServerSideAndGrantsWhatEachSidecarNeeds(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	for _, ns := range []string{"chart-v02", "chart-v01", "chart-limited", "apps", "other"} {
		if err := st.Kube.CreateNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	dyn := dynamic.NewForConfigOrDie(st.Kube.Config)
	adminSecret := []string{"seaweedfs.adminSecret.create=true", "seaweedfs.adminSecret.accessKeyID=AK", "seaweedfs.adminSecret.secretAccessKey=SECRETKEY"}
	apply := func(release, ns string, set ...string) *kubernetes.Clientset {
		t.Helper()
		objs, err := Render(ctx, release, ns, set...)
		if err != nil {
			t.Fatal(err)
		}
		if err := Apply(ctx, dyn, objs); err != nil {
			t.Fatal(err)
		}
		cfg, err := st.Kube.ServiceAccountConfig(ctx, ns, release)
		if err != nil {
			t.Fatal(err)
		}
		return kubernetes.NewForConfigOrDie(cfg)
	}
	v02 := apply("cosi-seaweedfs", "chart-v02", append(adminSecret, "bucketClass.create=true", "bucketAccessClass.create=true",
		"bucketClass.name=chart-v02", "bucketAccessClass.name=chart-v02", "bucketAccessClass.parameters.mode=read-only")...)
	v01 := apply("cosi-seaweedfs", "chart-v01", "sidecar.rbac=v0.1", "sidecar.image.tag=v0.1.0", "collectDeletedBucketAccesses=false")
	// The filer's certificate and signing key mounted, too.
	limited := apply("cosi-seaweedfs", "chart-limited", "rbac.secretNamespaces={apps}", "seaweedfs.filer.grpcAddress=seaweedfs-filer:18888",
		"seaweedfs.filer.tls.existingSecret=filer-tls", "seaweedfs.filer.jwt.existingSecret=filer-jwt",
		"replicas=2", "podDisruptionBudget.enabled=true", "topologySpreadConstraints[0].maxSkew=1",
		"topologySpreadConstraints[0].topologyKey=kubernetes.io/hostname", "topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway")

	sidecarLease := "cosi-seaweedfs-io-cosi"
	driverLease := "cosi-seaweedfs-" + sha256Hex("cosi-seaweedfs.io")[:10]
	type ra = authorizationv1.ResourceAttributes
	cosi := func(verb, resource string) ra {
		r, sub, _ := strings.Cut(resource, "/")
		return ra{Verb: verb, Group: "objectstorage.k8s.io", Resource: r, Subresource: sub}
	}
	in := func(ns string, a ra) ra { a.Namespace = ns; return a }
	events := func(ns, verb string) ra {
		return ra{Namespace: ns, Verb: verb, Group: "events.k8s.io", Resource: "events"}
	}
	core := func(ns, verb, resource string) ra { return ra{Namespace: ns, Verb: verb, Resource: resource} }
	lease := func(ns, verb, name string) ra {
		return ra{Namespace: ns, Verb: verb, Group: "coordination.k8s.io", Resource: "leases", Name: name}
	}
	for _, tc := range []struct {
		name  string
		sa    *kubernetes.Clientset
		ns    string
		allow []ra
		deny  []ra
	}{
		{"v0.2", v02, "chart-v02",
			[]ra{
				// driver: records, Lease, collection of deleted accesses
				core("chart-v02", "watch", "configmaps"), core("chart-v02", "delete", "secrets"),
				lease("chart-v02", "update", driverLease), cosi("list", "bucketaccesses"),
				ra{Verb: "get", Resource: "namespaces", Name: "chart-v02"},
				// driver: Events on Buckets ("default"), claims and BucketAccesses
				events("default", "create"), events("other", "patch"), cosi("get", "buckets"),
				// sidecar v0.2 beyond v0.1
				in("other", cosi("update", "bucketclaims/status")), cosi("get", "bucketclasses"),
				core("other", "delete", "secrets"), core("other", "create", "events"), core("default", "patch", "events"),
				lease("chart-v02", "update", sidecarLease), cosi("update", "buckets/status"),
			},
			[]ra{
				core("other", "create", "configmaps"), core("other", "list", "secrets"),
				cosi("delete", "buckets"), cosi("create", "buckets"), cosi("get", "bucketaccesses"),
				in("other", cosi("create", "bucketclaims")), cosi("update", "bucketclasses"),
				lease("chart-v02", "update", "kube-controller-manager"), lease("other", "update", sidecarLease),
				ra{Verb: "get", Resource: "namespaces", Name: "other"}, ra{Verb: "list", Resource: "namespaces"},
				events("other", "delete"), events("other", "update"),
				in("chart-v02", ra{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "roles"}),
			}},
		{"v0.1", v01, "chart-v01",
			[]ra{
				core("other", "create", "secrets"), core("chart-v01", "create", "events"),
				// the driver's Events need no collection of deleted accesses
				events("other", "create"), cosi("list", "bucketaccesses"),
				in("other", cosi("update", "bucketclaims")), cosi("update", "bucketaccesses/status"),
			},
			[]ra{
				// what only v0.2 needs
				in("other", cosi("update", "bucketclaims/status")), cosi("get", "bucketclasses"),
				core("other", "delete", "secrets"), core("other", "create", "events"),
			}},
		{"secrets limited to namespace apps", limited, "chart-limited",
			[]ra{core("apps", "create", "secrets"), core("apps", "delete", "secrets"), core("chart-limited", "create", "secrets")},
			[]ra{core("other", "get", "secrets"), core("other", "create", "secrets"), core("default", "get", "secrets")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for want, list := range map[bool][]ra{true: tc.allow, false: tc.deny} {
				for _, a := range list {
					r, err := tc.sa.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
						&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &a}},
						metav1.CreateOptions{})
					if err != nil {
						t.Fatal(err)
					}
					if r.Status.Allowed != want {
						t.Errorf("%s %s/%s/%s %q in %q: allowed=%v, want %v", a.Verb, a.Group, a.Resource, a.Subresource, a.Name, a.Namespace, r.Status.Allowed, want)
					}
				}
			}
		})
	}

	// The optional objects exist as rendered.
	bac, err := dyn.Resource(resources["BucketAccessClass"]).Get(ctx, "chart-v02", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m, _, _ := unstructured.NestedString(bac.Object, "parameters", "mode"); m != "read-only" || bac.Object["authenticationType"] != "Key" {
		t.Errorf("BucketAccessClass: %v", bac.Object)
	}
	sec, err := st.Kube.Client.CoreV1().Secrets("chart-v02").Get(ctx, "cosi-seaweedfs-admin", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["admin_access_key_id"]) != "AK" || string(sec.Data["admin_secret_access_key"]) != "SECRETKEY" {
		t.Errorf("admin Secret keys: %v", keys(sec.Data))
	}
}

// Each Role and ClusterRole is one container's, and the chart binds every
// one of them to the pod's one ServiceAccount.
func TestEveryRoleBelongsToOneContainerAndIsBoundToThePod(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	for _, set := range [][]string{nil, {"sidecar.rbac=v0.1", "sidecar.image.tag=v0.1.0"}, {"rbac.secretNamespaces={a,b}"}} {
		objs, err := Render(ctx, "cosi-seaweedfs", "ns1", set...)
		if err != nil {
			t.Fatal(err)
		}
		roles := map[string]bool{}
		for _, o := range objs {
			switch o.GetKind() {
			case "Role", "ClusterRole":
				if c := o.GetLabels()[ComponentLabel]; c != ComponentDriver && c != ComponentSidecar {
					t.Errorf("%v: %s %s has component %q", set, o.GetKind(), o.GetName(), c)
				}
				roles[o.GetKind()+"/"+o.GetName()] = true
			}
		}
		for _, o := range objs {
			switch o.GetKind() {
			case "RoleBinding", "ClusterRoleBinding":
				ref, _, _ := unstructured.NestedString(o.Object, "roleRef", "kind")
				name, _, _ := unstructured.NestedString(o.Object, "roleRef", "name")
				delete(roles, ref+"/"+name)
				subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
				if len(subjects) != 1 || subjects[0].(map[string]any)["name"] != "cosi-seaweedfs" || subjects[0].(map[string]any)["namespace"] != "ns1" {
					t.Errorf("%v: %s %s binds %v, want the pod's ServiceAccount ns1/cosi-seaweedfs", set, o.GetKind(), o.GetName(), subjects)
				}
			}
		}
		if len(roles) > 0 {
			t.Errorf("%v: roles bound to nothing: %v", set, roles)
		}
	}
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind {
			return o
		}
	}
	t.Fatalf("the chart renders no %s", kind)
	return nil
}

// The chart's RBAC the demo installs without helm is what the chart
// renders today.
func TestPrerenderedRBACIsCurrent(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "make", "-s", "--no-print-directory", "-C", root, "-n", "chart-rbac-local").Output()
	if err != nil {
		t.Fatalf("make -n chart-rbac-local: %v", err)
	}
	// The recipe's helm line, with its output redirection removed.
	var args []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "bin/helm template ") {
			line = strings.TrimSpace(strings.SplitN(line, ">", 2)[0])
			args = strings.Fields(strings.TrimPrefix(line, "bin/helm "))
		}
	}
	if args == nil {
		t.Fatalf("no helm line in make chart-rbac-local:\n%s", out)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "bin", "helm"), args...)
	cmd.Dir = root
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %v: %v", args, err)
	}
	got, err := os.ReadFile(filepath.Join(root, "test", "e2e", "framework", "chart-rbac-local.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("test/e2e/framework/chart-rbac-local.yaml is not what the chart renders: run make chart-rbac-local")
	}
}

// helm itself installs the chart into a real API server, prints NOTES.txt
// with what to do next, and uninstalls it again. (No --wait: the test stack
// runs no kubelet.)
func TestHelmInstallPrintsNotesAndUninstalls(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	const ns = "helm-install"
	if err := st.Kube.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	kc := "--kubeconfig=" + st.Kube.KubeconfigPath
	out, err := helm(ctx, "install", "swfs", dir, kc, "--namespace", ns,
		"--set", "seaweedfs.adminSecret.create=true,seaweedfs.adminSecret.accessKeyID=AK,seaweedfs.adminSecret.secretAccessKey=SECRETKEY")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"kubectl -n helm-install logs deployment/swfs-cosi-seaweedfs -c driver",
		"kubectl -n helm-install logs deployment/swfs-cosi-seaweedfs -c objectstorage-sidecar",
		"helm test swfs -n helm-install",
		"kind: BucketClass", "driverName: cosi-seaweedfs.io", "kind: BucketClaim", "kind: BucketAccess",
		"jsonpath='{.data.BucketInfo}'",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("helm install's notes do not contain %q:\n%s", want, out)
		}
	}
	if _, err := st.Kube.Client.AppsV1().Deployments(ns).Get(ctx, "swfs-cosi-seaweedfs", metav1.GetOptions{}); err != nil {
		t.Errorf("after helm install: %v", err)
	}
	if out, err := helm(ctx, "uninstall", "swfs", kc, "--namespace", ns); err != nil {
		t.Fatalf("helm uninstall: %v\n%s", err, out)
	}
	if _, err := st.Kube.Client.AppsV1().Deployments(ns).Get(ctx, "swfs-cosi-seaweedfs", metav1.GetOptions{}); err == nil {
		t.Error("the Deployment is still there after helm uninstall")
	}
}

// The probes do not depend on metrics, the pod name is the leader identity,
// and the monitoring objects are there only when asked for.
func TestChartProbesAndMonitoring(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	kinds := func(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
		m := map[string]*unstructured.Unstructured{}
		for _, o := range objs {
			m[o.GetKind()] = o
		}
		return m
	}
	driverContainer := func(t *testing.T, dep *unstructured.Unstructured) map[string]any {
		t.Helper()
		containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			if c := c.(map[string]any); c["name"] == "driver" {
				return c
			}
		}
		t.Fatal("no driver container")
		return nil
	}

	for _, metricsEnabled := range []string{"true", "false"} {
		t.Run("metrics.enabled="+metricsEnabled, func(t *testing.T) {
			objs, err := Render(ctx, "cosi-seaweedfs", "chart-test", "metrics.enabled="+metricsEnabled)
			if err != nil {
				t.Fatal(err)
			}
			k := kinds(objs)
			c := driverContainer(t, k["Deployment"])
			for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
				if got, _, _ := unstructured.NestedString(c, probe, "httpGet", "path"); got != path {
					t.Errorf("%s path = %q, want %q", probe, got, path)
				}
			}
			env, _, _ := unstructured.NestedSlice(c, "env")
			var podName bool
			for _, e := range env {
				e := e.(map[string]any)
				if f, _, _ := unstructured.NestedString(e, "valueFrom", "fieldRef", "fieldPath"); e["name"] == "POD_NAME" && f == "metadata.name" {
					podName = true
				}
			}
			if !podName {
				t.Error("POD_NAME is not the pod name from the downward API")
			}
			if _, ok := k["Service"]; ok != (metricsEnabled == "true") {
				t.Errorf("metrics Service rendered = %v with metrics.enabled=%s", ok, metricsEnabled)
			}
			if _, ok := k["ServiceMonitor"]; ok {
				t.Error("a ServiceMonitor is rendered by default")
			}
			if _, ok := k["PrometheusRule"]; ok {
				t.Error("a PrometheusRule is rendered by default")
			}
		})
	}

	t.Run("ServiceMonitor and PrometheusRule when enabled", func(t *testing.T) {
		objs, err := Render(ctx, "cosi-seaweedfs", "chart-test", "metrics.serviceMonitor.enabled=true", "metrics.prometheusRule.enabled=true")
		if err != nil {
			t.Fatal(err)
		}
		k := kinds(objs)
		if sm := k["ServiceMonitor"]; sm == nil {
			t.Error("no ServiceMonitor")
		}
		pr := k["PrometheusRule"]
		if pr == nil {
			t.Fatal("no PrometheusRule")
		}
		groups, _, _ := unstructured.NestedSlice(pr.Object, "spec", "groups")
		if len(groups) != 1 {
			t.Fatalf("%d rule groups", len(groups))
		}
		rules, _, _ := unstructured.NestedSlice(groups[0].(map[string]any), "rules")
		if len(rules) < 5 {
			t.Errorf("%d alert rules", len(rules))
		}
	})
}
