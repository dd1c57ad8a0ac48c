package cases

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSLAClock(t *testing.T) {
	budget := 10 * time.Hour
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	tests := []struct {
		name    string
		now     time.Duration
		stopped *time.Time
		want    SLAState
	}{
		{"fresh_clock_is_ok", 0, nil, SLAOk},
		{"just_under_80_percent_is_ok", 8*time.Hour - time.Millisecond, nil, SLAOk},
		{"80_percent_used_is_at_risk", 8 * time.Hour, nil, SLAAtRisk},
		{"whole_budget_used_is_at_risk", budget, nil, SLAAtRisk},
		{"past_budget_is_breached", budget + time.Millisecond, nil, SLABreached},
		{"stopped_in_time_stays_ok_later", 100 * time.Hour, at(time.Hour), SLAOk},
		{"stopped_at_90_percent_reads_ok_once_met", 100 * time.Hour, at(9 * time.Hour), SLAOk},
		{"stopped_late_stays_breached", 100 * time.Hour, at(11 * time.Hour), SLABreached},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clock(t0, budget, tt.stopped, t0.Add(tt.now))
			assert.Equal(t, tt.want, c.State)
			assert.Equal(t, t0.Add(budget), c.Due)
			assert.Equal(t, tt.stopped, c.Stopped)
		})
	}
}

func TestComputeSLA(t *testing.T) {
	tax := DefaultTaxonomy()
	c := &Case{Severity: Sev1, CreatedAt: t0}
	s := computeSLA(c, tax, t0.Add(50*time.Minute))
	require.NotNil(t, s)
	assert.Equal(t, t0.Add(time.Hour), s.Triage.Due, "sev1 triage is due in 1h")
	assert.Equal(t, t0.Add(24*time.Hour), s.Resolve.Due, "sev1 resolve is due in 24h")
	assert.Equal(t, SLAAtRisk, s.Triage.State)
	assert.Equal(t, SLAOk, s.Resolve.State)
	assert.Equal(t, SLAAtRisk, s.State, "the case state is the worse clock")

	s = computeSLA(c, tax, t0.Add(2*time.Hour))
	assert.Equal(t, SLABreached, s.State)

	for sev, want := range map[Severity][2]time.Duration{
		Sev2: {4 * time.Hour, 72 * time.Hour},
		Sev3: {24 * time.Hour, 7 * day},
		Sev4: {72 * time.Hour, 14 * day},
	} {
		s := computeSLA(&Case{Severity: sev, CreatedAt: t0}, tax, t0)
		assert.Equal(t, t0.Add(want[0]), s.Triage.Due, "%s triage", sev)
		assert.Equal(t, t0.Add(want[1]), s.Resolve.Due, "%s resolve", sev)
	}
	assert.Nil(t, computeSLA(&Case{Severity: "sev9", CreatedAt: t0}, tax, t0), "no target, no SLA")
}

