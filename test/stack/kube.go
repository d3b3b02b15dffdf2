package stack

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// COSICRDModule is the module that ships the COSI v1alpha1
// CustomResourceDefinitions (crds/ plus a kustomization.yaml). Its version is
// pinned by the objectstorage-sidecar tool module, so the CRDs always match the
// sidecar the tests run.
const COSICRDModule = "sigs.k8s.io/container-object-storage-interface-api"

// COSICRDNames are the CustomResourceDefinitions InstallCOSICRDs creates.
var COSICRDNames = []string{
	"bucketaccessclasses.objectstorage.k8s.io",
	"bucketaccesses.objectstorage.k8s.io",
	"bucketclaims.objectstorage.k8s.io",
	"bucketclasses.objectstorage.k8s.io",
	"buckets.objectstorage.k8s.io",
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// KubeOptions configures StartKube. The zero value starts a bare apiserver.
type KubeOptions struct {
	// InstallCOSICRDs creates the COSI CRDs and waits until they are served.
	InstallCOSICRDs bool
	// Namespaces are created once the apiserver is ready. No controller-manager
	// runs, so nothing else would create them.
	Namespaces []string
	// Timeout bounds the whole start, etcd to CRDs. Default 60s.
	Timeout time.Duration
	// Dir, when set, holds the data, certificates and logs instead of a fresh
	// temporary directory, and is left in place by Stop.
	Dir string
	// KeepDir leaves the temporary directory in place after Stop, for reading
	// the logs and the etcd data after a run.
	KeepDir bool
	// ExtraAPIServerArgs are appended to the kube-apiserver command line; a
	// later flag overrides an earlier one.
	ExtraAPIServerArgs []string
}

// Kube is a running etcd plus kube-apiserver pair, with an admin identity.
type Kube struct {
	// Config authenticates as a member of system:masters.
	Config *rest.Config
	// Client and Dynamic use Config.
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
	// KubeconfigPath is an admin kubeconfig for subprocesses (--kubeconfig).
	KubeconfigPath string
	// Host is the apiserver URL, https://127.0.0.1:port.
	Host string
	// Dir holds the etcd data, certificates, kubeconfig and logs.
	Dir string

	etcdURL string
	etcd    *Process
	// apiserverBin and apiserverArgs start the apiserver again after
	// StopAPIServer: same port, certificates and etcd, so clients and
	// kubeconfigs stay valid.
	apiserverBin  string
	apiserverArgs []string
	mu            sync.Mutex
	apiserver     *Process
	removeDir     bool
	stopOnce      sync.Once
}

// StartKube starts etcd and kube-apiserver on free 127.0.0.1 ports and waits
// until the apiserver is ready, the requested namespaces exist and, if asked,
// the COSI CRDs are established. On failure everything started is stopped
// but the directory is kept (unless ctx was cancelled), and the stopped Kube
// is returned with the error so its DumpLogs can still show what the
// components said.
func StartKube(ctx context.Context, opts KubeOptions) (k *Kube, err error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	caller := ctx
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	etcdBin, err := Binary("etcd")
	if err != nil {
		return nil, err
	}
	apiserverBin, err := Binary("kube-apiserver")
	if err != nil {
		return nil, err
	}

	k = &Kube{Dir: opts.Dir}
	if k.Dir == "" {
		if k.Dir, err = os.MkdirTemp("", "stack-kube-"); err != nil {
			return nil, fmt.Errorf("create kube dir: %w", err)
		}
		k.removeDir = !opts.KeepDir
	}
	defer func() {
		if err != nil {
			// The logs are what explains a failed start: keep them and say
			// where. A caller that gave up (an interrupted run) wants no
			// leftovers instead.
			if caller.Err() == nil {
				k.removeDir = false
				err = fmt.Errorf("%w (kube files in %s)", err, k.Dir)
			}
			k.Stop()
		}
	}()

	// Looking up the CRD module runs the go command, which is slow enough to
	// overlap with the etcd and apiserver starts.
	type crdDirResult struct {
		dir string
		err error
	}
	crdDirCh := make(chan crdDirResult, 1)
	if opts.InstallCOSICRDs {
		go func() {
			d, err := COSICRDModuleDir(ctx)
			crdDirCh <- crdDirResult{d, err}
		}()
	}

	if err := k.startEtcd(etcdBin); err != nil {
		return k, err
	}
	etcdURL := k.etcdURL
	// The certificates are made while etcd comes up.
	certs, err := writeCerts(k.Dir)
	if err != nil {
		return k, err
	}

	port, err := FreePort()
	if err != nil {
		return k, err
	}
	k.Host = "https://127.0.0.1:" + strconv.Itoa(port)
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		// Given explicit serving files the apiserver never self-signs, but it
		// would otherwise still default cert-dir to /var/run/kubernetes.
		"--cert-dir=" + filepath.Join(k.Dir, "apiserver-certs"),
		"--tls-cert-file=" + certs.servingCert,
		"--tls-private-key-file=" + certs.servingKey,
		"--client-ca-file=" + certs.caCert,
		"--authorization-mode=RBAC",
		"--service-account-issuer=" + k.Host,
		"--service-account-key-file=" + certs.saPublic,
		"--service-account-signing-key-file=" + certs.saPrivate,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--profiling=false",
		// Endpoints may not hold a loopback address, so the default lease
		// reconciler would fail every few seconds publishing 127.0.0.1 for the
		// kubernetes Service; with one apiserver there is nothing to reconcile.
		"--endpoint-reconciler-type=none",
	}
	args = append(args, opts.ExtraAPIServerArgs...)
	// The apiserver's etcd clients dial within a few hundred milliseconds of
	// its start, and a refused dial is retried only after gRPC's one-second
	// backoff: starting it before etcd answers would cost time, not save it.
	if err := WaitFor(ctx, k.etcd, opts.Timeout, HTTPStatusCheck(http.DefaultClient, etcdURL+"/health", http.StatusOK)); err != nil {
		return k, err
	}
	k.apiserverBin, k.apiserverArgs = apiserverBin, args
	if k.apiserver, err = StartProcess("kube-apiserver", apiserverBin, args, nil, k.Dir); err != nil {
		return k, err
	}

	k.Config = &rest.Config{
		Host: k.Host,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   certs.caPEM,
			CertData: certs.adminCertPEM,
			KeyData:  certs.adminKeyPEM,
		},
		// Tests create objects in bursts; the default 5 QPS would make them
		// wait on the client side rather than on the apiserver.
		QPS:   200,
		Burst: 400,
	}
	if k.Client, err = kubernetes.NewForConfig(k.Config); err != nil {
		return k, fmt.Errorf("admin client: %w", err)
	}
	if k.Dynamic, err = dynamic.NewForConfig(k.Config); err != nil {
		return k, fmt.Errorf("admin dynamic client: %w", err)
	}
	k.KubeconfigPath = filepath.Join(k.Dir, "admin.kubeconfig")
	if err := WriteKubeconfig(k.Config, k.KubeconfigPath); err != nil {
		return k, err
	}

	if err := WaitFor(ctx, k.apiserver, opts.Timeout, k.readyCheck); err != nil {
		return k, err
	}
	for _, ns := range opts.Namespaces {
		if err := k.CreateNamespace(ctx, ns); err != nil {
			return k, err
		}
	}
	if opts.InstallCOSICRDs {
		var r crdDirResult
		select {
		case r = <-crdDirCh:
		case <-ctx.Done():
			return k, fmt.Errorf("locate COSI CRDs: %w", ctx.Err())
		}
		if r.err != nil {
			return k, r.err
		}
		crds, err := CRDsFromKustomization(r.dir)
		if err != nil {
			return k, fmt.Errorf("COSI CRDs: %w", err)
		}
		if err := k.InstallCRDs(ctx, crds); err != nil {
			return k, err
		}
	}
	return k, nil
}

