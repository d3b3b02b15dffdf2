package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/e2e/framework"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// Namespaces of the demo.
const (
	driverNamespace = "cosi-seaweedfs"
	demoNamespace   = "cosi-demo"
)

// serve is the supervisor: a process of its own session, started by `up`,
// that outlives it. The harness ties every component to the process that
// started it (a component outliving a crashed test would leak), so the
// components are the supervisor's children: they run as long as it does,
// and a supervisor killed outright takes them with it. SIGTERM (from `down`)
// stops them in order.
func serve(dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	fail := func(err error) error {
		_ = os.WriteFile(filepath.Join(dir, failedFile), []byte(err.Error()+"\n"), 0o600)
		return err
	}
	for _, d := range []string{"kube", "seaweed"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return fail(fmt.Errorf("create %s: %w", d, err))
		}
	}
	began := time.Now()
	s, err := stack.Start(ctx, stack.Options{
		Kube:    stack.KubeOptions{Dir: filepath.Join(dir, "kube")},
		Seaweed: stack.SeaweedOptions{Dir: filepath.Join(dir, "seaweed")},
	})
	if err != nil {
		s.DumpLogs(os.Stderr)
		return fail(err)
	}
	defer s.Stop()
	log.Printf("etcd, kube-apiserver and SeaweedFS ready in %s", time.Since(began).Round(time.Millisecond))

	// The unix socket path must stay under 108 bytes; a deep checkout gets a
	// temporary directory instead.
	localDir := filepath.Join(dir, "local")
	if len(filepath.Join(localDir, "cosi.sock")) > 100 {
		if localDir, err = os.MkdirTemp("", "cosi-demo-"); err != nil {
			return fail(fmt.Errorf("create a directory for the socket: %w", err))
		}
	} else if err := os.MkdirAll(localDir, 0o700); err != nil {
		return fail(fmt.Errorf("create %s: %w", localDir, err))
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	l, err := framework.StartLocal(sctx, framework.LocalConfig{
		Kube:      s.Kube,
		Seaweed:   s.Seaweed,
		Namespace: driverNamespace,
		Dir:       localDir,
		// Slower than the tests' 2 s: the demo stack may run for hours.
		ResyncPeriod: 10 * time.Second,
		// make demo builds no helm.
		PrerenderedRBAC: true,
	})
	cancel()
	if err != nil {
		l.DumpLogs(os.Stderr)
		l.Stop()
		return fail(err)
	}
	defer l.Stop()
	log.Printf("driver and COSI sidecar ready (logs in %s)", localDir)

	ctrl := &framework.Controller{Dynamic: s.Kube.Dynamic, PresetSidecarFinalizer: true, Logf: log.Printf}
	go ctrl.Run(ctx, 500*time.Millisecond)

	st := state{
		Kubeconfig:      s.Kube.KubeconfigPath,
		S3Endpoint:      s.Seaweed.Endpoint,
		S3Region:        s.Seaweed.Region,
		DriverName:      l.Cfg.DriverName,
		DriverNamespace: driverNamespace,
		LocalDir:        localDir,
	}
	procs := append(s.Kube.Processes(), l.Processes()...)
	named := map[string]int{"seaweedfs": s.Seaweed.PID()}
	for _, p := range procs {
		named[p.Name] = p.PID()
	}
	for _, name := range []string{"etcd", "kube-apiserver", "seaweedfs", "driver", "sidecar"} {
		p, err := describe(name, named[name])
		if err != nil {
			return fail(err)
		}
		st.Processes = append(st.Processes, p)
	}
	if err := writeJSON(filepath.Join(dir, stateFile), st); err != nil {
		return fail(err)
	}
	log.Printf("ready; waiting for SIGTERM")
	<-ctx.Done()
	log.Printf("stopping")
	return nil
}