// TestSLAThroughService drives the clocks with the fake clock through real
// case moves.
func TestSLAThroughService(t *testing.T) {
	h := newHarness(t)
	sla := func(h *harness, key string) *SLA {
		h.t.Helper()
		c := h.get(h.lena, key)
		require.NotNil(h.t, c.SLA)
		return c.SLA
	}

	t.Run("triage_clock_ok_at_risk_breached", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, func(n *NewCase) { n.Severity = Sev1 }) // triage 1h
		start := h.clock.Now()
		s := sla(h, c.Key)
		assert.Equal(t, SLAOk, s.Triage.State)
		assert.Equal(t, start.Add(time.Hour), s.Triage.Due)
		h.clock.Advance(48 * time.Minute)
		s = sla(h, c.Key)
		assert.Equal(t, SLAAtRisk, s.Triage.State)
		assert.Equal(t, SLAAtRisk, s.State)
		h.clock.Advance(13 * time.Minute)
		s = sla(h, c.Key)
		assert.Equal(t, SLABreached, s.Triage.State)
		assert.Equal(t, SLAOk, s.Resolve.State)
		assert.Equal(t, SLABreached, s.State)
	})

	t.Run("triage_clock_stops_at_triage_to_investigating", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, func(n *NewCase) { n.Severity = Sev2 }) // triage 4h, resolve 72h
		start := h.clock.Now()
		h.clock.Advance(time.Hour)
		h.move(h.lena, c.Key, StatusTriage)
		assert.Nil(t, sla(h, c.Key).Triage.Stopped, "moving to triage does not stop the triage clock")
		h.clock.Advance(time.Hour)
		h.move(h.lena, c.Key, StatusInvestigating)
		h.clock.Advance(10 * time.Hour) // far past the 4h triage target
		s := sla(h, c.Key)
		require.NotNil(t, s.Triage.Stopped)
		assert.Equal(t, start.Add(2*time.Hour), *s.Triage.Stopped)
		assert.Equal(t, SLAOk, s.Triage.State, "triaged in time stays ok")
		assert.Nil(t, s.Resolve.Stopped)
		assert.Equal(t, SLAOk, s.Resolve.State)
		h.clock.Advance(48 * time.Hour) // 60h of 72h
		assert.Equal(t, SLAAtRisk, sla(h, c.Key).Resolve.State, "the resolve clock keeps running")
		h.clock.Advance(13 * time.Hour)
		assert.Equal(t, SLABreached, sla(h, c.Key).Resolve.State)
	})

	t.Run("late_triage_stays_breached", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, func(n *NewCase) { n.Severity = Sev1 })
		h.clock.Advance(2 * time.Hour)
		h.move(h.lena, c.Key, StatusTriage, StatusInvestigating)
		h.clock.Advance(time.Hour)
		assert.Equal(t, SLABreached, sla(h, c.Key).Triage.State)
	})

	t.Run("resolve_clock_stops_at_no_violation", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, func(n *NewCase) { n.Severity = Sev1 }) // resolve 24h
		start := h.clock.Now()
		h.move(h.lena, c.Key, StatusTriage, StatusInvestigating)
		h.setVerdict(c.Key, VerdictNoViolation)
		h.clock.Advance(5 * time.Hour)
		h.move(h.lena, c.Key, StatusNoViolation)
		h.clock.Advance(100 * time.Hour)
		s := sla(h, c.Key)
		require.NotNil(t, s.Resolve.Stopped)
		assert.Equal(t, start.Add(5*time.Hour), *s.Resolve.Stopped)
		assert.Equal(t, SLAOk, s.Resolve.State)
	})

	t.Run("resolve_clock_stops_at_actioned", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, func(n *NewCase) { n.Severity = Sev1 })
		start := h.clock.Now()
		h.move(h.lena, c.Key, StatusTriage, StatusInvestigating)
		h.applyWarning(c.Key)
		h.move(h.lena, c.Key, StatusPendingReview)
		h.clock.Advance(20 * time.Hour)
		h.move(h.lena, c.Key, StatusActioned)
		h.clock.Advance(100 * time.Hour)
		s := sla(h, c.Key)
		require.NotNil(t, s.Resolve.Stopped)
		assert.Equal(t, start.Add(20*time.Hour), *s.Resolve.Stopped)
		assert.Equal(t, SLAOk, s.Resolve.State, "resolved in time stays ok")
	})

	t.Run("reopened_case_resolve_clock_runs_again", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, func(n *NewCase) { n.Severity = Sev2 }) // resolve 72h
		h.move(h.lena, c.Key, StatusTriage, StatusInvestigating)
		h.setVerdict(c.Key, VerdictInsufficientEvidence)
		h.clock.Advance(10 * time.Hour)
		h.move(h.lena, c.Key, StatusNoViolation, StatusClosed)
		h.clock.Advance(70 * time.Hour) // 80h since filing
		s := sla(h, c.Key)
		require.NotNil(t, s.Resolve.Stopped)
		assert.Equal(t, SLAOk, s.Resolve.State, "closed in time")
		h.move(h.lena, c.Key, StatusInvestigating)
		got := h.get(h.lena, c.Key)
		assert.Nil(t, got.ResolvedAt)
		assert.Nil(t, got.SLA.Resolve.Stopped)
		assert.Equal(t, SLABreached, got.SLA.Resolve.State, "the reopened clock counts from filing again")
		assert.NotNil(t, got.TriagedAt, "reopening keeps the triage stamp")
	})
}
