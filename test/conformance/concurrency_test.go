package conformance

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/driver"
)

// TestConcurrentCalls: the sidecar runs up to 40 workers, and a retry of one
// object can overlap a slow earlier call for it.
func TestConcurrentCalls(t *testing.T) {
	e := mustEnv(t)
	const distinct, calls = 10, 40
	// Grants go to buckets that are ready already, as the COSI controller
	// grants only on a ready Bucket.
	var ready []string
	for range distinct / 2 {
		ready = append(ready, e.mustCreateBucket(t, bucketName(), nil))
	}
	buckets, accesses := make([]string, distinct), make([]string, distinct)
	for i := range distinct {
		buckets[i] = bucketName()
		accesses[i], _ = e.bucketAccess(t)
		t.Cleanup(func() { e.cleanupBucket(t, buckets[i]) })
	}
	beforeB, beforeR := e.backend(t), e.records(t)

	t.Run("40 concurrent Create and Grant calls, half of them duplicates, all return OK and duplicates answer identically", func(t *testing.T) {
		type result struct {
			resp        proto.Message
			unavailable int
			err         error
		}
		results := make([]result, calls)
		start := make(chan struct{})
		var wg sync.WaitGroup
		// Calls 2j and 2j+1 are the same request: j < distinct creates
		// bucket j, j >= distinct grants access j-distinct.
		for i := range calls {
			j := i / 2
			wg.Go(func() {
				<-start
				var r result
				if j < distinct {
					r.resp, r.unavailable, r.err = retry(t, func(c context.Context) (proto.Message, error) {
						return e.driver.Provisioner().DriverCreateBucket(c, &cosi.DriverCreateBucketRequest{Name: buckets[j]})
					})
				} else {
					k := j - distinct
					req := grantRequest(ready[k%len(ready)], accesses[k], nil)
					var resp *cosi.DriverGrantBucketAccessResponse
					resp, r.unavailable, r.err = retry(t, func(c context.Context) (*cosi.DriverGrantBucketAccessResponse, error) {
						return e.driver.Provisioner().DriverGrantBucketAccess(c, req)
					})
					for _, cred := range resp.GetCredentials() {
						rememberSecret(cred.GetSecrets()["accessSecretKey"])
					}
					r.resp = resp
				}
				results[i] = r
			})
		}
		began := time.Now()
		close(start)
		wg.Wait()
		unavailable := 0
		for _, r := range results {
			unavailable += r.unavailable
		}
		t.Logf("%d calls finished in %s; %d UNAVAILABLE answers were retried", calls, time.Since(began).Round(time.Millisecond), unavailable)

		for i, r := range results {
			if r.err != nil {
				t.Fatalf("call %d: %v", i, r.err)
			}
		}
		for i := 0; i < calls; i += 2 {
			if !bytes.Equal(driver.Wire(t, results[i].resp), driver.Wire(t, results[i+1].resp)) {
				t.Errorf("calls %d and %d are the same request but answered differently", i, i+1)
			}
		}

		t.Run("Exactly one bucket and one record exist per bucket name", func(t *testing.T) {
			var wantB, wantR []string
			for j := range distinct {
				id := results[2*j].resp.(*cosi.DriverCreateBucketResponse).GetBucketId()
				wantB = append(wantB, id)
				wantR = append(wantR, names.BucketRecord(id))
			}
			slices.Sort(wantB)
			slices.Sort(wantR)
			if d := cmp.Diff(wantB, added(beforeB.Buckets, e.backend(t).Buckets)); d != "" {
				t.Errorf("buckets added to SeaweedFS (-want +got):\n%s", d)
			}
			if d := cmp.Diff(wantR, added(beforeR.Buckets, e.records(t).Buckets)); d != "" {
				t.Errorf("bucket records added (-want +got):\n%s", d)
			}
		})

		t.Run("Exactly one user with exactly the returned key and one record exist per access name", func(t *testing.T) {
			wantU := map[string][]string{}
			var wantR []string
			for j := distinct; j < calls/2; j++ {
				a := accessFrom(results[2*j].resp.(*cosi.DriverGrantBucketAccessResponse))
				wantU[a.account] = []string{a.keyID}
				wantR = append(wantR, accessRecordOf(a))
			}
			slices.Sort(wantR)
			after := e.backend(t)
			gotU := map[string][]string{}
			for u, keys := range after.Users {
				if _, had := beforeB.Users[u]; !had {
					gotU[u] = keys
				}
			}
			if d := cmp.Diff(wantU, gotU); d != "" {
				t.Errorf("users added to SeaweedFS (-want +got):\n%s", d)
			}
			if d := cmp.Diff(wantR, added(beforeR.Accesses, e.records(t).Accesses)); d != "" {
				t.Errorf("access records added (-want +got):\n%s", d)
			}
		})
	})
}
