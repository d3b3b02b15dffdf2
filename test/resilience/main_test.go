package resilience

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/driver"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// The driver's settings. A short resync makes garbage collection and drift
// repair after a crash quick; the waits are short so that a call the
// reconciler has not finished answers UNAVAILABLE soon and is retried, as
// the sidecar retries it.
const (
	driverNamespace = "cosi-resilience"
	serviceAccount  = "cosi-seaweedfs-driver"
	driverName      = "resilience.cosi-seaweedfs.io"
	userPrefix      = "res-"
	resyncPeriod    = 2 * time.Second
	waitTimeout     = 8 * time.Second
	backendTimeout  = 5 * time.Second
	// convergeWithin bounds how long after a pass SeaweedFS, the records and
	// the credentials may take to match the model.
	convergeWithin = 2 * time.Minute
)

// environment is what every pass uses: the admin views of Kubernetes and
// SeaweedFS, and what the driver processes are started with.
type environment struct {
	stack *stack.Stack
	kube  kubernetes.Interface
	s3    *s3.Client
	iam   *iam.Client
	// ownerID is the driver's default owner id (from its namespace's UID);
	// probeBucket the anonymous-access probe bucket named after it.
	ownerID     string
	probeBucket string
	// dir holds a directory per replica (its kubeconfig, the admin
	// credential files, every process's log) and the crash record.
	dir string
	// saCfg authenticates as the driver's ServiceAccount.
	saCfg *rest.Config
	// record is the COSI_CRASH_RECORD file every driver process appends the
	// points it reached to.
	record string

	model *model
	stats *stats
}

var (
	env      *environment
	setupErr error
)

func mustEnv(t *testing.T) *environment {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("set-up failed: %v", setupErr)
	}
	if env == nil {
		t.Fatal("set-up did not run")
	}
	return env
}

func TestMain(m *testing.M) {
	// SeaweedFS refuses to delete a non-empty bucket, so that a purge goes
	// through the driver's own emptying (DeleteObjects) and its crash points.
	opts := stack.Options{Seaweed: stack.SeaweedOptions{RefuseNonEmptyBucketDelete: true}}
	code := stack.Run(m, opts, func(s *stack.Stack) {
		env, setupErr = setUp(s)
		if setupErr != nil {
			fmt.Fprintf(os.Stderr, "resilience: set-up: %v\n", setupErr)
		}
	})
	if env != nil {
		// go test shows this only with -v or when the package fails
		// (make test-resilience passes -v).
		env.stats.print(os.Stderr, env.record)
		if os.Getenv(stack.KeepLogsEnv) == "1" || code != 0 {
			fmt.Fprintf(os.Stderr, "resilience: kept the driver logs and the crash record in %s\n", env.dir)
		} else {
			os.RemoveAll(env.dir)
		}
	}
	os.Exit(code)
}

// setUp creates the driver's namespace, its service account bound to the
// chart's RBAC, and the directory its processes write to.
func setUp(s *stack.Stack) (*environment, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	e := &environment{
		stack: s,
		kube:  s.Kube.Client,
		s3:    s.Seaweed.S3Client(),
		iam:   s.Seaweed.IAMClient(),
		model: newModel(),
		stats: newStats(),
	}
	var err error
	if e.saCfg, err = driver.Install(ctx, s.Kube, driverNamespace, serviceAccount, driverName); err != nil {
		return nil, err
	}
	ns, err := e.kube.CoreV1().Namespaces().Get(ctx, driverNamespace, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the driver namespace: %w", err)
	}
	e.ownerID = "ns-" + string(ns.UID)
	e.probeBucket = names.ProbeBucket(e.ownerID)
	// A short /tmp path keeps the sockets under the 108-byte limit.
	if e.dir, err = os.MkdirTemp("", "cosi-resilience-"); err != nil {
		return nil, fmt.Errorf("create driver directory: %w", err)
	}
	e.record = filepath.Join(e.dir, "crash-record")
	return e, nil
}