func (k *Kube) startEtcd(bin string) error {
	clientPort, err := FreePort()
	if err != nil {
		return err
	}
	peerPort, err := FreePort()
	if err != nil {
		return err
	}
	k.etcdURL = "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	args := []string{
		"--name=stack",
		"--data-dir=" + filepath.Join(k.Dir, "etcd"),
		"--listen-client-urls=" + k.etcdURL,
		"--advertise-client-urls=" + k.etcdURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=stack=" + peerURL,
		"--initial-cluster-state=new",
		// The data lives only as long as one test run; durability buys nothing
		// and fsync on a shared disk is the largest cost per write.
		"--unsafe-no-fsync=true",
		// A single member elects itself only when its election timer fires;
		// the default 1 s timer would be most of etcd's start time.
		"--heartbeat-interval=10",
		"--election-timeout=100",
		"--log-level=warn",
	}
	k.etcd, err = StartProcess("etcd", bin, args, nil, k.Dir)
	return err
}

// readyCheck passes once /readyz answers ok and the apiserver's own bootstrap
// has created the default namespace.
func (k *Kube) readyCheck(ctx context.Context) error {
	// A bound per attempt keeps a stuck request from hiding that the
	// apiserver process exited.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, err := k.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("readyz: %w: %s", err, bytes.TrimSpace(body))
	}
	if _, err := k.Client.CoreV1().Namespaces().Get(ctx, metav1.NamespaceDefault, metav1.GetOptions{}); err != nil {
		return fmt.Errorf("default namespace: %w", err)
	}
	return nil
}

