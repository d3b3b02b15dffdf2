// Package e2e runs the COSI flow end to end: classes, claims and accesses go
// in through the Kubernetes API, the real objectstorage-sidecar calls the
// driver, and the suite checks the result the way a workload and an
// operator would see it. See README.md for the two modes.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/e2e/framework"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// Environment variables for the optional backend checks in cluster mode:
// with an admin identity of the SeaweedFS the driver uses, the suite also
// checks users and buckets directly, as it always does in local mode.
const (
	envAdminAccessKey = "E2E_S3_ADMIN_ACCESS_KEY_ID"
	envAdminSecretKey = "E2E_S3_ADMIN_SECRET_ACCESS_KEY"
)

// suite is what every test uses; set up once by TestMain.
type suite struct {
	settings framework.Settings
	kube     kubernetes.Interface
	dyn      dynamic.Interface
	// kubeconfig is an admin kubeconfig file, for chainsaw.
	kubeconfig string
	// s3Endpoint is where the suite sends S3 requests as a workload; empty
	// means the endpoint in the credentials Secret.
	s3Endpoint string
	// adminS3 and adminIAM see the backend directly; nil when the suite has
	// no admin identity (cluster mode without E2E_S3_ADMIN_*).
	adminS3  *s3.Client
	adminIAM *iam.Client
	// local is the driver and sidecar in local mode, nil in cluster mode.
	local *framework.Local
	// restart restarts the driver and the sidecar, running during() while
	// they are down (local mode) or being replaced (cluster mode); nil when
	// the mode cannot restart them.
	restart func(t *testing.T, during func()) error
	// replaceController stops the COSI controller (local: the stand-in;
	// cluster: deletes its pods), runs during, and waits until it runs again;
	// nil when the mode cannot.
	replaceController func(t *testing.T, during func()) error
	// startErr is why the local components did not start; every test
	// reports it.
	startErr error
	// path is how the local driver writes users, keys and grants in this
	// pass; empty in cluster mode, where the driver is configured as it is.
	path stack.UserPath
}

var env suite

func TestMain(m *testing.M) {
	settings, err := framework.SettingsFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(2)
	}
	env.settings = settings
	if settings.Mode == framework.ModeCluster {
		os.Exit(runCluster(m))
	}
	os.Exit(runLocal(m))
}

// runLocal runs the tests once per user path (stack.UserPaths: both unless
// COSI_USER_PATHS narrows it), each pass on a stack, a driver and a sidecar
// of its own. The filer pass runs filerPassTests only.
func runLocal(m *testing.M) int {
	return stack.EachUserPath("e2e", func(p stack.UserPath) int { return runLocalPass(m, p) })
}

// filerPassTests are the tests the filer pass runs: a workload's whole flow
// (claim, access, credentials Secret, S3 round trip, a read-only access,
// revocation of a deleted BucketAccess, deletion with every policy), which
// is where the driver's user path matters. The other tests exercise the
// sidecar, the controller stand-in, restarts, name mapping, the shipped
// manifests and chainsaw, which the user path does not change (the
// conformance suite restarts and kills the driver on both paths); they run
// in the IAM query API pass only, so the second pass adds little time.
var filerPassTests = map[string]bool{
	"TestClaimAndAccessGiveWorkingCredentials": true,
	"TestReadOnlyAccessDeniesWrites":           true,
	"TestDeletedBucketAccessIsRevoked":         true,
	"TestDeletionPolicy":                       true,
}

