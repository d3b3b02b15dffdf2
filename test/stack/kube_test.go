package stack

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func kube(t *testing.T) *Kube {
	t.Helper()
	if shared == nil || shared.Kube == nil {
		t.Fatal("the shared stack has no kube-apiserver")
	}
	return shared.Kube
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// whoAmI asks the apiserver which identity the client authenticated as.
func whoAmI(t *testing.T, ctx context.Context, c kubernetes.Interface) authenticationv1.UserInfo {
	t.Helper()
	r, err := c.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectReview: %v", err)
	}
	return r.Status.UserInfo
}

func TestKubeAdminKubeconfig(t *testing.T) {
	k := kube(t)
	ctx := testContext(t)
	if !strings.HasPrefix(k.Host, "https://127.0.0.1:") {
		t.Errorf("Host = %q, want https://127.0.0.1:<port>", k.Host)
	}
	// The file is what a driver subprocess gets, so it is tested on its own.
	cfg, err := clientcmd.BuildConfigFromFlags("", k.KubeconfigPath)
	if err != nil {
		t.Fatalf("load %s: %v", k.KubeconfigPath, err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, metav1.NamespaceDefault, metav1.GetOptions{}); err != nil {
		t.Fatalf("get namespace default through the kubeconfig: %v", err)
	}
	u := whoAmI(t, ctx, c)
	if !slices.Contains(u.Groups, "system:masters") {
		t.Errorf("admin identity %q has groups %v, want system:masters", u.Username, u.Groups)
	}
}

func TestKubeListensOnlyOnLoopback(t *testing.T) {
	for _, p := range kube(t).Processes() {
		addrs, err := listeningAddrs(p.PID())
		if err != nil {
			t.Skipf("cannot inspect sockets: %v", err)
		}
		if len(addrs) == 0 {
			t.Errorf("%s has no listening socket", p.Name)
		}
		for _, a := range addrs {
			if !strings.HasPrefix(a, "127.0.0.1:") {
				t.Errorf("%s listens on %s, want only 127.0.0.1", p.Name, a)
			}
		}
		t.Logf("%s listening: %v", p.Name, addrs)
	}
}

func TestSecretRoundTrip(t *testing.T) {
	k := kube(t)
	ctx := testContext(t)
	const ns = "secret-roundtrip"
	if err := k.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// A second create of the same namespace is not an error.
	if err := k.CreateNamespace(ctx, ns); err != nil {
		t.Fatalf("second CreateNamespace: %v", err)
	}
	in := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: ns},
		Data:       map[string][]byte{"accessKeyID": []byte("AKID"), "secretAccessKey": []byte("not-a-real-secret")},
	}
	if _, err := k.Client.CoreV1().Secrets(ns).Create(ctx, in, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create secret: %v", err)
	}
	out, err := k.Client.CoreV1().Secrets(ns).Get(ctx, "creds", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get secret: %v", err)
	}
	for key, want := range in.Data {
		if got := string(out.Data[key]); got != string(want) {
			t.Errorf("secret key %s = %q, want %q", key, got, want)
		}
	}
}

func TestServiceAccountNeedsRBAC(t *testing.T) {
	k := kube(t)
	ctx := testContext(t)
	const ns, name = "sa-rbac", "reader"
	if err := k.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	cfg, err := k.ServiceAccountConfig(ctx, ns, name)
	if err != nil {
		t.Fatalf("ServiceAccountConfig: %v", err)
	}
	// The config goes through a kubeconfig file, as it would for a driver
	// process run as the service account.
	path := filepath.Join(t.TempDir(), "sa.kubeconfig")
	if err := WriteKubeconfig(cfg, path); err != nil {
		t.Fatal(err)
	}
	fileCfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	sa, err := kubernetes.NewForConfig(fileCfg)
	if err != nil {
		t.Fatal(err)
	}
	if u := whoAmI(t, ctx, sa); u.Username != "system:serviceaccount:"+ns+":"+name {
		t.Fatalf("token authenticates as %q, want the service account", u.Username)
	}

	_, err = sa.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("list secrets without any binding: err = %v, want Forbidden", err)
	}

	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "secret-reader", Namespace: ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}},
	}
	if _, err := k.Client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create role: %v", err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "secret-reader", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}},
	}
	if _, err := k.Client.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create role binding: %v", err)
	}
	// The RBAC authorizer reads roles from an informer cache, so the grant
	// takes effect shortly after the write, not with it.
	err = WaitFor(ctx, nil, 10*time.Second, func(ctx context.Context) error {
		_, err := sa.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("list secrets after the grant: %v", err)
	}
	// The grant is namespaced: other namespaces stay closed.
	_, err = sa.CoreV1().Secrets(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("list secrets in default: err = %v, want Forbidden", err)
	}
}

func TestCRDsEstablished(t *testing.T) {
	k := kube(t)
	ctx := testContext(t)
	for _, name := range COSICRDNames {
		if err := k.CRDEstablished(ctx, name); err != nil {
			t.Error(err)
		}
	}
	buckets := schema.GroupVersionResource{Group: "objectstorage.k8s.io", Version: "v1alpha1", Resource: "buckets"}
	list, err := k.Dynamic.Resource(buckets).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list buckets: %v", err)
	}
	if n := len(list.Items); n != 0 {
		t.Errorf("found %d buckets on a fresh apiserver, want 0", n)
	}
	claims := schema.GroupVersionResource{Group: "objectstorage.k8s.io", Version: "v1alpha1", Resource: "bucketclaims"}
	if _, err := k.Dynamic.Resource(claims).Namespace(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list bucketclaims in default: %v", err)
	}
}

// TestKubeAPIServerRestartKeepsObjects stops the apiserver as an outage
// would and starts it again: requests fail while it is down, and every
// object is still there after, served on the same address to the same
// clients.
func TestKubeAPIServerRestartKeepsObjects(t *testing.T) {
	k := kube(t)
	ctx := testContext(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "outage-survivor", Namespace: metav1.NamespaceDefault},
		Data: map[string]string{"k": "v"}}
	if _, err := k.Client.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k.StopAPIServer()
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := k.Client.CoreV1().ConfigMaps(cm.Namespace).Get(short, cm.Name, metav1.GetOptions{})
	cancel()
	if err == nil {
		t.Fatal("a request succeeded while the apiserver was stopped")
	}
	if err := k.StartAPIServer(ctx, 25*time.Second); err != nil {
		t.Fatalf("StartAPIServer: %v", err)
	}
	got, err := k.Client.CoreV1().ConfigMaps(cm.Namespace).Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	if got.Data["k"] != "v" {
		t.Errorf("after the restart the ConfigMap holds %v, want k=v", got.Data)
	}
	if err := k.Client.CoreV1().ConfigMaps(cm.Namespace).Delete(ctx, cm.Name, metav1.DeleteOptions{}); err != nil {
		t.Error(err)
	}
}
