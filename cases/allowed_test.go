package cases

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"casefile.dev/casefile/auth"
)

// TestMovesFor: pages offer exactly the moves Transition would accept.
func TestMovesFor(t *testing.T) {
	ivy := &auth.User{Username: "ivy", Role: auth.RoleInvestigator, Team: "fraud"}
	otto := &auth.User{Username: "otto", Role: auth.RoleInvestigator, Team: "spam"}
	lee := &auth.User{Username: "lee", Role: auth.RoleLead, Team: "fraud"}
	applied := []Enforcement{{ID: "e1", Status: Applied}}
	tests := []struct {
		name string
		c    Case
		u    *auth.User
		want []Status
	}{
		{"new_goes_to_triage", Case{Status: StatusNew, Team: "fraud"}, ivy, []Status{StatusTriage}},
		{"no_violation_needs_a_verdict", Case{Status: StatusInvestigating, Team: "fraud"}, ivy, []Status{StatusPendingReview}},
		{"with_the_verdict", Case{Status: StatusInvestigating, Team: "fraud", Verdict: VerdictNoViolation}, ivy, []Status{StatusPendingReview, StatusNoViolation}},
		{"actioned_needs_an_applied_enforcement", Case{Status: StatusPendingReview, Team: "fraud"}, ivy, []Status{StatusInvestigating}},
		{"after_applying", Case{Status: StatusPendingReview, Team: "fraud", Enforcements: applied}, ivy, []Status{StatusActioned, StatusInvestigating}},
		{"investigators_do_not_reopen", Case{Status: StatusClosed, Team: "fraud"}, ivy, nil},
		{"leads_reopen", Case{Status: StatusClosed, Team: "fraud"}, lee, []Status{StatusInvestigating}},
		{"other_teams_move_nothing", Case{Status: StatusNew, Team: "fraud"}, otto, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.c.MovesFor(tt.u)
			assert.Equal(t, tt.want, got)
			for _, to := range got {
				assert.NoError(t, tt.c.checkTransition(tt.u, to), "offered %s must be accepted", to)
			}
		})
	}
}

// TestDecisionsFor mirrors Decide's rules.
func TestDecisionsFor(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	past := now.Add(-time.Hour)
	ivy := &auth.User{Username: "ivy", Role: auth.RoleInvestigator, Team: "fraud"}
	lee := &auth.User{Username: "lee", Role: auth.RoleLead, Team: "fraud"}
	c := Case{Team: "fraud"}
	tests := []struct {
		name string
		e    Enforcement
		u    *auth.User
		want []Decision
	}{
		{"lead_decides_a_proposal", Enforcement{Status: Proposed, ProposedBy: "ivy"}, lee, []Decision{Approve, Reject}},
		{"nobody_decides_their_own", Enforcement{Status: Proposed, ProposedBy: "lee"}, lee, nil},
		{"investigators_do_not_decide", Enforcement{Status: Proposed, ProposedBy: "otto"}, ivy, nil},
		{"the_proposer_applies", Enforcement{Status: Approved, ProposedBy: "ivy"}, ivy, []Decision{Apply}},
		{"others_do_not_apply", Enforcement{Status: Approved, ProposedBy: "otto"}, ivy, nil},
		{"a_lead_applies", Enforcement{Status: Approved, ProposedBy: "ivy"}, lee, []Decision{Apply}},
		{"a_lead_reverses", Enforcement{Status: Applied, ProposedBy: "ivy"}, lee, []Decision{Reverse}},
		{"expired_reverses_too", Enforcement{Status: Applied, ExpiresAt: &past}, lee, []Decision{Reverse}},
		{"investigators_do_not_reverse", Enforcement{Status: Applied, ProposedBy: "ivy"}, ivy, nil},
		{"rejected_is_final", Enforcement{Status: Rejected, ProposedBy: "ivy"}, lee, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, c.DecisionsFor(tt.u, tt.e, now))
		})
	}
}
