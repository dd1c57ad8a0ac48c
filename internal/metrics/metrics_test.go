package metrics_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/casestest"
	"casefile.dev/casefile/internal/fakeclock"
	"casefile.dev/casefile/internal/metrics"
	"casefile.dev/casefile/internal/storetest"
	"casefile.dev/casefile/internal/wire"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// system is the whole system as the binary wires it, with its metrics in
// reg and a fake clock.
type system struct {
	ctx   context.Context
	all   *wire.Services
	reg   *prometheus.Registry
	clock *fakeclock.Clock
	lead  *auth.User
	lead2 *auth.User
	n     int
	// closed: the test closed the index itself (Bleve panics when an
	// index is closed twice).
	closed bool
}

func newSystem(t *testing.T) *system {
	t.Helper()
	ctx := context.Background()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s := &system{ctx: ctx, reg: prometheus.NewRegistry(), clock: fakeclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))}
	s.all, err = wire.New(ctx, wire.Config{DB: storetest.New(t), Keys: auth.NewKeySet(key), Now: s.clock.Now,
		Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1}, Logger: quiet, IndexDir: t.TempDir(), Registerer: s.reg})
	require.NoError(t, err)
	t.Cleanup(func() {
		if !s.closed {
			assert.NoError(t, s.all.Close())
		}
	})
	require.NoError(t, s.all.Sync(ctx, quiet))
	s.lead = casestest.User(t, s.all.Auth, "lena", auth.RoleLead, "fraud", "")
	s.lead2 = casestest.User(t, s.all.Auth, "lars", auth.RoleLead, "fraud", "")
	return s
}

// createCase files a case of severity sev about a fresh actor.
func (s *system) createCase(t *testing.T, sev cases.Severity, restricted bool) cases.Case {
	t.Helper()
	s.n++
	c, _, err := s.all.Cases.Create(s.ctx, s.lead, cases.NewCase{Title: "Gift card scam ring", Summary: "Accounts sell fake gift cards.",
		Actor: cases.ActorRef{ActorID: fmt.Sprintf("actor-%d", s.n)}, PolicyAreas: []string{"fraud_scam"}, Severity: sev,
		SourceKind: "proactive", SourceChannel: "automated_detection", Team: "fraud", Restricted: restricted}, "", cases.Meta{})
	require.NoError(t, err)
	return c
}

// scrape gathers the registry after the cached reading has expired, and
// returns every sample as "name{label=value,...}" → value.
func (s *system) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	s.clock.Advance(metrics.CacheFor)
	return gather(t, s.reg)
}

func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			if len(m.GetLabel()) > 0 {
				name += "{"
				for i, l := range m.GetLabel() {
					if i > 0 {
						name += ","
					}
					name += l.GetName() + "=" + l.GetValue()
				}
				name += "}"
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[name] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[name] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func open(sev, sla string) string { return "casefile_cases_open{severity=" + sev + ",sla=" + sla + "}" }

func steps(action, outcome string) string {
	return "casefile_enforcements_total{action=" + action + ",outcome=" + outcome + "}"
}

// changed is the samples of after that differ from before, leaving out
// the index feed's own metrics and the seqs, which every write moves.
func changed(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if strings.HasPrefix(k, "casefile_index_batch_size") || strings.HasPrefix(k, "casefile_index_last_applied") ||
			k == "casefile_store_head_seq" || k == "casefile_index_checkpoint_seq" {
			continue
		}
		if before[k] != v {
			out[k] = v - before[k]
		}
	}
	return out
}

func TestOpenCasesBySeverityAndSLAState(t *testing.T) {
	s := newSystem(t)
	start := s.scrape(t)
	for _, sev := range cases.Severities {
		for _, sla := range []string{"ok", "at_risk", "breached"} {
			v, ok := start[open(string(sev), sla)]
			assert.True(t, ok, "every series exists from the start: %s %s", sev, sla)
			assert.Zero(t, v)
		}
	}
	assert.Zero(t, start["casefile_sla_breaches_total"])

	// sev1: triage within 1 h, at risk from 48 min. sev3: triage within 24 h.
	c := s.createCase(t, cases.Sev1, false)
	s.createCase(t, cases.Sev3, true) // restricted cases count too: counts name no one
	t.Run("a_new_case_is_open_and_ok", func(t *testing.T) {
		assert.Equal(t, map[string]float64{open("sev1", "ok"): 1, open("sev3", "ok"): 1, "casefile_index_documents{type=case}": 2},
			changed(start, s.scrape(t)))
	})

	t.Run("a_scrape_within_CacheFor_reads_the_cached_counts", func(t *testing.T) {
		before := s.scrape(t)
		s.createCase(t, cases.Sev1, false)
		assert.Equal(t, before[open("sev1", "ok")], gather(t, s.reg)[open("sev1", "ok")])
		assert.Equal(t, before[open("sev1", "ok")]+1, s.scrape(t)[open("sev1", "ok")], "and the next reading sees the new case")
	})

	t.Run("time_moves_a_case_to_at_risk_then_breached_and_counts_the_breach_once", func(t *testing.T) {
		before := s.scrape(t)
		s.clock.Set(c.CreatedAt.Add(50 * time.Minute))
		at50 := s.scrape(t)
		assert.Equal(t, map[string]float64{open("sev1", "ok"): -2, open("sev1", "at_risk"): 2}, changed(before, at50),
			"both sev1 cases are past 80% of their triage hour")
		s.clock.Set(c.CreatedAt.Add(61 * time.Minute))
		at61 := s.scrape(t)
		assert.Equal(t, map[string]float64{open("sev1", "at_risk"): -2, open("sev1", "breached"): 2, "casefile_sla_breaches_total": 2},
			changed(at50, at61))
		s.clock.Advance(2 * time.Hour)
		assert.Empty(t, changed(at61, s.scrape(t)), "a breach is counted once")
	})

	t.Run("triage_stops_the_clock_but_the_breach_stays", func(t *testing.T) {
		before := s.scrape(t)
		for _, to := range []cases.Status{cases.StatusTriage, cases.StatusInvestigating} {
			_, err := s.all.Cases.Transition(s.ctx, s.lead, c.Key, 0, to, "", cases.Meta{})
			require.NoError(t, err)
		}
		assert.Empty(t, changed(before, s.scrape(t)), "the case is open and stays breached")
	})
}

