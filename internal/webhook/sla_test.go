package webhook_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/webhook"
)

// TestSLABreachFiresOncePerClock: a sev1 case's triage clock (1 h) fires
// once when it falls due, however often the check runs; triaging it late
// (the triage clock stops on triage → investigating) leaves it breached
// without firing again; its resolve clock (24 h) fires once in turn. A
// case whose clock is not yet due does not fire.
func TestSLABreachFiresOncePerClock(t *testing.T) {
	s := newSystem(t)
	r := newReceiver(t, nil)
	s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.SLABreached)
	c := s.newCase(cases.Sev1)
	s.newCase(cases.Sev4) // triage within 72 h

	check := func(want int) {
		t.Helper()
		n, err := s.Webhooks.CheckSLA(s.ctx)
		require.NoError(t, err)
		require.Equal(t, want, n)
		_, err = s.Webhooks.RunDue(s.ctx)
		require.NoError(t, err)
	}
	s.clock.Advance(59 * time.Minute)
	check(0)
	s.clock.Advance(2 * time.Minute)
	check(1)
	check(0)
	s.clock.Advance(time.Minute)
	check(0)

	c = s.transition(c, cases.StatusTriage)
	c = s.transition(c, cases.StatusInvestigating) // triaged late: breached for good, by a stopped clock
	s.clock.Advance(time.Hour)
	check(0)

	s.clock.Set(start.Add(24*time.Hour + time.Minute))
	check(1)
	check(0)

	evs := r.events(t)
	require.Len(t, evs, 2)
	for _, ev := range evs {
		assert.Equal(t, webhook.SLABreached, ev.Name)
		assert.Equal(t, c.Key, ev.Entity.Key)
	}
	assert.Equal(t, "triage", evs[0].Data.Clock)
	assert.Equal(t, start.Add(time.Hour), *evs[0].Data.DueAt)
	assert.Equal(t, "new", evs[0].Data.Status)
	assert.Equal(t, "resolve", evs[1].Data.Clock)
	assert.Equal(t, start.Add(24*time.Hour), *evs[1].Data.DueAt)
	assert.Equal(t, "investigating", evs[1].Data.Status)
}

// TestSLACheckLooksPastCasesWithoutARunningClock: breached cases whose
// clocks have all stopped have no due time; the index sorts them after
// every due time (Bleve's default for a missing sort field, descending
// too), so they do not end the check before a real breach is seen.
func TestSLACheckLooksPastCasesWithoutARunningClock(t *testing.T) {
	s := newSystem(t)
	r := newReceiver(t, nil)
	s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.SLABreached)
	done := s.newCase(cases.Sev1)
	s.clock.Advance(2 * time.Hour)
	done = s.transition(done, cases.StatusTriage)
	done = s.transition(done, cases.StatusInvestigating) // triaged late: breached
	v := cases.VerdictNoViolation
	done, err := s.Cases.Update(s.ctx, s.lena, done.Key, done.Version, cases.Patch{Verdict: &v}, auth.Meta{})
	require.NoError(t, err)
	s.transition(done, cases.StatusNoViolation) // resolved: no clock runs

	late := s.newCase(cases.Sev1)
	s.clock.Advance(time.Hour + time.Minute)
	n, err := s.Webhooks.CheckSLA(s.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = s.Webhooks.RunDue(s.ctx)
	require.NoError(t, err)
	evs := r.events(t)
	require.Len(t, evs, 1)
	assert.Equal(t, late.Key, evs[0].Entity.Key)
}
