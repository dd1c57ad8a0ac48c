// Package webhook delivers Casefile's events to HTTP endpoints that admins
// register: JSON (or a Slack-compatible message) signed with HMAC-SHA256,
// retried with exponential backoff for up to a day, with every attempt in
// a delivery log. It is integration plumbing: it reads the domain through
// small interfaces and the audit log, and no domain package imports it.
//
// Where events come from:
//
//   - case.created, case.transitioned, enforcement.applied,
//     enforcement.reversed and postmortem.published come from the audit
//     log, which is already an outbox: every domain write is followed by a
//     successful audit event whose _id is its zero-padded, gap-free seq. A
//     dispatcher tails it by _id (seq+1, seq+2, …: lookups the embedded
//     store pushes down, never a scan) from a checkpoint in webhook_state.
//     Every audit append in this process hands it the event
//     (auth.Audit.OnRecord), so the passes those appends wake read the
//     store only for events of other instances in between; a slow poll
//     reads the rest of other instances' events.
//   - sla.breached is a matter of time, not of a write: a ticker asks the
//     search index for cases whose running SLA clock fell due since the last
//     check (CheckSLA).
//   - quality.alert comes from the quality service's OnAlert hook.
//
// Enqueueing is idempotent: a delivery's _id is a hash of its subscription
// and its event, so a replayed tail, a second instance or a repeated check
// insert each delivery once (the later inserts are conflicts, dropped).
// Sending is at-least-once (a crash after the receiver answered and before
// the result is written sends again): receivers dedupe on
// X-Casefile-Delivery.
//
// On the embedded store every filter but an exact _id is a full scan
// (ARCHITECTURE.md). This package scans only: the webhooks collection (a
// handful of admin-made documents) when its cache is loaded; and the
// pending deliveries once, when the sender starts, to build its in-memory
// schedule. Everything else is by _id. There are no TTL indexes on the
// embedded store, so the delivery log is kept until an operator prunes it.
package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/search"
)

// The events a subscription may ask for.
const (
	CaseCreated         = "case.created"
	CaseTransitioned    = "case.transitioned"
	EnforcementApplied  = "enforcement.applied"
	EnforcementReversed = "enforcement.reversed"
	PostmortemPublished = "postmortem.published"
	SLABreached         = "sla.breached"
	QualityAlert        = "quality.alert"
)

// Events lists every event, in the order the documentation gives them.
var Events = []string{CaseCreated, CaseTransitioned, EnforcementApplied, EnforcementReversed, PostmortemPublished, SLABreached, QualityAlert}

// auditEvents maps the audit actions (of successful events) that are
// webhook events to their names.
var auditEvents = map[string]string{
	"case.create":         CaseCreated,
	"case.transition":     CaseTransitioned,
	"enforcement.apply":   EnforcementApplied,
	"enforcement.reverse": EnforcementReversed,
	"postmortem.publish":  PostmortemPublished,
}

// Delivery timing.
const (
	// AttemptTimeout bounds one attempt: connect, send, and read the answer.
	AttemptTimeout = 10 * time.Second
	// RetryWindow is how long after its first attempt a delivery is retried.
	RetryWindow = 24 * time.Hour
	// firstRetry and maxRetry bound the backoff: the n-th retry waits
	// between half and all of min(firstRetry·2^(n-1), maxRetry).
	firstRetry = 30 * time.Second
	maxRetry   = time.Hour
	// lease is how long a claimed delivery is reserved for its sender: more
	// than an attempt takes, so that two instances never send it at once,
	// and short enough that a crashed sender's deliveries move on soon.
	lease = AttemptTimeout + 20*time.Second
	// drainTimeout bounds how long Run waits for attempts in flight when
	// its context ends.
	drainTimeout = AttemptTimeout + 2*time.Second
	// maxResponseBytes is how much of an answer is read; the rest is dropped.
	maxResponseBytes = 64 << 10
	// snippetBytes of each answer are kept in the delivery log.
	snippetBytes = 512
	// maxHistory attempts are kept on a delivery (a day of backoff makes ~31).
	maxHistory = 50
)

// Defaults of Options.
const (
	DefaultPollInterval = 10 * time.Second
	DefaultSLAInterval  = time.Minute
	DefaultWorkers      = 4
)

// Collections.
const (
	webhooksColl   = "webhooks"
	deliveriesColl = "webhook_deliveries"
	logColl        = "webhook_delivery_log"
	stateColl      = "webhook_state"
	markersColl    = "webhook_markers"
)

