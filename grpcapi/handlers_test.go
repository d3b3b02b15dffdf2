package grpcapi

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	cosi "sigs.k8s.io/container-object-storage-interface-spec"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/names"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/reconcile"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin"
	s3fake "github.com/cosi-seaweedfs/cosi-seaweedfs/s3admin/fake"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/store/storetest"
)

// The handlers on fakes: the records on a fake API server, SeaweedFS in
// memory, and the reconciler run in place of the controller each time a
// handler nudges it. Each case is one call after a setup, and what it must
// answer.

const testNamespace = "cosi"

// liveCache stands in for an informer cache: it reads the record from the
// fake API server, so a handler sees every status as soon as it is written.
type liveCache struct {
	cache.Store
	get func(ctx context.Context, name string) (any, error)
}

func (c liveCache) GetByKey(key string) (any, bool, error) {
	_, name, _ := strings.Cut(key, "/")
	obj, err := c.get(context.Background(), name)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	return obj, err == nil, err
}

// handlerEnv is one case's driver: the gRPC server, its reconciler and the
// fake SeaweedFS behind it.
type handlerEnv struct {
	srv   *Server
	admin *s3fake.Fake
	// reconcileOff stops the nudges from reconciling: the intent is recorded
	// and nothing applies it.
	reconcileOff bool
	// client is the fake API server holding the records.
	client *fake.Clientset
	// logs are the server's log lines, as JSON.
	logMu sync.Mutex
	logs  []string
}

// logLines returns the server's log lines so far.
func (env *handlerEnv) logLines() []string {
	env.logMu.Lock()
	defer env.logMu.Unlock()
	return slices.Clone(env.logs)
}

func newHandlerEnv(t *testing.T) (context.Context, *handlerEnv) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	client := storetest.FinalizingClientset()
	st := store.New(client, testNamespace)
	env := &handlerEnv{admin: s3fake.New("cosi-"), client: client}
	log := funcr.NewJSON(func(line string) {
		env.logMu.Lock()
		defer env.logMu.Unlock()
		env.logs = append(env.logs, line)
	}, funcr.Options{})
	r := &reconcile.Reconciler{Store: st, Admin: env.admin, Cfg: reconcile.Config{UserPrefix: "cosi-", OwnerID: "owner",
		BlockedInterval: time.Second, UnfinishedInterval: time.Millisecond}}
	nudge := func(kind, name string) {
		if env.reconcileOff {
			return
		}
		// A record may need several rounds (a deletion revokes accesses
		// first); the controller would requeue it the same way.
		for range 5 {
			res, err := r.Reconcile(ctx, reconcile.Key{Kind: kind, Name: name})
			if err == nil && !res.Requeue && res.RequeueAfter == 0 {
				return
			}
		}
	}
	env.srv = NewServer(Config{DriverName: "cosi.seaweedfs.io", Endpoint: "http://seaweedfs:8333", Region: "us-east-1",
		UserPrefix: "cosi-", WaitTimeout: 300 * time.Millisecond, PollInterval: 5 * time.Millisecond},
		st, configMaps(client), secrets(client), nudge, log)
	return ctx, env
}

func configMaps(c kubernetes.Interface) cache.Store {
	return liveCache{get: func(ctx context.Context, name string) (any, error) {
		return c.CoreV1().ConfigMaps(testNamespace).Get(ctx, name, metav1.GetOptions{})
	}}
}

func secrets(c kubernetes.Interface) cache.Store {
	return liveCache{get: func(ctx context.Context, name string) (any, error) {
		return c.CoreV1().Secrets(testNamespace).Get(ctx, name, metav1.GetOptions{})
	}}
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("got %v (%v), want %v", got, err, want)
	}
}

func createBucket(ctx context.Context, t *testing.T, env *handlerEnv, name string, params map[string]string) string {
	t.Helper()
	resp, err := env.srv.DriverCreateBucket(ctx, &cosi.DriverCreateBucketRequest{Name: name, Parameters: params})
	if err != nil {
		t.Fatalf("DriverCreateBucket %s: %v", name, err)
	}
	return resp.GetBucketId()
}

func grant(ctx context.Context, t *testing.T, env *handlerEnv, bucketID, name string) *cosi.DriverGrantBucketAccessResponse {
	t.Helper()
	resp, err := env.srv.DriverGrantBucketAccess(ctx, &cosi.DriverGrantBucketAccessRequest{BucketId: bucketID, Name: name,
		AuthenticationType: cosi.AuthenticationType_Key})
	if err != nil {
		t.Fatalf("DriverGrantBucketAccess %s: %v", name, err)
	}
	return resp
}

