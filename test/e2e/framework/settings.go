package framework

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Environment variables that select and configure cluster mode. Without
// E2E_KUBECONFIG the suite runs in local mode on the harness stack.
const (
	// EnvKubeconfig selects cluster mode: the kubeconfig of a cluster where
	// the COSI controller, the driver and its sidecar already run.
	EnvKubeconfig = "E2E_KUBECONFIG"
	// EnvDriverName is the driver name the classes use (default
	// cosi-seaweedfs.io).
	EnvDriverName = "E2E_DRIVER_NAME"
	// EnvS3Endpoint is the S3 endpoint the suite, acting as a workload, sends
	// requests to. Default: the endpoint in the credentials Secret — which the
	// sidecar v0.1.0 always sets to https://s3.amazonaws.com, so with that
	// sidecar this must be set for the S3 checks to run.
	EnvS3Endpoint = "E2E_S3_ENDPOINT"
	// EnvDriverNamespace and EnvDriverSelector name the driver pods (driver
	// and sidecar containers) the restart test deletes. Without a namespace
	// that test is skipped in cluster mode.
	EnvDriverNamespace = "E2E_DRIVER_NAMESPACE"
	EnvDriverSelector  = "E2E_DRIVER_SELECTOR"
	// EnvControllerNamespace and EnvControllerSelector name the COSI
	// controller pods the recovery test deletes mid-flow. Without a
	// namespace that test is skipped in cluster mode.
	EnvControllerNamespace = "E2E_CONTROLLER_NAMESPACE"
	EnvControllerSelector  = "E2E_CONTROLLER_SELECTOR"
	// EnvTimeout bounds each wait for a COSI object (default 2m).
	EnvTimeout = "E2E_TIMEOUT"
	// EnvChainsawValues names a values file for the chainsaw tests that
	// overrides chainsaw/values.yaml (for example the S3 endpoint as pods
	// reach it, which can differ from E2E_S3_ENDPOINT).
	EnvChainsawValues = "E2E_CHAINSAW_VALUES"
	// EnvPresetFinalizers, set to true, creates each BucketAccess with the
	// finalizer the sidecar adds itself: needed where the sidecar v0.1.0
	// runs (see README.md); always on in local mode.
	EnvPresetFinalizers = "E2E_PRESET_FINALIZERS"
)

// DefaultDriverSelector matches the pods of the Helm chart in charts/.
const DefaultDriverSelector = "app.kubernetes.io/name=cosi-seaweedfs"

// DefaultControllerSelector matches the pods of the COSI controller v0.2.2
// as its kustomization (controller/kustomization.yaml) labels them.
const DefaultControllerSelector = "app.kubernetes.io/name=container-object-storage-interface-controller"

// Mode says where the COSI components come from.
type Mode int

const (
	// ModeLocal runs the harness stack, the driver and the sidecar as local
	// processes; the suite stands in for the COSI controller.
	ModeLocal Mode = iota
	// ModeCluster uses a cluster where everything is already deployed.
	ModeCluster
)

func (m Mode) String() string {
	if m == ModeCluster {
		return "cluster"
	}
	return "local"
}

// Settings is the suite's configuration, from the environment.
type Settings struct {
	Mode            Mode
	Kubeconfig      string
	DriverName      string
	S3Endpoint      string
	DriverNamespace string
	DriverSelector  string
	// ControllerNamespace and ControllerSelector: see EnvControllerNamespace.
	ControllerNamespace string
	ControllerSelector  string
	Timeout             time.Duration
	// PresetFinalizers: see EnvPresetFinalizers.
	PresetFinalizers bool
	// ChainsawValues: see EnvChainsawValues.
	ChainsawValues string
}

// SettingsFromEnv reads the settings. Cluster-only variables set without
// E2E_KUBECONFIG are an error: they would be silently ignored otherwise.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{
		Kubeconfig:      strings.TrimSpace(getenv(EnvKubeconfig)),
		DriverName:      strings.TrimSpace(getenv(EnvDriverName)),
		S3Endpoint:      strings.TrimSpace(getenv(EnvS3Endpoint)),
		DriverNamespace: strings.TrimSpace(getenv(EnvDriverNamespace)),
		DriverSelector:  strings.TrimSpace(getenv(EnvDriverSelector)),
		ChainsawValues:  strings.TrimSpace(getenv(EnvChainsawValues)),
		Timeout:         2 * time.Minute,

		ControllerNamespace: strings.TrimSpace(getenv(EnvControllerNamespace)),
		ControllerSelector:  strings.TrimSpace(getenv(EnvControllerSelector)),
	}
	if s.Kubeconfig != "" {
		s.Mode = ModeCluster
	}
	if s.DriverName == "" {
		s.DriverName = DefaultDriverName
	}
	if s.DriverSelector == "" {
		s.DriverSelector = DefaultDriverSelector
	}
	if s.ControllerSelector == "" {
		s.ControllerSelector = DefaultControllerSelector
	}
	if v := strings.TrimSpace(getenv(EnvTimeout)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return s, fmt.Errorf("%s=%q is not a positive duration", EnvTimeout, v)
		}
		s.Timeout = d
	}
	if v := strings.TrimSpace(getenv(EnvPresetFinalizers)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s, fmt.Errorf("%s=%q is not true or false", EnvPresetFinalizers, v)
		}
		s.PresetFinalizers = b
	}
	if s.Mode == ModeLocal {
		// The suite's own sidecar is v0.1.0.
		s.PresetFinalizers = true
		for _, k := range []string{EnvS3Endpoint, EnvDriverNamespace, EnvDriverSelector, EnvPresetFinalizers, EnvChainsawValues, EnvControllerNamespace, EnvControllerSelector} {
			if getenv(k) != "" {
				return s, fmt.Errorf("%s is a cluster-mode setting; set %s too, or unset it", k, EnvKubeconfig)
			}
		}
	}
	if s.S3Endpoint != "" && !strings.HasPrefix(s.S3Endpoint, "http://") && !strings.HasPrefix(s.S3Endpoint, "https://") {
		return s, fmt.Errorf("%s=%q must start with http:// or https://", EnvS3Endpoint, s.S3Endpoint)
	}
	return s, nil
}
