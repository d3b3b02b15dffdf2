package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/client-go/rest"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/cmd/cosi-seaweedfs/app"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// driver runs app.Run in this process and holds a gRPC connection to its
// socket. It can be stopped and started again, as a restarted Pod would be:
// same flags, same socket path, same records.
type driver struct {
	dir    string
	socket string
	// httpAddr serves /metrics, /healthz and /readyz.
	httpAddr string
	// secretFile holds the admin secret key the driver reads.
	secretFile string
	args       []string
	// adminSecret is the SeaweedFS admin secret key, which must never
	// appear in the log.
	adminSecret string
	log         *os.File

	mu   sync.Mutex
	run  *run // nil while stopped
	conn *grpc.ClientConn
}

// newDriver writes the service account's kubeconfig and the admin
// credential files into dir and prepares the driver's command line, on the
// environment's user path. The socket lives in dir too: a short /tmp path
// keeps it under the 108-byte limit of unix socket paths.
func (e *environment) newDriver(dir string, saCfg *rest.Config) (*driver, error) {
	sw := e.stack.Seaweed
	kubeconfig := filepath.Join(dir, "driver.kubeconfig")
	if err := stack.WriteKubeconfig(saCfg, kubeconfig); err != nil {
		return nil, err
	}
	keyFile, err := writeFile0600(dir, "access-key", sw.AccessKey)
	if err != nil {
		return nil, err
	}
	secretFile, err := writeFile0600(dir, "secret-key", sw.SecretKey)
	if err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "driver.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open driver log: %w", err)
	}
	socket := filepath.Join(dir, "cosi.sock")
	port, err := stack.FreePort()
	if err != nil {
		return nil, err
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", port)
	return &driver{
		dir:         dir,
		socket:      socket,
		httpAddr:    httpAddr,
		secretFile:  secretFile,
		adminSecret: sw.SecretKey,
		log:         logFile,
		args: append([]string{
			// Metrics and probes on one port; the debug level puts each
			// reconcile's steps and client-go's lines into the log that
			// is checked for secrets.
			"--metrics-address=" + httpAddr,
			"--health-address=" + httpAddr,
			"--v=2",
			"--driver-name=" + driverName,
			"--cosi-endpoint=unix://" + socket,
			"--namespace=" + driverNamespace,
			"--kubeconfig=" + kubeconfig,
			"--s3-endpoint=" + sw.Endpoint,
			"--s3-region=" + sw.Region,
			"--admin-access-key-file=" + keyFile,
			"--admin-secret-key-file=" + secretFile,
			"--user-prefix=" + userPrefix,
			"--resync-period=" + resyncPeriod.String(),
			"--wait-timeout=" + waitTimeout.String(),
			"--leader-elect=true",
			"--grace-period=5s",
		}, e.pathArgs...),
	}, nil
}

// start runs the driver and returns once it answers DriverGetInfo on its
// socket, or with the error Run ended with.
func (d *driver) start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.run != nil {
		return errors.New("the driver is already running")
	}
	// Only the flags count: the test process's environment (KUBECONFIG and
	// the like) must not leak into the driver's configuration.
	cfg, err := app.ParseFlags(d.args, func(string) string { return "" })
	if err != nil {
		return fmt.Errorf("parse driver flags: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r := &run{cancel: cancel, exited: make(chan struct{})}
	go func() {
		r.err = app.Run(runCtx, cfg, app.NewLogger(d.log, cfg.Verbosity))
		close(r.exited)
	}()

	conn, err := grpc.NewClient("unix://"+d.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err == nil {
		// A driver that exits (a failed start-up check) ends the wait at once.
		waitCtx, stopWaiting := context.WithCancel(ctx)
		go func() {
			select {
			case <-r.exited:
				stopWaiting()
			case <-waitCtx.Done():
			}
		}()
		err = stack.WaitFor(waitCtx, nil, 60*time.Second, func(ctx context.Context) error {
			info, err := cosi.NewIdentityClient(conn).DriverGetInfo(ctx, &cosi.DriverGetInfoRequest{})
			if err == nil && info.GetName() != driverName {
				err = fmt.Errorf("DriverGetInfo name = %q, want %q", info.GetName(), driverName)
			}
			return err
		})
		stopWaiting()
	}
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		if stopErr := r.stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return fmt.Errorf("driver did not become ready: %w", err)
	}
	d.run, d.conn = r, conn
	return nil
}

// stop cancels the driver's context and waits for Run to return. Run must
// return nil: a clean shutdown is not an error.
func (d *driver) stop() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.run == nil {
		return errDriverNotRunning
	}
	d.conn.Close()
	err := d.run.stop()
	d.run, d.conn = nil, nil
	return err
}

// run is one app.Run of the driver.
type run struct {
	cancel context.CancelFunc
	exited chan struct{}
	err    error // Run's result, set before exited is closed
}

func (r *run) stop() error {
	r.cancel()
	select {
	case <-r.exited:
		if r.err != nil {
			return fmt.Errorf("Run returned: %w", r.err)
		}
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("Run did not return within 30s of its context ending")
	}
}

func (d *driver) provisioner() cosi.ProvisionerClient {
	d.mu.Lock()
	defer d.mu.Unlock()
	return cosi.NewProvisionerClient(d.conn)
}

func (d *driver) identity() cosi.IdentityClient {
	d.mu.Lock()
	defer d.mu.Unlock()
	return cosi.NewIdentityClient(d.conn)
}

// logLeaks names the secrets — the admin secret key and the secret keys
// Grants returned — that appear in the driver's log, without their values.
func (d *driver) logLeaks() []string {
	data, err := os.ReadFile(d.log.Name())
	if err != nil {
		return []string{"(log unreadable: " + err.Error() + ")"}
	}
	log := string(data)
	var leaked []string
	if strings.Contains(log, d.adminSecret) {
		leaked = append(leaked, "the admin secret key")
	}
	issuedSecrets.Range(func(k, _ any) bool {
		if strings.Contains(log, k.(string)) {
			leaked = append(leaked, "a secret key returned by Grant")
		}
		return true
	})
	return leaked
}

// dumpLog writes the tail of the driver's log.
func (d *driver) dumpLog(w io.Writer) {
	const tail = 64 << 10
	data, err := os.ReadFile(d.log.Name())
	if err != nil {
		fmt.Fprintf(w, "driver log: %v\n", err)
		return
	}
	if len(data) > tail {
		data = data[len(data)-tail:]
	}
	fmt.Fprintf(w, "----- driver log (last %d bytes) -----\n%s\n", len(data), data)
}

func (d *driver) removeDir() {
	d.log.Close()
	os.RemoveAll(d.dir)
}

// writeFile0600 writes a credential file as a mounted Secret would provide it.
func writeFile0600(dir, name, content string) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	return p, nil
}

var errDriverNotRunning = errors.New("the driver is not running")
