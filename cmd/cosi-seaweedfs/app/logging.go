package app

import (
	"flag"
	"strconv"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// routeKlog sends what client-go and leader election log through klog into
// the driver's logger, so that the driver writes one JSON stream, and sets
// klog's verbosity to the driver's: klog decides which of its V(n) lines to
// pass on before the logger sees them. klog is process-global; the last
// Run to start owns it.
func routeKlog(log logr.Logger, verbosity int) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("v", strconv.Itoa(verbosity))
	klog.SetLogger(log.WithName("klog"))
}
