// Command cosi-seaweedfs is the COSI driver for SeaweedFS.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cosi-seaweedfs/cosi-seaweedfs/cmd/cosi-seaweedfs/app"
	"github.com/cosi-seaweedfs/cosi-seaweedfs/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "cosi-seaweedfs:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := app.ParseFlags(os.Args[1:], os.Getenv)
	var help *app.HelpError
	if errors.As(err, &help) {
		fmt.Print(help.Text)
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.ShowVersion {
		fmt.Println("cosi-seaweedfs", version.Get())
		return nil
	}
	if cfg.Command == app.CheckCommand {
		return app.Check(ctx, cfg, os.Stdout)
	}
	return app.Run(ctx, cfg, app.NewLogger(os.Stderr, cfg.Verbosity))
}
