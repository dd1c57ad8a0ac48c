package cases

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

func TestMovesMatchDomain(t *testing.T) {
	// DOMAIN.md: new → triage → investigating → pending_review → actioned →
	// closed; investigating → no_violation → closed; pending_review →
	// investigating; closed → investigating.
	want := map[Status][]Status{
		StatusNew:           {StatusTriage},
		StatusTriage:        {StatusInvestigating},
		StatusInvestigating: {StatusPendingReview, StatusNoViolation},
		StatusPendingReview: {StatusActioned, StatusInvestigating},
		StatusActioned:      {StatusClosed},
		StatusNoViolation:   {StatusClosed},
		StatusClosed:        {StatusInvestigating},
	}
	for _, s := range Statuses {
		assert.ElementsMatch(t, want[s], AllowedMoves(s), "moves from %s", s)
	}
	assert.Len(t, Statuses, len(want))
}

// TestTransitionEveryPair tries every pair of statuses on real cases: each
// legal move succeeds, stamps the clocks and writes a status event; every
// other move is a conflict naming the allowed moves.
func TestTransitionEveryPair(t *testing.T) {
	h := newHarness(t)
	for _, from := range Statuses {
		for i, to := range AllowedMoves(from) {
			t.Run(string(from)+"_to_"+string(to)+"_is_allowed", func(t *testing.T) {
				h := h.with(t)
				c := h.caseAt(from)
				if i == 0 {
					// The first case at from also answers every illegal move.
					for _, bad := range Statuses {
						if slices.Contains(AllowedMoves(from), bad) {
							continue
						}
						_, err := h.svc.Transition(h.ctx, h.lena, c.Key, 0, bad, "", Meta{})
						e := errstest.Require(t, err, errs.Conflict)
						assert.Contains(t, e.Message, "allowed: "+joinStatuses(AllowedMoves(from)), "%s → %s", from, bad)
					}
					require.Equal(t, c.Version, h.raw(c.ID).Version, "refused moves write nothing")
				}
				// The guarded moves need their preconditions (tested below).
				switch to {
				case StatusNoViolation:
					h.setVerdict(c.Key, VerdictNoViolation)
					c = h.get(h.lena, c.Key)
				case StatusActioned:
					h.applyWarning(c.Key)
					c = h.get(h.lena, c.Key)
				}
				h.clock.Advance(time.Second)
				now := h.clock.Now()
				got, err := h.svc.Transition(h.ctx, h.lena, c.Key, c.Version, to, "because", Meta{})
				require.NoError(t, err)
				assert.Equal(t, to, got.Status)
				assert.Equal(t, c.Version+1, got.Version)
				assert.Equal(t, now, got.UpdatedAt)

				read := h.get(h.lena, c.Key)
				assert.Equal(t, to, read.Status)
				last := read.Timeline[len(read.Timeline)-1]
				assert.Equal(t, EventStatus, last.Kind)
				assert.Equal(t, map[string]string{"from": string(from), "to": string(to)}, last.Detail)
				assert.Equal(t, "because", last.Text)
				assert.Equal(t, "lena", last.Author)
				assert.Equal(t, c.TimelineCount, last.N)

				switch {
				case from == StatusTriage:
					require.NotNil(t, read.TriagedAt)
					assert.Equal(t, now, *read.TriagedAt)
				case from == StatusNew:
					assert.Nil(t, read.TriagedAt, "moving to triage does not end triage")
				default:
					assert.Equal(t, c.TriagedAt, read.TriagedAt, "triaged_at is stamped once")
				}
				switch {
				case to == StatusActioned || to == StatusNoViolation:
					require.NotNil(t, read.ResolvedAt)
					assert.Equal(t, now, *read.ResolvedAt)
				case from == StatusClosed:
					assert.Nil(t, read.ResolvedAt, "reopening clears resolved_at")
				default:
					assert.Equal(t, c.ResolvedAt, read.ResolvedAt)
				}

				audit := h.events("case.transition")
				require.NotEmpty(t, audit)
				ev := audit[len(audit)-1]
				assert.Equal(t, c.Key, ev.Entity.ID)
				assert.Equal(t, map[string]string{"from": string(from), "to": string(to)}, ev.Detail)
			})
		}
	}
}

