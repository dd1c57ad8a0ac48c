package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"casefile.dev/casefile/internal/benchcmp"
)

// report gathers the measurements and prints them as Markdown tables.
type report struct {
	cfg     config
	started time.Time
	machine string
	queries []benchcmp.Query
	engines []string
	// lat[engine][class] are every timed query's latencies; totals the
	// matches of each query of the class.
	lat    map[string]map[string][]time.Duration
	totals map[string]map[string][]int
	// floor is the latencies of an authenticated GET /api/v1/me, timed
	// like the queries: the least any request of the API costs.
	floor []time.Duration

	indexing   []indexRate
	storeLoad  time.Duration
	startup    time.Duration
	rebuildRSS int64
	serveRSS   int64
	create     *loadRun
	read       *loadRun
	notes      []string
}

type indexRate struct {
	engine string
	docs   int
	took   time.Duration
}

func (r indexRate) perSec() float64 { return float64(r.docs) / r.took.Seconds() }

// quantile of sorted-on-demand latencies, in milliseconds.
func quantile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[int(q*float64(len(s)-1)+0.5)].Microseconds()) / 1000
}

func (r *report) p(engine, class string, q float64) float64 { return quantile(r.lat[engine][class], q) }

func (r *report) has(engine string) bool { return slices.Contains(r.engines, engine) }

func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// maxBehindMS is how far behind its schedule a paced write test may fall
// and still count as keeping up with the rate.
const maxBehindMS = 1000

func check(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

const (
	httpName = "Casefile HTTP"
	// httpAfterWritesName is Casefile's search API again, after the write
	// test filed cases into the index.
	httpAfterWritesName = "Casefile HTTP, after filing cases"
	rawName             = "raw Bleve"
	// rawBuildName is Bleve building the corpus from memory with
	// Casefile's mapping (buildRawBleve).
	rawBuildName = "raw Bleve (Casefile's mapping, from memory)"
	ftsName      = "SQLite FTS5"
	pgName       = "PostgreSQL"
)

func (r *report) write(w io.Writer) {
	fmt.Fprintf(w, "## Casefile benchmark: %d documents (seed %d), %s\n\n", r.cfg.docs, r.cfg.seed, r.started.Format("2006-01-02"))
	fmt.Fprintf(w, "Machine: %s.\n\n", r.machine)
	fmt.Fprintf(w, "Every query: the AND of its words over all text fields, top 10 by relevance, facets on status and severity, highlights on the returned hits. %d queries per class, each timed %d times after a warm-up, one at a time, each after %s idle. Casefile HTTP is `GET /api/v1/search` as a lead, through authentication and the permission filter; raw Bleve is the same query on the same index shards in-process, without them, timed right after the HTTP queries with nothing written in between. The after-filing column times the HTTP queries again once the write test has filed cases, on the index those writes left (the rebuilt segment of each shard plus the small segments the writes made).\n\n", r.cfg.perClass, r.cfg.reps, r.cfg.pause)

	fmt.Fprintln(w, "### Query latency, ms (p50 / p99)")
	fmt.Fprintln(w)
	header := append([]string{"class"}, r.engines...)
	header = append(header, "HTTP ÷ raw Bleve (p50)", "FTS5 ÷ Casefile (p50)", "PostgreSQL ÷ Casefile (p50)")
	row(w, header...)
	row(w, strings.Split(strings.Repeat("---,", len(header)-1)+"---", ",")...)
	for _, c := range classes {
		cells := []string{fmt.Sprintf("%s (%s)", c, classDesc[c])}
		for _, e := range r.engines {
			cells = append(cells, ms(r.p(e, c, 0.5))+" / "+ms(r.p(e, c, 0.99)))
		}
		cf := r.p(httpName, c, 0.5)
		cells = append(cells, ratio(cf, r.p(rawName, c, 0.5)), ratio(r.p(ftsName, c, 0.5), cf), ratio(r.p(pgName, c, 0.5), cf))
		row(w, cells...)
	}
	fmt.Fprintln(w)
	if len(r.floor) > 0 {
		timed := fmt.Sprintf("each after %s idle", r.cfg.pause)
		if r.cfg.pause == 0 {
			timed = "back to back"
		}
		fmt.Fprintf(w, "The least a request costs: an authenticated `GET /api/v1/me` from the same client, %s, took %s / %s ms (p50 / p99, %d timings).",
			timed, ms(quantile(r.floor, 0.5)), ms(quantile(r.floor, 0.99)), len(r.floor))
		if raw := r.p(rawName, classSelective, 0.5); raw > 0 {
			fmt.Fprintf(w, " At 1.3× raw Bleve's selective p50 (%s ms), a selective query over HTTP has %s ms for everything but the search.", ms(raw), ms(0.3*raw))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w)
	}

	fmt.Fprintln(w, "### Documents matched (median over the class's queries, % of the corpus)")
	fmt.Fprintln(w)
	row(w, append([]string{"class"}, r.engines...)...)
	row(w, strings.Split(strings.Repeat("---,", len(r.engines))+"---", ",")...)
	for _, c := range classes {
		cells := []string{c}
		for _, e := range r.engines {
			t := slices.Clone(r.totals[e][c])
			slices.Sort(t)
			if len(t) == 0 {
				cells = append(cells, "—")
				continue
			}
			cells = append(cells, fmt.Sprintf("%.2f%%", 100*float64(t[len(t)/2])/float64(r.cfg.docs)))
		}
		row(w, cells...)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "### Indexing the corpus")
	fmt.Fprintln(w)
	row(w, "engine", "documents", "time", "documents/s")
	row(w, "---", "---:", "---:", "---:")
	for _, ix := range r.indexing {
		row(w, ix.engine, fmt.Sprint(ix.docs), ix.took.Round(10*time.Millisecond).String(), fmt.Sprintf("%.0f", ix.perSec()))
	}
	if r.storeLoad > 0 {
		fmt.Fprintf(w, "\n(Writing the corpus into Casefile's embedded store, which the rebuild then reads, took %s; it is set-up, not measured against anything.)\n", r.storeLoad.Round(100*time.Millisecond))
	}
	fmt.Fprintln(w)

	if r.has(httpName) {
		r.writeTargets(w)
	}
	for _, n := range r.notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
	reuse := ""
	if r.cfg.reuse {
		reuse = fmt.Sprintf(" -work %s -reuse", r.cfg.work)
	}
	fmt.Fprintf(w, "\nCommand: `go run ./cmd/casefile-bench -docs %d -seed %d -queries %d -reps %d -pause %s -create-rate %g -create-for %s -workers %d -engines %s%s`\n",
		r.cfg.docs, r.cfg.seed, r.cfg.perClass, r.cfg.reps, r.cfg.pause, r.cfg.createRate, r.cfg.createFor, r.cfg.workers, strings.Join(r.cfg.engines, ","), reuse)
}

// writeTargets is the table of the performance targets and whether this
// run met them.
func (r *report) writeTargets(w io.Writer) {
	fmt.Fprintln(w, "### Targets")
	fmt.Fprintln(w)
	row(w, "target", "measured", "met")
	row(w, "---", "---", "---")
	if r.has(rawName) {
		for _, c := range classes {
			q := r.p(httpName, c, 0.5) / r.p(rawName, c, 0.5)
			row(w, "HTTP p50 ≤ 1.3× raw Bleve, "+c, fmt.Sprintf("%.2f×", q), check(q <= 1.3))
		}
	}
	if r.has(ftsName) {
		for _, c := range classes {
			cf, fts := r.p(httpName, c, 0.5), r.p(ftsName, c, 0.5)
			row(w, "p50 below SQLite FTS5, "+c, ms(cf)+" vs "+ms(fts)+" ms", check(cf < fts))
		}
	}
	if r.has(pgName) {
		for _, c := range []string{classMid, classSelective, classFilter} {
			q := r.p(pgName, c, 0.5) / r.p(httpName, c, 0.5)
			row(w, "p50 ≥ 5× faster than PostgreSQL, "+c, fmt.Sprintf("%.1f×", q), check(q >= 5))
		}
	}
	bp99 := r.p(httpName, classBroad, 0.99)
	row(w, "broad p99 ≤ 150 ms", ms(bp99)+" ms", check(bp99 <= 150))
	alone := ""
	for _, ix := range r.indexing {
		if ix.engine == rawBuildName {
			alone = fmt.Sprintf(" (Bleve alone, from memory: %.0f/s)", ix.perSec())
		}
	}
	for _, ix := range r.indexing {
		if strings.HasPrefix(ix.engine, "Casefile") {
			row(w, "rebuild from the store ≥ 2,000 documents/s", fmt.Sprintf("%.0f/s%s", ix.perSec(), alone), check(ix.perSec() >= 2000))
		}
	}
	row(w, "start-up with an up-to-date index ≤ 3 s", r.startup.Round(time.Millisecond).String(), check(r.startup <= 3*time.Second))
	if r.rebuildRSS == 0 {
		// With -reuse nothing was rebuilt: the target, a peak over both,
		// cannot be judged.
		row(w, "peak RSS ≤ 1 GiB", fmt.Sprintf("rebuild not measured, %s serving", mib(r.serveRSS)), "—")
	} else {
		peak := max(r.rebuildRSS, r.serveRSS)
		row(w, "peak RSS ≤ 1 GiB", fmt.Sprintf("%s rebuilding, %s serving", mib(r.rebuildRSS), mib(r.serveRSS)), check(peak <= 1<<30))
	}
	if c := r.create; c != nil {
		// Sustained means the server never fell a second behind the
		// schedule: one about 2% short of the rate is over a second
		// behind by the end of a minute (its backlog grows by 1/50 of a
		// second each second; the 32 requests in flight absorb a
		// tenth). How many starts were still waiting at the very end is
		// a snapshot of one moment's queue (0, 4 and 13 in three runs on
		// one machine), so it is shown, not judged. The ops/s include the
		// last requests' drain after the schedule ends, so they sit a
		// little under the rate.
		sched := "unpaced"
		if c.scheduled {
			sched = fmt.Sprintf("%d waiting at the end, at most %s ms behind", c.missed, ms(max(c.behind, c.latestLag)))
		}
		row(w, fmt.Sprintf("file cases ≥ 300/s for %s, 0 errors", r.cfg.createFor),
			fmt.Sprintf("%g/s offered: %d filed, %s, %.1f/s with the drain (p50 %s ms, p99 %s ms from the scheduled start), %d errors",
				r.cfg.createRate, c.count, sched, c.perSec, ms(c.p50), ms(c.p99), c.errors),
			check(r.cfg.createRate >= 300 && c.scheduled && max(c.behind, c.latestLag) < maxBehindMS && c.errors == 0))
	}
	if rd := r.read; rd != nil {
		row(w, "read a case by key p99 ≤ 10 ms", fmt.Sprintf("%s ms (p50 %s ms, at %.0f/s, %d errors)", ms(rd.p99), ms(rd.p50), rd.perSec, rd.errors), check(rd.p99 <= 10 && rd.errors == 0))
	}
	fmt.Fprintln(w)
}

func row(w io.Writer, cells ...string) {
	fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
}
