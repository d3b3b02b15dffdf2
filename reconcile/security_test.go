package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"k8s.io/client-go/informers"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	s3fake "github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/fake"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store/storetest"
)

// Anonymous writes are reported as reads are (the outcome readiness uses,
// and the log line naming them), and an object the check wrote but could
// not delete is named in the log on every check.
func TestAnonymousCheckReportsWritesAndObjectsLeft(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := storetest.FinalizingClientset()
	admin := s3fake.New("cosi-")
	r := &Reconciler{Store: store.New(client, "cosi"), Admin: admin, Cfg: Config{UserPrefix: "cosi-", OwnerID: "owner"}}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace("cosi"))
	inf := Informers{Buckets: factory.Core().V1().ConfigMaps().Informer(), Accesses: factory.Core().V1().Secrets().Informer()}
	var log strings.Builder
	logger := funcr.New(func(prefix, args string) { log.WriteString(args + "\n") }, funcr.Options{})
	c, err := NewController(r, inf, ControllerConfig{Workers: 1, ResyncPeriod: time.Hour}, logger)
	if err != nil {
		t.Fatal(err)
	}
	left := "bucket-one/cosi-seaweedfs-anonymous-write-probe-0123456789ab"
	admin.SetAnonymousAccess(s3admin.AnonymousAccess{Write: true, Left: []string{left}})
	for range 2 {
		c.checkAnonymous(ctx, nil)
	}
	if got := c.Anonymous(); !got.Checked || !got.Access.Write || got.Err() == nil || !strings.Contains(got.Err().Error(), "(write)") {
		t.Errorf("Anonymous() = %+v, Err %v; want write reported", got, got.Err())
	}
	out := log.String()
	if n := strings.Count(out, `"allowed"="write"`); n != 2 {
		t.Errorf("the log names anonymous writes %d times in two checks, want 2:\n%s", n, out)
	}
	if n := strings.Count(out, left); n != 2 {
		t.Errorf("the log names the object left %d times in two checks, want 2:\n%s", n, out)
	}
}
