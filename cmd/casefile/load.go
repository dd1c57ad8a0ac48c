package main

// `casefile load` drives a running Casefile over HTTP with a mix of the
// operations Trust & Safety staff do all day (file a case, add a note, move
// a case, search, open a postmortem) and reports throughput and latency per
// operation, errors, and the server's resident memory over the run. It exits
// non-zero when any request failed, so a soak can be checked by exit status.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loadOps are the operations, in report order.
var loadOps = []string{"create", "read", "note", "transition", "search", "postmortem"}

const defaultMix = "create=30,note=30,transition=10,search=25,postmortem=5"

type loadConfig struct {
	url           string
	mix           []opWeight
	workers       int
	duration      time.Duration
	rate          float64
	adminUser     string
	adminPassword string
	timeout       time.Duration
	rssEvery      time.Duration
}

type opWeight struct {
	op     string
	weight int
}

// parseMix reads "create=30,note=30,…": each operation at most once, whole
// non-negative weights, at least one above zero. Operations not named are
// not run.
func parseMix(s string) ([]opWeight, error) {
	var mix []opWeight
	seen := map[string]bool{}
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok {
			return nil, fmt.Errorf("-mix: %q is not op=weight", part)
		}
		if !slices.Contains(loadOps, name) {
			return nil, fmt.Errorf("-mix: unknown operation %q (known: %s)", name, strings.Join(loadOps, ", "))
		}
		if seen[name] {
			return nil, fmt.Errorf("-mix: %s is given twice", name)
		}
		seen[name] = true
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("-mix: the weight of %s must be a whole number ≥ 0", name)
		}
		if n > 0 {
			mix = append(mix, opWeight{name, n})
			total += n
		}
	}
	if total == 0 {
		return nil, errors.New("-mix: give at least one operation a weight above 0")
	}
	slices.SortFunc(mix, func(a, b opWeight) int { return slices.Index(loadOps, a.op) - slices.Index(loadOps, b.op) })
	return mix, nil
}

func mixString(mix []opWeight) string {
	parts := make([]string, len(mix))
	for i, m := range mix {
		parts[i] = fmt.Sprintf("%s=%d", m.op, m.weight)
	}
	return strings.Join(parts, ",")
}

func parseLoadFlags(args []string, getenv func(string) string, out io.Writer) (loadConfig, error) {
	fs := flag.NewFlagSet("casefile load", flag.ContinueOnError)
	fs.SetOutput(out)
	var cfg loadConfig
	var mix string
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080", "base URL of the running server")
	fs.StringVar(&mix, "mix", defaultMix, "operations and their relative weights ("+strings.Join(loadOps, ", ")+")")
	fs.IntVar(&cfg.workers, "workers", 4, "concurrent workers, each signed in as its own investigator")
	fs.DurationVar(&cfg.duration, "duration", 30*time.Second, "how long to run")
	fs.Float64Var(&cfg.rate, "rate", 0, "steady requests per second across all workers (0: as fast as the workers go)")
	fs.StringVar(&cfg.adminUser, "admin-user", "admin", "admin username")
	fs.StringVar(&cfg.adminPassword, "admin-password", "", "admin password (default $CASEFILE_ADMIN_PASSWORD)")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.DurationVar(&cfg.rssEvery, "rss-every", 10*time.Second, "how often to sample the server's process_resident_memory_bytes from /metrics (also at start and end)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: casefile load [flags]\n\nDrive a running server over HTTP and report throughput, latency and errors per operation.\nIt signs in as the admin, creates an investigator per worker and two leads, and publishes a postmortem to read.\nExits non-zero if any request failed.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("load: unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.mix, err = parseMix(mix); err != nil {
		return cfg, err
	}
	if cfg.adminPassword == "" {
		cfg.adminPassword = getenv("CASEFILE_ADMIN_PASSWORD")
	}
	u, err := url.Parse(cfg.url)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return cfg, fmt.Errorf("-url: %q is not an http(s) URL", cfg.url)
	case cfg.adminPassword == "":
		return cfg, errors.New("load: the admin password is needed (-admin-password or CASEFILE_ADMIN_PASSWORD)")
	case cfg.workers < 1 || cfg.workers > 1000:
		return cfg, errors.New("-workers: must be between 1 and 1000")
	case cfg.duration <= 0:
		return cfg, errors.New("-duration: must be positive")
	case cfg.rate < 0:
		return cfg, errors.New("-rate: must not be negative")
	case cfg.timeout <= 0:
		return cfg, errors.New("-timeout: must be positive")
	case cfg.rssEvery <= 0:
		return cfg, errors.New("-rss-every: must be positive")
	}
	return cfg, nil
}

