package resilience

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/chart"
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
	// dir holds the driver's kubeconfig, the admin credential files, every
	// driver process's log and the crash record.
	dir        string
	kubeconfig string
	keyFile    string
	secretFile string
	// record is the COSI_CRASH_RECORD file every driver process appends the
	// points it reached to.
	record string
	bin    string

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
// chart's RBAC, and the files its processes are started with.
func setUp(s *stack.Stack) (*environment, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bin, err := stack.Binary("cosi-seaweedfs-crashpoints")
	if err != nil {
		return nil, fmt.Errorf("%w (make build-crashpoints builds it)", err)
	}
	e := &environment{
		stack: s,
		kube:  s.Kube.Client,
		s3:    s.Seaweed.S3Client(),
		iam: iam.New(iam.Options{
			Region:       s.Seaweed.Region,
			BaseEndpoint: aws.String(s.Seaweed.Endpoint),
			Credentials:  credentials.NewStaticCredentialsProvider(s.Seaweed.AccessKey, s.Seaweed.SecretKey, ""),
		}),
		bin:   bin,
		model: newModel(),
		stats: newStats(),
	}
	if err := s.Kube.CreateNamespace(ctx, driverNamespace); err != nil {
		return nil, err
	}
	ns, err := e.kube.CoreV1().Namespaces().Get(ctx, driverNamespace, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the driver namespace: %w", err)
	}
	e.ownerID = "ns-" + string(ns.UID)
	e.probeBucket = names.ProbeBucket(e.ownerID)
	saCfg, err := s.Kube.ServiceAccountConfig(ctx, driverNamespace, serviceAccount)
	if err != nil {
		return nil, err
	}
	if err := bindDriverRoles(ctx, s.Kube.Config); err != nil {
		return nil, err
	}
	// The RBAC authorizer reads roles from an informer cache: wait until the
	// binding is in effect, or the driver's start-up check would be refused.
	sa, err := kubernetes.NewForConfig(saCfg)
	if err != nil {
		return nil, fmt.Errorf("service account client: %w", err)
	}
	err = stack.WaitFor(ctx, nil, 20*time.Second, func(ctx context.Context) error {
		_, err := sa.CoreV1().Secrets(driverNamespace).List(ctx, metav1.ListOptions{Limit: 1})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("the driver's Role did not take effect: %w", err)
	}

	// A short /tmp path keeps the sockets under the 108-byte limit.
	if e.dir, err = os.MkdirTemp("", "cosi-resilience-"); err != nil {
		return nil, fmt.Errorf("create driver directory: %w", err)
	}
	e.kubeconfig = filepath.Join(e.dir, "driver.kubeconfig")
	if err := stack.WriteKubeconfig(saCfg, e.kubeconfig); err != nil {
		return e, err
	}
	if e.keyFile, err = writeFile0600(e.dir, "access-key", s.Seaweed.AccessKey); err != nil {
		return e, err
	}
	if e.secretFile, err = writeFile0600(e.dir, "secret-key", s.Seaweed.SecretKey); err != nil {
		return e, err
	}
	e.record = filepath.Join(e.dir, "crash-record")
	return e, nil
}

// bindDriverRoles installs the RBAC the Helm chart ships, so that the
// driver runs with exactly the rights it has in a cluster.
func bindDriverRoles(ctx context.Context, cfg *rest.Config) error {
	objs, err := chart.Render(ctx, serviceAccount, driverNamespace, "driverName="+driverName)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	return chart.Apply(ctx, dyn, objs, chart.RBACKinds...)
}

// writeFile0600 writes a credential file as a mounted Secret provides it.
func writeFile0600(dir, name, content string) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	return p, nil
}
