package conformance

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/driver"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// The driver's settings. A short resync keeps the drift and garbage
// collection tests fast; the wait timeout leaves room for a grant's IAM
// writes on a loaded test machine, and calls that still outlast it answer
// UNAVAILABLE and are retried as the sidecar would.
const (
	driverNamespace = "cosi-seaweedfs"
	serviceAccount  = "cosi-seaweedfs-driver"
	driverName      = "conformance.cosi-seaweedfs.io"
	userPrefix      = "cosi-"
	resyncPeriod    = 2 * time.Second
	waitTimeout     = 15 * time.Second
)

// workloadNamespace holds the BucketAccess objects the tests create.
const workloadNamespace = "conformance-workloads"

// environment is what every test uses: the admin views of Kubernetes and
// SeaweedFS, and the running driver.
type environment struct {
	stack  *stack.Stack
	kube   kubernetes.Interface
	s3     *s3.Client
	iam    *iam.Client
	driver *driver.Driver
	// driverDir holds the driver's socket, kubeconfig, key files and log.
	driverDir string
	// ownerID is the owner id the driver tags its buckets with: by default
	// derived from the UID of its namespace.
	ownerID string
	// path is how the driver writes users, keys and grants in this pass, and
	// pathArgs the flags that select it; every driver a test starts gets them.
	path     stack.UserPath
	pathArgs []string
	// hostile is the tenant of the threat model, made when a test first
	// needs it.
	hostile hostileTenant
}

var (
	env      *environment
	setupErr error
)

// mustEnv returns the environment, failing the test when TestMain could not
// set it up. Its first log line names the user path, so that the output of
// a failed test says which pass it failed in.
func mustEnv(t *testing.T) *environment {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("set-up on the %s failed: %v", passPath, setupErr)
	}
	if env == nil {
		t.Fatal("set-up did not run")
	}
	t.Logf("on the %s", env.path)
	return env
}

// passPath is the user path of the pass that is running.
var passPath stack.UserPath

// TestMain runs every test once per user path (stack.UserPaths: both unless
// COSI_USER_PATHS narrows it), each pass on a stack and a driver of its own,
// so that nothing one pass leaves behind can decide the other's outcome.
// The filer pass's SeaweedFS requires mutual TLS on every gRPC port, as the
// driver requires it of a filer in production.
func TestMain(m *testing.M) {
	os.Exit(stack.EachUserPath("conformance", func(p stack.UserPath) int { return runPass(m, p) }))
}

// runPass starts a stack for path and the driver on it, runs the tests and
// checks the driver's log.
func runPass(m *testing.M, path stack.UserPath) int {
	env, setupErr, passPath = nil, nil, path
	// Printed between the passes' test lines (go test -v), which do not name
	// the path themselves.
	fmt.Printf("conformance: every test on the %s\n", path)
	opts := stack.Options{Seaweed: path.Seaweed(stack.SeaweedOptions{})}
	code := stack.Run(m, opts, func(s *stack.Stack) {
		env, setupErr = setUp(s, path)
		if setupErr != nil {
			fmt.Fprintf(os.Stderr, "conformance: set-up on the %s: %v\n", path, setupErr)
		}
	})
	// The stack is already stopped here (stack.Run offers no hook between the
	// tests and the stop), so the driver's last seconds only log connection
	// errors; its own shutdown is still bounded and checked.
	if env != nil && env.driver != nil {
		d := env.driver
		if err := d.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "conformance: stop driver on the %s: %v\n", path, err)
		}
		if leaked := logLeaks(d); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "conformance: the driver log on the %s contains %d secret(s): %s\n", path, len(leaked), strings.Join(leaked, ", "))
			code = 1
		}
		if code != 0 {
			fmt.Fprintf(os.Stderr, "conformance: driver log of the %s\n", path)
			d.DumpLogs(os.Stderr, 1, 64<<10)
		}
		// The next pass's driver gets a log of its own.
		driver.ReleaseKlog()
		d.Close()
		if os.Getenv(stack.KeepLogsEnv) == "1" {
			fmt.Fprintf(os.Stderr, "conformance: kept the driver's files (log, kubeconfig, socket) of the %s in %s\n", path, env.driverDir)
		} else {
			os.RemoveAll(env.driverDir)
		}
	}
	return code
}

// setUp creates the namespaces, the driver's service account and its roles,
// and starts the driver on path as that service account.
func setUp(s *stack.Stack, path stack.UserPath) (*environment, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pathArgs, err := path.DriverArgs(s.Seaweed)
	if err != nil {
		return nil, err
	}
	e := &environment{
		stack:    s,
		kube:     s.Kube.Client,
		s3:       s.Seaweed.S3Client(),
		iam:      s.Seaweed.IAMClient(),
		path:     path,
		pathArgs: pathArgs,
	}
	if err := s.Kube.CreateNamespace(ctx, workloadNamespace); err != nil {
		return nil, err
	}
	saCfg, err := driver.Install(ctx, s.Kube, driverNamespace, serviceAccount, driverName)
	if err != nil {
		return nil, err
	}
	ns, err := e.kube.CoreV1().Namespaces().Get(ctx, driverNamespace, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the driver namespace: %w", err)
	}
	e.ownerID = "ns-" + string(ns.UID)

	dir, err := os.MkdirTemp("", "cosi-conformance-")
	if err != nil {
		return nil, fmt.Errorf("create driver directory: %w", err)
	}
	d, err := e.newDriver(dir, saCfg, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	e.driver, e.driverDir = d, dir
	// client-go inside the driver logs through klog; its lines belong with
	// the driver's own log rather than in the test output.
	d.CaptureKlog()
	if err := d.Start(ctx); err != nil {
		return e, err
	}
	return e, nil
}

// issuedSecrets are every secret key a Grant returned; none may appear in the
// driver's log.
var issuedSecrets sync.Map

func rememberSecret(s string) {
	if s != "" {
		issuedSecrets.Store(s, true)
	}
}

// bucketAccessResource is the COSI v1alpha1 BucketAccess.
var bucketAccessResource = schema.GroupVersionResource{Group: "objectstorage.k8s.io", Version: "v1alpha1", Resource: "bucketaccesses"}
