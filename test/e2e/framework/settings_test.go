package framework

import (
	"testing"
	"time"
)

func TestSettingsFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Settings
		wantErr bool
	}{
		{
			name: "no variables select local mode with defaults",
			want: Settings{Mode: ModeLocal, DriverName: DefaultDriverName, DriverSelector: DefaultDriverSelector, ControllerSelector: DefaultControllerSelector, Timeout: 2 * time.Minute, PresetFinalizers: true},
		},
		{
			name: "E2E_KUBECONFIG selects cluster mode",
			env: map[string]string{
				EnvKubeconfig: "/tmp/kc", EnvS3Endpoint: "http://s3.example:8333", EnvDriverNamespace: "cosi",
				EnvDriverName: "other.io", EnvTimeout: "5m", EnvChainsawValues: "/tmp/values.yaml",
				EnvControllerNamespace: "cosi-system",
			},
			want: Settings{
				Mode: ModeCluster, Kubeconfig: "/tmp/kc", DriverName: "other.io", S3Endpoint: "http://s3.example:8333",
				DriverNamespace: "cosi", DriverSelector: DefaultDriverSelector, ControllerSelector: DefaultControllerSelector, Timeout: 5 * time.Minute,
				ChainsawValues: "/tmp/values.yaml", ControllerNamespace: "cosi-system",
			},
		},
		{
			name: "blank E2E_KUBECONFIG is local mode",
			env:  map[string]string{EnvKubeconfig: "  "},
			want: Settings{Mode: ModeLocal, DriverName: DefaultDriverName, DriverSelector: DefaultDriverSelector, ControllerSelector: DefaultControllerSelector, Timeout: 2 * time.Minute, PresetFinalizers: true},
		},
		{
			name: "cluster mode can preset the sidecar's finalizers",
			env:  map[string]string{EnvKubeconfig: "/tmp/kc", EnvPresetFinalizers: "true"},
			want: Settings{Mode: ModeCluster, Kubeconfig: "/tmp/kc", DriverName: DefaultDriverName, DriverSelector: DefaultDriverSelector, ControllerSelector: DefaultControllerSelector, Timeout: 2 * time.Minute, PresetFinalizers: true},
		},
		{
			name:    "a cluster-only variable without E2E_KUBECONFIG is an error",
			env:     map[string]string{EnvS3Endpoint: "http://s3.example:8333"},
			wantErr: true,
		},
		{
			name:    "the controller's pods are a cluster-only setting",
			env:     map[string]string{EnvControllerNamespace: "cosi-system"},
			wantErr: true,
		},
		{
			name:    "an endpoint without a scheme is an error",
			env:     map[string]string{EnvKubeconfig: "/tmp/kc", EnvS3Endpoint: "s3.example:8333"},
			wantErr: true,
		},
		{
			name:    "a bad timeout is an error",
			env:     map[string]string{EnvTimeout: "soon"},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SettingsFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr {
				if err == nil {
					t.Fatalf("SettingsFromEnv = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("SettingsFromEnv: %v", err)
			}
			if got != tt.want {
				t.Errorf("SettingsFromEnv =\n  %+v\nwant\n  %+v", got, tt.want)
			}
		})
	}
}

func TestSidecarLeaseName(t *testing.T) {
	for in, want := range map[string]string{
		"cosi-seaweedfs.io": "cosi-seaweedfs-io-cosi",
		"Example.COM":       "example-com-cosi",
	} {
		if got := SidecarLeaseName(in); got != want {
			t.Errorf("SidecarLeaseName(%q) = %q, want %q", in, got, want)
		}
	}
}