// load is `casefile load`.
func load(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := parseLoadFlags(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	c := newAPIClient(cfg.url, cfg.workers, cfg.timeout)

	rateText := "as fast as possible"
	if cfg.rate > 0 {
		rateText = fmt.Sprintf("at %g req/s", cfg.rate)
	}
	fmt.Fprintf(stdout, "casefile load: %s, %d worker(s) for %s %s, mix %s\n", c.base, cfg.workers, cfg.duration, rateText, mixString(cfg.mix))

	setupStart := time.Now()
	fx, err := setup(ctx, c, cfg.adminUser, cfg.adminPassword, cfg.workers)
	if err != nil {
		return fmt.Errorf("load: setup: %w", err)
	}
	ws := make([]*loadWorker, cfg.workers)
	for i := range ws {
		ws[i] = newLoadWorker(i, fx, cfg.mix)
		// Every worker starts with a case of its own to note and move.
		if err := ws[i].createCase(ctx); err != nil {
			return fmt.Errorf("load: setup: %w", err)
		}
	}
	fmt.Fprintf(stdout, "setup: investigators %s-w1…w%d (team %s), leads %s-lead and %s-lead2, postmortem %s published (%s)\n",
		fx.prefix, cfg.workers, fx.team, fx.prefix, fx.prefix, fx.postmortem, time.Since(setupStart).Round(time.Millisecond))

	// Resident memory at the start, every rssEvery, and at the end.
	var rss []float64
	sample := func() {
		if v, ok := c.metric(ctx, "process_resident_memory_bytes"); ok {
			rss = append(rss, v)
		}
	}
	sample()
	cpuStart, cpuOK := c.metric(ctx, "process_cpu_seconds_total")
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(cfg.rssEvery)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				sample()
			}
		}
	}()

	errs := &errorLog{}
	start := time.Now()
	var p *pacer
	if cfg.rate > 0 {
		p = newPacer(cfg.rate, start)
	}
	end := start.Add(cfg.duration)
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() { w.run(ctx, end, p, errs) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopSampling)
	<-sampled
	sample()
	cpuEnd, cpuEndOK := c.metric(ctx, "process_cpu_seconds_total")

	rep := summarize(cfg.mix, ws, elapsed)
	rep.write(stdout, rss)
	p.report(stdout)
	if cpuOK && cpuEndOK && elapsed > 0 {
		used := cpuEnd - cpuStart
		fmt.Fprintf(stdout, "server CPU: %.1f s over %.1f s of run (%.2f cores on average)\n", used, elapsed.Seconds(), used/elapsed.Seconds())
	}
	if rep.total.errors > 0 {
		fmt.Fprintln(stdout, "errors (count, first example):")
		for _, e := range errs.examples() {
			fmt.Fprintln(stdout, "  "+e)
		}
		return fmt.Errorf("load: %d of %d requests failed", rep.total.errors, rep.total.count)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("load: interrupted after %s", elapsed.Round(time.Millisecond))
	}
	return nil
}

// pacer hands out start times on a fixed schedule, interval apart across
// all workers, as wrk2 does. A worker late for its slot starts at once,
// and its request's latency is counted from the slot, not from when it was
// sent. When the server stalls, the requests that queue behind the stall
// are charged with the wait; a pacer that skipped the slots no worker was
// free for would report only the requests the stall let through
// ("coordinated omission") and a rate the server chose, not the one asked
// for. No slot at or after end is handed out, and the slots before end
// that no worker reached by then are counted as missed, with how far
// behind the schedule was when it ended.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
	missed   int
	behind   time.Duration   // how overdue the oldest missed slot was at the end
	lags     []time.Duration // how late each slot was taken
}

func newPacer(rate float64, start time.Time) *pacer {
	return &pacer{interval: time.Duration(float64(time.Second) / rate), next: start}
}