// runLocalPass starts the harness stack for path, then the driver on path
// and the sidecar, and runs the controller stand-in for the duration of the
// tests.
func runLocalPass(m *testing.M, path stack.UserPath) int {
	env = suite{settings: env.settings, path: path}
	// Printed between the passes' test lines (go test -v), which do not name
	// the path themselves.
	fmt.Printf("e2e: on the %s\n", path)
	ctx, cancel := context.WithCancel(context.Background())
	var dir string
	opts := stack.Options{Seaweed: path.Seaweed(stack.SeaweedOptions{})}
	code := stack.Run(m, opts, func(s *stack.Stack) {
		env.kube, env.dyn = s.Kube.Client, s.Kube.Dynamic
		env.kubeconfig = s.Kube.KubeconfigPath
		env.s3Endpoint = s.Seaweed.Endpoint
		env.adminS3 = s.Seaweed.S3Client()
		env.adminIAM = s.Seaweed.IAMClient()
		var pathArgs []string
		if pathArgs, env.startErr = path.DriverArgs(s.Seaweed); env.startErr != nil {
			return
		}
		// A short path: the unix socket lives here.
		if dir, env.startErr = os.MkdirTemp("", "e2e-"); env.startErr != nil {
			return
		}
		began := time.Now()
		sctx, scancel := context.WithTimeout(ctx, 2*time.Minute)
		defer scancel()
		env.local, env.startErr = framework.StartLocal(sctx, framework.LocalConfig{
			Kube:       s.Kube,
			Seaweed:    s.Seaweed,
			Namespace:  "cosi-seaweedfs",
			DriverName: env.settings.DriverName,
			Dir:        dir,
			DriverArgs: pathArgs,
		})
		if env.startErr != nil {
			var b bytes.Buffer
			env.local.DumpLogs(&b)
			fmt.Fprint(os.Stderr, b.String())
			return
		}
		fmt.Fprintf(os.Stderr, "e2e: driver (%s) and sidecar ready in %s (logs in %s)\n", path, time.Since(began).Round(time.Millisecond), dir)
		ctrl := &framework.Controller{Dynamic: s.Kube.Dynamic, PresetSidecarFinalizer: true}
		env.replaceController = localController(ctx, ctrl)
		env.restart = restartLocal
	})
	cancel()
	env.local.Stop()
	// Refusals can come from any test's flow (deletion, garbage collection);
	// the whole run is checked once more here.
	if env.local != nil {
		if lines := env.local.ProblemLines(); len(lines) > 0 {
			fmt.Fprintf(os.Stderr, "e2e: RBAC refusals or panics in the driver or sidecar logs on the %s:\n%s\n", path, strings.Join(lines, "\n"))
			if code == 0 {
				code = 1
			}
		}
	}
	if dir != "" && code == 0 && os.Getenv(stack.KeepLogsEnv) != "1" {
		_ = os.RemoveAll(dir)
	} else if dir != "" {
		fmt.Fprintf(os.Stderr, "e2e: driver and sidecar logs of the %s kept in %s\n", path, dir)
	}
	return code
}

// runCluster uses the cluster of E2E_KUBECONFIG as it is.
func runCluster(m *testing.M) int {
	cfg, err := clientcmd.BuildConfigFromFlags("", env.settings.Kubeconfig)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %s: %v\n", framework.EnvKubeconfig, err)
		return 2
	}
	if env.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
	}
	if env.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
	}
	env.kubeconfig = env.settings.Kubeconfig
	env.s3Endpoint = env.settings.S3Endpoint
	ak, sk := os.Getenv(envAdminAccessKey), os.Getenv(envAdminSecretKey)
	if ak != "" && sk != "" && env.s3Endpoint != "" {
		env.adminS3 = stack.NewS3Client(env.s3Endpoint, "us-east-1", ak, sk)
		env.adminIAM = stack.NewIAMClient(env.s3Endpoint, "us-east-1", ak, sk)
	}
	if env.settings.DriverNamespace != "" {
		env.restart = func(t *testing.T, during func()) error {
			return replacePods(t, env.settings.DriverNamespace, env.settings.DriverSelector, during)
		}
	}
	if env.settings.ControllerNamespace != "" {
		env.replaceController = func(t *testing.T, during func()) error {
			return replacePods(t, env.settings.ControllerNamespace, env.settings.ControllerSelector, during)
		}
	}
	return m.Run()
}

// setup is the first call of every test: it skips a test the pass does not
// run, fails the test if the suite could not start, and dumps the component
// logs when the test fails.
func setup(t *testing.T) {
	t.Helper()
	if env.path != "" {
		if env.path != stack.IAMQueryAPI && !filerPassTests[t.Name()] {
			t.Skipf("not on the %s: the user path does not change what it checks (see filerPassTests)", env.path)
		}
		// The first line of a failed test's output says which pass it was.
		t.Logf("on the %s", env.path)
	}
	if env.startErr != nil {
		t.Fatalf("the local driver and sidecar did not start on the %s: %v", env.path, env.startErr)
	}
	if env.kube == nil {
		t.Fatal("the suite has no cluster")
	}
	t.Cleanup(func() {
		if !t.Failed() || env.local == nil {
			return
		}
		var b bytes.Buffer
		env.local.DumpLogs(&b)
		t.Log(b.String())
	})
}

// localController runs the controller stand-in until ctx ends and returns
// the function that stops it, runs during, and starts it again.
func localController(ctx context.Context, ctrl *framework.Controller) func(*testing.T, func()) error {
	var mu sync.Mutex
	start := func() context.CancelFunc {
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); ctrl.Run(cctx, 200*time.Millisecond) }()
		return func() { cancel(); <-done }
	}
	stop := start()
	return func(t *testing.T, during func()) error {
		mu.Lock()
		defer mu.Unlock()
		stop()
		t.Log("stopped the controller stand-in")
		during()
		stop = start()
		return nil
	}
}

// restartLocal stops the driver, runs during, stops the sidecar, and starts
// both again: work queued while the driver is down is retried by a new
// sidecar against a new driver.
func restartLocal(t *testing.T, during func()) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env.local.StopDriver()
	during()
	env.local.StopSidecar()
	return errors.Join(env.local.StartDriver(ctx), env.local.StartSidecar(ctx))
}
