package cases

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

// stepLog records the enforcement steps a listener is told.
type stepLog struct {
	mu    sync.Mutex
	steps []EnforcementStep
}

func (l *stepLog) listen(_ context.Context, st EnforcementStep) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = append(l.steps, st)
}

// take returns the steps told since the last take as "status by", and
// forgets them.
func (l *stepLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, st := range l.steps {
		out = append(out, string(st.Status)+" by "+st.By)
	}
	l.steps = nil
	return out
}

func TestOnEnforcementTellsEveryStep(t *testing.T) {
	h := newHarness(t)
	var first, second stepLog
	h.svc.OnEnforcement(first.listen)
	h.svc.OnEnforcement(second.listen)
	c := h.create(h.ivy, nil)
	var warningID, removalID, banID string

	steps := []struct {
		name string
		do   func(t *testing.T) error
		want []string
	}{
		{"a_warning_within_the_ladder_is_proposed_and_approved_at_once", func(t *testing.T) error {
			e, err := h.svc.Propose(h.ctx, h.lena, c.Key, Proposal{Action: Warning, Reason: "first offence"}, Meta{})
			warningID = e.ID
			return err
		}, []string{"proposed by lena", "approved by auto:within_recommendation"}},
		{"applying", func(t *testing.T) error {
			_, err := h.svc.Decide(h.ctx, h.lena, c.Key, warningID, Apply, "", Meta{})
			return err
		}, []string{"applied by lena"}},
		{"a_proposal_off_the_ladder_waits", func(t *testing.T) error {
			e, err := h.svc.Propose(h.ctx, h.ivy, c.Key, Proposal{Action: ContentRemoval, Reason: "fake listings", Justification: "listings must go"}, Meta{})
			removalID = e.ID
			return err
		}, []string{"proposed by ivy"}},
		{"approving", func(t *testing.T) error {
			_, err := h.svc.Decide(h.ctx, h.lena, c.Key, removalID, Approve, "", Meta{})
			return err
		}, []string{"approved by lena"}},
		{"applying_the_approved", func(t *testing.T) error {
			_, err := h.svc.Decide(h.ctx, h.ivy, c.Key, removalID, Apply, "", Meta{})
			return err
		}, []string{"applied by ivy"}},
		{"reversing", func(t *testing.T) error {
			_, err := h.svc.Decide(h.ctx, h.lars, c.Key, removalID, Reverse, "appeal granted", Meta{})
			return err
		}, []string{"reversed by lars"}},
		{"proposing_a_ban", func(t *testing.T) error {
			e, err := h.svc.Propose(h.ctx, h.ivy, c.Key, Proposal{Action: PermanentBan, Reason: "ring leader", Justification: "confirmed"}, Meta{})
			banID = e.ID
			return err
		}, []string{"proposed by ivy"}},
		{"rejecting", func(t *testing.T) error {
			_, err := h.svc.Decide(h.ctx, h.lena, c.Key, banID, Reject, "too harsh", Meta{})
			return err
		}, []string{"rejected by lena"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			require.NoError(t, s.do(t))
			assert.Equal(t, s.want, first.take())
			assert.Equal(t, s.want, second.take(), "every listener is told")
		})
	}

	t.Run("a_refused_step_tells_nobody", func(t *testing.T) {
		e, err := h.svc.Propose(h.ctx, h.lena, c.Key, Proposal{Action: PermanentBan, Reason: "again", Justification: "j"}, Meta{})
		require.NoError(t, err)
		first.take()
		second.take()
		_, err = h.svc.Decide(h.ctx, h.lena, c.Key, e.ID, Approve, "", Meta{})
		errstest.Require(t, err, errs.Forbidden) // nobody approves their own proposal
		_, err = h.svc.Decide(h.ctx, h.lena, c.Key, e.ID, Apply, "", Meta{})
		errstest.Require(t, err, errs.Conflict) // not approved
		_, err = h.svc.Propose(h.ctx, h.vic, c.Key, Proposal{Action: Warning, Reason: "r"}, Meta{})
		errstest.Require(t, err, errs.NotFound) // not the vendor's case
		assert.Empty(t, first.take())
	})

	t.Run("the_step_names_its_case_and_enforcement", func(t *testing.T) {
		_, err := h.svc.Decide(h.ctx, h.lars, c.Key, warningID, Reverse, "mistake", Meta{})
		require.NoError(t, err)
		first.mu.Lock()
		defer first.mu.Unlock()
		require.Len(t, first.steps, 1)
		st := first.steps[0]
		assert.Equal(t, EnforcementStep{CaseID: c.ID, CaseKey: c.Key, EnforcementID: warningID, Action: Warning, PolicyArea: "fraud_scam",
			Status: Reversed, By: "lars", At: h.clock.Now()}, st)
	})
}