// wait blocks until the caller's slot and returns the time its request's
// latency counts from: the slot itself when it was already due, else the
// moment the caller woke for it. False when the schedule is done or ctx
// is. Without a pacer every call starts now.
func (p *pacer) wait(ctx context.Context, end time.Time) (time.Time, bool) {
	if p == nil {
		now := time.Now()
		return now, ctx.Err() == nil && now.Before(end)
	}
	p.mu.Lock()
	now := time.Now()
	slot := p.next
	if !slot.Before(end) {
		p.mu.Unlock()
		return time.Time{}, false
	}
	if !now.Before(end) {
		p.missed += int((end.Sub(slot) + p.interval - 1) / p.interval)
		p.behind = end.Sub(slot)
		p.next = end
		p.mu.Unlock()
		return time.Time{}, false
	}
	p.next = slot.Add(p.interval)
	lag := now.Sub(slot)
	p.lags = append(p.lags, max(lag, 0))
	p.mu.Unlock()
	if lag >= 0 {
		return slot, true // overdue: the wait for a free worker counts
	}
	t := time.NewTimer(-lag)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return time.Time{}, false
	case <-t.C:
		// A worker that was free and waiting for its start is charged
		// from when it woke: its timer firing late is this process's
		// delay (on a machine the server keeps busy, milliseconds), not
		// the server's.
		return time.Now(), true
	}
}

// report is one line on how well the workers kept to the schedule.
func (p *pacer) report(w io.Writer) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	lags := slices.Clone(p.lags)
	slices.Sort(lags)
	fmt.Fprintf(w, "schedule: %d starts taken, %d missed, %s ms behind at the end; taken late by p50 %s, p99 %s, max %s ms (a late start's latency counts from its scheduled time)\n",
		len(lags), p.missed, ms(p.behind), ms(percentile(lags, 50)), ms(percentile(lags, 99)), ms(percentile(lags, 100)))
}

// errorLog keeps an example of the first few kinds of failure for the
// report, and how often each kind happened.
type errorLog struct {
	mu    sync.Mutex
	count map[string]int
	kinds []string // in order of first occurrence, at most maxErrorKinds
	first map[string]string
}

const maxErrorKinds = 10

// errorKind groups failures that differ only in URL, request id or body:
// by operation and status, or by operation and transport error.
func errorKind(op string, err error) string {
	var se *statusError
	var ue *url.Error
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%s: %d", op, se.status)
	case errors.As(err, &ue):
		return fmt.Sprintf("%s: %s: %v", op, ue.Op, ue.Err)
	}
	return op + ": " + err.Error()
}

func (l *errorLog) add(op string, err error) {
	kind := errorKind(op, err)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == nil {
		l.count, l.first = map[string]int{}, map[string]string{}
	}
	if _, ok := l.count[kind]; !ok && len(l.kinds) < maxErrorKinds {
		l.kinds = append(l.kinds, kind)
		l.first[kind] = op + ": " + err.Error()
	}
	l.count[kind]++
}

// examples is one line per kind of failure: its count and first example.
func (l *errorLog) examples() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, len(l.kinds))
	for i, k := range l.kinds {
		out[i] = fmt.Sprintf("%d× %s", l.count[k], l.first[k])
	}
	if len(l.count) > len(l.kinds) {
		out = append(out, fmt.Sprintf("… and %d more kinds of failure", len(l.count)-len(l.kinds)))
	}
	return out
}

// opStats is one worker's record of one operation.
type opStats struct {
	latencies []time.Duration // of every request, failed ones included
	errors    int
}

// trackedCase is a case a worker filed, with the status it last saw.
type trackedCase struct {
	key    string
	status string
}

// maxTracked bounds the cases a worker notes and moves: the newest ones.
const maxTracked = 64

// nextStatus is the move a transition makes: the workflow's path up to
// pending_review, then back and forth between it and investigating (no
// enforcement or verdict needed, so a case can be moved forever).
var nextStatus = map[string]string{
	"new":            "triage",
	"triage":         "investigating",
	"investigating":  "pending_review",
	"pending_review": "investigating",
}

