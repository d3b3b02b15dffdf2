package conformance

import (
	"os"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/driver"
)

// newDriver prepares a driver in dir as the service account of saCfg, on the
// environment's user path, with extra after its flags; in this process
// unless opts say otherwise. The socket lives in dir too: a short /tmp path
// keeps it under the 108-byte limit of unix socket paths.
func (e *environment) newDriver(dir string, saCfg *rest.Config, extra []string, opts ...func(*driver.Config)) (*driver.Driver, error) {
	cfg := driver.Config{
		Dir:       dir,
		Name:      driverName,
		Namespace: driverNamespace,
		Kube:      saCfg,
		Seaweed:   e.stack.Seaweed,
		// The debug level puts each reconcile's steps and client-go's lines
		// into the log that is checked for secrets.
		Verbosity: 2,
		Args: append(append([]string{
			"--user-prefix=" + userPrefix,
			"--resync-period=" + resyncPeriod.String(),
			"--wait-timeout=" + waitTimeout.String(),
			"--leader-elect=true",
			"--grace-period=5s",
			// None by default; TestImportedBuckets sets it (restartSetting).
			"--import-buckets=",
		}, e.pathArgs...), extra...),
	}
	for _, o := range opts {
		o(&cfg)
	}
	return driver.New(cfg)
}

// logLeaks names the secrets — the admin secret key and the secret keys
// Grants returned — that appear in the driver's log, without their values.
func logLeaks(d *driver.Driver) []string {
	log, err := d.Log()
	if err != nil {
		return []string{"(log unreadable: " + err.Error() + ")"}
	}
	var leaked []string
	if strings.Contains(log, env.stack.Seaweed.SecretKey) {
		leaked = append(leaked, "the admin secret key")
	}
	issuedSecrets.Range(func(k, _ any) bool {
		if strings.Contains(log, k.(string)) {
			leaked = append(leaked, "a secret key returned by Grant")
		}
		return true
	})
	return leaked
}

// logSince returns what the driver logged after offset bytes.
func logSince(t testing.TB, d *driver.Driver, offset int64) string {
	t.Helper()
	log, err := d.Log()
	if err != nil {
		t.Fatal(err)
	}
	return log[min(offset, int64(len(log))):]
}

func logSize(t testing.TB, d *driver.Driver) int64 {
	t.Helper()
	fi, err := os.Stat(d.LogPath())
	if err != nil {
		t.Fatalf("stat the driver log: %v", err)
	}
	return fi.Size()
}

// httpGet fetches path from the driver's metrics and probe address.
func httpGet(t testing.TB, d *driver.Driver, path string) (int, string) {
	t.Helper()
	code, body, err := d.Get(path)
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

// samples are scraped values by series.
type samples = driver.Samples

var series = driver.Series

func scrape(t testing.TB, d *driver.Driver) samples {
	t.Helper()
	s, err := d.Scrape()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// leaseHolder is the holder of the driver's leader Lease, "" when none.
func (e *environment) leaseHolder(t testing.TB) string {
	return driver.LeaseHolder(t, e.kube, driverNamespace)
}
