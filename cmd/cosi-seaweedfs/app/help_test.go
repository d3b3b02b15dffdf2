package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHelpListsEveryFlagWithDescriptionDefaultAndEnvironment(t *testing.T) {
	_, err := ParseFlags([]string{"--help"}, func(string) string { return "" })
	var help *HelpError
	if !errors.As(err, &help) {
		t.Fatalf("ParseFlags(--help) = %v, want a HelpError", err)
	}
	for _, want := range []string{
		"--driver-name\n        driver name", `default "cosi-seaweedfs.io"`, "env DRIVER_NAME",
		"--resync-period\n        how often", `default "1m0s"`,
		"--v\n        log verbosity", "--leader-identity", "env POD_NAME", "--health-address", "env HEALTH_ADDRESS",
	} {
		if !strings.Contains(help.Text, want) {
			t.Errorf("help lacks %q:\n%s", want, help.Text)
		}
	}
}

// Every environment variable the help names really sets its flag: the help's
// default column shows the value the flag would take.
func TestHelpEnvironmentVariablesSetTheirFlags(t *testing.T) {
	for flagName, env := range flagEnv {
		t.Run(flagName, func(t *testing.T) {
			_, err := ParseFlags([]string{"-h"}, func(k string) string {
				if k == env {
					return "from-env-value"
				}
				return ""
			})
			var help *HelpError
			if !errors.As(err, &help) {
				t.Fatalf("ParseFlags(-h) = %v", err)
			}
			_, section, _ := strings.Cut(help.Text, "--"+flagName+"\n")
			section, _, _ = strings.Cut(section, "\n  --")
			if !strings.Contains(section, `default "from-env-value"`) || !strings.Contains(section, "env "+env) {
				t.Errorf("--%s does not take $%s:\n%s", flagName, env, section)
			}
		})
	}
}

func TestLeaderIdentity(t *testing.T) {
	if id, err := leaderIdentity("driver-7d9f-abcde"); err != nil || id != "driver-7d9f-abcde" {
		t.Errorf("configured identity = %q, %v; want it unchanged", id, err)
	}
	a, errA := leaderIdentity("")
	b, errB := leaderIdentity("")
	if errA != nil || errB != nil || a == b {
		t.Errorf("unconfigured identities %q and %q (%v, %v): want two distinct", a, b, errA, errB)
	}
}

func TestFileCredentialsFollowTheFiles(t *testing.T) {
	dir := t.TempDir()
	id, secret := filepath.Join(dir, "id"), filepath.Join(dir, "secret")
	write := func(p, v string) {
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(id, "KEYONE\n")
	write(secret, "secret-one\n")
	f := fileCredentials{idFile: id, secretFile: secret, refresh: time.Minute}
	c, err := f.Retrieve(context.Background())
	if err != nil || c.AccessKeyID != "KEYONE" || c.SecretAccessKey != "secret-one" || !c.CanExpire {
		t.Fatalf("Retrieve = %+v, %v", c.AccessKeyID, err)
	}
	write(secret, "secret-two")
	if c, err = f.Retrieve(context.Background()); err != nil || c.SecretAccessKey != "secret-two" {
		t.Fatalf("after rotation: %v", err)
	}
	write(secret, "")
	_, err = f.Retrieve(context.Background())
	if err == nil || strings.Contains(err.Error(), "secret-two") {
		t.Fatalf("empty file: %v", err)
	}
}
