// Command controller runs the COSI controller stand-in (see
// test/e2e/framework.Controller) as a pod, with the in-cluster identity of
// its ServiceAccount, so that BucketClaims on the test node get Buckets as
// they would from the central COSI controller.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/test/e2e/framework"
)

type config struct {
	interval time.Duration
}

func main() {
	var cfg config
	flag.DurationVar(&cfg.interval, "interval", time.Second, "how often every BucketClaim is synced")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	rc, err := rest.InClusterConfig()
	if err != nil {
		return fmt.Errorf("in-cluster config: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	c := &framework.Controller{Dynamic: dyn, PresetSidecarFinalizer: true, Logf: log.Printf}
	log.Printf("syncing BucketClaims every %s", cfg.interval)
	c.Run(ctx, cfg.interval)
	return nil
}