// searchWords are words of the titles and summaries the workers file.
var searchWords = []string{"refund", "scam", "ring", "phishing", "counterfeit", "listing", "merchant", "buyers", "chargeback", "giveaway", "crypto", "coupon"}

type loadWorker struct {
	id    int
	s     *session
	fx    *fixture
	rng   *rand.Rand
	cases []trackedCase
	filed int
	// Smooth weighted round robin over the mix (as nginx balances
	// upstreams): every cycle of sum-of-weights operations runs each one
	// exactly its weight's times, well interleaved.
	mix     []opWeight
	current []int
	total   int
	stats   map[string]*opStats
}

func newLoadWorker(i int, fx *fixture, mix []opWeight) *loadWorker {
	w := &loadWorker{id: i, s: fx.workers[i], fx: fx, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i))),
		mix: mix, current: make([]int, len(mix)), stats: map[string]*opStats{}}
	for _, m := range mix {
		w.total += m.weight
		w.stats[m.op] = &opStats{}
	}
	for range i % w.total {
		w.nextOp() // different workers, different phases
	}
	return w
}

func (w *loadWorker) nextOp() string {
	best := 0
	for j, m := range w.mix {
		w.current[j] += m.weight
		if w.current[j] > w.current[best] {
			best = j
		}
	}
	w.current[best] -= w.total
	return w.mix[best].op
}

func (w *loadWorker) run(ctx context.Context, end time.Time, p *pacer, errs *errorLog) {
	for {
		from, ok := p.wait(ctx, end)
		if !ok {
			return
		}
		op := w.nextOp()
		// The session is refreshed outside the measured request; a failed
		// refresh is a failure of the operation it was for.
		t0 := time.Now()
		_, err := w.s.token(ctx)
		refresh := time.Since(t0)
		if err == nil {
			err = w.do(ctx, op)
		}
		d := time.Since(from) - refresh
		if err != nil && ctx.Err() != nil {
			return // interrupted: not the server's failure
		}
		st := w.stats[op]
		st.latencies = append(st.latencies, d)
		if err != nil {
			st.errors++
			errs.add(op, err)
			w.resync(ctx, op)
		}
	}
}

func (w *loadWorker) pick() *trackedCase { return &w.cases[w.rng.IntN(len(w.cases))] }

func (w *loadWorker) do(ctx context.Context, op string) error {
	switch op {
	case "create":
		return w.createCase(ctx)
	case "read":
		return w.s.call(ctx, http.MethodGet, "/api/v1/cases/"+url.PathEscape(w.pick().key), nil, nil)
	case "note":
		c := w.pick()
		return w.s.call(ctx, http.MethodPost, "/api/v1/cases/"+url.PathEscape(c.key)+"/notes",
			map[string]string{"text": fmt.Sprintf("Checked the %s reports again; %d more buyers affected.", w.word(), w.rng.IntN(50)+1)}, nil)
	case "transition":
		c := w.pick()
		to := nextStatus[c.status]
		var out struct {
			Status string `json:"status"`
		}
		if err := w.s.call(ctx, http.MethodPost, "/api/v1/cases/"+url.PathEscape(c.key)+"/transitions",
			map[string]string{"to": to, "reason": "load test"}, &out); err != nil {
			return err
		}
		c.status = out.Status
		return nil
	case "search":
		q := w.word()
		if w.rng.IntN(2) == 0 {
			q += " " + w.word()
		}
		return w.s.call(ctx, http.MethodGet, "/api/v1/search?q="+url.QueryEscape(q)+"&size=20", nil, nil)
	case "postmortem":
		return w.s.call(ctx, http.MethodGet, "/api/v1/postmortems/"+url.PathEscape(w.fx.postmortem), nil, nil)
	}
	return fmt.Errorf("unknown operation %q", op)
}

func (w *loadWorker) word() string { return searchWords[w.rng.IntN(len(searchWords))] }

