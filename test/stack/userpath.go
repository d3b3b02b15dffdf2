package stack

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// UserPath is one of the two ways the driver writes SeaweedFS users, keys and
// grants: the IAM query API of the S3 gateway (its default), or the filer's
// IAM gRPC service (--filer-grpc-address). The suites that run the driver
// process prove each of their rules on every path; UserPaths says which.
type UserPath string

const (
	// IAMQueryAPI is the driver's default path, on any stack.
	IAMQueryAPI UserPath = "iam"
	// FilerGRPC is the filer's IAM gRPC service, secured with mutual TLS as
	// the driver requires it in production: its stack is started with
	// SeaweedOptions.MutualTLS (see Seaweed).
	FilerGRPC UserPath = "filer"
)

// UserPathsEnv selects the paths a suite runs on, comma-separated ("iam",
// "filer", "iam,filer"); unset or empty means every path, in that order.
const UserPathsEnv = "COSI_USER_PATHS"

// AllUserPaths are the paths in the order the suites run them.
var AllUserPaths = []UserPath{IAMQueryAPI, FilerGRPC}

// String names the path in logs and failure messages.
func (p UserPath) String() string {
	switch p {
	case IAMQueryAPI:
		return "IAM query API path"
	case FilerGRPC:
		return "filer IAM gRPC path (mutual TLS)"
	}
	return "unknown user path " + string(p)
}

// UserPaths reads UserPathsEnv through getenv (os.Getenv).
func UserPaths(getenv func(string) string) ([]UserPath, error) {
	v := strings.TrimSpace(getenv(UserPathsEnv))
	if v == "" {
		return AllUserPaths, nil
	}
	var out []UserPath
	for _, f := range strings.Split(v, ",") {
		p := UserPath(strings.TrimSpace(f))
		if p != IAMQueryAPI && p != FilerGRPC {
			return nil, fmt.Errorf("%s=%q: %q is neither %q nor %q", UserPathsEnv, v, string(p), string(IAMQueryAPI), string(FilerGRPC))
		}
		for _, seen := range out {
			if seen == p {
				return nil, fmt.Errorf("%s=%q names %q twice", UserPathsEnv, v, string(p))
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// EachUserPath runs pass once per user path UserPaths names (from the
// environment) and returns the code of the last pass that failed, 0 when
// none did, 2 when UserPathsEnv is malformed; suite names the test package
// in what it prints.
func EachUserPath(suite string, pass func(UserPath) int) int {
	paths, err := UserPaths(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", suite, err)
		return 2
	}
	code := 0
	var failed []string
	for _, p := range paths {
		if c := pass(p); c != 0 {
			code = c
			failed = append(failed, p.String())
		}
	}
	if len(failed) > 0 {
		fmt.Printf("%s: FAIL on the %s\n", suite, strings.Join(failed, " and on the "))
	}
	return code
}

// Seaweed returns opts with what the path needs of SeaweedFS: the filer path
// gets a filer that requires mutual TLS, so the driver's TLS flags are what
// is proven, never --allow-insecure-filer.
func (p UserPath) Seaweed(opts SeaweedOptions) SeaweedOptions {
	if p == FilerGRPC {
		opts.MutualTLS = true
	}
	return opts
}

// DriverArgs are the driver's flags for the path against sw, which must
// have been started with the options of Seaweed. The filer's certificate is
// valid for 127.0.0.1 and localhost; naming localhost with
// --filer-tls-server-name makes that flag part of what is proven.
func (p UserPath) DriverArgs(sw *Seaweed) ([]string, error) {
	switch p {
	case IAMQueryAPI:
		return nil, nil
	case FilerGRPC:
		if sw.FilerTLS == nil {
			return nil, errors.New("the filer path needs SeaweedFS started with MutualTLS (UserPath.Seaweed)")
		}
		return []string{
			"--filer-grpc-address=" + sw.FilerGRPCAddress(),
			"--filer-tls-cert-file=" + sw.FilerTLS.CertFile,
			"--filer-tls-key-file=" + sw.FilerTLS.KeyFile,
			"--filer-tls-ca-file=" + sw.FilerTLS.CAFile,
			"--filer-tls-server-name=localhost",
		}, nil
	}
	return nil, fmt.Errorf("unknown user path %q", string(p))
}
