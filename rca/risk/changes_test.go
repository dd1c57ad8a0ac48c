package risk

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
	"casefile.dev/casefile/rca"
)

func TestRequestedChanges(t *testing.T) {
	h := newHarness(t)
	r := h.create(h.lena, nil)
	due := t0.Add(14 * day)

	c, version, err := h.svc.AddChange(h.ctx, h.ivy, r.Key, NewChange{Title: "Detect fakes in live streams", Owner: "ivy", Due: &due, Category: rca.Product}, 0, auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, 1, c.N)
	assert.Equal(t, rca.ItemOpen, c.Status)
	assert.Equal(t, "ivy", c.CreatedBy)
	assert.EqualValues(t, 2, version)
	c2, version, err := h.svc.AddChange(h.ctx, h.ivy, r.Key, NewChange{Title: "Ban live selling of branded goods", Owner: "lena", Category: rca.Policy}, 0, auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, 2, c2.N)
	assert.EqualValues(t, 3, version)
	assert.Equal(t, map[string]string{"change": "2", "category": "policy"}, h.lastEvent("risk.change.create").Detail)

	t.Run("invalid_change_names_fields", func(t *testing.T) {
		tests := []struct {
			name   string
			in     NewChange
			fields []string
		}{
			{"missing_title", NewChange{Owner: "ivy", Category: rca.Process}, []string{"title"}},
			{"bad_category", NewChange{Title: "x", Owner: "ivy", Category: "legal"}, []string{"category"}},
			{"missing_owner", NewChange{Title: "x", Category: rca.Process}, []string{"owner"}},
			{"unknown_owner", NewChange{Title: "x", Owner: "nobody", Category: rca.Process}, []string{"owner"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, _, err := h.svc.AddChange(h.ctx, h.ivy, r.Key, tt.in, 0, auth.Meta{})
				assert.Equal(t, tt.fields, errstest.Fields(t, err))
			})
		}
		assert.Len(t, h.stored(r.Key).Changes, 2)
	})

	t.Run("done_stamps_done_at_and_reopening_clears_it", func(t *testing.T) {
		got, v, err := h.svc.UpdateChange(h.ctx, h.ivy, r.Key, 1, version, ChangePatch{Status: ptr(rca.ItemDone)}, auth.Meta{})
		require.NoError(t, err)
		require.NotNil(t, got.DoneAt)
		assert.Equal(t, t0, *got.DoneAt)
		got, v, err = h.svc.UpdateChange(h.ctx, h.ivy, r.Key, 1, v, ChangePatch{Status: ptr(rca.ItemInProgress), Owner: ptr("lena")}, auth.Meta{})
		require.NoError(t, err)
		assert.Nil(t, got.DoneAt)
		assert.Equal(t, "lena", got.Owner)
		version = v
	})

	t.Run("overdue_once_past_due", func(t *testing.T) {
		h.clock.Advance(15 * day)
		got := h.get(h.ivy, r.Key)
		assert.True(t, got.Changes[0].Overdue)
		assert.False(t, got.Changes[1].Overdue, "no due date, never overdue")
	})

	t.Run("update_needs_the_current_version", func(t *testing.T) {
		_, _, err := h.svc.UpdateChange(h.ctx, h.ivy, r.Key, 1, 0, ChangePatch{Status: ptr(rca.ItemWontDo)}, auth.Meta{})
		errstest.Require(t, err, errs.PreconditionNeeded)
		_, _, err = h.svc.UpdateChange(h.ctx, h.ivy, r.Key, 1, version-1, ChangePatch{Status: ptr(rca.ItemWontDo)}, auth.Meta{})
		errstest.Require(t, err, errs.PreconditionFailed)
	})

	t.Run("bad_update", func(t *testing.T) {
		_, _, err := h.svc.UpdateChange(h.ctx, h.ivy, r.Key, 9, version, ChangePatch{Status: ptr(rca.ItemDone)}, auth.Meta{})
		errstest.Require(t, err, errs.NotFound)
		_, _, err = h.svc.UpdateChange(h.ctx, h.ivy, r.Key, 1, version, ChangePatch{Status: ptr(rca.ActionItemStatus("paused"))}, auth.Meta{})
		assert.Equal(t, []string{"status"}, errstest.Fields(t, err))
		_, _, err = h.svc.UpdateChange(h.ctx, h.ivy, r.Key, 1, version, ChangePatch{Owner: ptr("nobody")}, auth.Meta{})
		assert.Equal(t, []string{"owner"}, errstest.Fields(t, err))
		assert.Equal(t, version, h.stored(r.Key).Version)
	})

	t.Run("summary_counts_open_changes", func(t *testing.T) {
		list, _, err := h.svc.List(h.ctx, h.leo, Query{}, auth.Meta{})
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, 2, list[0].OpenChanges)
	})
}
