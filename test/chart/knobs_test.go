package chart

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

func kindsOf(objs []*unstructured.Unstructured) map[string]int {
	n := map[string]int{}
	for _, o := range objs {
		n[o.GetKind()]++
	}
	return n
}

// The ServiceAccount knobs: created with annotations under a chosen name,
// or an existing one (which must be named), and every binding and the pod
// use that name.
func TestServiceAccountValues(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	check := func(t *testing.T, objs []*unstructured.Unstructured, want string) {
		t.Helper()
		var d appsv1.Deployment
		convert(t, find(t, objs, "Deployment"), &d)
		if got := d.Spec.Template.Spec.ServiceAccountName; got != want {
			t.Errorf("pod ServiceAccount %q, want %q", got, want)
		}
		for _, o := range objs {
			if o.GetKind() != "RoleBinding" && o.GetKind() != "ClusterRoleBinding" {
				continue
			}
			var b rbacv1.RoleBinding
			convert(t, o, &b)
			if len(b.Subjects) != 1 || b.Subjects[0].Name != want || b.Subjects[0].Namespace != "ns1" {
				t.Errorf("%s %s binds %+v, want ServiceAccount ns1/%s", o.GetKind(), o.GetName(), b.Subjects, want)
			}
		}
	}
	objs, err := Render(ctx, "rel", "ns1", "serviceAccount.name=cosi-driver", "serviceAccount.annotations.team=storage")
	if err != nil {
		t.Fatal(err)
	}
	sa := find(t, objs, "ServiceAccount")
	if sa.GetName() != "cosi-driver" || sa.GetAnnotations()["team"] != "storage" {
		t.Errorf("ServiceAccount %s annotations %v", sa.GetName(), sa.GetAnnotations())
	}
	check(t, objs, "cosi-driver")

	objs, err = Render(ctx, "rel", "ns1", "serviceAccount.create=false", "serviceAccount.name=existing")
	if err != nil {
		t.Fatal(err)
	}
	if kindsOf(objs)["ServiceAccount"] != 0 {
		t.Error("serviceAccount.create=false still creates one")
	}
	check(t, objs, "existing")

	if _, err := Render(ctx, "rel", "ns1", "serviceAccount.create=false"); err == nil || !strings.Contains(err.Error(), "serviceAccount.name") {
		t.Errorf("an existing ServiceAccount without a name: %v, want an error naming serviceAccount.name", err)
	}
}

// rbac.create=false renders no Role, ClusterRole or binding at all.
func TestRBACCreateFalse(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	objs, err := Render(ctx, "rel", "ns1", "rbac.create=false", "rbac.secretNamespaces={apps}")
	if err != nil {
		t.Fatal(err)
	}
	k := kindsOf(objs)
	for _, kind := range []string{"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"} {
		if k[kind] != 0 {
			t.Errorf("rbac.create=false renders %d %s", k[kind], kind)
		}
	}
	if k["Deployment"] != 1 || k["ServiceAccount"] != 1 {
		t.Errorf("rbac.create=false lost the Deployment or the ServiceAccount: %v", k)
	}
}

// Security contexts can be overridden, for the pod and for every container
// (driver, sidecar and the test pod's), and default to the hardened ones.
func TestSecurityContextValues(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	objs, err := Render(ctx, "rel", "ns1")
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	convert(t, find(t, objs, "Deployment"), &d)
	hardened := &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	for _, c := range d.Spec.Template.Spec.Containers {
		if diff := cmp.Diff(hardened, c.SecurityContext); diff != "" {
			t.Errorf("container %s by default (-want +got):\n%s", c.Name, diff)
		}
	}
	psc := d.Spec.Template.Spec.SecurityContext
	if psc == nil || !ptr.Deref(psc.RunAsNonRoot, false) || ptr.Deref(psc.RunAsUser, 0) != 65532 || psc.SeccompProfile == nil ||
		psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context by default: %+v", psc)
	}

	objs, err = Render(ctx, "rel", "ns1", "podSecurityContext.runAsUser=1000", "securityContext.runAsUser=2000")
	if err != nil {
		t.Fatal(err)
	}
	convert(t, find(t, objs, "Deployment"), &d)
	var pod corev1.Pod
	convert(t, find(t, objs, "Pod"), &pod)
	if got := ptr.Deref(d.Spec.Template.Spec.SecurityContext.RunAsUser, 0); got != 1000 {
		t.Errorf("podSecurityContext.runAsUser=1000: pod runs as %d", got)
	}
	for _, c := range append(d.Spec.Template.Spec.Containers, pod.Spec.Containers...) {
		if got := ptr.Deref(c.SecurityContext.RunAsUser, 0); got != 2000 {
			t.Errorf("securityContext.runAsUser=2000: container %s runs as %d", c.Name, got)
		}
	}
}