func TestDriverCreateBucket(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(ctx context.Context, t *testing.T, env *handlerEnv)
		req   *cosi.DriverCreateBucketRequest
		want  codes.Code
	}{
		{name: "should create a bucket and answer its id", req: &cosi.DriverCreateBucketRequest{Name: "bucket-a"}, want: codes.OK},
		{name: "should answer OK when the same name and parameters are repeated",
			setup: func(ctx context.Context, t *testing.T, env *handlerEnv) { createBucket(ctx, t, env, "bucket-a", nil) },
			req:   &cosi.DriverCreateBucketRequest{Name: "bucket-a"}, want: codes.OK},
		{name: "should answer ALREADY_EXISTS for the same name with other parameters",
			setup: func(ctx context.Context, t *testing.T, env *handlerEnv) { createBucket(ctx, t, env, "bucket-a", nil) },
			req:   &cosi.DriverCreateBucketRequest{Name: "bucket-a", Parameters: map[string]string{ParamPurge: "true"}}, want: codes.AlreadyExists},
		{name: "should answer ALREADY_EXISTS for a bucket the driver did not create, and leave it alone",
			setup: func(ctx context.Context, t *testing.T, env *handlerEnv) {
				env.admin.AddBucketBy("someone", "bucket-a", nil)
			},
			req: &cosi.DriverCreateBucketRequest{Name: "bucket-a"}, want: codes.AlreadyExists},
		{name: "should answer INVALID_ARGUMENT for an empty name", req: &cosi.DriverCreateBucketRequest{}, want: codes.InvalidArgument},
		{name: "should answer INVALID_ARGUMENT for an unknown parameter",
			req: &cosi.DriverCreateBucketRequest{Name: "bucket-a", Parameters: map[string]string{"color": "blue"}}, want: codes.InvalidArgument},
		{name: "should answer UNAVAILABLE while the bucket is not created yet",
			setup: func(ctx context.Context, t *testing.T, env *handlerEnv) { env.reconcileOff = true },
			req:   &cosi.DriverCreateBucketRequest{Name: "bucket-a"}, want: codes.Unavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, env := newHandlerEnv(t)
			if tt.setup != nil {
				tt.setup(ctx, t, env)
			}
			resp, err := env.srv.DriverCreateBucket(ctx, tt.req)
			wantCode(t, err, tt.want)
			if err == nil && resp.GetBucketId() != names.BucketID(tt.req.GetName()) {
				t.Fatalf("bucket id %q, want %q", resp.GetBucketId(), names.BucketID(tt.req.GetName()))
			}
		})
	}
}

func TestDriverDeleteBucket(t *testing.T) {
	for _, tt := range []struct {
		name      string
		setup     func(ctx context.Context, t *testing.T, env *handlerEnv)
		bucketID  string
		want      codes.Code
		wantGone  bool
		wantThere bool
	}{
		{name: "should delete a bucket the driver created",
			setup:    func(ctx context.Context, t *testing.T, env *handlerEnv) { createBucket(ctx, t, env, "bucket-a", nil) },
			bucketID: "bucket-a", want: codes.OK, wantGone: true},
		{name: "should answer OK for a bucket it does not know, and touch nothing",
			setup:    func(ctx context.Context, t *testing.T, env *handlerEnv) { env.admin.AddBucket("bucket-a", nil) },
			bucketID: "bucket-a", want: codes.OK, wantThere: true},
		{name: "should answer OK when repeated after the bucket is gone",
			setup: func(ctx context.Context, t *testing.T, env *handlerEnv) {
				id := createBucket(ctx, t, env, "bucket-a", nil)
				if _, err := env.srv.DriverDeleteBucket(ctx, &cosi.DriverDeleteBucketRequest{BucketId: id}); err != nil {
					t.Fatal(err)
				}
			},
			bucketID: "bucket-a", want: codes.OK, wantGone: true},
		{name: "should answer FAILED_PRECONDITION for a bucket that is not empty and not to be purged",
			setup: func(ctx context.Context, t *testing.T, env *handlerEnv) {
				createBucket(ctx, t, env, "bucket-a", nil)
				if err := env.admin.PutObject("bucket-a", "data"); err != nil {
					t.Fatal(err)
				}
			},
			bucketID: "bucket-a", want: codes.FailedPrecondition, wantThere: true},
		{name: "should delete a bucket that is not empty when its class says purge",
			setup: func(ctx context.Context, t *testing.T, env *handlerEnv) {
				createBucket(ctx, t, env, "bucket-a", map[string]string{ParamPurge: "true"})
				if err := env.admin.PutObject("bucket-a", "data"); err != nil {
					t.Fatal(err)
				}
			},
			bucketID: "bucket-a", want: codes.OK, wantGone: true},
		{name: "should answer INVALID_ARGUMENT for an empty bucket id", want: codes.InvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, env := newHandlerEnv(t)
			if tt.setup != nil {
				tt.setup(ctx, t, env)
			}
			_, err := env.srv.DriverDeleteBucket(ctx, &cosi.DriverDeleteBucketRequest{BucketId: tt.bucketID})
			wantCode(t, err, tt.want)
			if tt.wantGone || tt.wantThere {
				st, err := env.admin.ObserveBucket(ctx, tt.bucketID, s3admin.Ownership{})
				if err != nil {
					t.Fatal(err)
				}
				if st.Exists != tt.wantThere {
					t.Fatalf("bucket exists: %t, want %t", st.Exists, tt.wantThere)
				}
			}
		})
	}
}

