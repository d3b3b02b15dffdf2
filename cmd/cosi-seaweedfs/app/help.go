package app

import (
	"flag"
	"fmt"
	"strings"
)

// flagEnv names the environment variable each flag falls back to.
var flagEnv = map[string]string{
	"driver-name":                "DRIVER_NAME",
	"cosi-endpoint":              "COSI_ENDPOINT",
	"namespace":                  "POD_NAMESPACE",
	"kubeconfig":                 "KUBECONFIG",
	"s3-endpoint":                "SEAWEEDFS_S3_ENDPOINT",
	"s3-region":                  "SEAWEEDFS_S3_REGION",
	"admin-access-key-file":      "SEAWEEDFS_ACCESS_KEY_FILE",
	"admin-secret-key-file":      "SEAWEEDFS_SECRET_KEY_FILE",
	"public-endpoint":            "PUBLIC_S3_ENDPOINT",
	"public-region":              "PUBLIC_S3_REGION",
	"user-prefix":                "USER_PREFIX",
	"owner-id":                   "OWNER_ID",
	"metrics-address":            "METRICS_ADDRESS",
	"health-address":             "HEALTH_ADDRESS",
	"leader-identity":            "POD_NAME",
	"filer-grpc-address":         "SEAWEEDFS_FILER_GRPC_ADDRESS",
	"filer-tls-cert-file":        "SEAWEEDFS_FILER_TLS_CERT_FILE",
	"filer-tls-key-file":         "SEAWEEDFS_FILER_TLS_KEY_FILE",
	"filer-tls-ca-file":          "SEAWEEDFS_FILER_TLS_CA_FILE",
	"filer-tls-server-name":      "SEAWEEDFS_FILER_TLS_SERVER_NAME",
	"filer-jwt-signing-key-file": "SEAWEEDFS_FILER_JWT_SIGNING_KEY_FILE",
}

// HelpError is what ParseFlags returns for -h/--help: not a failure, Text
// is for standard output.
type HelpError struct{ Text string }

func (e *HelpError) Error() string { return "help requested" }

// usage lists every flag with its description, default and environment
// variable.
func usage(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString("Usage: cosi-seaweedfs [check] [flags]\n\nThe COSI driver for SeaweedFS; with check first, it checks with the same flags that SeaweedFS\n" +
		"refuses anonymous requests and accepts the admin identity for buckets and users, prints what it found and exits.\n" +
		"Flags (each may also be given as --name=value):\n\n")
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(&b, "  --%s\n        %s\n", f.Name, f.Usage)
		var facts []string
		if f.DefValue != "" {
			facts = append(facts, fmt.Sprintf("default %q", f.DefValue))
		}
		if env, ok := flagEnv[f.Name]; ok {
			facts = append(facts, "env "+env)
		}
		if len(facts) > 0 {
			fmt.Fprintf(&b, "        (%s)\n", strings.Join(facts, "; "))
		}
	})
	b.WriteString("\nThe admin credentials may also come from SEAWEEDFS_ACCESS_KEY_ID and SEAWEEDFS_SECRET_ACCESS_KEY.\n")
	return b.String()
}
