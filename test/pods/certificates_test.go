package pods

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// certificate is the part of a cert-manager Certificate that says what to
// issue.
type certificate struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		SecretName string   `json:"secretName"`
		CommonName string   `json:"commonName"`
		DNSNames   []string `json:"dnsNames"`
		IsCA       bool     `json:"isCA"`
	} `json:"spec"`
}

// certificatesIn returns the cert-manager Certificates of rendered
// manifests (helm template's output).
func certificatesIn(rendered []byte) ([]certificate, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(rendered), 4096)
	var out []certificate
	for {
		var c certificate
		err := dec.Decode(&c)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if c.Kind == "Certificate" {
			out = append(out, c)
		}
	}
}

// issueCertificates stands in for cert-manager: it issues what the
// Certificates ask for, the CA first (self-signed, as the chart's
// selfSigned Issuer does) and the others signed by it, into Secrets of ns
// in cert-manager's format (tls.crt, tls.key, ca.crt). The SeaweedFS chart
// with certificates.externalCertificates.enabled mounts exactly these.
func issueCertificates(ctx context.Context, ns string, certs []certificate) error {
	var ca *x509.Certificate
	var caKey *rsa.PrivateKey
	var caPEM []byte
	for _, c := range certs {
		if c.Spec.IsCA {
			var err error
			if ca, caKey, caPEM, err = issue(c, nil, nil); err != nil {
				return err
			}
			if err := tlsSecret(ctx, ns, c.Spec.SecretName, caPEM, caKey, caPEM); err != nil {
				return err
			}
		}
	}
	if ca == nil {
		return errors.New("no CA among the Certificates")
	}
	for _, c := range certs {
		if c.Spec.IsCA {
			continue
		}
		_, key, certPEM, err := issue(c, ca, caKey)
		if err != nil {
			return err
		}
		if err := tlsSecret(ctx, ns, c.Spec.SecretName, certPEM, key, caPEM); err != nil {
			return err
		}
	}
	return nil
}

var serial = big.NewInt(1)

// issue makes the certificate c asks for, signed by parent (self-signed
// when parent is nil).
func issue(c certificate, parent *x509.Certificate, parentKey *rsa.PrivateKey) (*x509.Certificate, *rsa.PrivateKey, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, nil, err
	}
	serial.Add(serial, big.NewInt(1))
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).Set(serial), Subject: pkix.Name{CommonName: c.Spec.CommonName},
		DNSNames: c.Spec.DNSNames, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		// cert-manager's default usages; SeaweedFS's components present
		// these both as servers and as clients of each other.
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if c.Spec.IsCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("issue %s: %w", c.Metadata.Name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func tlsSecret(ctx context.Context, ns, name string, certPEM []byte, key *rsa.PrivateKey, caPEM []byte) error {
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	_, err := env.node.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "ca.crt": caPEM},
	}, metav1.CreateOptions{})
	return err
}
