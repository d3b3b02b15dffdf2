package stack

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ToolModuleDir returns the directory of module at the version the tool
// module test/tools/<tool> pins (its source: charts, .proto and CRD files
// the tests read), downloading it into the module cache if it is not there
// yet.
func ToolModuleDir(ctx context.Context, tool, module string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	toolDir := filepath.Join(root, "test", "tools", tool)
	goCmd := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = toolDir
		// A go.work above the repository must not change which version the
		// tool module resolves to.
		cmd.Env = append(os.Environ(), "GOWORK=off")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("go %s in %s: %w: %s", strings.Join(args, " "), toolDir, err, bytes.TrimSpace(stderr.Bytes()))
		}
		return strings.TrimSpace(string(out)), nil
	}
	dir, err := goCmd("list", "-m", "-f", "{{.Dir}}", module)
	if err != nil {
		return "", err
	}
	if dir != "" {
		return dir, nil
	}
	if _, err := goCmd("mod", "download", module); err != nil {
		return "", err
	}
	if dir, err = goCmd("list", "-m", "-f", "{{.Dir}}", module); err != nil {
		return "", err
	}
	if dir == "" {
		return "", fmt.Errorf("module %s has no directory after download", module)
	}
	return dir, nil
}
