package store

import (
	"context"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Option changes how Open connects.
type Option func(*options.ClientOptions)

// WithMetrics records every command the client sends, as the driver sees
// it (round trip, server time and decoding of the reply), in reg:
//
//   - casefile_store_command_duration_seconds{command}: a histogram of
//     every command, failed or not;
//   - casefile_store_command_failures_total{command}: commands that failed.
//
// The command is the driver's name for it (find, insert, update, delete,
// findAndModify, aggregate, getMore, createIndexes, ping, …): a set fixed
// by the code, so the label stays small. Handles made with Sibling share
// the client and its metrics.
//
// A failure is a command the server answered with ok: 0, or one that got
// no answer (network error, timeout). A write refused by a unique index
// is not one: the server answers ok: 1 with a writeErrors list, so the
// driver reports the command as succeeded (measured on the embedded store,
// and so MongoDB specifies it). Nor is the create of a collection that
// exists: EnsureCollection relies on it at every start (23 of them
// before this was left out, measured).
func WithMetrics(reg prometheus.Registerer) Option {
	if reg == nil {
		return func(*options.ClientOptions) {}
	}
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "casefile_store_command_duration_seconds",
		Help:    "Latency of database commands as the driver sees them, by command name.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"command"})
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "casefile_store_command_failures_total",
		Help: "Database commands that failed (error reply, network error or timeout), by command name.",
	}, []string{"command"})
	reg.MustRegister(duration, failures)
	m := &event.CommandMonitor{
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
			duration.WithLabelValues(e.CommandName).Observe(e.Duration.Seconds())
		},
		Failed: func(_ context.Context, e *event.CommandFailedEvent) {
			duration.WithLabelValues(e.CommandName).Observe(e.Duration.Seconds())
			if !expectedFailure(e) {
				failures.WithLabelValues(e.CommandName).Inc()
			}
		},
	}
	return func(o *options.ClientOptions) { o.SetMonitor(m) }
}

// expectedFailure reports a failed command that is how the store works
// rather than a problem: creating a collection that already exists
// (NamespaceExists, code 48). It is matched by text, as EnsureCollection
// matches it: the driver's error type here lives in its unstable x/
// packages.
func expectedFailure(e *event.CommandFailedEvent) bool {
	return e.CommandName == "create" && e.Failure != nil && strings.Contains(e.Failure.Error(), "already exists")
}
