package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Files in the state directory (.demo/ at the repository root).
const (
	stateFile      = "state.json"      // written by the supervisor once everything is ready
	supervisorFile = "supervisor.json" // written by `up` right after it started the supervisor
	failedFile     = "failed"          // written by the supervisor if the start failed
	supervisorLog  = "supervisor.log"
)

// state tells `up` and `down` what the supervisor runs. It holds no secret:
// the kubeconfig it names is a 0600 file in the same directory.
type state struct {
	Kubeconfig      string    `json:"kubeconfig"`
	S3Endpoint      string    `json:"s3Endpoint"`
	S3Region        string    `json:"s3Region"`
	DriverName      string    `json:"driverName"`
	DriverNamespace string    `json:"driverNamespace"`
	LocalDir        string    `json:"localDir"`
	Processes       []process `json:"processes"`
}

// process identifies one process beyond its PID: its start time, so that a
// PID the kernel has since given to another process is never signalled.
type process struct {
	Name  string `json:"name"`
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	// Written whole and renamed, so a reader never sees half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// startTime returns the start time of pid in clock ticks since boot, field
// 22 of /proc/<pid>/stat.
func startTime(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	if fields[0] == "Z" {
		return 0, errors.New("zombie")
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

func describe(name string, pid int) (process, error) {
	st, err := startTime(pid)
	if err != nil {
		return process{}, fmt.Errorf("%s (pid %d): %w", name, pid, err)
	}
	return process{Name: name, PID: pid, Start: st}, nil
}

// alive reports whether the recorded process still runs.
func (p process) alive() bool {
	if p.PID <= 0 {
		return false
	}
	st, err := startTime(p.PID)
	return err == nil && st == p.Start
}

// stop sends sig to the recorded process and waits up to grace for it to
// end; it reports whether the process is gone.
func (p process) stop(sig syscall.Signal, grace time.Duration) bool {
	if !p.alive() {
		return true
	}
	_ = syscall.Kill(p.PID, sig)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !p.alive() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return !p.alive()
}
