package stack

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FilerClientTLS names the PEM files a client of a SeaweedFS started with
// MutualTLS presents to its filer's gRPC port: its own certificate and key,
// and the CA that signed the filer's certificate.
type FilerClientTLS struct {
	CertFile, KeyFile, CAFile string
}

// writeMutualTLS makes a CA, one certificate for every SeaweedFS component
// (valid for 127.0.0.1 and localhost), one client certificate for the
// components' connections to each other and one for outside clients, and
// the security.toml sections that make every gRPC port of SeaweedFS
// require a client certificate signed by that CA.
func writeMutualTLS(dir string) (FilerClientTLS, string, error) {
	tlsDir := filepath.Join(dir, "tls")
	if err := os.MkdirAll(tlsDir, 0o700); err != nil {
		return FilerClientTLS{}, "", err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return FilerClientTLS{}, "", err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "seaweedfs-test-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return FilerClientTLS{}, "", err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return FilerClientTLS{}, "", err
	}
	caFile := filepath.Join(tlsDir, "ca.pem")
	if err := writePEM(caFile, "CERTIFICATE", caDER); err != nil {
		return FilerClientTLS{}, "", err
	}
	issue := func(name string, serial int64, usage x509.ExtKeyUsage, server bool) (certFile, keyFile string, err error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", "", err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		if server {
			// The components also dial each other with this certificate's
			// CA and check the names.
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
			tmpl.DNSNames = []string{"localhost"}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return "", "", err
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return "", "", err
		}
		certFile, keyFile = filepath.Join(tlsDir, name+".pem"), filepath.Join(tlsDir, name+".key")
		if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
			return "", "", err
		}
		return certFile, keyFile, writePEM(keyFile, "EC PRIVATE KEY", keyDER)
	}
	serverCert, serverKey, err := issue("seaweedfs", 2, x509.ExtKeyUsageServerAuth, true)
	if err != nil {
		return FilerClientTLS{}, "", fmt.Errorf("issue server certificate: %w", err)
	}
	internalCert, internalKey, err := issue("seaweedfs-client", 3, x509.ExtKeyUsageClientAuth, false)
	if err != nil {
		return FilerClientTLS{}, "", fmt.Errorf("issue client certificate: %w", err)
	}
	clientCert, clientKey, err := issue("cosi-seaweedfs", 4, x509.ExtKeyUsageClientAuth, false)
	if err != nil {
		return FilerClientTLS{}, "", fmt.Errorf("issue client certificate: %w", err)
	}
	var toml strings.Builder
	fmt.Fprintf(&toml, "[grpc]\nca = %q\n\n", caFile)
	for _, c := range []string{"master", "volume", "filer", "s3"} {
		fmt.Fprintf(&toml, "[grpc.%s]\ncert = %q\nkey = %q\n\n", c, serverCert, serverKey)
	}
	fmt.Fprintf(&toml, "[grpc.client]\ncert = %q\nkey = %q\n", internalCert, internalKey)
	return FilerClientTLS{CertFile: clientCert, KeyFile: clientKey, CAFile: caFile}, toml.String(), nil
}

// writeSecurityTOML writes the sections into the security.toml SeaweedFS
// reads from $HOME/.seaweedfs (HOME is the stack's directory).
func writeSecurityTOML(dir string, sections ...string) error {
	confDir := filepath.Join(dir, ".seaweedfs")
	if err := os.MkdirAll(confDir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(confDir, "security.toml"), []byte(strings.Join(sections, "\n")), 0o600)
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
