package seaweedfs

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	smithymiddleware "github.com/aws/smithy-go/middleware"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/admintest"
)

// On the IAM query API every call makes SeaweedFS read its whole
// configuration, and reading one user takes several calls: a listing for
// the resync must cost the names and its window, not every user.
func TestIAMQueryListingReadsOnlyItsWindow(t *testing.T) {
	e := newSeaweedEnv(t, fmt.Sprintf("win%04x", time.Now().UnixNano()&0xffff))
	const users, window = 12, 3
	for i := range users {
		e.Backdoor.AddUser(t, e.User(fmt.Sprintf("u%02d", i)))
	}
	var mu sync.Mutex
	iamCalls := 0
	counting := func(stack *smithymiddleware.Stack) error {
		return stack.Initialize.Add(smithymiddleware.InitializeMiddlewareFunc("countIAM",
			func(ctx context.Context, in smithymiddleware.InitializeInput, next smithymiddleware.InitializeHandler) (smithymiddleware.InitializeOutput, smithymiddleware.Metadata, error) {
				if awsmiddleware.GetServiceID(ctx) == "IAM" {
					mu.Lock()
					iamCalls++
					mu.Unlock()
				}
				return next.HandleInitialize(ctx, in)
			}), smithymiddleware.After)
	}
	admin, err := NewSeaweedFS(Config{Endpoint: seaweed.Endpoint, Region: seaweed.Region, AccessKeyID: seaweed.AccessKey,
		SecretAccessKey: seaweed.SecretKey, UserPrefix: e.Prefix, CallTimeout: 30 * time.Second,
		APIOptions: []func(*smithymiddleware.Stack) error{counting}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	observed := map[string]bool{}
	w := s3admin.UserWindow{Limit: window}
	for pass := range users / window {
		mu.Lock()
		iamCalls = 0
		mu.Unlock()
		l, err := admin.ListOwnedUsersWindow(admintest.Context(t), w)
		admintest.MustNil(t, "ListOwnedUsersWindow", err)
		mu.Lock()
		calls := iamCalls
		mu.Unlock()
		// One ListUsers, and at most six reads per user of the window (and at
		// least one, or the count counts nothing).
		t.Logf("pass %d: %d IAM calls", pass+1, calls)
		if calls > 1+6*window || calls <= window {
			t.Errorf("pass %d made %d IAM calls for a window of %d among %d users, want %d to %d", pass+1, calls, window, users, window+1, 1+6*window)
		}
		if len(l.Names) != users || len(l.Users) != window {
			t.Fatalf("pass %d: %d names, %d observed; want %d and %d", pass+1, len(l.Names), len(l.Users), users, window)
		}
		for _, u := range l.Users {
			if !u.Exists || !u.Owned {
				t.Errorf("pass %d observed %+v", pass+1, u)
			}
			observed[u.Name] = true
		}
		w.After = l.Last
	}
	if len(observed) != users {
		t.Fatalf("%d windows of %d observed %d of %d users", users/window, window, len(observed), users)
	}
}
