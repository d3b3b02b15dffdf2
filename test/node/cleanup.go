package node

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// prefix names everything a node leaves on the machine while it runs: its
// directory under the temp dir, its network namespace, its cgroup parent.
// The part after it is "<pid of the test>-<random>", so a later run can tell
// a node whose test is gone from one still running.
const prefix = "cosi-node-"

// cgroupRoot is where cgroup v1 hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// removeStale cleans up after nodes whose test process ended without
// stopping them (a killed `go test`): their containers, shims, mounts,
// cgroups, namespace and directory.
func removeStale() error {
	seen := map[string]bool{}
	var ids []string
	add := func(name string) {
		if id, ok := strings.CutPrefix(name, prefix); ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, dir := range []string{netnsDir, os.TempDir()} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			add(e.Name())
		}
	}
	var errs []string
	for _, id := range ids {
		pid, err := strconv.Atoi(strings.SplitN(id, "-", 2)[0])
		if err == nil && pid != os.Getpid() && syscall.Kill(pid, 0) == nil {
			continue // its test is still running
		}
		if err := teardown(id); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove stale nodes: %s", strings.Join(errs, "; "))
	}
	return nil
}

// teardown removes what node id left behind, whatever state it is in: every
// process in its namespace, its cgroups, naming its directory or
// rooted in it; then every
// mount under its directory, its cgroups, the namespace and the directory.
func teardown(id string) error {
	name := prefix + id
	dir := filepath.Join(os.TempDir(), name)
	nsPath := filepath.Join(netnsDir, name)
	for range 20 {
		if killAll(nsPath, dir, name) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var errs []string
	if err := unmountUnder(dir); err != nil {
		errs = append(errs, err.Error())
	}
	if err := unmountUnder(nsPath); err != nil {
		errs = append(errs, err.Error())
	}
	removeCgroups(name)
	_ = os.Remove(nsPath)
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, fmt.Sprintf("remove %s: %v", dir, err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("tear down %s: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// killAll sends SIGKILL to every process that belongs to the node and says
// how many it found. Container processes are found through the node's
// cgroups, shims and host-network containers through the namespace or the
// node directory on their command line.
func killAll(nsPath, dir, name string) int {
	var nsIno uint64
	if st, err := os.Stat(nsPath); err == nil {
		nsIno = st.Sys().(*syscall.Stat_t).Ino
	}
	pids := map[int]bool{}
	for _, p := range cgroupProcs(name) {
		pids[p] = true
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if nsIno != 0 {
			if st, err := os.Stat(filepath.Join("/proc", e.Name(), "ns", "net")); err == nil && st.Sys().(*syscall.Stat_t).Ino == nsIno {
				pids[pid] = true
				continue
			}
		}
		if cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && bytes.Contains(cmd, []byte(dir)) {
			pids[pid] = true
			continue
		}
		// A container's root is a mount under the node's directory.
		if root, err := os.Readlink(filepath.Join("/proc", e.Name(), "root")); err == nil && strings.HasPrefix(root, dir+"/") {
			pids[pid] = true
		}
	}
	for pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return len(pids)
}

// cgroupProcs lists the processes in the node's cgroup parent, in every
// hierarchy.
func cgroupProcs(name string) []int {
	var pids []int
	hierarchies, _ := os.ReadDir(cgroupRoot)
	for _, h := range hierarchies {
		_ = filepath.WalkDir(filepath.Join(cgroupRoot, h.Name(), name), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			data, _ := os.ReadFile(path)
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// removeCgroups removes the node's cgroup parent in every hierarchy, deepest
// first (a cgroup can only be removed once it has no children).
func removeCgroups(name string) {
	hierarchies, _ := os.ReadDir(cgroupRoot)
	for _, h := range hierarchies {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(cgroupRoot, h.Name(), name), func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		slices.Reverse(dirs)
		for _, d := range dirs {
			_ = syscall.Rmdir(d)
		}
	}
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	var mounts []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mounts = append(mounts, mp)
		}
	}
	slices.SortFunc(mounts, func(a, b string) int { return len(b) - len(a) })
	var errs []string
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && err != syscall.EINVAL && err != syscall.ENOENT {
			errs = append(errs, fmt.Sprintf("unmount %s: %v", m, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
