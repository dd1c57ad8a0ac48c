// Package metrics is the operator's view of Casefile for Prometheus: open
// cases by severity and SLA state, SLA breaches, enforcement steps, and
// the state of the search index. The domain numbers are read from the
// index when /metrics is scraped and kept for CacheFor, so a burst of
// scrapes costs one set of index queries; nothing here scans the store.
//
// The numbers are counts over every case, whoever may open it, with no
// label that names a team, vendor, actor or case, so they need no
// caller's permissions: like the QA scorecards' counts, they are read as
// auth.System.
//
// HTTP metrics come from package web, the index feed's from package
// search and the database commands' from store.WithMetrics.
package metrics

import (
	"context"
	"iter"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/search"
)

// CacheFor is how long one reading of the index serves scrapes.
const CacheFor = 5 * time.Second

// refreshTimeout bounds one reading of the index and the store.
const refreshTimeout = 10 * time.Second

// Tallier counts documents of the search index; *search.Searcher is one.
type Tallier interface {
	Tally(ctx context.Context, u *auth.User, t search.Tally) (search.Tallied, error)
}

// Sources are what the collector reads at scrape time.
type Sources struct {
	Search Tallier
	// Index is the highest store seq the index has applied.
	Index interface{ Checkpoint() (int64, error) }
	// Feed says how many documents wait to be indexed again.
	Feed interface{ Pending() int }
	// Head is the newest seq the store has handed out (one read by _id).
	Head func(ctx context.Context) (int64, error)
	// Now is the clock SLA states are read at (time.Now when nil).
	Now func() time.Time
	Log *slog.Logger
}

// Collector is a prometheus.Collector of Casefile's domain metrics.
// Register it once; CountEnforcement is its cases.Service hook.
type Collector struct {
	src Sources

	open, applied, documents, head, checkpoint, pending *prometheus.Desc

	breaches      prometheus.Counter
	enforcements  *prometheus.CounterVec
	refreshErrors prometheus.Counter

	mu sync.Mutex
	// read is when the cached reading was taken (zero: never).
	read time.Time
	last reading
	// breachesFrom is where the next count of breaches starts: every due
	// instant before it has been counted.
	breachesFrom time.Time
}

// reading is one look at the index and the store; a part whose query
// failed is left out of the scrape.
type reading struct {
	open                 map[string]map[string]int // severity → SLA state → count
	openOK               bool
	applied              map[string]int // by action
	appliedOK            bool
	documents            map[string]int // by type
	documentsOK          bool
	head, checkpoint     int64
	headOK, checkpointOK bool
	pending              int
}

// slaStates are the SLA states, in the order lists use.
var slaStates = []cases.SLAState{cases.SLAOk, cases.SLAAtRisk, cases.SLABreached}

// stepOutcomes are the steps an enforcement takes (see cases.EnforcementStep).
var stepOutcomes = []cases.EnforcementStatus{cases.Proposed, cases.Approved, cases.Rejected, cases.Applied, cases.Reversed}

// indexTypes are the document types the index holds.
var indexTypes = []string{search.TypeCase, search.TypeIncident, search.TypePostmortem, search.TypeReview, search.TypeRisk,
	search.TypeRootCause, search.TypeActionItem, search.TypeMitigationGap, search.TypeDecision}