// Stop kills the apiserver, then etcd, and removes the directory unless it is
// kept. It is safe to call more than once.
func (k *Kube) Stop() {
	if k == nil {
		return
	}
	k.stopOnce.Do(func() {
		// The state is thrown away, so a graceful shutdown, which takes the
		// apiserver about a second, buys nothing; the apiserver still goes
		// first so it never logs a lost etcd.
		k.StopAPIServer()
		if k.etcd != nil {
			k.etcd.Kill()
		}
		if k.removeDir {
			_ = os.RemoveAll(k.Dir)
		}
	})
}

// StopAPIServer ends the kube-apiserver with SIGKILL and leaves it down, an
// outage of the Kubernetes API; etcd keeps every object. StartAPIServer
// brings it back.
func (k *Kube) StopAPIServer() {
	k.mu.Lock()
	p := k.apiserver
	k.mu.Unlock()
	if p != nil {
		p.Kill()
	}
}

// StartAPIServer starts the kube-apiserver again after StopAPIServer, on the
// same port with the same flags, and waits until it is ready. Its log goes on
// in the same file.
func (k *Kube) StartAPIServer(ctx context.Context, timeout time.Duration) error {
	p, err := StartProcess("kube-apiserver", k.apiserverBin, k.apiserverArgs, nil, k.Dir)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.apiserver = p
	k.mu.Unlock()
	return WaitFor(ctx, p, timeout, k.readyCheck)
}

// Processes returns the running etcd and kube-apiserver, in start order.
func (k *Kube) Processes() []*Process {
	k.mu.Lock()
	apiserver := k.apiserver
	k.mu.Unlock()
	var ps []*Process
	for _, p := range []*Process{k.etcd, apiserver} {
		if p != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// KeepsDir reports whether Stop leaves the directory in place.
func (k *Kube) KeepsDir() bool { return !k.removeDir }

// DumpLogs writes the tail of the etcd and apiserver logs to w.
func (k *Kube) DumpLogs(w io.Writer) {
	if k == nil {
		return
	}
	for _, p := range k.Processes() {
		p.DumpLog(w, 64<<10)
	}
}

// CreateNamespace creates a namespace; one that already exists is fine.
func (k *Kube) CreateNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	_, err := k.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// ServiceAccountConfig returns a rest.Config that authenticates as the service
// account namespace/name, creating the account if it is missing. The token
// comes from the TokenRequest API because no controller-manager runs to fill
// token Secrets. The namespace must exist.
func (k *Kube) ServiceAccountConfig(ctx context.Context, namespace, name string) (*rest.Config, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	_, err := k.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create service account %s/%s: %w", namespace, name, err)
	}
	// Long enough for the slowest test run; the apiserver caps it if needed.
	expiry := int64((12 * time.Hour).Seconds())
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}
	tr, err = k.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, tr, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("request token for %s/%s: %w", namespace, name, err)
	}
	return &rest.Config{
		Host:            k.Host,
		TLSClientConfig: rest.TLSClientConfig{CAData: k.Config.CAData},
		BearerToken:     tr.Status.Token,
		QPS:             k.Config.QPS,
		Burst:           k.Config.Burst,
	}, nil
}

