package cases

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

func TestProposeValidation(t *testing.T) {
	h := newHarness(t)
	c := h.create(h.ivy, nil)
	tests := []struct {
		name  string
		p     Proposal
		field string
	}{
		{"unknown_action", Proposal{Action: "shadow_ban", Reason: "r"}, "action"},
		{"timed_action_without_duration", Proposal{Action: TemporarySuspension, Reason: "r", Justification: "j"}, "duration"},
		{"duration_on_untimed_action", Proposal{Action: Warning, Duration: Duration(day), Reason: "r"}, "duration"},
		{"duration_over_five_years", Proposal{Action: TemporarySuspension, Duration: Duration(6 * 365 * day), Reason: "r", Justification: "j"}, "duration"},
		{"feature_restriction_without_features", Proposal{Action: FeatureRestriction, Duration: Duration(7 * day), Reason: "r", Justification: "j"}, "features"},
		{"features_on_other_actions", Proposal{Action: Warning, Features: []string{"live"}, Reason: "r"}, "features"},
		{"malformed_feature", Proposal{Action: FeatureRestriction, Duration: Duration(7 * day), Features: []string{"Go Live"}, Reason: "r", Justification: "j"}, "features[0]"},
		{"missing_reason", Proposal{Action: Warning}, "reason"},
		{"policy_area_not_of_the_case", Proposal{Action: Warning, Reason: "r", PolicyArea: "spam"}, "policy_area"},
		{"departing_without_justification", Proposal{Action: ContentRemoval, Reason: "r"}, "justification"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			_, err := h.svc.Propose(h.ctx, h.ivy, c.Key, tt.p, Meta{})
			assert.Contains(t, errstest.Fields(t, err), tt.field)
		})
	}
	t.Run("refused_proposals_store_nothing", func(t *testing.T) {
		h := h.with(t)
		got := h.raw(c.ID)
		assert.Empty(t, got.Enforcements)
		assert.Equal(t, c.Version, got.Version)
	})
}

