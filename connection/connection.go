// Package connection holds the driver's connections: each one SeaweedFS
// the driver administers, named, with what the flags say of the one
// SeaweedFS today (its S3 endpoint, the admin key files, the filer and how
// it is secured, the user prefix and owner id). A connection is read from
// one file, <name>.yaml, of the connections directory; Parse refuses a file
// with a key it does not know, so that a misspelled setting is never
// silently left at its default.
package connection

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Default is the name of the connection the flags describe, and of the
// connection of every bucket whose class names none.
const Default = "default"

// Config is one connection as its file says it. Unset optional keys keep
// their zero value here; the caller applies the same defaults as the
// flags'.
type Config struct {
	// Name is the file's name without .yaml; it is not a key of the file.
	Name string `json:"-"`

	S3Endpoint     string `json:"s3Endpoint"`
	S3Region       string `json:"s3Region,omitempty"`
	PublicEndpoint string `json:"publicEndpoint,omitempty"`
	PublicRegion   string `json:"publicRegion,omitempty"`
	// AdminAccessKeyFile and AdminSecretKeyFile are paths of files holding
	// the admin identity's key, read again on change as the flags' files
	// are; the connection file itself holds no secret.
	AdminAccessKeyFile     string `json:"adminAccessKeyFile"`
	AdminSecretKeyFile     string `json:"adminSecretKeyFile"`
	FilerGRPCAddress       string `json:"filerGRPCAddress,omitempty"`
	FilerTLSCAFile         string `json:"filerTLSCAFile,omitempty"`
	FilerTLSCertFile       string `json:"filerTLSCertFile,omitempty"`
	FilerTLSKeyFile        string `json:"filerTLSKeyFile,omitempty"`
	FilerTLSServerName     string `json:"filerTLSServerName,omitempty"`
	FilerJWTSigningKeyFile string `json:"filerJWTSigningKeyFile,omitempty"`
	AllowInsecureFiler     bool   `json:"allowInsecureFiler,omitempty"`
	UserPrefix             string `json:"userPrefix,omitempty"`
	OwnerID                string `json:"ownerId,omitempty"`
}

// nameRE: a connection's name goes into bucket ids and metric labels, so it
// is a short DNS label.
var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

// ValidName reports whether name may name a connection.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// Parse reads one connection file. Every key must be one Config knows; the
// values are checked by Validate.
func Parse(name string, data []byte) (Config, error) {
	if !ValidName(name) {
		return Config{}, fmt.Errorf("connection name %q: want 1 to 32 of a-z, 0-9 and -, starting and ending with a letter or digit", name)
	}
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return Config{}, fmt.Errorf("connection %s: %w", name, err)
	}
	c.Name = name
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("connection %s: %w", name, err)
	}
	return c, nil
}

// Validate checks what a connection needs whatever its defaults: an S3
// endpoint of http or https and both admin key files; a filer setting only
// with the filer's address, and mutual TLS or an explicit allowance for an
// insecure filer (see the --allow-insecure-filer flag for why).
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.S3Endpoint == "":
		errs = append(errs, errors.New("s3Endpoint is required"))
	case !strings.HasPrefix(c.S3Endpoint, "http://") && !strings.HasPrefix(c.S3Endpoint, "https://"):
		errs = append(errs, fmt.Errorf("s3Endpoint %q must start with http:// or https://", c.S3Endpoint))
	}
	if c.AdminAccessKeyFile == "" || c.AdminSecretKeyFile == "" {
		errs = append(errs, errors.New("adminAccessKeyFile and adminSecretKeyFile are required"))
	}
	tlsFiles := 0
	for _, f := range []string{c.FilerTLSCAFile, c.FilerTLSCertFile, c.FilerTLSKeyFile} {
		if f != "" {
			tlsFiles++
		}
	}
	switch {
	case c.FilerGRPCAddress == "" && (tlsFiles > 0 || c.FilerTLSServerName != "" || c.FilerJWTSigningKeyFile != "" || c.AllowInsecureFiler):
		errs = append(errs, errors.New("filerTLS*, filerJWTSigningKeyFile and allowInsecureFiler need filerGRPCAddress"))
	case tlsFiles != 0 && tlsFiles != 3:
		errs = append(errs, errors.New("filerTLSCAFile, filerTLSCertFile and filerTLSKeyFile go together"))
	case c.FilerGRPCAddress != "" && tlsFiles == 0 && !c.AllowInsecureFiler:
		errs = append(errs, errors.New("filerGRPCAddress needs mutual TLS (filerTLSCAFile, filerTLSCertFile, filerTLSKeyFile) or allowInsecureFiler: true"))
	}
	return errors.Join(errs...)
}

// Set is every connection file of a directory read at one moment: the
// connections that parse, and the error of each file that does not.
type Set struct {
	Configs map[string]Config
	Errors  map[string]error
}

// Names are the connections of s, sorted.
func (s Set) Names() []string {
	var names []string
	for n := range s.Configs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ReadDir reads every <name>.yaml of dir. A file that does not parse is in
// Errors and not in Configs: it is never half-applied. Other files (the
// ..data links of a mounted Secret among them) are ignored.
func ReadDir(dir string) (Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Set{}, fmt.Errorf("connections directory: %w", err)
	}
	s := Set{Configs: map[string]Config{}, Errors: map[string]error{}}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".yaml")
		if !ok || strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil {
			var c Config
			if c, err = Parse(name, bytes.TrimSpace(data)); err == nil {
				s.Configs[name] = c
				continue
			}
		}
		s.Errors[name] = err
	}
	return s, nil
}
