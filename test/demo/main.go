// Command demo runs cosi-seaweedfs end to end on one machine and leaves it
// running: `go run ./test/demo up` starts etcd, kube-apiserver, SeaweedFS,
// the driver and the COSI sidecar in the background, provisions the
// manifests of examples/, prints the issued credentials and uses them;
// `go run ./test/demo down` stops it all. State lives in .demo/ at the
// repository root.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: go run ./test/demo up|down")
	}
	root, err := stack.RepoRoot()
	if err != nil {
		return fmt.Errorf("run the demo from the repository: %w", err)
	}
	dir := filepath.Join(root, ".demo")
	switch args[0] {
	case "up":
		return up(root, dir)
	case "down":
		return down(dir)
	case "serve":
		// Started by up; not for direct use.
		return serve(dir)
	}
	return fmt.Errorf("unknown command %q: usage: go run ./test/demo up|down", args[0])
}

// startSupervisor starts this program again as `serve` in a session of its
// own, so that it survives the end of `up` (and of `go run`, and of the
// terminal), and records who it is.
func startSupervisor(dir string) (process, error) {
	exe, err := os.Executable()
	if err != nil {
		return process{}, fmt.Errorf("find this program: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(dir, supervisorLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return process{}, fmt.Errorf("open supervisor log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(exe, "serve")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return process{}, fmt.Errorf("start supervisor: %w", err)
	}
	p, err := describe("supervisor", cmd.Process.Pid)
	if err != nil {
		return process{}, err
	}
	if err := writeJSON(filepath.Join(dir, supervisorFile), p); err != nil {
		_ = cmd.Process.Kill()
		return process{}, err
	}
	// Not waited for: it is meant to outlive this process.
	_ = cmd.Process.Release()
	return p, nil
}

// down stops the supervisor, which stops its components in order; anything
// still running afterwards is killed by PID. Then .demo/ is removed.
func down(dir string) error {
	var sup process
	if err := readJSON(filepath.Join(dir, supervisorFile), &sup); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var st state
	if err := readJSON(filepath.Join(dir, stateFile), &st); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	stopped := 0
	if sup.alive() {
		fmt.Printf("demo: stopping the supervisor (pid %d) and its components ...\n", sup.PID)
		// The sidecar alone may take its 30 s shutdown grace.
		if !sup.stop(syscall.SIGTERM, 90*time.Second) {
			fmt.Printf("demo: the supervisor did not stop in time; killing it\n")
			sup.stop(syscall.SIGKILL, 10*time.Second)
		}
		stopped++
	}
	for _, p := range st.Processes {
		if p.alive() {
			fmt.Printf("demo: killing %s (pid %d), which outlived the supervisor\n", p.Name, p.PID)
			if !p.stop(syscall.SIGKILL, 10*time.Second) {
				return fmt.Errorf("%s (pid %d) does not stop", p.Name, p.PID)
			}
			stopped++
		}
	}
	if st.LocalDir != "" && filepath.Dir(st.LocalDir) != dir {
		if err := os.RemoveAll(st.LocalDir); err != nil {
			return fmt.Errorf("remove %s: %w", st.LocalDir, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	if stopped == 0 {
		fmt.Println("demo: nothing was running; removed .demo/")
		return nil
	}
	fmt.Println("demo: stopped; removed .demo/")
	return nil
}
