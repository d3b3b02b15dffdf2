package app

import (
	"flag"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// klogTarget is the logger klog writes to: the logger of the Run that
// started last. klog's logger is process-global and may only be set while
// nothing logs, so it is set once, to a sink that forwards to klogTarget.
var (
	klogTarget atomic.Pointer[logr.Logger]
	klogOnce   sync.Once
)

// routeKlog sends what client-go and leader election log through klog into
// the driver's logger, so that the driver writes one JSON stream, and sets
// klog's verbosity to the driver's: klog decides which of its V(n) lines to
// pass on before the logger sees them.
func routeKlog(log logr.Logger, verbosity int) {
	l := log.WithName("klog")
	klogTarget.Store(&l)
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("v", strconv.Itoa(verbosity))
	klogOnce.Do(func() { klog.SetLogger(logr.New(forwardSink{})) })
}

// forwardSink is a logr.LogSink that writes to klogTarget's logger at the
// time of each call, with the names and values given to it on the way.
type forwardSink struct {
	names  []string
	values []any
}

func (s forwardSink) target() logr.LogSink {
	l := *klogTarget.Load()
	for _, n := range s.names {
		l = l.WithName(n)
	}
	if len(s.values) > 0 {
		l = l.WithValues(s.values...)
	}
	return l.GetSink()
}

func (forwardSink) Init(logr.RuntimeInfo) {}

func (s forwardSink) Enabled(level int) bool { return s.target().Enabled(level) }

func (s forwardSink) Info(level int, msg string, kv ...any) { s.target().Info(level, msg, kv...) }

func (s forwardSink) Error(err error, msg string, kv ...any) { s.target().Error(err, msg, kv...) }

func (s forwardSink) WithValues(kv ...any) logr.LogSink {
	return forwardSink{names: s.names, values: append(slices.Clip(s.values), kv...)}
}

func (s forwardSink) WithName(name string) logr.LogSink {
	return forwardSink{names: append(slices.Clip(s.names), name), values: s.values}
}