// New returns the collector. Breaches are counted from now on.
func New(src Sources) *Collector {
	if src.Now == nil {
		src.Now = time.Now
	}
	if src.Log == nil {
		src.Log = slog.Default()
	}
	c := &Collector{
		src: src,
		open: prometheus.NewDesc("casefile_cases_open",
			"Cases not closed, by severity and SLA state now (ok, at_risk, breached), from the search index.",
			[]string{"severity", "sla"}, nil),
		applied: prometheus.NewDesc("casefile_enforcements_applied",
			"Enforcements applied and not reversed since (expired ones included), by action, from the decisions in the search index.",
			[]string{"action"}, nil),
		documents: prometheus.NewDesc("casefile_index_documents",
			"Documents in the search index, by type (report documents included).",
			[]string{"type"}, nil),
		head: prometheus.NewDesc("casefile_store_head_seq",
			"The newest write stamp (seq) the store has handed out, to any instance.", nil, nil),
		checkpoint: prometheus.NewDesc("casefile_index_checkpoint_seq",
			"The newest store seq this instance's search index has applied. Writes never indexed (actors) take seqs too, so head minus checkpoint is a few when nothing is missing; a growing gap means the index falls behind.", nil, nil),
		pending: prometheus.NewDesc("casefile_index_pending_documents",
			"Documents whose indexing failed and that wait for the feed's retry.", nil, nil),
		breaches: prometheus.NewCounter(prometheus.CounterOpts{Name: "casefile_sla_breaches_total",
			Help: "SLA clocks of open cases that ran out while this instance was running, seen in the search index at scrape time."}),
		enforcements: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "casefile_enforcements_total",
			Help: "Enforcement steps taken through this instance, by action and outcome (proposed, approved, rejected, applied, reversed)."},
			[]string{"action", "outcome"}),
		refreshErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "casefile_metrics_refresh_errors_total",
			Help: "Readings of the search index or store for /metrics that failed; the failed part is left out of that scrape."}),
		breachesFrom: src.Now(),
	}
	// Every series exists from the start, so that rate() sees the first step.
	for _, a := range cases.Actions {
		for _, o := range stepOutcomes {
			c.enforcements.WithLabelValues(string(a), string(o))
		}
	}
	return c
}

// CountEnforcement counts one enforcement step; pass it to
// cases.Service.OnEnforcement.
func (c *Collector) CountEnforcement(_ context.Context, st cases.EnforcementStep) {
	c.enforcements.WithLabelValues(string(st.Action), string(st.Status)).Inc()
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.open, c.applied, c.documents, c.head, c.checkpoint, c.pending} {
		ch <- d
	}
	c.breaches.Describe(ch)
	c.enforcements.Describe(ch)
	c.refreshErrors.Describe(ch)
}

// Collect implements prometheus.Collector: it reads the index again when
// the cached reading is older than CacheFor.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	r := c.reading()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if r.openOK {
		for _, sev := range union(severityNames(), maps.Keys(r.open)) {
			for _, st := range slaStates {
				gauge(c.open, float64(r.open[sev][string(st)]), sev, string(st))
			}
		}
	}
	if r.appliedOK {
		for _, a := range union(actionNames(), maps.Keys(r.applied)) {
			gauge(c.applied, float64(r.applied[a]), a)
		}
	}
	if r.documentsOK {
		for _, t := range union(indexTypes, maps.Keys(r.documents)) {
			gauge(c.documents, float64(r.documents[t]), t)
		}
	}
	if r.headOK {
		gauge(c.head, float64(r.head))
	}
	if r.checkpointOK {
		gauge(c.checkpoint, float64(r.checkpoint))
	}
	gauge(c.pending, float64(r.pending))
	c.breaches.Collect(ch)
	c.enforcements.Collect(ch)
	c.refreshErrors.Collect(ch)
}

// reading returns the cached reading, taking a new one when it is stale.
// Concurrent scrapes wait for one reading rather than each taking theirs.
func (c *Collector) reading() reading {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.src.Now()
	if !c.read.IsZero() && now.Sub(c.read) < CacheFor && !now.Before(c.read) {
		return c.last
	}
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	c.last, c.read = c.take(ctx, now), now
	return c.last
}

// take reads the index and the store at now. Each part that fails is
// logged, counted and left out.
func (c *Collector) take(ctx context.Context, now time.Time) reading {
	var r reading
	failed := func(part string, err error) bool {
		if err == nil {
			return false
		}
		c.refreshErrors.Inc()
		c.src.Log.Warn("metrics: reading failed", "part", part, "err", err)
		return true
	}
	var err error
	r.open, err = c.openCases(ctx, now)
	r.openOK = !failed("open cases", err)
	err = c.countBreaches(ctx, now)
	failed("SLA breaches", err)
	r.applied, err = c.appliedEnforcements(ctx)
	r.appliedOK = !failed("applied enforcements", err)
	r.documents, err = c.indexDocuments(ctx)
	r.documentsOK = !failed("index documents", err)
	r.head, err = c.src.Head(ctx)
	r.headOK = !failed("store head", err)
	r.checkpoint, err = c.src.Index.Checkpoint()
	r.checkpointOK = !failed("index checkpoint", err)
	r.pending = c.src.Feed.Pending()
	return r
}