// WriteKubeconfig writes cfg as a kubeconfig file readable only by the owner,
// since it holds a key or a token. Credentials given as files stay file
// references.
func WriteKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["stack"] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthority:     cfg.CAFile,
		CertificateAuthorityData: cfg.CAData,
		InsecureSkipTLSVerify:    cfg.Insecure,
		TLSServerName:            cfg.ServerName,
	}
	kc.AuthInfos["stack"] = &clientcmdapi.AuthInfo{
		ClientCertificate:     cfg.CertFile,
		ClientCertificateData: cfg.CertData,
		ClientKey:             cfg.KeyFile,
		ClientKeyData:         cfg.KeyData,
		Token:                 cfg.BearerToken,
		TokenFile:             cfg.BearerTokenFile,
	}
	kc.Contexts["stack"] = &clientcmdapi.Context{Cluster: "stack", AuthInfo: "stack"}
	kc.CurrentContext = "stack"
	data, err := clientcmd.Write(*kc)
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// COSICRDModuleDir returns the directory of the COSI API module at the
// version the objectstorage-sidecar tool module pins, downloading the module
// into the module cache if it is not there yet.
func COSICRDModuleDir(ctx context.Context) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	toolDir := filepath.Join(root, "test", "tools", "objectstorage-sidecar")
	goCmd := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = toolDir
		// A go.work above the repository must not change which version the
		// tool module resolves to.
		cmd.Env = append(os.Environ(), "GOWORK=off")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("go %s in %s: %w: %s", strings.Join(args, " "), toolDir, err, bytes.TrimSpace(stderr.Bytes()))
		}
		return strings.TrimSpace(string(out)), nil
	}
	dir, err := goCmd("list", "-m", "-f", "{{.Dir}}", COSICRDModule)
	if err != nil {
		return "", err
	}
	if dir == "" {
		if _, err := goCmd("mod", "download", COSICRDModule); err != nil {
			return "", err
		}
		if dir, err = goCmd("list", "-m", "-f", "{{.Dir}}", COSICRDModule); err != nil {
			return "", err
		}
		if dir == "" {
			return "", fmt.Errorf("module %s has no directory after download", COSICRDModule)
		}
	}
	return dir, nil
}

