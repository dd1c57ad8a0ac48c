package cases

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

func TestActorProfile(t *testing.T) {
	h := newHarness(t)
	actor := nextActorID()
	vendorCase := h.create(h.lena, func(n *NewCase) {
		n.Team, n.Vendor, n.Severity = "", "acme", Sev3
		n.Actor = ActorRef{ActorID: actor, Handle: "@seller"}
	})
	teamCase := h.create(h.lena, func(n *NewCase) { n.Severity = Sev1; n.Actor = ActorRef{ActorID: actor} })
	// An enforcement on the team case, which vendor agents may not see.
	e, err := h.svc.Propose(h.ctx, h.lena, teamCase.Key, Proposal{Action: ContentRemoval, Reason: "r", Justification: "j"}, Meta{})
	require.NoError(t, err)
	_, err = h.svc.Decide(h.ctx, h.lars, teamCase.Key, e.ID, Approve, "", Meta{})
	require.NoError(t, err)
	_, err = h.svc.Decide(h.ctx, h.lena, teamCase.Key, e.ID, Apply, "", Meta{})
	require.NoError(t, err)

	t.Run("lead_sees_everything", func(t *testing.T) {
		h := h.with(t)
		p, err := h.svc.ActorProfile(h.ctx, h.lena, actor, Meta{RequestID: "prof-1"})
		require.NoError(t, err)
		assert.Equal(t, actor, p.Actor.ActorID)
		assert.Equal(t, "@seller", p.Actor.Handle)
		assert.Equal(t, 2, p.CaseCount)
		assert.Len(t, p.Cases, 2)
		assert.Equal(t, 1, p.Strikes)
		require.Len(t, p.Enforcements, 1)
		assert.Equal(t, teamCase.Key, p.Enforcements[0].CaseKey)
		assert.Equal(t, 20+25+8+5, p.RiskScore, "strike, open sev1 and sev3 cases, a recent action")

		var audited bool
		for _, ev := range h.events("actor.read") {
			if ev.RequestID == "prof-1" {
				audited = true
				assert.Equal(t, auth.Entity{Type: "actor", ID: actor}, ev.Entity)
				assert.Equal(t, "lena", ev.User)
			}
		}
		assert.True(t, audited, "every profile read is audited")
	})

	t.Run("vendor_agent_sees_only_their_cases_and_anonymous_history", func(t *testing.T) {
		h := h.with(t)
		p, err := h.svc.ActorProfile(h.ctx, h.vic, actor, Meta{})
		require.NoError(t, err)
		require.Len(t, p.Cases, 1)
		assert.Equal(t, vendorCase.Key, p.Cases[0].Key)
		require.Len(t, p.Enforcements, 1)
		assert.Empty(t, p.Enforcements[0].CaseKey, "an enforcement from a hidden case is listed without its case")
		assert.Empty(t, p.Enforcements[0].CaseID)
		assert.Equal(t, ContentRemoval, p.Enforcements[0].Action)
	})

	for _, tt := range []struct {
		name string
		user *auth.User
	}{
		{"vendor_agent_without_a_case_of_theirs", h.vera},
		{"leadership", h.leo},
	} {
		t.Run(tt.name+"_gets_not_found", func(t *testing.T) {
			h := h.with(t)
			_, err := h.svc.ActorProfile(h.ctx, tt.user, actor, Meta{})
			errstest.Require(t, err, errs.NotFound)
		})
	}

	t.Run("investigator_of_another_team_sees_the_actor_but_not_the_cases", func(t *testing.T) {
		h := h.with(t)
		p, err := h.svc.ActorProfile(h.ctx, h.otto, actor, Meta{})
		require.NoError(t, err)
		assert.Empty(t, p.Cases)
		assert.Equal(t, 1, p.Strikes)
	})

	t.Run("unknown_actor_is_not_found", func(t *testing.T) {
		h := h.with(t)
		_, err := h.svc.ActorProfile(h.ctx, h.lena, "no-such-actor", Meta{})
		errstest.Require(t, err, errs.NotFound)
	})

	t.Run("history_lost_between_case_and_actor_writes_is_repaired", func(t *testing.T) {
		h := h.with(t)
		a, err := h.store.Actor(h.ctx, actor)
		require.NoError(t, err)
		require.Len(t, a.History, 1)
		a.History = []ActorEnforcement{} // as if the actor write after the case write never happened
		a.Version++
		require.NoError(t, h.store.ReplaceActor(h.ctx, &a, a.Version-1))

		p, err := h.svc.ActorProfile(h.ctx, h.lena, actor, Meta{})
		require.NoError(t, err)
		assert.Equal(t, 1, p.Strikes)
		require.Len(t, p.Enforcements, 1)
		assert.Equal(t, e.ID, p.Enforcements[0].EnforcementID)
		stored, err := h.store.Actor(h.ctx, actor)
		require.NoError(t, err)
		assert.Len(t, stored.History, 1, "the repair is written back")
	})
}

func TestActorProfileDoesNotRevealHiddenCases(t *testing.T) {
	h := newHarness(t)
	visible := h.create(h.lena, nil) // team fraud, sev2
	actor := visible.Actor
	hidden := h.create(h.lena, func(n *NewCase) {
		n.Actor = actor
		n.PolicyAreas = []string{"child_safety"} // always restricted
		n.Severity = Sev1
	})
	require.True(t, hidden.Restricted)

	lead, err := h.svc.ActorProfile(h.ctx, h.lena, actor.ActorID, Meta{})
	require.NoError(t, err)
	ivy, err := h.svc.ActorProfile(h.ctx, h.ivy, actor.ActorID, Meta{})
	require.NoError(t, err)

	assert.Equal(t, 2, lead.CaseCount)
	assert.Equal(t, 1, ivy.CaseCount, "the restricted case is not counted for someone who may not see it")
	require.Len(t, ivy.Cases, 1)
	assert.Equal(t, visible.Key, ivy.Cases[0].Key)
	assert.Less(t, ivy.RiskScore, lead.RiskScore, "the hidden open sev1 case adds risk only where it is visible")
}