func TestDriverGrantBucketAccess(t *testing.T) {
	grantReq := func(bucketID, name string, params map[string]string) *cosi.DriverGrantBucketAccessRequest {
		return &cosi.DriverGrantBucketAccessRequest{BucketId: bucketID, Name: name, Parameters: params,
			AuthenticationType: cosi.AuthenticationType_Key}
	}
	withBucket := func(ctx context.Context, t *testing.T, env *handlerEnv) { createBucket(ctx, t, env, "bucket-a", nil) }
	for _, tt := range []struct {
		name  string
		setup func(ctx context.Context, t *testing.T, env *handlerEnv)
		req   *cosi.DriverGrantBucketAccessRequest
		want  codes.Code
	}{
		{name: "should grant an access and answer its user and credentials",
			setup: withBucket, req: grantReq("bucket-a", "ba-one", nil), want: codes.OK},
		{name: "should answer the same credentials when repeated",
			setup: func(ctx context.Context, t *testing.T, env *handlerEnv) {
				withBucket(ctx, t, env)
				grant(ctx, t, env, "bucket-a", "ba-one")
			},
			req: grantReq("bucket-a", "ba-one", nil), want: codes.OK},
		{name: "should answer FAILED_PRECONDITION for the same name with another mode",
			setup: func(ctx context.Context, t *testing.T, env *handlerEnv) {
				withBucket(ctx, t, env)
				grant(ctx, t, env, "bucket-a", "ba-one")
			},
			req: grantReq("bucket-a", "ba-one", map[string]string{ParamMode: "read-only"}), want: codes.FailedPrecondition},
		{name: "should answer NOT_FOUND for a bucket the driver did not create",
			setup: func(ctx context.Context, t *testing.T, env *handlerEnv) { env.admin.AddBucket("bucket-a", nil) },
			req:   grantReq("bucket-a", "ba-one", nil), want: codes.NotFound},
		{name: "should answer INVALID_ARGUMENT for an unknown mode",
			setup: withBucket, req: grantReq("bucket-a", "ba-one", map[string]string{ParamMode: "everything"}), want: codes.InvalidArgument},
		{name: "should answer INVALID_ARGUMENT for IAM authentication", setup: withBucket,
			req:  &cosi.DriverGrantBucketAccessRequest{BucketId: "bucket-a", Name: "ba-one", AuthenticationType: cosi.AuthenticationType_IAM},
			want: codes.InvalidArgument},
		{name: "should answer INVALID_ARGUMENT for an empty name", setup: withBucket,
			req: grantReq("bucket-a", "", nil), want: codes.InvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, env := newHandlerEnv(t)
			if tt.setup != nil {
				tt.setup(ctx, t, env)
			}
			resp, err := env.srv.DriverGrantBucketAccess(ctx, tt.req)
			wantCode(t, err, tt.want)
			if err != nil {
				return
			}
			if want := names.User("cosi-", names.AccessID(tt.req.GetName())); resp.GetAccountId() != want {
				t.Fatalf("account id %q, want %q", resp.GetAccountId(), want)
			}
			creds := resp.GetCredentials()[credS3].GetSecrets()
			if creds[credAccessKeyID] == "" || creds[credAccessSecretKey] == "" || creds[credEndpoint] != "http://seaweedfs:8333" {
				t.Fatalf("credentials incomplete: endpoint %q, key id set %t", creds[credEndpoint], creds[credAccessKeyID] != "")
			}
			ok, err := env.admin.KeyAccepted(ctx, s3admin.Access{User: resp.GetAccountId(), Bucket: tt.req.GetBucketId(),
				Mode: s3admin.ModeReadWrite, AccessKeyID: creds[credAccessKeyID], SecretAccessKey: creds[credAccessSecretKey]})
			if err != nil || !ok {
				t.Fatalf("the granted key is not accepted: %t, %v", ok, err)
			}
			if tt.name == "should answer the same credentials when repeated" {
				again := grant(ctx, t, env, tt.req.GetBucketId(), tt.req.GetName())
				if again.GetCredentials()[credS3].GetSecrets()[credAccessKeyID] != creds[credAccessKeyID] {
					t.Fatal("a repeated grant answered another key")
				}
			}
		})
	}
}