// Options are the operator's settings.
type Options struct {
	// AllowInsecure accepts http:// URLs and loopback, private and
	// link-local targets. Off in production: with it, anyone who can make
	// an admin register a URL can make Casefile POST into its own network.
	AllowInsecure bool
	// PublicURL is the base URL people open Casefile at
	// (https://casefile.example.com); payloads link to cases with it.
	// Empty: no links.
	PublicURL string
	// PollInterval is how often the audit log is re-read for the writes of
	// other instances (this instance's own writes wake the dispatcher).
	PollInterval time.Duration
	// SLAInterval is how often breached SLAs are looked for.
	SLAInterval time.Duration
	// Workers bounds the attempts in flight.
	Workers int
	// Rand returns a uniform value in [0, n) for retry jitter
	// (math/rand/v2 when nil; tests pass a fixed one).
	Rand func(n int64) int64
}

// AuditLog is the audit log: the event source, and where changes to
// subscriptions are recorded. *auth.Audit implements it.
type AuditLog interface {
	Record(ctx context.Context, e auth.AuditEvent) error
	// Event reads the event with sequence number seq (NotFound if none).
	Event(ctx context.Context, seq int64) (auth.AuditEvent, error)
}

// CaseReader reads cases by key and id; *cases.MongoStore implements it.
// Reading the store rather than the service keeps the dispatcher's reads of
// restricted cases out of the audit log: they are not a person's reads.
type CaseReader interface {
	CaseIDByKey(ctx context.Context, key string) (string, error)
	Case(ctx context.Context, id string) (cases.Case, error)
}

// IncidentReader reads incidents by key and id; *rca.MongoStore implements it.
type IncidentReader interface {
	IncidentIDByKey(ctx context.Context, key string) (string, error)
	Incident(ctx context.Context, id string) (rca.Incident, error)
}

// TaxonomyReader gives the SLA targets; *cases.Service implements it.
type TaxonomyReader interface {
	Taxonomy(ctx context.Context) (cases.Taxonomy, int64, error)
}

// Searcher finds cases whose SLA is breached; *search.Searcher implements it.
type Searcher interface {
	Search(ctx context.Context, u *auth.User, r search.Request) (search.Result, error)
}

// Config is what New builds a Service from.
type Config struct {
	DB         *store.DB
	Audit      AuditLog
	Cases      CaseReader
	Incidents  IncidentReader
	Taxonomy   TaxonomyReader
	Search     Searcher
	Now        func() time.Time // time.Now when nil
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics exported
	Options
}

// Service manages subscriptions and turns events into deliveries.
type Service struct {
	db        *store.DB
	audit     AuditLog
	cases     CaseReader
	incidents IncidentReader
	taxonomy  TaxonomyReader
	search    Searcher
	now       func() time.Time
	rand      func(n int64) int64
	log       *slog.Logger
	opts      Options
	policy    urlPolicy
	client    *http.Client
	metrics   *metrics
	// instance names this process in delivery leases.
	instance string

	subsMu     sync.Mutex
	subs       map[string]Subscription // active subscriptions by id
	subsLoaded bool

	// tailMu makes one tail pass at a time; next is the next audit seq to
	// read, saved the next seq as of the stored checkpoint, saved at when.
	tailMu  sync.Mutex
	next    int64
	saved   int64
	savedAt time.Time
	gapSeen int64 // a missing seq seen on the previous pass, if any

	// handed are the events Notify handed over and the tail has not yet
	// taken, in seq order; known is the last seq this process appended.
	handedMu sync.Mutex
	handed   []auth.AuditEvent
	known    int64

	slaMu sync.Mutex

	queue       *schedule
	queueMu     sync.Mutex // guards queueLoaded
	queueLoaded bool
	wakeTail    chan struct{}
	wakeSend    chan struct{}
	slots       chan struct{} // one per attempt in flight
	inflight    sync.WaitGroup
}

