package node

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
	"time"
)

// identity is a client certificate and key as PEM files, for one component's
// kubeconfig.
type identity struct {
	certFile, keyFile string
}

// pki is the node's certificate authority and every file the components are
// started with. ECDSA P-256 keeps generation to milliseconds.
type pki struct {
	dir        string
	caFile     string
	caKey      *ecdsa.PrivateKey
	ca         *x509.Certificate
	saPub      string
	saKey      string
	serving    identity // the apiserver's serving certificate
	identities map[string]identity
}

// clientIdentities are the users the components authenticate as. The
// apiserver's bootstrap RBAC policy binds each of these names (or groups) to
// the role that component needs, as in any kubeadm cluster.
var clientIdentities = map[string]pkix.Name{
	"admin":                   {CommonName: "node-admin", Organization: []string{"system:masters"}},
	"kube-controller-manager": {CommonName: "system:kube-controller-manager"},
	"kube-scheduler":          {CommonName: "system:kube-scheduler"},
	"kube-proxy":              {CommonName: "system:kube-proxy"},
	"kubelet":                 {CommonName: "system:node:" + NodeName, Organization: []string{"system:nodes"}},
	// The apiserver's identity towards the kubelet (logs, exec); the
	// bootstrap policy gives this name's group nothing, so it is a master.
	"apiserver-kubelet-client": {CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}},
}

func writePKI(dir string) (*pki, error) {
	dir = filepath.Join(dir, "pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pki dir: %w", err)
	}
	p := &pki{dir: dir, identities: map[string]identity{}}
	var err error
	if p.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:   pkix.Name{CommonName: "node-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := sign(tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		return nil, fmt.Errorf("sign CA: %w", err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	p.caFile = filepath.Join(dir, "ca.crt")
	if err := writePEM(p.caFile, "CERTIFICATE", der); err != nil {
		return nil, err
	}

	// Clients reach the apiserver at the node IP (pods, through the
	// kubernetes Service's endpoint), at the Service's cluster IP, by its
	// names, and at 127.0.0.1 inside the namespace (the tests, helm).
	p.serving, err = p.issue("apiserver", pkix.Name{CommonName: "kube-apiserver"}, x509.ExtKeyUsageServerAuth,
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(NodeIP), net.ParseIP(APIServiceIP)},
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + ClusterDomain})
	if err != nil {
		return nil, err
	}
	for name, subject := range clientIdentities {
		id, err := p.issue(name, subject, x509.ExtKeyUsageClientAuth, nil, nil)
		if err != nil {
			return nil, err
		}
		p.identities[name] = id
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate service-account key: %w", err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(saKey)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	p.saKey, p.saPub = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if err := writePEM(p.saKey, "PRIVATE KEY", priv); err != nil {
		return nil, err
	}
	if err := writePEM(p.saPub, "PUBLIC KEY", pub); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *pki) issue(name string, subject pkix.Name, usage x509.ExtKeyUsage, ips []net.IP, dns []string) (identity, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return identity{}, fmt.Errorf("generate %s key: %w", name, err)
	}
	tmpl := &x509.Certificate{
		Subject:   subject,
		NotBefore: p.ca.NotBefore, NotAfter: p.ca.NotAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: ips, DNSNames: dns,
	}
	der, err := sign(tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		return identity{}, fmt.Errorf("sign %s: %w", name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return identity{}, err
	}
	id := identity{certFile: filepath.Join(p.dir, name+".crt"), keyFile: filepath.Join(p.dir, name+".key")}
	if err := writePEM(id.certFile, "CERTIFICATE", der); err != nil {
		return identity{}, err
	}
	if err := writePEM(id.keyFile, "PRIVATE KEY", keyDER); err != nil {
		return identity{}, err
	}
	return id, nil
}

func sign(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
}

func writePEM(path, typ string, der []byte) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
