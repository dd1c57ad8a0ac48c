package cases

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

func TestSetTaxonomy(t *testing.T) {
	h := newHarness(t)
	tax, v, err := h.svc.Taxonomy(h.ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(0), v, "the defaults are version 0")
	assert.Equal(t, DefaultTaxonomy(), tax)

	next := DefaultTaxonomy()
	next.PolicyAreas = append(slices.DeleteFunc(next.PolicyAreas, func(a string) bool { return a == "privacy" }), "gambling")
	next.LadderByArea = map[string]Ladder{"spam": {
		Steps:     []LadderStep{{Strikes: 0, Action: ContentRemoval}},
		StrikeTTL: Duration(30 * day),
	}}

	t.Run("only_admins", func(t *testing.T) {
		h := h.with(t)
		_, _, err := h.svc.SetTaxonomy(h.ctx, h.lena, next, 0, Meta{})
		errstest.Require(t, err, errs.Forbidden)
		ev := h.events("taxonomy.update")
		require.Len(t, ev, 1)
		assert.Equal(t, auth.OutcomeDenied, ev[0].Outcome)
	})
	t.Run("invalid_taxonomy_is_refused", func(t *testing.T) {
		h := h.with(t)
		bad := DefaultTaxonomy()
		bad.Ladder.StrikeTTL = 0
		_, _, err := h.svc.SetTaxonomy(h.ctx, h.admin, bad, 0, Meta{})
		assert.Equal(t, []string{"ladder.strike_ttl"}, errstest.Fields(t, err))

		bad = DefaultTaxonomy()
		bad.Ladder.ImmediateBan = append(bad.Ladder.ImmediateBan, "<script>")
		bad.LadderByArea = map[string]Ladder{"spam": {Steps: []LadderStep{{Action: Warning}}, StrikeTTL: Duration(day), ImmediateBan: []string{"nope"}}}
		_, _, err = h.svc.SetTaxonomy(h.ctx, h.admin, bad, 0, Meta{})
		assert.ElementsMatch(t, []string{"ladder.immediate_ban[2]", "ladder_by_area.spam.immediate_ban[0]"}, errstest.Fields(t, err))
	})
	t.Run("admin_replaces_it_at_the_current_version", func(t *testing.T) {
		h := h.with(t)
		_, v, err := h.svc.SetTaxonomy(h.ctx, h.admin, next, 0, Meta{})
		require.NoError(t, err)
		assert.Equal(t, int64(1), v)
		_, _, err = h.svc.SetTaxonomy(h.ctx, h.admin, next, 0, Meta{})
		errstest.Require(t, err, errs.PreconditionFailed)
		got, v, err := h.svc.Taxonomy(h.ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(1), v)
		assert.Contains(t, got.PolicyAreas, "gambling")
	})
	t.Run("cases_follow_the_new_taxonomy", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.ivy, func(n *NewCase) { n.PolicyAreas = []string{"gambling"} })
		assert.Equal(t, []string{"gambling"}, c.PolicyAreas)
		_, _, err := h.svc.Create(h.ctx, h.ivy, func() NewCase { n := newCaseInput(); n.PolicyAreas = []string{"privacy"}; return n }(), "", Meta{})
		assert.Equal(t, []string{"policy_areas[0]"}, errstest.Fields(t, err))
	})
	t.Run("an_area_ladder_drives_recommendations", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.ivy, func(n *NewCase) { n.PolicyAreas = []string{"spam", "fraud_scam"} })
		r, err := h.svc.Recommend(h.ctx, h.ivy, c.Key, "spam")
		require.NoError(t, err)
		assert.Equal(t, ContentRemoval, r.Action)
		r, err = h.svc.Recommend(h.ctx, h.ivy, c.Key, "")
		require.NoError(t, err)
		assert.Equal(t, "spam", r.PolicyArea, "the case's first area by default")

		e, err := h.svc.Propose(h.ctx, h.ivy, c.Key, Proposal{Action: ContentRemoval, PolicyArea: "spam", Reason: "spam wave"}, Meta{})
		require.NoError(t, err)
		assert.Equal(t, Approved, e.Status, "content_removal within the spam ladder is approved at once")
		_, err = h.svc.Decide(h.ctx, h.ivy, c.Key, e.ID, Apply, "", Meta{})
		require.NoError(t, err)

		r, err = h.svc.Recommend(h.ctx, h.ivy, c.Key, "fraud_scam")
		require.NoError(t, err)
		assert.Equal(t, 1, r.ActiveStrikes)
		assert.Equal(t, FeatureRestriction, r.Action)

		h.clock.Advance(30 * day) // past the spam ladder's strike TTL, within the default's
		r, err = h.svc.Recommend(h.ctx, h.ivy, c.Key, "spam")
		require.NoError(t, err)
		assert.Equal(t, 0, r.ActiveStrikes)
		r, err = h.svc.Recommend(h.ctx, h.ivy, c.Key, "fraud_scam")
		require.NoError(t, err)
		assert.Equal(t, 1, r.ActiveStrikes)
	})
}
