package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/e2e/framework"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/stack"
)

// up starts the stack in the background if it is not running yet, then
// provisions the examples and shows the result.
func up(root, dir string) error {
	began := time.Now()
	var sup process
	_ = readJSON(filepath.Join(dir, supervisorFile), &sup)
	var st state
	switch err := readJSON(filepath.Join(dir, stateFile), &st); {
	case err == nil && sup.alive():
		fmt.Println("demo: the stack is already running (make demo-down stops it)")
	case sup.alive():
		return fmt.Errorf("a demo supervisor (pid %d) is starting or failed; see %s, or run make demo-down", sup.PID, filepath.Join(dir, supervisorLog))
	default:
		if _, err := os.Stat(dir); err == nil {
			return fmt.Errorf("%s is left from an earlier demo; run make demo-down first", dir)
		}
		for _, bin := range []string{"etcd", "kube-apiserver", "weed", "objectstorage-sidecar", "cosi-seaweedfs"} {
			if _, err := stack.Binary(bin); err != nil {
				return fmt.Errorf("%w (make tools build)", err)
			}
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		fmt.Println("demo: starting etcd, kube-apiserver, SeaweedFS, the driver and the COSI sidecar in the background")
		if sup, err = startSupervisor(dir); err != nil {
			return err
		}
		if st, err = awaitSupervisor(dir, sup); err != nil {
			return err
		}
		fmt.Printf("demo: everything is up after %s\n", since(began))
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", st.Kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d := &demo{kube: kube, dyn: dyn, st: st}
	if err := d.provision(ctx, filepath.Join(root, "examples")); err != nil {
		return err
	}
	if err := d.roundTrip(ctx); err != nil {
		return err
	}
	d.printHowTo(root)
	return nil
}

// awaitSupervisor waits until the supervisor wrote its state, printing
// progress, and fails early if it reports a failure or exits.
func awaitSupervisor(dir string, sup process) (state, error) {
	var st state
	began := time.Now()
	nextNote := 10 * time.Second
	for {
		if err := readJSON(filepath.Join(dir, stateFile), &st); err == nil {
			return st, nil
		}
		if msg, err := os.ReadFile(filepath.Join(dir, failedFile)); err == nil {
			return st, fmt.Errorf("the stack did not start: %s(log: %s; make demo-down cleans up)", msg, filepath.Join(dir, supervisorLog))
		}
		if !sup.alive() {
			return st, fmt.Errorf("the supervisor exited during the start; see %s (make demo-down cleans up)", filepath.Join(dir, supervisorLog))
		}
		if time.Since(began) > 4*time.Minute {
			return st, fmt.Errorf("the stack is not ready after %s; see %s (make demo-down stops it)", since(began), filepath.Join(dir, supervisorLog))
		}
		if time.Since(began) > nextNote {
			fmt.Printf("demo: still starting (%s) ...\n", since(began))
			nextNote += 10 * time.Second
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type demo struct {
	kube kubernetes.Interface
	dyn  dynamic.Interface
	st   state
	// Filled by provision.
	rw, ro *framework.BucketInfo
}

// provision applies the examples and waits for the claim and the accesses.
func (d *demo) provision(ctx context.Context, examples string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNamespace}}
	if _, err := d.kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", demoNamespace, err)
	}
	fmt.Printf("demo: applying %s/*.yaml (claims and accesses into namespace %s)\n", filepath.Base(examples), demoNamespace)
	fmt.Println("      each BucketAccess gets the finalizer the COSI sidecar v0.1.0 would add itself: that sidecar")
	fmt.Println("      cannot finish an access otherwise (test/e2e/README.md explains why)")
	objs, err := framework.ApplyExamples(ctx, d.dyn, examples, demoNamespace, true)
	for _, o := range objs {
		fmt.Printf("      %s %s\n", o.GetKind(), qualified(o))
	}
	if err != nil {
		return err
	}

	for _, o := range objs {
		if o.GetKind() != "BucketClaim" {
			continue
		}
		fmt.Printf("demo: waiting for BucketClaim %s (a stand-in for the COSI controller creates its Bucket) ...\n", qualified(o))
		t0 := time.Now()
		var bucket *unstructured.Unstructured
		err := wait(ctx, func(ctx context.Context) (bool, error) {
			claim, err := d.dyn.Resource(framework.BucketClaimGVR).Namespace(o.GetNamespace()).Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			name := framework.Str(claim, "status", "bucketName")
			if name == "" || !framework.Bool(claim, "status", "bucketReady") {
				return false, nil
			}
			bucket, err = d.dyn.Resource(framework.BucketGVR).Get(ctx, name, metav1.GetOptions{})
			return err == nil, err
		})
		if err != nil {
			return fmt.Errorf("BucketClaim %s: %w", qualified(o), err)
		}
		fmt.Printf("      ready after %s: Bucket %s, S3 bucket %s\n", since(t0), bucket.GetName(), framework.Str(bucket, "status", "bucketID"))
	}

	for _, o := range objs {
		if o.GetKind() != "BucketAccess" {
			continue
		}
		fmt.Printf("demo: waiting for BucketAccess %s ...\n", qualified(o))
		t0 := time.Now()
		var account string
		err := wait(ctx, func(ctx context.Context) (bool, error) {
			ba, err := d.dyn.Resource(framework.BucketAccessGVR).Namespace(o.GetNamespace()).Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			account = framework.Str(ba, "status", "accountID")
			return framework.Bool(ba, "status", "accessGranted") && account != "", nil
		})
		if err != nil {
			return fmt.Errorf("BucketAccess %s: %w", qualified(o), err)
		}
		secretName := framework.Str(o, "spec", "credentialsSecretName")
		secret, err := d.kube.CoreV1().Secrets(o.GetNamespace()).Get(ctx, secretName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("credentials Secret of %s: %w", qualified(o), err)
		}
		info, err := framework.ParseBucketInfo(secret)
		if err != nil {
			return err
		}
		fmt.Printf("      granted after %s: SeaweedFS user %s, Secret %s/%s\n", since(t0), account, o.GetNamespace(), secretName)
		if d.rw == nil && !strings.Contains(o.GetName(), "read-only") {
			d.rw = info
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, secret.Data[framework.BucketInfoKey], "      ", "  "); err != nil {
				return fmt.Errorf("format BucketInfo: %w", err)
			}
			// Deliberately shown: test credentials issued for this demo.
			fmt.Printf("demo: Secret %s/%s, key %s (test credentials issued by the driver):\n      %s\n",
				o.GetNamespace(), secretName, framework.BucketInfoKey, pretty.String())
		} else if strings.Contains(o.GetName(), "read-only") {
			d.ro = info
		}
	}
	if d.rw == nil {
		return errors.New("the examples hold no read-write BucketAccess")
	}
	return nil
}

// roundTrip uses the issued credentials as a workload would.
func (d *demo) roundTrip(ctx context.Context) error {
	endpoint := d.st.S3Endpoint
	if ep := d.rw.Spec.S3.Endpoint; ep != endpoint {
		fmt.Printf("demo: the Secret names endpoint %s (the COSI sidecar v0.1.0 always writes that);\n      the workload is configured with the SeaweedFS endpoint %s instead\n", ep, endpoint)
	}
	bucket := d.rw.Spec.BucketName
	key := "hello.txt"
	body := "hello from cosi-seaweedfs, " + time.Now().UTC().Format(time.RFC3339)
	c := d.rw.Client(endpoint)
	fmt.Printf("demo: S3 round trip with the issued credentials against %s\n", endpoint)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		return fmt.Errorf("PutObject s3://%s/%s: %w", bucket, key, err)
	}
	fmt.Printf("      PUT s3://%s/%s\n", bucket, key)
	got, err := get(ctx, c, bucket, key)
	if err != nil {
		return fmt.Errorf("GetObject s3://%s/%s: %w", bucket, key, err)
	}
	if got != body {
		return fmt.Errorf("GetObject s3://%s/%s returned %q, want %q", bucket, key, got, body)
	}
	fmt.Printf("      GET s3://%s/%s -> %q\n", bucket, key, got)
	if d.ro != nil {
		rc := d.ro.Client(endpoint)
		if _, err := get(ctx, rc, bucket, key); err != nil {
			return fmt.Errorf("GetObject with the read-only credentials: %w", err)
		}
		_, err := rc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("denied.txt"), Body: strings.NewReader("x")})
		var re *smithyhttp.ResponseError
		switch {
		case err == nil:
			return errors.New("PutObject with the read-only credentials succeeded, want it denied")
		case !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden:
			return fmt.Errorf("PutObject with the read-only credentials, want HTTP 403: %w", err)
		}
		code := "403"
		var ae smithy.APIError
		if errors.As(err, &ae) {
			code = ae.ErrorCode()
		}
		fmt.Printf("      read-only credentials: GET works, PUT is denied (%s)\n", code)
	}
	return nil
}