// kustomization is the part of a kustomization.yaml that CRDsFromKustomization
// understands; decoding is strict so any other feature is an error rather
// than silently skipped.
type kustomization struct {
	APIVersion        string            `json:"apiVersion"`
	Kind              string            `json:"kind"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	Resources         []string          `json:"resources"`
}

// CRDsFromKustomization reads dir/kustomization.yaml and returns its resources
// with the common annotations applied. The COSI module ships its CRDs this
// way: only the kustomization adds the api-approved.kubernetes.io annotation
// without which the apiserver refuses CRDs in a *.k8s.io group.
func CRDsFromKustomization(dir string) ([]*unstructured.Unstructured, error) {
	path := filepath.Join(dir, "kustomization.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read kustomization: %w", err)
	}
	var kz kustomization
	if err := yaml.UnmarshalStrict(data, &kz); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(kz.Resources) == 0 {
		return nil, fmt.Errorf("%s lists no resources", path)
	}
	var objs []*unstructured.Unstructured
	for _, res := range kz.Resources {
		file := filepath.Join(dir, filepath.FromSlash(res))
		fileObjs, err := readObjects(file)
		if err != nil {
			return nil, err
		}
		for _, obj := range fileObjs {
			if len(kz.CommonAnnotations) > 0 {
				ann := obj.GetAnnotations()
				if ann == nil {
					ann = map[string]string{}
				}
				maps.Copy(ann, kz.CommonAnnotations)
				obj.SetAnnotations(ann)
			}
			objs = append(objs, obj)
		}
	}
	return objs, nil
}

// InstallCRDs creates the given CustomResourceDefinitions and waits until
// each is established, that is, served by the apiserver.
func (k *Kube) InstallCRDs(ctx context.Context, crds []*unstructured.Unstructured) error {
	for _, obj := range crds {
		if obj.GetKind() != "CustomResourceDefinition" {
			return fmt.Errorf("%s %q is not a CustomResourceDefinition", obj.GetKind(), obj.GetName())
		}
		_, err := k.Dynamic.Resource(crdGVR).Create(ctx, obj, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create CRD %s: %w", obj.GetName(), err)
		}
	}
	for _, obj := range crds {
		if err := WaitFor(ctx, k.apiserver, 30*time.Second, func(ctx context.Context) error {
			return k.CRDEstablished(ctx, obj.GetName())
		}); err != nil {
			return err
		}
	}
	return k.warmCRDs(ctx, crds)
}

// warmCRDs lists every custom resource once, concurrently. The apiserver
// builds a CRD's storage, with its own etcd client, on the first request for
// it; that costs about a second each (the client's first dial is cancelled and
// retried after gRPC's backoff) and, with the gRPC in kube-apiserver 1.34, the
// first request can hang for a minute if the connection is recycled under it.
// Paying that here, with a short timeout per attempt, keeps it out of the
// tests.
func (k *Kube) warmCRDs(ctx context.Context, crds []*unstructured.Unstructured) error {
	errs := make([]error, len(crds))
	var wg sync.WaitGroup
	for i, obj := range crds {
		gvr, err := servedGVR(obj)
		if err != nil {
			return err
		}
		wg.Go(func() {
			errs[i] = WaitFor(ctx, k.apiserver, 30*time.Second, func(ctx context.Context) error {
				actx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				_, err := k.Dynamic.Resource(gvr).List(actx, metav1.ListOptions{Limit: 1})
				if err != nil {
					return fmt.Errorf("list %s: %w", gvr, err)
				}
				return nil
			})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// servedGVR returns the resource of a CRD at its first served version.
func servedGVR(crd *unstructured.Unstructured) (schema.GroupVersionResource, error) {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		m, ok := v.(map[string]any)
		if ok && m["served"] == true {
			if name, ok := m["name"].(string); ok {
				return schema.GroupVersionResource{Group: group, Version: name, Resource: plural}, nil
			}
		}
	}
	return schema.GroupVersionResource{}, fmt.Errorf("CRD %s serves no version", crd.GetName())
}

// CRDEstablished returns nil when the named CRD is established, and otherwise
// an error saying what is missing.
func (k *Kube) CRDEstablished(ctx context.Context, name string) error {
	crd, err := k.Dynamic.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get CRD %s: %w", name, err)
	}
	conds, _, err := unstructured.NestedSlice(crd.Object, "status", "conditions")
	if err != nil {
		return fmt.Errorf("CRD %s conditions: %w", name, err)
	}
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Established" && m["status"] == "True" {
			return nil
		}
	}
	return fmt.Errorf("CRD %s is not established yet", name)
}

// readObjects decodes every YAML document in a file.
func readObjects(path string) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var objs []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("decode %s: %w", path, err)
		}
		if len(obj.Object) == 0 {
			continue // an empty document between separators
		}
		objs = append(objs, obj)
	}
}

// kubeCerts are the files and PEM blocks the apiserver and its clients use.
type kubeCerts struct {
	caCert, servingCert, servingKey, saPublic, saPrivate string
	caPEM, adminCertPEM, adminKeyPEM                     []byte
}

// writeCerts makes one CA that signs both the apiserver's serving certificate
// and the admin client certificate, plus the service-account signing key.
// ECDSA P-256 keeps generation to milliseconds, where RSA would not.
func writeCerts(dir string) (*kubeCerts, error) {
	dir = filepath.Join(dir, "pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pki dir: %w", err)
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "stack-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, caCert, err := signCert(caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("sign CA: %w", err)
	}

	issue := func(tmpl *x509.Certificate) (certPEM, keyPEM []byte, err error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl.NotBefore, tmpl.NotAfter = caTmpl.NotBefore, caTmpl.NotAfter
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, _, err := signCert(tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		return pemBlock("CERTIFICATE", der), pemBlock("PRIVATE KEY", keyDER), nil
	}
	servingCert, servingKey, err := issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:    []string{"localhost"},
	})
	if err != nil {
		return nil, fmt.Errorf("issue serving certificate: %w", err)
	}
	// system:masters is bound to cluster-admin by the apiserver's bootstrap
	// policy, so this identity needs no RBAC objects of its own.
	adminCert, adminKey, err := issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "stack-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, fmt.Errorf("issue admin certificate: %w", err)
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate service-account key: %w", err)
	}
	saPriv, err := x509.MarshalPKCS8PrivateKey(saKey)
	if err != nil {
		return nil, fmt.Errorf("encode service-account key: %w", err)
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encode service-account public key: %w", err)
	}

	c := &kubeCerts{
		caCert:       filepath.Join(dir, "ca.crt"),
		servingCert:  filepath.Join(dir, "apiserver.crt"),
		servingKey:   filepath.Join(dir, "apiserver.key"),
		saPublic:     filepath.Join(dir, "sa.pub"),
		saPrivate:    filepath.Join(dir, "sa.key"),
		caPEM:        pemBlock("CERTIFICATE", caDER),
		adminCertPEM: adminCert,
		adminKeyPEM:  adminKey,
	}
	for path, data := range map[string][]byte{
		c.caCert:      c.caPEM,
		c.servingCert: servingCert,
		c.servingKey:  servingKey,
		c.saPublic:    pemBlock("PUBLIC KEY", saPub),
		c.saPrivate:   pemBlock("PRIVATE KEY", saPriv),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
	}
	return c, nil
}

func signCert(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) ([]byte, *x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return der, cert, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
