package driver

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"k8s.io/klog/v2"
)

// LogPath is the log of the running or last process, or of the driver in
// this process.
func (d *Driver) LogPath() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc != nil {
		return d.proc.LogPath
	}
	return filepath.Join(d.cfg.Dir, d.cfg.LogName+".log")
}

// Log is the whole of LogPath.
func (d *Driver) Log() (string, error) {
	data, err := os.ReadFile(d.LogPath())
	if err != nil {
		return "", fmt.Errorf("read the driver log: %w", err)
	}
	return string(data), nil
}

// Logs are the paths of every log the driver wrote, oldest first.
func (d *Driver) Logs() ([]string, error) {
	return filepath.Glob(filepath.Join(d.cfg.Dir, d.cfg.LogName+"*.log"))
}

// DumpLogs writes the last tail bytes of each of the newest n logs to w.
func (d *Driver) DumpLogs(w io.Writer, n int, tail int64) {
	paths, err := d.Logs()
	if err != nil || len(paths) == 0 {
		fmt.Fprintf(w, "driver log in %s: none (%v)\n", d.cfg.Dir, err)
		return
	}
	for _, p := range paths[max(0, len(paths)-n):] {
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(w, "driver log: %v\n", err)
			continue
		}
		if int64(len(data)) > tail {
			data = data[int64(len(data))-tail:]
		}
		fmt.Fprintf(w, "----- %s (last %d bytes) -----\n%s\n", filepath.Base(p), len(data), data)
	}
}

// CaptureKlog sends what client-go logs through klog inside this process to
// the log of a driver run in this process, where those lines belong, instead
// of the test output. klog copies each line to the outputs of every lower
// severity, so only INFO, which receives everything, goes to the file.
func (d *Driver) CaptureKlog() {
	if d.log == nil {
		return
	}
	klog.LogToStderr(false)
	klog.SetOutputBySeverity("INFO", d.log)
	for _, sev := range []string{"WARNING", "ERROR", "FATAL"} {
		klog.SetOutputBySeverity(sev, io.Discard)
	}
}

// ReleaseKlog discards klog's lines again, so that the next driver gets a
// log of its own.
func ReleaseKlog() {
	klog.SetOutputBySeverity("INFO", io.Discard)
}
