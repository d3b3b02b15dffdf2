package stack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

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