func TestTransitionValidation(t *testing.T) {
	h := newHarness(t)
	c := h.create(h.lena, nil)
	t.Run("unknown_status_is_invalid", func(t *testing.T) {
		h := h.with(t)
		_, err := h.svc.Transition(h.ctx, h.lena, c.Key, 0, "done", "", Meta{})
		assert.Equal(t, []string{"to"}, errstest.Fields(t, err))
	})
	t.Run("stale_if_match_is_precondition_failed", func(t *testing.T) {
		h := h.with(t)
		_, err := h.svc.AddNote(h.ctx, h.lena, c.Key, "someone else wrote meanwhile", Meta{})
		require.NoError(t, err)
		_, err = h.svc.Transition(h.ctx, h.lena, c.Key, c.Version, StatusTriage, "", Meta{})
		errstest.Require(t, err, errs.PreconditionFailed)
		_, err = h.svc.Transition(h.ctx, h.lena, c.Key, c.Version+5, StatusTriage, "", Meta{})
		errstest.Require(t, err, errs.PreconditionFailed)
		got := h.raw(c.ID)
		assert.Equal(t, StatusNew, got.Status)
		assert.Equal(t, c.Version+1, got.Version)
	})
	t.Run("unknown_case_is_not_found", func(t *testing.T) {
		h := h.with(t)
		_, err := h.svc.Transition(h.ctx, h.lena, "CF-2026-999", 0, StatusTriage, "", Meta{})
		errstest.Require(t, err, errs.NotFound)
	})
}

func TestTransitionReopen(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name string
		user *auth.User
		want errs.Code // "" for success
	}{
		{"lead_may_reopen", h.lena, ""},
		{"admin_may_reopen", h.admin, ""},
		{"investigator_of_the_team_may_not_reopen", h.ivy, errs.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			c := h.caseAt(StatusClosed)
			got, err := h.svc.Transition(h.ctx, tt.user, c.Key, 0, StatusInvestigating, "appeal", Meta{})
			if tt.want == "" {
				require.NoError(t, err)
				assert.Equal(t, StatusInvestigating, got.Status)
				return
			}
			errstest.Require(t, err, tt.want)
			assert.Equal(t, StatusClosed, h.raw(c.ID).Status)
			assert.True(t, h.deniedAudited("case.transition", tt.user, c.Key), "the refusal is audited")
		})
	}
	t.Run("vendor_agent_may_not_reopen_their_vendor_case", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, func(n *NewCase) { n.Team, n.Vendor = "", "acme" })
		h.move(h.vic, c.Key, StatusTriage, StatusInvestigating)
		v := VerdictNoViolation
		_, err := h.svc.Update(h.ctx, h.vic, c.Key, 0, Patch{Verdict: &v}, Meta{})
		require.NoError(t, err)
		h.move(h.vic, c.Key, StatusNoViolation, StatusClosed)
		_, err = h.svc.Transition(h.ctx, h.vic, c.Key, 0, StatusInvestigating, "", Meta{})
		errstest.Require(t, err, errs.Forbidden)
	})
}

func TestTransitionToActionedNeedsAppliedEnforcement(t *testing.T) {
	h := newHarness(t)
	c := h.caseAt(StatusPendingReview)

	_, err := h.svc.Transition(h.ctx, h.lena, c.Key, 0, StatusActioned, "", Meta{})
	e := errstest.Require(t, err, errs.Conflict)
	assert.Contains(t, e.Message, "applied")

	p, err := h.svc.Propose(h.ctx, h.ivy, c.Key, Proposal{Action: Warning, Reason: "spam links"}, Meta{})
	require.NoError(t, err)
	require.Equal(t, Approved, p.Status)
	_, err = h.svc.Transition(h.ctx, h.lena, c.Key, 0, StatusActioned, "", Meta{})
	errstest.Require(t, err, errs.Conflict) // approved is not applied

	_, err = h.svc.Decide(h.ctx, h.ivy, c.Key, p.ID, Apply, "", Meta{})
	require.NoError(t, err)
	got, err := h.svc.Transition(h.ctx, h.lena, c.Key, 0, StatusActioned, "", Meta{})
	require.NoError(t, err)
	assert.Equal(t, StatusActioned, got.Status)
}

func TestTransitionToNoViolationNeedsVerdict(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		verdict Verdict
		ok      bool
	}{
		{"", false},
		{VerdictViolation, false},
		{VerdictNoViolation, true},
		{VerdictInsufficientEvidence, true},
	}
	for _, tt := range tests {
		name := string(tt.verdict)
		if name == "" {
			name = "none"
		}
		t.Run("verdict_"+name, func(t *testing.T) {
			h := h.with(t)
			c := h.caseAt(StatusInvestigating)
			if tt.verdict != "" {
				h.setVerdict(c.Key, tt.verdict)
			}
			got, err := h.svc.Transition(h.ctx, h.ivy, c.Key, 0, StatusNoViolation, "", Meta{})
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, StatusNoViolation, got.Status)
				return
			}
			e := errstest.Require(t, err, errs.Conflict)
			require.Len(t, e.Fields, 1)
			assert.Equal(t, "verdict", e.Fields[0].Field)
			assert.Equal(t, StatusInvestigating, h.raw(c.ID).Status)
		})
	}
}
