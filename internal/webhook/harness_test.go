package webhook_test

// These tests run webhooks as the binary wires them (internal/wire): events
// come from real service calls through the real audit log, the SLA check
// asks the real search index, and deliveries go over real HTTP to a local
// receiver. Only the clock and the retry jitter are fakes.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/casestest"
	"casefile.dev/casefile/internal/fakeclock"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/internal/storetest"
	"casefile.dev/casefile/internal/webhook"
	"casefile.dev/casefile/internal/wire"
	"casefile.dev/casefile/rca"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // a Monday

const publicURL = "https://casefile.example.com"

// maxJitter makes every retry wait its full step (30 s, 1 m, 2 m, …).
func maxJitter(n int64) int64 { return n - 1 }

// system is every service over one store and index, and its people.
type system struct {
	t     *testing.T
	ctx   context.Context
	clock *fakeclock.Clock
	db    *store.DB
	reg   *prometheus.Registry
	*wire.Services

	admin *auth.User
	lena  *auth.User // lead, team t1
	luke  *auth.User // lead, team t1
	ivy   *auth.User // investigator, team t1
	vic   *auth.User // vendor agent, acme
}

// newSystem starts the system with webhook options o (insecure URLs are
// allowed so that the receivers can be local, unless o says otherwise).
func newSystem(t *testing.T, o ...webhook.Options) *system {
	t.Helper()
	return newSystemOn(t, storetest.New(t), o...)
}

// newSystemOn is newSystem on the database db (from storetest).
func newSystemOn(t *testing.T, db *store.DB, o ...webhook.Options) *system {
	t.Helper()
	opts := webhook.Options{AllowInsecure: true, PublicURL: publicURL, Rand: maxJitter}
	if len(o) > 0 {
		opts = o[0]
	}
	ctx := context.Background()
	clock := fakeclock.New(start)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	all, err := wire.New(ctx, wire.Config{DB: db, Keys: auth.NewKeySet(key), Now: clock.Now,
		Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1}, Logger: quiet, IndexDir: t.TempDir(), Registerer: reg, Webhooks: opts})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, all.Close()) })
	require.NoError(t, all.Sync(ctx, quiet))
	s := &system{t: t, ctx: ctx, clock: clock, db: db, reg: reg, Services: all}
	user := func(name string, role auth.Role, team, vendor string) *auth.User {
		return casestest.User(t, all.Auth, name, role, team, vendor)
	}
	s.admin = user("ada", auth.RoleAdmin, "", "")
	s.lena = user("lena", auth.RoleLead, "t1", "")
	s.luke = user("luke", auth.RoleLead, "t1", "")
	s.ivy = user("ivy", auth.RoleInvestigator, "t1", "")
	s.vic = user("vic", auth.RoleVendorAgent, "", "acme")
	return s
}

// another is a second webhook service on the same store: another
// instance, or this one after a restart.
func (s *system) another(o webhook.Options) *webhook.Service {
	s.t.Helper()
	w, err := webhook.New(s.ctx, webhook.Config{DB: s.db, Audit: s.Audit, Cases: cases.NewMongoStore(s.db), Incidents: rca.NewMongoStore(s.db),
		Taxonomy: s.Cases, Search: s.Searcher, Now: s.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Options: o})
	require.NoError(s.t, err)
	return w
}

// subscribe registers url for events as the admin and returns it with its
// secret.
func (s *system) subscribe(url string, format webhook.Format, events ...string) webhook.Subscription {
	s.t.Helper()
	sub, err := s.Webhooks.Create(s.ctx, s.admin, webhook.NewSubscription{URL: url, Events: events,
		Secret: "s3cret-" + string(format) + "-0123456789", Format: format}, auth.Meta{})
	require.NoError(s.t, err)
	return sub
}

// deliverAll runs the dispatcher and sends what is due now.
func (s *system) deliverAll() {
	s.t.Helper()
	_, err := s.Webhooks.Tail(s.ctx)
	require.NoError(s.t, err)
	_, err = s.Webhooks.RunDue(s.ctx)
	require.NoError(s.t, err)
}

var actorN int

// newCase files a case as lena.
func (s *system) newCase(sev cases.Severity, edit ...func(*cases.NewCase)) cases.Case {
	s.t.Helper()
	actorN++
	in := cases.NewCase{Title: "Gift card scam", Summary: "Fake gift cards.", Actor: cases.ActorRef{ActorID: "actor-" + string(rune('a'+actorN%26)) + "-1"},
		PolicyAreas: []string{"fraud_scam"}, Severity: sev, SourceKind: "reactive", SourceChannel: "user_report", Team: "t1"}
	for _, e := range edit {
		e(&in)
	}
	c, _, err := s.Cases.Create(s.ctx, s.lena, in, "", auth.Meta{})
	require.NoError(s.t, err)
	return c
}

func (s *system) transition(c cases.Case, to cases.Status) cases.Case {
	s.t.Helper()
	c, err := s.Cases.Transition(s.ctx, s.lena, c.Key, c.Version, to, "moving on", auth.Meta{})
	require.NoError(s.t, err)
	return c
}

func (s *system) delivery(id string) webhook.Delivery {
	s.t.Helper()
	d, err := s.Webhooks.Delivery(s.ctx, s.admin, id)
	require.NoError(s.t, err)
	return d
}

func (s *system) deliveries(sub webhook.Subscription) []webhook.Delivery {
	s.t.Helper()
	ds, _, _, err := s.Webhooks.Deliveries(s.ctx, s.admin, sub.ID, 200, "")
	require.NoError(s.t, err)
	return ds
}

// metric reads one series of a counter family from the registry.
func (s *system) metric(name string, labels map[string]string) float64 {
	s.t.Helper()
	families, err := s.reg.Gather()
	require.NoError(s.t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// receiver is a local HTTP endpoint that records what it is sent and
// answers with status(n) to its n-th request (from 1).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	status func(n int) int
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	t.Helper()
	r := &receiver{status: status}
	if r.status == nil {
		r.status = func(int) int { return http.StatusOK }
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: b})
		n := len(r.got)
		r.mu.Unlock()
		w.WriteHeader(r.status(n))
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// events decodes the JSON payloads received.
func (r *receiver) events(t *testing.T) []webhook.Event {
	t.Helper()
	var out []webhook.Event
	for _, g := range r.requests() {
		var ev webhook.Event
		require.NoError(t, json.Unmarshal(g.body, &ev), "%s", g.body)
		out = append(out, ev)
	}
	return out
}

func names(evs []webhook.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Name)
	}
	return out
}
