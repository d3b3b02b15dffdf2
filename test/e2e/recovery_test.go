package e2e

import (
	"testing"
	"time"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/e2e/framework"
)

// The COSI controller and the driver's pod both go away while a claim and an
// access are in flight: once they are back, the claim is ready, the access is
// granted once, and its keys work. Locally the controller stand-in is stopped
// and the driver and sidecar processes restarted; in a cluster their pods are
// deleted (E2E_CONTROLLER_NAMESPACE and E2E_DRIVER_NAMESPACE).
func TestControllerAndDriverReplacedMidFlow(t *testing.T) {
	setup(t)
	if env.restart == nil {
		t.Skip(errNoRestart)
	}
	if env.replaceController == nil {
		t.Skip(errNoControllerRestart)
	}
	ns := newNamespace(t)
	bucketClass := createBucketClass(t, framework.DeletionPolicyDelete, purgeOnDelete)
	accessClass := createAccessClass(t, nil)

	began := time.Now()
	var secret string
	err := env.replaceController(t, func() {
		// The claim is created while no controller runs: nothing can make
		// its Bucket until the controller is back.
		createClaim(t, ns, "data", bucketClass)
		if err := env.restart(t, func() {
			// The access is asked for while the driver is gone as well.
			secret = createAccess(t, ns, "app", "data", accessClass)
		}); err != nil {
			t.Fatalf("replace the driver: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("replace the controller: %v", err)
	}
	t.Logf("controller and driver replaced in %s", time.Since(began).Round(time.Millisecond))
	waitClaimReady(t, ns, "data")
	a := waitAccessGranted(t, ns, "app", secret)
	requireS3(t, a)
	roundTrip(t, a)
	if env.adminIAM != nil {
		requireUser(t, a.AccountID, true)
	}
}