// A PodDisruptionBudget only when asked for, selecting the driver pods;
// topology spread passed through; the metrics Service named after the
// release, so that two releases in one namespace do not collide.
func TestDisruptionSpreadAndMetricsName(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	objs, err := Render(ctx, "rel", "ns1")
	if err != nil {
		t.Fatal(err)
	}
	if kindsOf(objs)["PodDisruptionBudget"] != 0 {
		t.Error("a PodDisruptionBudget by default: it would block node drains with one replica")
	}
	for _, o := range objs {
		if o.GetKind() == "Service" && o.GetName() != "rel-cosi-seaweedfs-metrics" {
			t.Errorf("metrics Service %q, want rel-cosi-seaweedfs-metrics", o.GetName())
		}
	}
	objs, err = Render(ctx, "rel", "ns1", "replicas=2", "podDisruptionBudget.enabled=true",
		"topologySpreadConstraints[0].maxSkew=1", "topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
		"topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway")
	if err != nil {
		t.Fatal(err)
	}
	var pdb policyv1.PodDisruptionBudget
	convert(t, find(t, objs, "PodDisruptionBudget"), &pdb)
	var d appsv1.Deployment
	convert(t, find(t, objs, "Deployment"), &d)
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PodDisruptionBudget %+v, want maxUnavailable 1", pdb.Spec)
	}
	if diff := cmp.Diff(d.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels); diff != "" {
		t.Errorf("the PodDisruptionBudget selects other pods than the Deployment (-deployment +pdb):\n%s", diff)
	}
	ts := d.Spec.Template.Spec.TopologySpreadConstraints
	if len(ts) != 1 || ts[0].TopologyKey != "topology.kubernetes.io/zone" || ts[0].MaxSkew != 1 {
		t.Errorf("topology spread %+v", ts)
	}
}

// The endpoint workloads are handed resolves from their namespaces: a bare
// Service name is qualified with the release namespace (the Service the
// driver itself reaches); qualified names, addresses and an explicit
// public.endpoint are kept.
func TestPublicEndpointResolvesFromOtherNamespaces(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	for _, tc := range []struct{ set, want string }{
		{"seaweedfs.endpoint=http://seaweedfs-s3:8333", "http://seaweedfs-s3.store.svc:8333"},
		{"seaweedfs.endpoint=http://seaweedfs-s3", "http://seaweedfs-s3.store.svc"},
		{"seaweedfs.endpoint=http://seaweedfs-s3.seaweedfs:8333", "http://seaweedfs-s3.seaweedfs:8333"},
		{"seaweedfs.endpoint=https://s3.example.com", "https://s3.example.com"},
		{"seaweedfs.endpoint=http://10.1.2.3:8333", "http://10.1.2.3:8333"},
		{"public.endpoint=https://objects.example.org", "https://objects.example.org"},
	} {
		objs, err := Render(ctx, "rel", "store", tc.set)
		if err != nil {
			t.Fatal(err)
		}
		var d appsv1.Deployment
		convert(t, find(t, objs, "Deployment"), &d)
		var got string
		for _, a := range d.Spec.Template.Spec.Containers[0].Args {
			if v, ok := strings.CutPrefix(a, "--public-endpoint="); ok {
				got = v
			}
		}
		if got != tc.want {
			t.Errorf("%s: --public-endpoint=%s, want %s", tc.set, got, tc.want)
		}
	}
}

// importBuckets becomes --import-buckets, comma-joined, only when set; a
// value that would split or break the flag is refused by the schema.
func TestImportBucketsValues(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	objs, err := Render(ctx, "rel", "ns1", "importBuckets={legacy-data,team-a-*}")
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	convert(t, find(t, objs, "Deployment"), &d)
	if args := strings.Join(d.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--import-buckets=legacy-data,team-a-*") {
		t.Errorf("driver args %s, want --import-buckets=legacy-data,team-a-*", args)
	}
	objs, err = Render(ctx, "rel", "ns1")
	if err != nil {
		t.Fatal(err)
	}
	convert(t, find(t, objs, "Deployment"), &d)
	if args := strings.Join(d.Spec.Template.Spec.Containers[0].Args, " "); strings.Contains(args, "--import-buckets") {
		t.Errorf("the default imports buckets: %s", args)
	}
	for _, bad := range []string{"importBuckets={a b}", `importBuckets={a\,b}`} {
		if _, err := Render(ctx, "rel", "ns1", bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// The default BucketClass carries the parameters given, a quota among them.
func TestBucketClassWithAQuota(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	objs, err := Render(ctx, "rel", "ns1", "bucketClass.create=true", "bucketClass.parameters.maxSize=10Gi", "bucketClass.parameters.diskType=ssd")
	if err != nil {
		t.Fatal(err)
	}
	class := find(t, objs, "BucketClass")
	params, _, _ := unstructured.NestedStringMap(class.Object, "parameters")
	if diff := cmp.Diff(map[string]string{"maxSize": "10Gi", "diskType": "ssd"}, params); diff != "" {
		t.Errorf("BucketClass parameters (-want +got):\n%s", diff)
	}
}