func TestEnforcementLadderFlow(t *testing.T) {
	h := newHarness(t)
	c := h.create(h.ivy, nil) // sev2, fraud_scam, team fraud
	actor := c.Actor.ActorID
	profile := func(h *harness) Profile {
		h.t.Helper()
		p, err := h.svc.ActorProfile(h.ctx, h.lena, actor, Meta{})
		require.NoError(h.t, err)
		return p
	}
	recommend := func(h *harness) Recommendation {
		h.t.Helper()
		r, err := h.svc.Recommend(h.ctx, h.ivy, c.Key, "")
		require.NoError(h.t, err)
		return r
	}

	t.Run("first_offence_warning_is_approved_at_once_and_adds_no_strike", func(t *testing.T) {
		h := h.with(t)
		r := recommend(h)
		assert.Equal(t, Warning, r.Action)
		assert.Equal(t, 0, r.ActiveStrikes)
		e, err := h.svc.Propose(h.ctx, h.ivy, c.Key, Proposal{Action: Warning, Reason: "first spam run"}, Meta{})
		require.NoError(t, err)
		assert.Equal(t, Approved, e.Status)
		assert.Equal(t, "auto:within_recommendation", e.DecidedBy)
		require.NotNil(t, e.DecidedAt)
		assert.Equal(t, "fraud_scam", e.PolicyArea)
		assert.Equal(t, r, e.Recommended)
		assert.Equal(t, "ivy", e.ProposedBy)

		e, err = h.svc.Decide(h.ctx, h.ivy, c.Key, e.ID, Apply, "", Meta{})
		require.NoError(t, err, "the proposer applies an approved warning")
		assert.Equal(t, Applied, e.Status)
		assert.False(t, e.Strike)
		assert.Nil(t, e.ExpiresAt)

		p := profile(h)
		assert.Equal(t, 0, p.Strikes)
		assert.Empty(t, p.ActiveRestrictions, "a warning restricts nothing")
		require.Len(t, p.Enforcements, 1)
		assert.Equal(t, c.Key, p.Enforcements[0].CaseKey)
		assert.Equal(t, 15+5, p.RiskScore, "an open sev2 case and a recent action")

		_, err = h.svc.Decide(h.ctx, h.ivy, c.Key, e.ID, Apply, "", Meta{})
		errstest.Require(t, err, errs.Conflict) // applying twice
	})

	var suspension Enforcement
	t.Run("suspension_needs_a_lead_and_the_proposer_applies_it", func(t *testing.T) {
		h := h.with(t)
		p := Proposal{Action: TemporarySuspension, Duration: Duration(30 * day), Reason: "sold fake cards again"}
		_, err := h.svc.Propose(h.ctx, h.ivy, c.Key, p, Meta{})
		assert.Equal(t, []string{"justification"}, errstest.Fields(t, err), "departs from the warning the ladder recommends")
		p.Justification = "organised fraud"
		e, err := h.svc.Propose(h.ctx, h.ivy, c.Key, p, Meta{})
		require.NoError(t, err)
		assert.Equal(t, Proposed, e.Status)
		assert.Empty(t, e.DecidedBy)

		_, err = h.svc.Decide(h.ctx, h.ivy, c.Key, e.ID, Apply, "", Meta{})
		errstest.Require(t, err, errs.Conflict) // not approved yet
		_, err = h.svc.Decide(h.ctx, h.ivy, c.Key, e.ID, Approve, "", Meta{})
		e2 := errstest.Require(t, err, errs.Forbidden)
		assert.Contains(t, e2.Message, "only a lead")

		approved, err := h.svc.Decide(h.ctx, h.lena, c.Key, e.ID, Approve, "agreed", Meta{})
		require.NoError(t, err)
		assert.Equal(t, Approved, approved.Status)
		assert.Equal(t, "lena", approved.DecidedBy)
		assert.Equal(t, "agreed", approved.DecisionNote)
		_, err = h.svc.Decide(h.ctx, h.lars, c.Key, e.ID, Approve, "", Meta{})
		errstest.Require(t, err, errs.Conflict) // already decided

		h.clock.Advance(time.Hour)
		now := h.clock.Now()
		suspension, err = h.svc.Decide(h.ctx, h.ivy, c.Key, e.ID, Apply, "", Meta{})
		require.NoError(t, err)
		assert.Equal(t, Applied, suspension.Status)
		assert.Equal(t, "ivy", suspension.AppliedBy)
		assert.True(t, suspension.Strike)
		require.NotNil(t, suspension.ExpiresAt)
		assert.Equal(t, now.Add(30*day), *suspension.ExpiresAt)

		_, err = h.svc.Decide(h.ctx, h.lena, c.Key, e.ID, Apply, "", Meta{})
		errstest.Require(t, err, errs.Conflict) // applying twice

		prof := profile(h)
		assert.Equal(t, 1, prof.Strikes)
		require.Len(t, prof.ActiveRestrictions, 1)
		assert.Equal(t, TemporarySuspension, prof.ActiveRestrictions[0].Action)
		assert.Equal(t, suspension.ID, prof.ActiveRestrictions[0].EnforcementID)
		assert.Equal(t, 60, prof.RiskScore, "20 strike + 15 open sev2 + 10 recent + 10 restriction, floored at 60 while suspended")
	})

	t.Run("second_violation_after_a_strike_recommends_feature_restriction_7d", func(t *testing.T) {
		h := h.with(t)
		r := recommend(h)
		assert.Equal(t, 1, r.ActiveStrikes)
		assert.Equal(t, FeatureRestriction, r.Action)
		assert.Equal(t, 7*day, r.Duration.D())

		_, err := h.svc.Propose(h.ctx, h.ivy, c.Key, Proposal{Action: FeatureRestriction, Duration: Duration(14 * day), Features: []string{"live"}, Reason: "r"}, Meta{})
		assert.Equal(t, []string{"justification"}, errstest.Fields(t, err), "a longer restriction departs too")
		e, err := h.svc.Propose(h.ctx, h.ivy, c.Key, Proposal{Action: FeatureRestriction, Duration: Duration(7 * day), Features: []string{"live"}, Reason: "r"}, Meta{})
		require.NoError(t, err)
		assert.Equal(t, Approved, e.Status, "a feature_restriction within the recommendation is approved at once")
		_, err = h.svc.Propose(h.ctx, h.ivy, c.Key, Proposal{Action: Warning, Reason: "r"}, Meta{})
		assert.Equal(t, []string{"justification"}, errstest.Fields(t, err), "a milder action departs as well")
	})

	t.Run("suspension_expires_after_its_duration", func(t *testing.T) {
		h := h.with(t)
		h.clock.Advance(30*day - time.Millisecond)
		got := h.get(h.lena, c.Key)
		assert.Equal(t, Applied, findEnforcement(t, got, suspension.ID).Status)
		h.clock.Advance(time.Millisecond)
		got = h.get(h.lena, c.Key)
		assert.Equal(t, Expired, findEnforcement(t, got, suspension.ID).Status)

		prof := profile(h)
		assert.Empty(t, prof.ActiveRestrictions)
		assert.Equal(t, 1, prof.Strikes, "the strike outlives the suspension")
		for _, e := range prof.Enforcements {
			if e.EnforcementID == suspension.ID {
				assert.Equal(t, Expired, e.Status)
			}
		}
		_, err := h.svc.Decide(h.ctx, h.lena, c.Key, suspension.ID, Apply, "", Meta{})
		errstest.Require(t, err, errs.Conflict)
	})

	t.Run("strikes_older_than_90_days_no_longer_count", func(t *testing.T) {
		h := h.with(t)
		h.clock.Advance(60*day - time.Millisecond) // 90 days after applying, less 1ms
		assert.Equal(t, 1, recommend(h).ActiveStrikes)
		h.clock.Advance(time.Millisecond)
		r := recommend(h)
		assert.Equal(t, 0, r.ActiveStrikes)
		assert.Equal(t, Warning, r.Action)
		assert.Equal(t, 0, profile(h).Strikes)
	})
}