// openStatuses are every status but closed.
func openStatuses() []string {
	var out []string
	for _, s := range cases.Statuses {
		if s != cases.StatusClosed {
			out = append(out, string(s))
		}
	}
	return out
}

// openCases counts open cases by severity, one query per SLA state (the
// state is a query on the SLA marks, see search.Tally.SLAState).
func (c *Collector) openCases(ctx context.Context, now time.Time) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	for _, st := range slaStates {
		res, err := c.src.Search.Tally(ctx, &auth.System, search.Tally{Types: []string{search.TypeCase},
			Terms: map[string][]string{"status": openStatuses()}, SLAState: string(st), Now: now,
			Facets: map[string]search.Facet{"severity": {Field: "severity", Size: 10}}})
		if err != nil {
			return nil, err
		}
		for _, f := range res.Facets["severity"] {
			if out[f.Term] == nil {
				out[f.Term] = map[string]int{}
			}
			out[f.Term][string(st)] = f.Count
		}
	}
	return out, nil
}

// countBreaches adds to the breach counter the open cases whose running
// SLA clock fell due in [breachesFrom, now), then moves breachesFrom to
// now. The windows of successive readings meet without overlap, so each
// due instant is counted once by this instance.
//
// What it cannot see: clocks that ran out while no instance was running
// (or before this one started), and a case whose index document arrived
// only after its due instant had passed a reading (a write committed late
// by another instance, or an index still catching up at start). The index
// holds only the next due instant of a case (the triage clock's while it
// runs), so a resolve clock already overdue when triage ends is not
// counted either. Every instance counts the same breaches: aggregate with
// max, not sum.
func (c *Collector) countBreaches(ctx context.Context, now time.Time) error {
	if !now.After(c.breachesFrom) {
		return nil
	}
	res, err := c.src.Search.Tally(ctx, &auth.System, search.Tally{Types: []string{search.TypeCase},
		Terms:  map[string][]string{"status": openStatuses()},
		Ranges: []search.Range{{Field: "due", From: c.breachesFrom, To: now}}})
	if err != nil {
		return err
	}
	c.breaches.Add(float64(res.Total))
	c.breachesFrom = now
	return nil
}

// appliedEnforcements counts, by action, the applied enforcements QA knows
// of (the index's decision documents, tagged with their kind, their action
// and, once reversed, "reversed") less those reversed since.
func (c *Collector) appliedEnforcements(ctx context.Context) (map[string]int, error) {
	byAction := func(tag string) (map[string]int, error) {
		res, err := c.src.Search.Tally(ctx, &auth.System, search.Tally{Types: []string{search.TypeDecision},
			Terms:  map[string][]string{"tag": {tag}},
			Facets: map[string]search.Facet{"tag": {Field: "tag", Size: 20}}})
		if err != nil {
			return nil, err
		}
		out := map[string]int{}
		for _, f := range res.Facets["tag"] {
			if cases.Action(f.Term).Valid() {
				out[f.Term] = f.Count
			}
		}
		return out, nil
	}
	applied, err := byAction(cases.DecisionEnforcement)
	if err != nil {
		return nil, err
	}
	reversed, err := byAction(search.TagReversed)
	if err != nil {
		return nil, err
	}
	for a, n := range reversed {
		applied[a] -= n
	}
	return applied, nil
}

// indexDocuments counts the index's documents by type.
func (c *Collector) indexDocuments(ctx context.Context) (map[string]int, error) {
	res, err := c.src.Search.Tally(ctx, &auth.System, search.Tally{
		Facets: map[string]search.Facet{"type": {Field: "type", Size: 50}}})
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, f := range res.Facets["type"] {
		out[f.Term] = f.Count
	}
	return out, nil
}

func severityNames() []string {
	out := make([]string, len(cases.Severities))
	for i, s := range cases.Severities {
		out[i] = string(s)
	}
	return out
}

func actionNames() []string {
	out := make([]string, len(cases.Actions))
	for i, a := range cases.Actions {
		out[i] = string(a)
	}
	return out
}

// union is known followed by the other names (but ""), so that every
// known series is always exported (at zero when there is nothing) and
// nothing found is hidden.
func union(known []string, names iter.Seq[string]) []string {
	out := slices.Clone(known)
	for n := range names {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
