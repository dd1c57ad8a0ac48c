package wire_test

// Benchmarks of the write and read paths a request takes below HTTP: filing
// a case (store writes, audit, the index update every write waits for) and
// reading one by key. The HTTP numbers come from `casefile load`.
//
//	go test -run=NONE -bench=. -benchtime=2000x ./internal/wire/

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/storetest"
	"casefile.dev/casefile/internal/wire/wiretest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func benchCase(i int64) cases.NewCase {
	return cases.NewCase{
		Title:         fmt.Sprintf("Gift card scam ring %d", i),
		Summary:       "Accounts sell fake gift cards to buyers who never receive them.",
		Actor:         cases.ActorRef{ActorID: fmt.Sprintf("bench-actor-%d", i)},
		PolicyAreas:   []string{"fraud_scam"},
		Severity:      cases.Sev2,
		SourceKind:    "proactive",
		SourceChannel: "automated_detection",
		Team:          "fraud",
	}
}

// BenchmarkCreateCase files cases from parallel goroutines (GOMAXPROCS × 8,
// as many requests in flight as a busy server has).
func BenchmarkCreateCase(b *testing.B) {
	all, _ := wiretest.New(b, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	u := wiretest.User(b, all, "inv", auth.RoleInvestigator, "fraud", "")
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := all.Cases.Create(ctx, u, benchCase(n.Add(1)), "", cases.Meta{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkReadCase reads cases by key from parallel goroutines and reports
// the latency percentiles.
func BenchmarkReadCase(b *testing.B) {
	all, _ := wiretest.New(b, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	u := wiretest.User(b, all, "inv", auth.RoleInvestigator, "fraud", "")
	ctx := context.Background()
	var keys []string
	for i := range int64(200) {
		c, _, err := all.Cases.Create(ctx, u, benchCase(i), "", cases.Meta{})
		if err != nil {
			b.Fatal(err)
		}
		keys = append(keys, c.Key)
	}
	var n atomic.Int64
	lat := make(chan []time.Duration, 64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			if _, err := all.Cases.Get(ctx, u, keys[n.Add(1)%int64(len(keys))], cases.Meta{}); err != nil {
				b.Error(err)
				break
			}
			mine = append(mine, time.Since(start))
		}
		lat <- mine
	})
	b.StopTimer()
	close(lat)
	var all2 []time.Duration
	for l := range lat {
		all2 = append(all2, l...)
	}
	reportPercentiles(b, all2)
}

func reportPercentiles(b *testing.B, l []time.Duration) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	p := func(q float64) float64 { return float64(l[int(q*float64(len(l)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}