func findEnforcement(t *testing.T, c Case, id string) Enforcement {
	t.Helper()
	for _, e := range c.Enforcements {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("enforcement %s not on case %s", id, c.Key)
	return Enforcement{}
}

func TestEnforcementReverse(t *testing.T) {
	h := newHarness(t)
	c := h.create(h.ivy, nil)
	e, err := h.svc.Propose(h.ctx, h.ivy, c.Key, Proposal{Action: ContentRemoval, Reason: "fake listings", Justification: "listings must go"}, Meta{})
	require.NoError(t, err)
	require.Equal(t, Proposed, e.Status, "content_removal is never the ladder's recommendation, so it waits for a lead")
	_, err = h.svc.Decide(h.ctx, h.lena, c.Key, e.ID, Approve, "", Meta{})
	require.NoError(t, err)
	_, err = h.svc.Decide(h.ctx, h.lena, c.Key, e.ID, Reverse, "appeal", Meta{})
	errstest.Require(t, err, errs.Conflict) // only applied enforcements reverse
	applied, err := h.svc.Decide(h.ctx, h.ivy, c.Key, e.ID, Apply, "", Meta{})
	require.NoError(t, err)
	require.True(t, applied.Strike, "content_removal adds a strike even on a first offence")

	p, err := h.svc.ActorProfile(h.ctx, h.ivy, c.Actor.ActorID, Meta{})
	require.NoError(t, err)
	require.Equal(t, 1, p.Strikes)

	t.Run("needs_a_reason", func(t *testing.T) {
		h := h.with(t)
		_, err := h.svc.Decide(h.ctx, h.lena, c.Key, e.ID, Reverse, "", Meta{})
		assert.Equal(t, []string{"reason"}, errstest.Fields(t, err))
	})
	t.Run("needs_a_lead", func(t *testing.T) {
		h := h.with(t)
		_, err := h.svc.Decide(h.ctx, h.ivy, c.Key, e.ID, Reverse, "appeal granted", Meta{})
		errstest.Require(t, err, errs.Forbidden)
	})
	t.Run("removes_the_strike", func(t *testing.T) {
		h := h.with(t)
		h.clock.Advance(time.Hour)
		r, err := h.svc.Decide(h.ctx, h.lena, c.Key, e.ID, Reverse, "appeal granted", Meta{})
		require.NoError(t, err)
		assert.Equal(t, Reversed, r.Status)
		assert.Equal(t, "lena", r.ReversedBy)
		assert.Equal(t, "appeal granted", r.ReversalReason)
		require.NotNil(t, r.ReversedAt)
		assert.Equal(t, h.clock.Now(), *r.ReversedAt)

		p, err := h.svc.ActorProfile(h.ctx, h.ivy, c.Actor.ActorID, Meta{})
		require.NoError(t, err)
		assert.Equal(t, 0, p.Strikes)
		require.Len(t, p.Enforcements, 1)
		assert.Equal(t, Reversed, p.Enforcements[0].Status)
		assert.Equal(t, 15, p.RiskScore, "only the open sev2 case counts")
		rec, err := h.svc.Recommend(h.ctx, h.ivy, c.Key, "")
		require.NoError(t, err)
		assert.Equal(t, Warning, rec.Action)
	})
	t.Run("reversing_twice_is_a_conflict", func(t *testing.T) {
		h := h.with(t)
		_, err := h.svc.Decide(h.ctx, h.lars, c.Key, e.ID, Reverse, "again", Meta{})
		errstest.Require(t, err, errs.Conflict)
	})
	t.Run("a_reversed_enforcement_still_lets_the_case_be_actioned", func(t *testing.T) {
		h := h.with(t)
		h.move(h.lena, c.Key, StatusTriage, StatusInvestigating, StatusPendingReview, StatusActioned)
	})
}

func TestEnforcementApproval(t *testing.T) {
	h := newHarness(t)
	c := h.create(h.lena, nil)
	ban := Proposal{Action: PermanentBan, Reason: "serial fraud", Justification: "confirmed ring leader"}

	t.Run("lead_cannot_approve_own_proposal", func(t *testing.T) {
		h := h.with(t)
		e, err := h.svc.Propose(h.ctx, h.lena, c.Key, ban, Meta{})
		require.NoError(t, err)
		require.Equal(t, Proposed, e.Status)
		_, err = h.svc.Decide(h.ctx, h.lena, c.Key, e.ID, Approve, "", Meta{RequestID: "self-approve"})
		er := errstest.Require(t, err, errs.Forbidden)
		assert.Contains(t, er.Message, "own proposal")
		_, err = h.svc.Decide(h.ctx, h.lena, c.Key, e.ID, Reject, "changed my mind", Meta{})
		errstest.Require(t, err, errs.Forbidden) // nor reject it
		assert.Equal(t, Proposed, findEnforcement(t, h.get(h.lena, c.Key), e.ID).Status)

		denied := false
		for _, ev := range h.events("enforcement.approve") {
			denied = denied || (ev.RequestID == "self-approve" && ev.Outcome == auth.OutcomeDenied)
		}
		assert.True(t, denied, "the refusal is audited")

		got, err := h.svc.Decide(h.ctx, h.lars, c.Key, e.ID, Approve, "", Meta{})
		require.NoError(t, err, "another lead may")
		assert.Equal(t, "lars", got.DecidedBy)
		_, err = h.svc.Decide(h.ctx, h.lars, c.Key, e.ID, Apply, "", Meta{})
		require.NoError(t, err, "a lead may apply someone else's approved enforcement")
	})

	t.Run("investigator_cannot_approve", func(t *testing.T) {
		h := h.with(t)
		e, err := h.svc.Propose(h.ctx, h.lena, c.Key, ban, Meta{})
		require.NoError(t, err)
		_, err = h.svc.Decide(h.ctx, h.ivy, c.Key, e.ID, Approve, "", Meta{})
		errstest.Require(t, err, errs.Forbidden)
		_, err = h.svc.Decide(h.ctx, h.ivy, c.Key, e.ID, Reject, "no", Meta{})
		errstest.Require(t, err, errs.Forbidden)
	})

	t.Run("rejection_needs_a_reason_and_ends_the_proposal", func(t *testing.T) {
		h := h.with(t)
		e, err := h.svc.Propose(h.ctx, h.ivy, c.Key, Proposal{Action: TemporarySuspension, Duration: Duration(30 * day), Reason: "r", Justification: "j"}, Meta{})
		require.NoError(t, err)
		_, err = h.svc.Decide(h.ctx, h.lena, c.Key, e.ID, Reject, "", Meta{})
		assert.Equal(t, []string{"reason"}, errstest.Fields(t, err))
		got, err := h.svc.Decide(h.ctx, h.lena, c.Key, e.ID, Reject, "too harsh", Meta{})
		require.NoError(t, err)
		assert.Equal(t, Rejected, got.Status)
		assert.Equal(t, "too harsh", got.DecisionNote)
		_, err = h.svc.Decide(h.ctx, h.ivy, c.Key, e.ID, Apply, "", Meta{})
		errstest.Require(t, err, errs.Conflict)
		_, err = h.svc.Decide(h.ctx, h.lars, c.Key, e.ID, Approve, "", Meta{})
		errstest.Require(t, err, errs.Conflict)
	})

	t.Run("unknown_enforcement_is_not_found", func(t *testing.T) {
		h := h.with(t)
		_, err := h.svc.Decide(h.ctx, h.lena, c.Key, "nope", Approve, "", Meta{})
		errstest.Require(t, err, errs.NotFound)
	})

	t.Run("suspension_within_the_recommendation_still_needs_a_lead", func(t *testing.T) {
		h := h.with(t)
		// Two strikes: the ladder recommends temporary_suspension 30d.
		c2 := h.create(h.lena, nil)
		for range 2 {
			e, err := h.svc.Propose(h.ctx, h.lena, c2.Key, Proposal{Action: ContentRemoval, Reason: "r", Justification: "j"}, Meta{})
			require.NoError(t, err)
			_, err = h.svc.Decide(h.ctx, h.lars, c2.Key, e.ID, Approve, "", Meta{})
			require.NoError(t, err)
			_, err = h.svc.Decide(h.ctx, h.lena, c2.Key, e.ID, Apply, "", Meta{})
			require.NoError(t, err)
		}
		e, err := h.svc.Propose(h.ctx, h.ivy, c2.Key, Proposal{Action: TemporarySuspension, Duration: Duration(30 * day), Reason: "third time"}, Meta{})
		require.NoError(t, err, "no justification needed within the recommendation")
		assert.Equal(t, Proposed, e.Status)
		assert.Equal(t, 2, e.Recommended.ActiveStrikes)
	})
}

func TestEnforcementVendorAgent(t *testing.T) {
	h := newHarness(t)
	c := h.create(h.lena, func(n *NewCase) { n.Team, n.Vendor = "", "acme" })
	allowed := []Proposal{
		{Action: Warning, Reason: "first offence"},
		{Action: ContentRemoval, Reason: "remove listing", Justification: "listing is fraudulent"},
	}
	for _, p := range allowed {
		t.Run("may_propose_"+string(p.Action), func(t *testing.T) {
			h := h.with(t)
			_, err := h.svc.Propose(h.ctx, h.vic, c.Key, p, Meta{})
			require.NoError(t, err)
		})
	}
	refused := []Proposal{
		{Action: FeatureRestriction, Duration: Duration(7 * day), Features: []string{"live"}, Reason: "r", Justification: "j"},
		{Action: TemporarySuspension, Duration: Duration(30 * day), Reason: "r", Justification: "j"},
		{Action: PermanentBan, Reason: "r", Justification: "j"},
	}
	for _, p := range refused {
		t.Run("may_not_propose_"+string(p.Action), func(t *testing.T) {
			h := h.with(t)
			before := h.raw(c.ID)
			_, err := h.svc.Propose(h.ctx, h.vic, c.Key, p, Meta{})
			errstest.Require(t, err, errs.Forbidden)
			assert.Len(t, h.raw(c.ID).Enforcements, len(before.Enforcements))
			assert.True(t, h.deniedAudited("enforcement.propose", h.vic, c.Key), "the refusal is audited")
		})
	}
	t.Run("may_apply_own_approved_warning_but_not_anothers", func(t *testing.T) {
		h := h.with(t)
		mine, err := h.svc.Propose(h.ctx, h.vic, c.Key, Proposal{Action: Warning, Reason: "r"}, Meta{})
		require.NoError(t, err)
		_, err = h.svc.Decide(h.ctx, h.vic, c.Key, mine.ID, Apply, "", Meta{})
		require.NoError(t, err)
		c2 := h.create(h.lena, func(n *NewCase) { n.Team, n.Vendor = "", "acme" })
		theirs, err := h.svc.Propose(h.ctx, h.lena, c2.Key, Proposal{Action: Warning, Reason: "r"}, Meta{})
		require.NoError(t, err)
		_, err = h.svc.Decide(h.ctx, h.vic, c2.Key, theirs.ID, Apply, "", Meta{})
		errstest.Require(t, err, errs.Forbidden)
	})
	t.Run("may_not_approve", func(t *testing.T) {
		h := h.with(t)
		e, err := h.svc.Propose(h.ctx, h.vic, c.Key, Proposal{Action: ContentRemoval, Reason: "r", Justification: "j"}, Meta{})
		require.NoError(t, err)
		_, err = h.svc.Decide(h.ctx, h.vic, c.Key, e.ID, Approve, "", Meta{})
		errstest.Require(t, err, errs.Forbidden)
	})
}

func TestEnforcementImmediateBan(t *testing.T) {
	h := newHarness(t)
	c := h.create(h.lena, func(n *NewCase) { n.PolicyAreas = []string{"violent_extremism"} })
	r, err := h.svc.Recommend(h.ctx, h.lena, c.Key, "")
	require.NoError(t, err)
	assert.Equal(t, Warning, r.Action, "without a violation verdict the ladder applies")

	h.setVerdict(c.Key, VerdictViolation)
	r, err = h.svc.Recommend(h.ctx, h.lena, c.Key, "violent_extremism")
	require.NoError(t, err)
	assert.Equal(t, PermanentBan, r.Action)

	e, err := h.svc.Propose(h.ctx, h.lena, c.Key, Proposal{Action: PermanentBan, Reason: "recruiting"}, Meta{})
	require.NoError(t, err, "following the recommendation needs no justification")
	assert.Equal(t, Proposed, e.Status, "a ban always needs a lead")
	_, err = h.svc.Decide(h.ctx, h.lars, c.Key, e.ID, Approve, "", Meta{})
	require.NoError(t, err)
	_, err = h.svc.Decide(h.ctx, h.lena, c.Key, e.ID, Apply, "", Meta{})
	require.NoError(t, err)
	h.clock.Advance(3650 * day)
	p, err := h.svc.ActorProfile(h.ctx, h.lena, c.Actor.ActorID, Meta{})
	require.NoError(t, err)
	require.Len(t, p.ActiveRestrictions, 1, "a ban never expires")
	assert.Equal(t, 100, p.RiskScore)

	_, err = h.svc.Recommend(h.ctx, h.lena, c.Key, "spam")
	assert.Equal(t, []string{"policy_area"}, errstest.Fields(t, err))
}

func TestRepeatedWarningsEscalate(t *testing.T) {
	h := newHarness(t)
	c := h.create(h.ivy, nil)
	first := h.applyWarning(c.Key)
	assert.False(t, first.Strike, "a warning on a first offence adds no strike")

	h.clock.Advance(24 * time.Hour)
	second := h.applyWarning(c.Key)
	assert.True(t, second.Strike, "a second warning within the strike window is no first offence")

	p, err := h.svc.ActorProfile(h.ctx, h.lena, c.Actor.ActorID, Meta{})
	require.NoError(t, err)
	assert.Equal(t, 1, p.Strikes)
	r, err := h.svc.Recommend(h.ctx, h.ivy, c.Key, "")
	require.NoError(t, err)
	assert.Equal(t, FeatureRestriction, r.Action, "the ladder moves on after the strike")

	h.clock.Advance(91 * 24 * time.Hour)
	third := h.applyWarning(c.Key)
	assert.False(t, third.Strike, "once the window has passed, a warning is a first offence again")
}