func (w *loadWorker) createCase(ctx context.Context) error {
	w.filed++
	first := w.word()
	title := fmt.Sprintf("%s %s %s %d", strings.ToUpper(first[:1])+first[1:], w.word(), w.word(), w.filed)
	body := map[string]any{
		"title":          title,
		"summary":        fmt.Sprintf("Reported by several buyers: %s %s after a refund dispute.", w.word(), w.word()),
		"actor":          map[string]any{"actor_id": fmt.Sprintf("%s-w%d-a%d", w.fx.prefix, w.id+1, w.filed%20), "kind": "merchant"},
		"policy_areas":   []string{"fraud_scam"},
		"severity":       fmt.Sprintf("sev%d", 2+w.rng.IntN(3)),
		"source_kind":    "reactive",
		"source_channel": "user_report",
		"team":           w.fx.team,
	}
	var out struct {
		Key    string `json:"key"`
		Status string `json:"status"`
	}
	if err := w.s.call(ctx, http.MethodPost, "/api/v1/cases", body, &out); err != nil {
		return err
	}
	if out.Key == "" {
		return errors.New("POST /api/v1/cases: no key in the answer")
	}
	tc := trackedCase{key: out.Key, status: out.Status}
	if len(w.cases) < maxTracked {
		w.cases = append(w.cases, tc)
	} else {
		w.cases[w.filed%maxTracked] = tc
	}
	return nil
}

// resync re-reads the statuses of the worker's cases after a failed
// transition, so that one failure does not make every later move wrong.
func (w *loadWorker) resync(ctx context.Context, op string) {
	if op != "transition" {
		return
	}
	for i := range w.cases {
		var out struct {
			Status string `json:"status"`
		}
		if w.s.call(ctx, http.MethodGet, "/api/v1/cases/"+url.PathEscape(w.cases[i].key), nil, &out) == nil && out.Status != "" {
			w.cases[i].status = out.Status
		}
	}
}

// row is one line of the report.
type row struct {
	op                 string
	count, errors      int
	opsPerSec          float64
	p50, p95, p99, max time.Duration
}

type loadReport struct {
	rows  []row
	total row
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

func makeRow(op string, lat []time.Duration, failed int, elapsed time.Duration) row {
	slices.Sort(lat)
	r := row{op: op, count: len(lat), errors: failed}
	if elapsed > 0 {
		r.opsPerSec = float64(len(lat)) / elapsed.Seconds()
	}
	if len(lat) > 0 {
		r.p50, r.p95, r.p99, r.max = percentile(lat, 50), percentile(lat, 95), percentile(lat, 99), lat[len(lat)-1]
	}
	return r
}

func summarize(mix []opWeight, ws []*loadWorker, elapsed time.Duration) loadReport {
	var rep loadReport
	var all []time.Duration
	totalErrors := 0
	for _, m := range mix {
		var lat []time.Duration
		failed := 0
		for _, w := range ws {
			lat = append(lat, w.stats[m.op].latencies...)
			failed += w.stats[m.op].errors
		}
		all = append(all, lat...)
		totalErrors += failed
		rep.rows = append(rep.rows, makeRow(m.op, lat, failed, elapsed))
	}
	rep.total = makeRow("total", all, totalErrors, elapsed)
	return rep
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}

func (rep loadReport) write(w io.Writer, rss []float64) {
	const format = "%-10s %9s %8s %8s %8s %8s %8s %7s\n"
	fmt.Fprintf(w, format, "operation", "count", "ops/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors")
	for _, r := range append(rep.rows, rep.total) {
		fmt.Fprintf(w, format, r.op, strconv.Itoa(r.count), strconv.FormatFloat(r.opsPerSec, 'f', 1, 64),
			ms(r.p50), ms(r.p95), ms(r.p99), ms(r.max), strconv.Itoa(r.errors))
	}
	if len(rss) == 0 {
		fmt.Fprintln(w, "server RSS: unavailable (no process_resident_memory_bytes in /metrics)")
		return
	}
	mib := func(b float64) string { return strconv.FormatFloat(b/(1<<20), 'f', 1, 64) }
	fmt.Fprintf(w, "server RSS (MiB): start %s, end %s, min %s, max %s over %d samples\n",
		mib(rss[0]), mib(rss[len(rss)-1]), mib(slices.Min(rss)), mib(slices.Max(rss)), len(rss))
	if len(rss) > 2 {
		series := make([]string, len(rss))
		for i, v := range rss {
			series[i] = strconv.FormatFloat(v/(1<<20), 'f', 0, 64)
		}
		fmt.Fprintf(w, "server RSS samples (MiB): %s\n", strings.Join(series, " "))
	}
}
