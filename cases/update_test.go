package cases

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

func TestUpdate(t *testing.T) {
	h := newHarness(t)

	t.Run("applies_the_patch_at_the_current_version", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.ivy, nil)
		got, err := h.svc.Update(h.ctx, h.ivy, c.Key, c.Version, Patch{Title: ptr("New title"), Severity: ptr(Sev1),
			Behaviors: &[]Behavior{{Text: "mass messaging", Tag: "mass_messaging"}}}, Meta{})
		require.NoError(t, err)
		assert.Equal(t, "New title", got.Title)
		assert.Equal(t, Sev1, got.Severity)
		assert.Equal(t, c.Version+1, got.Version)
		read := h.get(h.ivy, c.Key)
		assert.Equal(t, []Behavior{{Text: "mass messaging", Tag: "mass_messaging"}}, read.Behaviors)
		last := read.Timeline[len(read.Timeline)-1]
		assert.Equal(t, EventEdit, last.Kind)
		assert.Equal(t, "changed title, severity, behaviors", last.Text)
		assert.Equal(t, "ivy", last.Author)
	})

	t.Run("stale_if_match_is_precondition_failed_and_changes_nothing", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.ivy, nil)
		_, err := h.svc.Update(h.ctx, h.lena, c.Key, c.Version, Patch{Summary: ptr("lena was first")}, Meta{})
		require.NoError(t, err)
		_, err = h.svc.Update(h.ctx, h.ivy, c.Key, c.Version, Patch{Title: ptr("ivy was second")}, Meta{})
		errstest.Require(t, err, errs.PreconditionFailed)
		got := h.raw(c.ID)
		assert.Equal(t, c.Title, got.Title)
		assert.Equal(t, "lena was first", got.Summary)
		assert.Equal(t, c.Version+1, got.Version)
		assert.Equal(t, c.TimelineCount+1, got.TimelineCount)
	})

	t.Run("patch_changing_nothing_is_invalid", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.ivy, nil)
		_, err := h.svc.Update(h.ctx, h.ivy, c.Key, 0, Patch{}, Meta{})
		errstest.Require(t, err, errs.Invalid)
		_, err = h.svc.Update(h.ctx, h.ivy, c.Key, 0, Patch{Title: ptr(c.Title), Severity: ptr(c.Severity)}, Meta{})
		errstest.Require(t, err, errs.Invalid)
		assert.Equal(t, c.Version, h.raw(c.ID).Version)
	})

	t.Run("invalid_values_name_their_fields", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.ivy, nil)
		_, err := h.svc.Update(h.ctx, h.ivy, c.Key, 0, Patch{Severity: ptr(Severity("urgent")), Verdict: ptr(Verdict("guilty")),
			PolicyAreas: &[]string{}, LinkedCases: &[]string{"INC-1"}}, Meta{})
		assert.ElementsMatch(t, []string{"severity", "verdict", "policy_areas", "linked_cases[0]"}, errstest.Fields(t, err))
		assert.Equal(t, c.Version, h.raw(c.ID).Version)
	})

	t.Run("investigator_may_take_an_unassigned_case_and_hand_it_back", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, nil)
		got, err := h.svc.Update(h.ctx, h.ivy, c.Key, 0, Patch{Assignee: ptr("ivy")}, Meta{})
		require.NoError(t, err)
		assert.Equal(t, "ivy", got.Assignee)
		read := h.get(h.ivy, c.Key)
		last := read.Timeline[len(read.Timeline)-1]
		assert.Equal(t, EventAssignment, last.Kind)
		assert.Equal(t, map[string]string{"from": "", "to": "ivy"}, last.Detail)

		got, err = h.svc.Update(h.ctx, h.ivy, c.Key, 0, Patch{Assignee: ptr("")}, Meta{})
		require.NoError(t, err)
		assert.Empty(t, got.Assignee)
	})

	tests := []struct {
		name  string
		setup func(*NewCase)
		patch Patch
	}{
		{"investigator_may_not_assign_to_someone_else", nil, Patch{Assignee: ptr("otto")}},
		{"investigator_may_not_take_a_case_assigned_to_someone_else", func(n *NewCase) { n.Assignee = "lena" }, Patch{Assignee: ptr("ivy")}},
		{"investigator_may_not_move_the_team", nil, Patch{Team: ptr("spam")}},
		{"investigator_may_not_hand_to_a_vendor", nil, Patch{Vendor: ptr("acme")}},
		{"investigator_may_not_lift_a_restriction", func(n *NewCase) { n.Restricted, n.Assignee = true, "ivy" }, Patch{Restricted: ptr(false)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			c := h.create(h.lena, tt.setup)
			_, err := h.svc.Update(h.ctx, h.ivy, c.Key, 0, tt.patch, Meta{})
			errstest.Require(t, err, errs.Forbidden)
			got := h.raw(c.ID)
			assert.Equal(t, c.Version, got.Version)
			assert.Equal(t, c.Assignee, got.Assignee)
			assert.Equal(t, c.Team, got.Team)
			assert.Equal(t, c.Restricted, got.Restricted)
		})
	}

	t.Run("investigator_may_restrict", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, func(n *NewCase) { n.Assignee = "ivy" })
		got, err := h.svc.Update(h.ctx, h.ivy, c.Key, 0, Patch{Restricted: ptr(true)}, Meta{})
		require.NoError(t, err)
		assert.True(t, got.Restricted)
	})

	t.Run("vendor_agent_may_not_move_the_vendor", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, func(n *NewCase) { n.Team, n.Vendor = "", "acme" })
		_, err := h.svc.Update(h.ctx, h.vic, c.Key, 0, Patch{Vendor: ptr("other")}, Meta{})
		errstest.Require(t, err, errs.Forbidden)
		got, err := h.svc.Update(h.ctx, h.vic, c.Key, 0, Patch{Assignee: ptr("vic")}, Meta{})
		require.NoError(t, err, "but may take it")
		assert.Equal(t, "vic", got.Assignee)
	})

	t.Run("lead_may_reassign_move_and_lift", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.ivy, func(n *NewCase) { n.Restricted, n.Assignee = true, "ivy" })
		got, err := h.svc.Update(h.ctx, h.lena, c.Key, c.Version, Patch{Assignee: ptr("otto"), Team: ptr("spam"), Restricted: ptr(false)}, Meta{})
		require.NoError(t, err)
		assert.Equal(t, "otto", got.Assignee)
		assert.Equal(t, "spam", got.Team)
		assert.False(t, got.Restricted)
		read := h.get(h.otto, c.Key)
		assert.Equal(t, map[string]string{"from": "ivy", "to": "otto"}, read.Timeline[len(read.Timeline)-1].Detail)
		_, err = h.svc.Get(h.ctx, h.ivy, c.Key, Meta{})
		errstest.Require(t, err, errs.NotFound) // ivy lost the case with the move
	})

	t.Run("lead_may_not_assign_an_unknown_user", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, nil)
		_, err := h.svc.Update(h.ctx, h.lena, c.Key, 0, Patch{Assignee: ptr("nobody")}, Meta{})
		assert.Equal(t, []string{"assignee"}, errstest.Fields(t, err))
	})

	t.Run("adding_child_safety_restricts", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.ivy, func(n *NewCase) { n.Assignee = "ivy" })
		got, err := h.svc.Update(h.ctx, h.ivy, c.Key, 0, Patch{PolicyAreas: &[]string{"fraud_scam", "child_safety"}}, Meta{})
		require.NoError(t, err)
		assert.True(t, got.Restricted)
		before := h.raw(c.ID)
		_, err = h.svc.Update(h.ctx, h.lena, c.Key, 0, Patch{Restricted: ptr(false)}, Meta{})
		assert.Equal(t, []string{"restricted"}, errstest.Fields(t, err), "not even a lead lifts a child_safety restriction")
		after := h.raw(c.ID)
		assert.True(t, after.Restricted)
		assert.Equal(t, before.Version, after.Version, "no phantom edit")

		got, err = h.svc.Update(h.ctx, h.lena, c.Key, 0, Patch{PolicyAreas: &[]string{"fraud_scam"}, Restricted: ptr(false)}, Meta{})
		require.NoError(t, err, "dropping child_safety lets a lead lift the restriction")
		assert.False(t, got.Restricted)
	})

	t.Run("denied_updates_are_audited", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, nil)
		_, err := h.svc.Update(h.ctx, h.ivy, c.Key, 0, Patch{Assignee: ptr("otto")}, Meta{})
		errstest.Require(t, err, errs.Forbidden)
		assert.True(t, h.deniedAudited("case.update", h.ivy, c.Key), "DOMAIN.md: every denied request is an audit event")
	})
}