func TestDriverRevokeBucketAccess(t *testing.T) {
	for _, tt := range []struct {
		name string
		// setup returns the account id to revoke.
		setup    func(ctx context.Context, t *testing.T, env *handlerEnv) string
		bucketID string
		want     codes.Code
		// wantUser: whether the granted user still exists afterwards.
		wantUser bool
	}{
		{name: "should revoke an access and remove its user",
			setup: func(ctx context.Context, t *testing.T, env *handlerEnv) string {
				createBucket(ctx, t, env, "bucket-a", nil)
				return grant(ctx, t, env, "bucket-a", "ba-one").GetAccountId()
			},
			bucketID: "bucket-a", want: codes.OK},
		{name: "should answer OK for an account it never issued",
			setup: func(ctx context.Context, t *testing.T, env *handlerEnv) string {
				return "cosi-" + names.AccessID("ba-unknown")
			},
			bucketID: "bucket-a", want: codes.OK},
		{name: "should answer OK for an account of another bucket, and revoke nothing",
			setup: func(ctx context.Context, t *testing.T, env *handlerEnv) string {
				createBucket(ctx, t, env, "bucket-a", nil)
				createBucket(ctx, t, env, "bucket-b", nil)
				return grant(ctx, t, env, "bucket-a", "ba-one").GetAccountId()
			},
			bucketID: "bucket-b", want: codes.OK, wantUser: true},
		{name: "should answer OK when repeated",
			setup: func(ctx context.Context, t *testing.T, env *handlerEnv) string {
				createBucket(ctx, t, env, "bucket-a", nil)
				account := grant(ctx, t, env, "bucket-a", "ba-one").GetAccountId()
				if _, err := env.srv.DriverRevokeBucketAccess(ctx, &cosi.DriverRevokeBucketAccessRequest{BucketId: "bucket-a", AccountId: account}); err != nil {
					t.Fatal(err)
				}
				return account
			},
			bucketID: "bucket-a", want: codes.OK},
		{name: "should answer INVALID_ARGUMENT for an empty account id",
			setup:    func(context.Context, *testing.T, *handlerEnv) string { return "" },
			bucketID: "bucket-a", want: codes.InvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, env := newHandlerEnv(t)
			account := tt.setup(ctx, t, env)
			_, err := env.srv.DriverRevokeBucketAccess(ctx, &cosi.DriverRevokeBucketAccessRequest{BucketId: tt.bucketID, AccountId: account})
			wantCode(t, err, tt.want)
			if err != nil || account == "" {
				return
			}
			st, err := env.admin.ObserveUser(ctx, account)
			if err != nil {
				t.Fatal(err)
			}
			if st.Exists != tt.wantUser {
				t.Fatalf("user exists: %t, want %t", st.Exists, tt.wantUser)
			}
		})
	}
}

func TestDriverGetInfo(t *testing.T) {
	id := &Identity{Name: "cosi.seaweedfs.io", Log: logr.Discard()}
	resp, err := id.DriverGetInfo(context.Background(), &cosi.DriverGetInfoRequest{})
	if err != nil || resp.GetName() != "cosi.seaweedfs.io" {
		t.Fatalf("DriverGetInfo = %q, %v", resp.GetName(), err)
	}
}
