// Package stack starts the real components the tests run against — etcd,
// kube-apiserver and SeaweedFS — as local processes on 127.0.0.1 with free
// ports and temporary directories, and stops them by PID.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Process is one running component. Its combined output goes to a log file so
// that a failing test can show what the component said.
type Process struct {
	Name    string
	LogPath string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  *os.File
	once sync.Once
}

// StartProcess runs bin with args, writing stdout and stderr to logDir/name.log.
// The process is put in its own process group so Stop also ends any children.
func StartProcess(name, bin string, args, env []string, logDir string) (*Process, error) {
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log for %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Pdeathsig is tied to the thread that forked the child: keep it alive.
	runtime.LockOSThread()
	err = cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{}), log: f}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// PID returns the operating-system process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed when the process has ended; Exited then says how.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Stop sends SIGTERM to the process group, waits up to grace, then SIGKILLs it.
// It is safe to call more than once.
func (p *Process) Stop(grace time.Duration) {
	p.once.Do(func() {
		pgid := -p.cmd.Process.Pid
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(pgid, syscall.SIGKILL)
			<-p.done
		}
		// A child that ignored SIGTERM while its parent exited is still in the group.
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		p.log.Close()
	})
}

// Kill ends the process group at once, as a crash would.
func (p *Process) Kill() {
	p.once.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		p.log.Close()
	})
}

// DumpLog copies the tail of the process log to w, at most max bytes.
func (p *Process) DumpLog(w io.Writer, max int64) {
	f, err := os.Open(p.LogPath)
	if err != nil {
		fmt.Fprintf(w, "--- %s: no log: %v\n", p.Name, err)
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, io.SeekStart)
	}
	fmt.Fprintf(w, "--- %s (pid %d) log %s ---\n", p.Name, p.PID(), p.LogPath)
	_, _ = io.Copy(w, f)
	fmt.Fprintf(w, "--- end of %s ---\n", p.Name)
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1. The port is
// released before it is returned, so another process could take it in the
// meantime; callers start their component right away.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreePortPair returns a free port P whose P+10000 is free as well: SeaweedFS
// serves gRPC on P+10000 for every HTTP port P.
func FreePortPair() (int, error) {
	for range 100 {
		p, err := FreePort()
		if err != nil {
			return 0, err
		}
		if p+10000 > 65535 {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000))
		if err != nil {
			continue
		}
		l.Close()
		return p, nil
	}
	return 0, errors.New("no free port pair (P, P+10000) on 127.0.0.1")
}

// freeDistinctPair returns a free port pair that does not collide with the
// pairs already chosen (a kernel may hand out a released port again).
func freeDistinctPair(taken []int) (int, error) {
	for range 20 {
		p, err := FreePortPair()
		if err != nil {
			return 0, err
		}
		clash := false
		for _, t := range taken {
			if p == t || p == t+10000 || p+10000 == t {
				clash = true
			}
		}
		if !clash {
			return p, nil
		}
	}
	return 0, errors.New("no distinct free port pair on 127.0.0.1")
}

// WaitFor polls check until it returns nil, the process exits, or the deadline
// passes. The last check error is included so a timeout says what was missing.
func WaitFor(ctx context.Context, p *Process, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if p != nil {
			if exited, err := p.Exited(); exited {
				return fmt.Errorf("%s exited before it was ready (%v); see %s", p.Name, err, p.LogPath)
			}
		}
		if last = check(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s: waiting for readiness canceled: %w", nameOf(p), ctx.Err())
			}
			return fmt.Errorf("%s not ready after %s: %w", nameOf(p), timeout, last)
		case <-tick.C:
		}
	}
}

func nameOf(p *Process) string {
	if p == nil {
		return "component"
	}
	return p.Name
}

// HTTPStatusCheck returns a readiness check that succeeds when GET url answers
// with want.
func HTTPStatusCheck(client *http.Client, url string, want int) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("GET %s: status %d, want %d", url, resp.StatusCode, want)
		}
		return nil
	}
}

// RepoRoot finds the repository root (the directory holding go.mod) from the
// working directory of the running test.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "test", "tools")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root not found above the working directory")
		}
		dir = parent
	}
}

// Binary returns the path of a pinned tool built by `make tools`.
func Binary(name string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "bin", name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is missing: build it with `test/tools/build.sh %s` (or all of them with `make tools`): %w", p, name, err)
	}
	return p, nil
}
