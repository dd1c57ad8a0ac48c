package quality_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
)

// closeCase takes c from new to closed as u, with no violation found, and
// returns the closing decision's id.
func (s *system) closeCase(u *auth.User, c cases.Case) string {
	s.t.Helper()
	verdict := cases.VerdictNoViolation
	_, err := s.Cases.Update(s.ctx, u, c.ID, 0, cases.Patch{Verdict: &verdict}, auth.Meta{})
	require.NoError(s.t, err)
	for _, to := range []cases.Status{cases.StatusTriage, cases.StatusInvestigating, cases.StatusNoViolation, cases.StatusClosed} {
		c, err = s.Cases.Transition(s.ctx, u, c.ID, 0, to, "", auth.Meta{})
		require.NoError(s.t, err, to)
	}
	return c.ID + ":closure:" + strconv.Itoa(c.TimelineCount-1)
}

func (s *system) queueIDs() []string {
	s.t.Helper()
	items, _, err := s.Quality.Queue(s.ctx, s.lena, quality.QueueQuery{Status: "all", Limit: 50})
	require.NoError(s.t, err)
	ids := []string{}
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

// TestCatchUpRecordsDecisionsTheHookMissed: when recording a decision
// fails at the time (here the hook is cut, as a store outage would), the
// next catch-up finds the decision in the case and records it, once.
func TestCatchUpRecordsDecisionsTheHookMissed(t *testing.T) {
	s := newSystem(t)
	s.setRules(quality.Rule{ID: "all", Rate: 1})

	// Live decisions, recorded by the hook: catch-up must derive the same
	// ids, or it would record them twice.
	live := []string{s.enforce(s.ivy, s.newCase("t1", "")), s.closeCase(s.ivy, s.newCase("t1", ""))}
	assert.ElementsMatch(t, live, s.queueIDs())
	n, err := s.Quality.CatchUp(s.ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing was missed")

	s.Cases.OnDecision(func(context.Context, cases.Decided) {})
	missed := []string{s.enforce(s.ivy, s.newCase("t1", "")), s.closeCase(s.ian, s.newCase("t2", ""))}
	assert.ElementsMatch(t, live, s.queueIDs(), "the cut hook recorded nothing")

	n, err = s.Quality.CatchUp(s.ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.ElementsMatch(t, append(live, missed...), s.queueIDs())
	closure, err := s.Quality.Get(s.ctx, s.lena, missed[1], auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, cases.DecisionClosure, closure.Item.Kind)
	assert.Equal(t, "ian", closure.Item.Decider, "the closer is the decider")
	assert.Equal(t, "t2", closure.Item.Team)

	n, err = s.Quality.CatchUp(s.ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "a second catch-up records nothing again")
}

// TestReversalsReachTheDecision: reversing an applied enforcement marks
// its decision, through the hook or, when the hook failed, the catch-up.
func TestReversalsReachTheDecision(t *testing.T) {
	s := newSystem(t)
	s.setRules(quality.Rule{ID: "all", Rate: 1})
	reverse := func(id string) {
		t.Helper()
		parts := strings.Split(id, ":")
		_, err := s.Cases.Decide(s.ctx, s.lena, parts[0], parts[2], cases.Reverse, "appeal upheld", auth.Meta{})
		require.NoError(t, err)
	}
	reversedAt := func(id string) *time.Time {
		t.Helper()
		p, err := s.Quality.Get(s.ctx, s.lena, id, auth.Meta{})
		require.NoError(t, err)
		return p.Item.ReversedAt
	}

	live := s.enforce(s.ivy, s.newCase("t1", ""))
	require.Nil(t, reversedAt(live))
	reverse(live)
	require.NotNil(t, reversedAt(live), "the hook marks it")
	assert.Equal(t, s.clock.Now().UTC().Truncate(time.Millisecond), reversedAt(live).Truncate(time.Millisecond))

	missed := s.enforce(s.ivy, s.newCase("t1", ""))
	s.Cases.OnDecision(func(context.Context, cases.Decided) {})
	reverse(missed)
	assert.Nil(t, reversedAt(missed), "the cut hook marked nothing")
	n, err := s.Quality.CatchUp(s.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.NotNil(t, reversedAt(missed))
}
