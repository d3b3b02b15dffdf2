package app

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/health"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/reconcile"
	s3fake "github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/fake"
)

// SeaweedFS serves its IAM API read-only unless told otherwise: anonymous
// requests are refused, the admin key reads users and buckets, and only the
// first grant would fail. Readiness fails on it, naming the setting.
func TestReadinessFailsWhileUserWritesAreDisabled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	admin := s3fake.New("cosi-")
	ready, live := health.New(5*time.Second, nil), health.New(5*time.Second, nil)
	var leading atomic.Bool
	closeProbe, err := addChecks(ready, live, Config{UserPrefix: "cosi-"}, t.TempDir()+"/cosi.sock", admin, reconcile.Informers{
		Buckets:  factory.Core().V1().ConfigMaps().Informer(),
		Accesses: factory.Core().V1().Secrets().Informer(),
	}, leading.Load)
	if err != nil {
		t.Fatal(err)
	}
	defer closeProbe()

	check := func() error { return ready.Run(ctx, CheckSeaweedFS)[0].Err }
	if err := check(); err != nil {
		t.Fatalf("seaweedfs check on a store taking user writes: %v", err)
	}
	admin.SetUserWritesDisabled(true)
	// A standby makes no write, this check's included: it has none to make.
	if err := check(); err != nil {
		t.Fatalf("seaweedfs check on a standby: %v", err)
	}
	leading.Store(true)
	err = check()
	if err == nil {
		t.Fatal("seaweedfs check passed while user writes are disabled")
	}
	for _, want := range []string{"-s3.iam.readOnly=false", "-iam.readOnly=false"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the failed check does not name %s: %v", want, err)
		}
	}
	admin.SetUserWritesDisabled(false)
	if err := check(); err != nil {
		t.Fatalf("seaweedfs check once user writes are enabled again: %v", err)
	}
}