func (d *demo) printHowTo(root string) {
	rel := func(p string) string {
		if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return p
	}
	fmt.Printf(`demo: the stack keeps running.
      Kubernetes API:  export KUBECONFIG=%s   (admin; e.g. kubectl get bucketclaims,bucketaccesses -A)
      S3 endpoint:     %s (region %s); credentials are in the Secrets above
      logs:            %s/{driver,sidecar}.log, .demo/kube/*.log, .demo/seaweed/seaweedfs.log
      A stand-in for the COSI controller runs with the stack: a new BucketClaim gets its Bucket;
      give each new BucketAccess the finalizer %s (sidecar v0.1.0).
      Stop everything: make demo-down
`, d.st.Kubeconfig, d.st.S3Endpoint, d.st.S3Region, rel(d.st.LocalDir), framework.FinalizerBucketAccess)
}

func get(ctx context.Context, c *s3.Client, bucket, key string) (string, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

// wait polls done every 200 ms until it is true, prints a dot each few
// seconds, and gives up after two minutes with the last error.
func wait(ctx context.Context, done func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var last error
	for i := 0; ; i++ {
		ok, err := done(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("not ready after 2m: %w", last)
			}
			return errors.New("not ready after 2m")
		case <-time.After(200 * time.Millisecond):
		}
		if i > 0 && i%25 == 0 {
			fmt.Print("      ...\n")
		}
	}
}

func qualified(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetName()
	}
	return o.GetNamespace() + "/" + o.GetName()
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }
