// Command casefile-bench measures Casefile's search and write paths on a
// synthetic corpus and compares them, on the same documents and queries,
// with raw Bleve, SQLite FTS5 and PostgreSQL full-text search. It prints
// one report: query latency per class and engine with ratios, indexing
// rates, start-up time, peak memory, and case filing and reading under
// load.
//
//	go run ./cmd/casefile-bench                  # 100,000 documents, all engines
//	go run ./cmd/casefile-bench -docs 10000 -engines casefile,bleve,fts5
//
// Everything it needs it starts itself: the casefile binary (built from
// this tree) on a fresh data dir, and a private PostgreSQL server (Debian's
// postgresql package must be installed; the engine is skipped, and the
// report says so, when it is not).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"casefile.dev/casefile/internal/benchcmp"
	"casefile.dev/casefile/internal/corpus"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "casefile-bench:", err)
		os.Exit(1)
	}
}

type config struct {
	docs       int
	seed       int64
	work       string
	keep       bool
	engines    []string
	perClass   int
	reps       int
	createRate float64
	createFor  time.Duration
	workers    int
	readFor    time.Duration
	readRate   float64
	// reuse skips writing the corpus and rebuilding the index when -work
	// already holds both from an earlier run with the same -docs and -seed.
	reuse bool
	// pause is the idle time before each timed query (see timeQueries).
	pause time.Duration
}

var allEngines = []string{"casefile", "bleve", "fts5", "postgres"}

func parseFlags(args []string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	var c config
	var engines string
	fs.IntVar(&c.docs, "docs", 100_000, "documents in the corpus")
	fs.Int64Var(&c.seed, "seed", 1, "corpus seed")
	fs.StringVar(&c.work, "work", "", "working directory (default: a new temporary one, removed at the end)")
	fs.BoolVar(&c.keep, "keep", false, "keep the working directory")
	fs.BoolVar(&c.reuse, "reuse", false, "with -work: reuse the store and index an earlier run left there (-keep) instead of writing and rebuilding them")
	fs.StringVar(&engines, "engines", strings.Join(allEngines, ","), "engines to run: "+strings.Join(allEngines, ", ")+" (bleve needs casefile)")
	fs.IntVar(&c.perClass, "queries", 10, "queries per class")
	fs.IntVar(&c.reps, "reps", 10, "times each query is timed (after one warm-up); with 10 queries per class, 10 gives 100 timings, so a p99 is not simply the slowest")
	fs.DurationVar(&c.pause, "pause", time.Millisecond, "idle time before each timed query, for every engine (0: back to back)")
	fs.Float64Var(&c.createRate, "create-rate", 300, "cases filed per second in the write test (0: skip it)")
	fs.DurationVar(&c.createFor, "create-for", time.Minute, "how long cases are filed")
	fs.IntVar(&c.workers, "workers", 32, "concurrent clients of the write and read tests")
	fs.DurationVar(&c.readFor, "read-for", 20*time.Second, "how long cases are read by key")
	fs.Float64Var(&c.readRate, "read-rate", 200, "cases read by key per second (a steady rate: latency, not saturation, is measured)")
	if err := fs.Parse(args[1:]); err != nil {
		return c, err
	}
	for e := range strings.SplitSeq(engines, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if !slices.Contains(allEngines, e) {
			return c, fmt.Errorf("-engines: unknown engine %q", e)
		}
		c.engines = append(c.engines, e)
	}
	if slices.Contains(c.engines, "bleve") && !slices.Contains(c.engines, "casefile") {
		return c, errors.New("-engines: bleve reads Casefile's index, so it needs casefile")
	}
	if c.reuse && c.work == "" {
		return c, errors.New("-reuse needs -work")
	}
	if c.docs < 100 || c.perClass < 1 || c.reps < 1 || c.workers < 1 {
		return c, errors.New("-docs must be at least 100; -queries, -reps and -workers at least 1")
	}
	if c.pause < 0 {
		return c, errors.New("-pause must not be negative")
	}
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.work == "" {
		if cfg.work, err = os.MkdirTemp("", "casefile-bench-"); err != nil {
			return err
		}
		// PostgreSQL runs as its own user (not root), which must reach its
		// directory inside this one.
		if err := os.Chmod(cfg.work, 0o755); err != nil {
			return err
		}
		if !cfg.keep {
			defer os.RemoveAll(cfg.work)
		}
	}
	rep := &report{cfg: cfg, started: time.Now(), lat: map[string]map[string][]time.Duration{}, totals: map[string]map[string][]int{}}
	rep.machine = machine(getenv)
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "· "+format+"\n", a...) }

	g := corpus.New(cfg.seed)
	queries := chooseQueries(g, cfg.perClass)
	rep.queries = queries
	logf("%d queries in %d classes", len(queries), len(classes))

	var err2 error
	if slices.Contains(cfg.engines, "casefile") {
		err2 = runCasefile(ctx, cfg, g, queries, rep, logf)
		if err2 != nil {
			return err2
		}
	}
	if slices.Contains(cfg.engines, "bleve") && !cfg.reuse {
		if err := buildRawBleve(ctx, cfg, g, rep, logf); err != nil {
			return err
		}
	}
	if slices.Contains(cfg.engines, "fts5") {
		e, err := benchcmp.OpenFTS5(filepath.Join(cfg.work, "fts5"))
		if err != nil {
			return err
		}
		if err := loadAndQuery(ctx, cfg, g, e, "SQLite FTS5", queries, rep, logf); err != nil {
			return err
		}
	}
	if slices.Contains(cfg.engines, "postgres") {
		dir := filepath.Join(cfg.work, "postgres")
		e, err := benchcmp.StartPostgres(ctx, dir, io.Discard)
		switch {
		case errors.Is(err, benchcmp.ErrNoPostgres):
			rep.notes = append(rep.notes, "PostgreSQL was not run: "+err.Error())
		case err != nil:
			return err
		default:
			if err := loadAndQuery(ctx, cfg, g, e, "PostgreSQL", queries, rep, logf); err != nil {
				return err
			}
		}
	}
	rep.write(stdout)
	return nil
}

// loadAndQuery loads the corpus into e (timed), runs the queries and
// closes it.
func loadAndQuery(ctx context.Context, cfg config, g *corpus.Gen, e benchcmp.Engine, name string, qs []benchcmp.Query, rep *report, logf func(string, ...any)) error {
	defer e.Close()
	logf("%s: loading %d documents", name, cfg.docs)
	start := time.Now()
	if err := e.Load(ctx, g, cfg.docs); err != nil {
		return fmt.Errorf("%s: load: %w", name, err)
	}
	rep.indexing = append(rep.indexing, indexRate{engine: name, docs: cfg.docs, took: time.Since(start)})
	logf("%s: loaded in %s; querying", name, time.Since(start).Round(time.Millisecond))
	return timeQueries(ctx, cfg, e, name, qs, rep)
}

// timeQueries runs every query once to warm up, then reps times, one at
// a time, recording each latency under its class.
//
// Each timed query comes after cfg.pause of idle time, whatever the
// engine. Back to back, an in-process engine (raw Bleve, FTS5) starts every
// query on a busy core with warm caches, while a query over a socket
// (Casefile's HTTP API, PostgreSQL) always starts on an idle server: on
// this machine a 1 ms pause made the same in-process loop 1.1–2.6× slower
// on mid and selective queries, raw Bleve and Casefile's Searcher alike
// (measured). Users' queries arrive at an idle server, so every engine is
// timed that way.
func timeQueries(ctx context.Context, cfg config, e benchcmp.Engine, name string, qs []benchcmp.Query, rep *report) error {
	rep.engines = append(rep.engines, name)
	rep.lat[name] = map[string][]time.Duration{}
	rep.totals[name] = map[string][]int{}
	for _, q := range qs {
		res, err := e.Search(ctx, q)
		if err != nil {
			return fmt.Errorf("%s: %q: %w", name, queryText(q), err)
		}
		rep.totals[name][q.Class] = append(rep.totals[name][q.Class], res.Total)
	}
	for range cfg.reps {
		for _, q := range qs {
			if cfg.pause > 0 {
				time.Sleep(cfg.pause)
			}
			start := time.Now()
			if _, err := e.Search(ctx, q); err != nil {
				return fmt.Errorf("%s: %q: %w", name, queryText(q), err)
			}
			rep.lat[name][q.Class] = append(rep.lat[name][q.Class], time.Since(start))
		}
	}
	return nil
}

// runCasefile measures Casefile end to end: the store loaded with the
// corpus, a rebuild by `casefile reindex`, a start with the index up to
// date, the queries over HTTP, then raw Bleve on the same index (the
// server stopped, nothing written in between), then a second start that
// files and reads cases under load and times the queries once more on the
// index those writes left.
//
// Raw Bleve must see the index the HTTP queries saw: filing cases adds
// dozens of small segments per shard (measured: 35 after 6,500 cases),
// and every segment adds to a query's cost.
func runCasefile(ctx context.Context, cfg config, g *corpus.Gen, qs []benchcmp.Query, rep *report, logf func(string, ...any)) error {
	bin, err := casefileBin(ctx, cfg.work)
	if err != nil {
		return err
	}
	data := filepath.Join(cfg.work, "data")
	if _, err := os.Stat(filepath.Join(data, "index")); cfg.reuse && err == nil {
		logf("casefile: reusing the store and index in %s", data)
		rep.notes = append(rep.notes, "The store and index were reused from an earlier run (-reuse), so no indexing was timed.")
	} else if err := loadAndReindex(ctx, cfg, bin, data, g, rep, logf); err != nil {
		return err
	}

	srv, startup, err := startServer(ctx, bin, data)
	if err != nil {
		return err
	}
	rep.startup = startup
	defer func() {
		if srv != nil {
			_, _ = srv.stop()
		}
	}()
	admin, err := login(ctx, srv.base, "admin", adminPassword)
	if err != nil {
		return err
	}
	if err := admin.call(ctx, "POST", "/api/v1/users", map[string]string{"username": "bench-lead", "role": "lead", "team": "t1",
		"password": adminPassword, "display_name": "bench lead"}, nil); err != nil && !cfg.reuse {
		return err
	}
	lead, err := login(ctx, srv.base, "bench-lead", adminPassword)
	if err != nil {
		return err
	}
	logf("casefile: started in %s; letting it settle", startup.Round(time.Millisecond))
	srv.settle()
	logf("casefile: querying")
	if err := timeQueries(ctx, cfg, httpEngine{lead}, httpName, qs, rep); err != nil {
		return err
	}
	if rep.floor, err = timeFloor(ctx, cfg, lead); err != nil {
		return err
	}
	rep.serveRSS, _ = srv.stop()
	srv = nil

	if slices.Contains(cfg.engines, "bleve") {
		if err := queryRawBleve(ctx, cfg, data, qs, rep, logf); err != nil {
			return err
		}
	}
	if cfg.createRate <= 0 {
		return nil
	}

	if srv, _, err = startServer(ctx, bin, data); err != nil {
		return err
	}
	srv.settle()
	logf("casefile: filing cases at %g/s for %s", cfg.createRate, cfg.createFor)
	r, err := runLoad(ctx, bin, srv.base, "create", cfg.workers, cfg.createRate, cfg.createFor)
	if err != nil {
		return err
	}
	rep.create = &r
	// Like every other phase, reading starts on a settled server: for a
	// few seconds after a burst of writes stops, the index compacts the
	// small segments they left (search/compact.go) and reads share the
	// two cores with it (measured on a copy of the 100k store: p99 38 ms
	// right after filing at 300/s for a minute, 7.7 ms 30 s later).
	srv.settle()
	logf("casefile: reading cases by key at %g/s for %s", cfg.readRate, cfg.readFor)
	r2, err := runLoad(ctx, bin, srv.base, "read", min(cfg.workers, 8), cfg.readRate, cfg.readFor)
	if err != nil {
		return err
	}
	rep.read = &r2
	if lead, err = login(ctx, srv.base, "bench-lead", adminPassword); err != nil {
		return err
	}
	logf("casefile: querying the index the writes left")
	if err := timeQueries(ctx, cfg, httpEngine{lead}, httpAfterWritesName, qs, rep); err != nil {
		return err
	}
	rss, _ := srv.stop()
	srv = nil
	rep.serveRSS = max(rep.serveRSS, rss)
	return nil
}

// timeFloor times an authenticated GET /api/v1/me as the queries are
// timed (after cfg.pause of idle, one at a time, on the same client): the
// exchange every request pays, however little the server does for it.
func timeFloor(ctx context.Context, cfg config, s *apiSession) ([]time.Duration, error) {
	var out []time.Duration
	for range cfg.perClass * cfg.reps {
		if cfg.pause > 0 {
			time.Sleep(cfg.pause)
		}
		start := time.Now()
		if err := s.call(ctx, http.MethodGet, "/api/v1/me", nil, nil); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// queryRawBleve times the queries on Casefile's index shards in-process;
// no server may be running on data.
func queryRawBleve(ctx context.Context, cfg config, data string, qs []benchcmp.Query, rep *report, logf func(string, ...any)) error {
	raw, err := openRawBleve(data)
	if err != nil {
		return err
	}
	defer raw.Close()
	logf("raw Bleve: querying")
	return timeQueries(ctx, cfg, raw, rawName, qs, rep)
}

// loadAndReindex writes the corpus into a new embedded store under data
// and times `casefile reindex` on it.
func loadAndReindex(ctx context.Context, cfg config, bin, data string, g *corpus.Gen, rep *report, logf func(string, ...any)) error {
	if err := initialise(ctx, bin, data); err != nil {
		return err
	}
	logf("casefile: writing %d documents into the embedded store", cfg.docs)
	start := time.Now()
	last := time.Now()
	if err := loadStore(ctx, data, g, cfg.docs, func(n int) {
		if time.Since(last) > 10*time.Second {
			logf("casefile: %d written", n)
			last = time.Now()
		}
	}); err != nil {
		return err
	}
	rep.storeLoad = time.Since(start)

	logf("casefile: reindex")
	docs, took, peak, err := reindex(ctx, bin, data)
	if err != nil {
		return err
	}
	rep.indexing = append(rep.indexing, indexRate{engine: "Casefile (rebuild from the store)", docs: docs, took: took})
	rep.rebuildRSS = peak
	logf("casefile: %d documents reindexed in %s; starting", docs, took)
	return nil
}

// machine describes where the bench ran.
func machine(getenv func(string) string) string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	_ = getenv
	return fmt.Sprintf("%d cores (%s)%s, %s/%s, %s", runtime.NumCPU(), cpu, mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