// New prepares the collections and the dispatcher's checkpoints and returns
// the service. On a store that never had one, the checkpoints start at the
// present: receivers are not flooded with history.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	o := cfg.Options
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.SLAInterval <= 0 {
		o.SLAInterval = DefaultSLAInterval
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Rand == nil {
		o.Rand = mrand.Int64N
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	var inst [6]byte
	_, _ = rand.Read(inst[:])
	s := &Service{
		db: cfg.DB, audit: cfg.Audit, cases: cfg.Cases, incidents: cfg.Incidents, taxonomy: cfg.Taxonomy, search: cfg.Search,
		now: cfg.Now, rand: o.Rand, log: cfg.Logger.With("component", "webhooks"), opts: o,
		policy: urlPolicy{allowInsecure: o.AllowInsecure}, metrics: m, instance: hex.EncodeToString(inst[:]),
		queue: newSchedule(m.queue), wakeTail: make(chan struct{}, 1), wakeSend: make(chan struct{}, 1),
		slots: make(chan struct{}, o.Workers),
	}
	s.client = newClient(s.policy)
	if err := s.init(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) init(ctx context.Context) error {
	for _, c := range []string{webhooksColl, logColl, stateColl, markersColl} {
		if err := s.db.EnsureCollection(ctx, c); err != nil {
			return err
		}
	}
	// Against MongoDB the start-up load of pending deliveries uses it; the
	// embedded store scans either way.
	pending := mongo.IndexModel{Keys: bson.D{{Key: "status", Value: 1}, {Key: "next_attempt_at", Value: 1}}}
	if err := s.db.EnsureCollection(ctx, deliveriesColl, pending); err != nil {
		return err
	}
	var tail tailState
	err := s.db.FindByID(ctx, stateColl, tailStateID, &tail)
	if errs.Is(err, errs.NotFound) {
		head, err := s.auditHead(ctx)
		if err != nil {
			return err
		}
		err = s.db.Insert(ctx, stateColl, tailState{ID: tailStateID, Seq: head, Version: 1})
		if err != nil && !errs.Is(err, errs.Conflict) {
			return err
		}
	} else if err != nil {
		return err
	}
	var sla slaState
	err = s.db.FindByID(ctx, stateColl, slaStateID, &sla)
	if errs.Is(err, errs.NotFound) {
		err = s.db.Insert(ctx, stateColl, slaState{ID: slaStateID, Until: s.clock(), Version: 1})
		if errs.Is(err, errs.Conflict) {
			err = nil
		}
	}
	return err
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Run dispatches and delivers until ctx ends, then waits up to a bound
// for the attempts in flight (and cancels those still running after it).
// Errors are logged and retried: a store that is down for a while delays
// deliveries, it does not stop them.
func (s *Service) Run(ctx context.Context) {
	sendCtx, cancelSend := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSend()
	var wg sync.WaitGroup
	wg.Go(func() { s.tailLoop(ctx) })
	wg.Go(func() { s.slaLoop(ctx) })
	s.sendLoop(ctx, sendCtx)
	wg.Wait()

	drained := make(chan struct{})
	go func() { s.inflight.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		s.log.Warn("webhook attempts still in flight at shutdown; cancelling them")
		cancelSend()
		<-drained
	}
}

func (s *Service) tailLoop(ctx context.Context) {
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	// What woken passes left unsaved is saved on the way out, so that a
	// clean restart does not replay it.
	defer func() {
		saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.saveTail(saveCtx); err != nil {
			s.log.Warn("saving the webhook dispatcher's checkpoint at shutdown failed; the next start replays the last events", "err", err)
		}
	}()
	woken := false
	for {
		if _, err := s.tail(ctx, woken); err != nil && ctx.Err() == nil {
			s.log.Warn("reading the audit log for webhook events failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wakeTail:
			woken = true
		case <-t.C:
			woken = false
			// Other instances may have added or removed subscriptions, or
			// died with deliveries of their own pending.
			if err := s.reloadSubscriptions(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("reloading webhooks failed", "err", err)
			}
			if !s.db.Embedded() {
				if err := s.loadPending(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("reloading pending webhook deliveries failed", "err", err)
				}
			}
		}
	}
}

func (s *Service) slaLoop(ctx context.Context) {
	t := time.NewTicker(s.opts.SLAInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.CheckSLA(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("checking SLAs for webhooks failed; will retry", "err", err)
		}
	}
}

func (s *Service) sendLoop(ctx, sendCtx context.Context) {
	for {
		err := s.loadQueue(ctx)
		if err == nil {
			break
		}
		s.log.Warn("loading pending webhook deliveries failed; will retry", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.opts.PollInterval):
		}
	}
	// The schedule is in memory: a tick costs a look at its earliest entry.
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		s.dispatch(sendCtx)
		select {
		case <-ctx.Done():
			return
		case <-s.wakeSend:
		case <-t.C:
		}
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// newID returns a fresh webhook id.
func newID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return "wh_" + hex.EncodeToString(b[:])
}

// newClient is the HTTP client of every attempt: no proxy (a proxy would
// resolve names where the address check cannot see), no redirects, the
// address check at dial time (so DNS answers are checked, not only the
// URL), and AttemptTimeout overall.
func newClient(p urlPolicy) *http.Client {
	d := &net.Dialer{Timeout: AttemptTimeout, KeepAlive: 30 * time.Second, Control: p.dialControl}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   AttemptTimeout,
		ResponseHeaderTimeout: AttemptTimeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   AttemptTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
