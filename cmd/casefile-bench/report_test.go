package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLoadReport(t *testing.T) {
	out := []byte(`casefile load: http://127.0.0.1:1, 32 worker(s) for 1m0s at 300 req/s, mix create=1
operation      count    ops/s   p50 ms   p95 ms   p99 ms   max ms  errors
create         17990    299.8     21.5     48.1     90.2    301.0       2
total          17990    299.8     21.5     48.1     90.2    301.0       2
`)
	r, ok := parseLoadReport(out, "create")
	require.True(t, ok)
	assert.Equal(t, 17990, r.count)
	assert.InDelta(t, 299.8, r.perSec, 1e-9)
	assert.InDelta(t, 90.2, r.p99, 1e-9)
	assert.Equal(t, 2, r.errors)
	assert.False(t, r.scheduled, "no schedule line")
	_, ok = parseLoadReport(out, "read")
	assert.False(t, ok, "no line for an operation that did not run")
	_, ok = parseLoadReport([]byte("create 1 x 2 3 4 5 0\n"), "create")
	assert.False(t, ok, "a malformed line is not a result")

	paced := append(out, "schedule: 17990 starts taken, 12 missed, 40.0 ms behind at the end; taken late by p50 0.0, p99 83.4, max 179.3 ms (a late start's latency counts from its scheduled time)\n"...)
	r, ok = parseLoadReport(paced, "create")
	require.True(t, ok)
	assert.True(t, r.scheduled)
	assert.Equal(t, 17990, r.started)
	assert.Equal(t, 12, r.missed)
	assert.InDelta(t, 40.0, r.behind, 1e-9)
	assert.InDelta(t, 179.3, r.latestLag, 1e-9)
}

// The filing target is met only by a paced run at 300/s or more that
// never fell a second behind its schedule and had no failed request.
func TestReportFilingTarget(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate float64
		run  loadRun
		want string
	}{
		{"kept up", 300, loadRun{scheduled: true, count: 18001, perSec: 299.7, p50: 66.9, p99: 190.8, latestLag: 179.3},
			"300/s offered: 18001 filed, 0 waiting at the end, at most 179 ms behind, 299.7/s with the drain (p50 66.9 ms, p99 191 ms from the scheduled start), 0 errors | yes |"},
		{"a queue at the end", 300, loadRun{scheduled: true, count: 17988, missed: 13, behind: 43.3, latestLag: 250, perSec: 299.4},
			"17988 filed, 13 waiting at the end, at most 250 ms behind, 299.4/s with the drain (p50 0.00 ms, p99 0.00 ms from the scheduled start), 0 errors | yes |"},
		{"fell behind", 300, loadRun{scheduled: true, count: 17000, missed: 1001, behind: 3336, latestLag: 3300, perSec: 283},
			"17000 filed, 1001 waiting at the end, at most 3336 ms behind, 283.0/s with the drain (p50 0.00 ms, p99 0.00 ms from the scheduled start), 0 errors | **no** |"},
		{"a long stall", 300, loadRun{scheduled: true, count: 18001, latestLag: 1500, perSec: 299.7}, "at most 1500 ms behind, 299.7/s with the drain (p50 0.00 ms, p99 0.00 ms from the scheduled start), 0 errors | **no** |"},
		{"failed requests", 300, loadRun{scheduled: true, count: 18001, errors: 1, perSec: 299.7}, "1 errors | **no** |"},
		{"unpaced", 300, loadRun{count: 24000, perSec: 400}, "24000 filed, unpaced, 400.0/s with the drain (p50 0.00 ms, p99 0.00 ms from the scheduled start), 0 errors | **no** |"},
		{"too low a rate", 250, loadRun{scheduled: true, count: 15001, perSec: 249.8}, "250/s offered: 15001 filed, 0 waiting at the end, at most 0.00 ms behind, 249.8/s with the drain (p50 0.00 ms, p99 0.00 ms from the scheduled start), 0 errors | **no** |"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &report{cfg: config{createRate: tc.rate, createFor: time.Minute}, create: &tc.run, engines: []string{httpName},
				lat: map[string]map[string][]time.Duration{httpName: {}}, totals: map[string]map[string][]int{}}
			var b bytes.Buffer
			r.write(&b)
			assert.Contains(t, b.String(), "| file cases ≥ 300/s for 1m0s, 0 errors | ")
			assert.Contains(t, b.String(), tc.want)
		})
	}
}

// TestReportTargets: the targets table says "no" for what a run missed and
// "yes" for what it met, with the measured values.
func TestReportTargets(t *testing.T) {
	ms := func(v ...float64) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x*float64(time.Millisecond)))
		}
		return out
	}
	r := &report{cfg: config{docs: 1000, seed: 1, perClass: 1, reps: 1, engines: []string{"casefile", "bleve"}, createFor: time.Minute},
		engines: []string{httpName, rawName},
		lat: map[string]map[string][]time.Duration{
			httpName: {classBroad: ms(100, 200), classMid: ms(5), classSelective: ms(2), classFilter: ms(3)},
			rawName:  {classBroad: ms(90, 190), classMid: ms(2), classSelective: ms(1.9), classFilter: ms(2.9)},
		},
		totals: map[string]map[string][]int{},
		indexing: []indexRate{{engine: "Casefile (rebuild from the store)", docs: 3000, took: time.Second},
			{engine: rawBuildName, docs: 1000, took: time.Second / 5}},
		floor:   ms(0.25, 0.5, 0.3),
		startup: 2 * time.Second, rebuildRSS: 500 << 20, serveRSS: 300 << 20,
	}
	var b bytes.Buffer
	r.write(&b)
	out := b.String()
	for _, want := range []string{
		"| HTTP p50 ≤ 1.3× raw Bleve, mid | 2.50× | **no** |",
		"| HTTP p50 ≤ 1.3× raw Bleve, selective | 1.05× | yes |",
		"| broad p99 ≤ 150 ms | 200 ms | **no** |",
		"| rebuild from the store ≥ 2,000 documents/s | 3000/s (Bleve alone, from memory: 5000/s) | yes |",
		"| raw Bleve (Casefile's mapping, from memory) | 1000 | 200ms | 5000 |",
		"`GET /api/v1/me` from the same client, back to back, took 0.30 / 0.50 ms (p50 / p99, 3 timings).",
		"At 1.3× raw Bleve's selective p50 (1.90 ms), a selective query over HTTP has 0.57 ms for everything but the search.",
		"| start-up with an up-to-date index ≤ 3 s | 2s | yes |",
		"| peak RSS ≤ 1 GiB | 500 MiB rebuilding, 300 MiB serving | yes |",
	} {
		assert.True(t, strings.Contains(out, want), "missing %q in:\n%s", want, out)
	}

	// With -reuse nothing was rebuilt: peak memory is not judged, and the
	// command says how the run was made.
	r.cfg.reuse, r.cfg.work, r.rebuildRSS, r.indexing = true, "/tmp/w", 0, nil
	b.Reset()
	r.write(&b)
	out = b.String()
	assert.Contains(t, out, "| peak RSS ≤ 1 GiB | rebuild not measured, 300 MiB serving | — |")
	assert.NotContains(t, out, "rebuild from the store ≥ 2,000")
	assert.Contains(t, out, "-engines casefile,bleve -work /tmp/w -reuse`")
}