func TestEnforcementSteps(t *testing.T) {
	s := newSystem(t)
	c := s.createCase(t, cases.Sev2, false)
	before := s.scrape(t)
	assert.Contains(t, before, steps("permanent_ban", "rejected"), "every action and outcome exists from the start")

	e, err := s.all.Cases.Propose(s.ctx, s.lead, c.Key, cases.Proposal{Action: cases.Warning, Reason: "first offence"}, cases.Meta{})
	require.NoError(t, err)
	_, err = s.all.Cases.Decide(s.ctx, s.lead, c.Key, e.ID, cases.Apply, "", cases.Meta{})
	require.NoError(t, err)
	applied := s.scrape(t)
	assert.Equal(t, map[string]float64{
		steps("warning", "proposed"): 1, steps("warning", "approved"): 1, steps("warning", "applied"): 1,
		"casefile_enforcements_applied{action=warning}": 1,
		"casefile_index_documents{type=decision}":       1,
	}, changed(before, applied))

	_, err = s.all.Cases.Decide(s.ctx, s.lead2, c.Key, e.ID, cases.Reverse, "appeal granted", cases.Meta{})
	require.NoError(t, err)
	ban, err := s.all.Cases.Propose(s.ctx, s.lead, c.Key, cases.Proposal{Action: cases.PermanentBan, Reason: "ring", Justification: "j"}, cases.Meta{})
	require.NoError(t, err)
	_, err = s.all.Cases.Decide(s.ctx, s.lead, c.Key, ban.ID, cases.Approve, "", cases.Meta{})
	require.Error(t, err, "nobody approves their own proposal")
	_, err = s.all.Cases.Decide(s.ctx, s.lead2, c.Key, ban.ID, cases.Reject, "too harsh", cases.Meta{})
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{
		steps("warning", "reversed"): 1, steps("permanent_ban", "proposed"): 1, steps("permanent_ban", "rejected"): 1,
		"casefile_enforcements_applied{action=warning}": -1,
	}, changed(applied, s.scrape(t)), "a refused step counts nothing")
}

func TestIndexState(t *testing.T) {
	s := newSystem(t)
	c := s.createCase(t, cases.Sev4, false)
	got := s.scrape(t)
	require.Contains(t, got, "casefile_store_head_seq")
	assert.Equal(t, float64(c.Seq), got["casefile_index_checkpoint_seq"], "the case is indexed before Create answers")
	assert.Equal(t, float64(c.Seq+1), got["casefile_store_head_seq"],
		"filing the case also created its actor, whose write takes a seq and is never indexed")
	assert.Zero(t, got["casefile_index_pending_documents"])
	assert.Zero(t, got["casefile_metrics_refresh_errors_total"])
	assert.Equal(t, 1.0, got["casefile_index_documents{type=case}"])

	_, err := s.all.Feed.CatchUp(s.ctx)
	require.NoError(t, err)
	got = s.scrape(t)
	assert.Equal(t, got["casefile_store_head_seq"], got["casefile_index_checkpoint_seq"], "a catch-up moves the checkpoint to the head")

	t.Run("a_failed_reading_leaves_its_series_out_and_is_counted", func(t *testing.T) {
		require.NoError(t, s.all.Close())
		s.closed = true
		got := s.scrape(t)
		assert.NotContains(t, got, open("sev4", "ok"))
		assert.NotContains(t, got, "casefile_index_documents{type=case}")
		assert.Contains(t, got, "casefile_store_head_seq", "the store still answers")
		assert.Contains(t, got, steps("warning", "applied"), "counters stay")
		assert.Positive(t, got["casefile_metrics_refresh_errors_total"])
	})
}
