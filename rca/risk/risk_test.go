package risk

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

func TestCreate(t *testing.T) {
	h := newHarness(t)

	t.Run("keys_count_per_year", func(t *testing.T) {
		var keys []string
		for range 3 {
			keys = append(keys, h.create(h.ivy, nil).Key)
		}
		assert.Equal(t, []string{"RISK-2026-1", "RISK-2026-2", "RISK-2026-3"}, keys)
		h.clock.Advance(365 * day) // into 2027: a new sequence
		assert.Equal(t, "RISK-2027-1", h.create(h.ivy, nil).Key)
	})

	t.Run("defaults_and_stored_fields", func(t *testing.T) {
		r := h.create(h.ivy, nil)
		assert.True(t, IsKey(r.Key), r.Key)
		assert.Equal(t, r.Key, r.ID, "the key is the id")
		assert.Equal(t, Emerging, r.Status)
		assert.Equal(t, "ivy", r.Owner, "the owner defaults to the caller")
		assert.Equal(t, "ivy", r.CreatedBy)
		assert.EqualValues(t, 1, r.Version)
		assert.Equal(t, []string{}, r.LinkedCases)
		assert.Equal(t, []string{}, r.LinkedIncidents)
		assert.Equal(t, []Change{}, r.Changes)
		assert.Equal(t, 0, r.Evidence.CaseCount)

		got := h.get(h.lena, r.Key)
		assert.Equal(t, "Counterfeit sellers move to live streams", got.Title)
		assert.Equal(t, []string{"regulated_goods", "fraud_scam"}, got.PolicyAreas)
		assert.Equal(t, Proactive, got.Discovery)
		assert.Positive(t, h.stored(r.Key).Seq, "writes are stamped for the index feed")

		ev := h.lastEvent("risk.create")
		assert.Equal(t, auth.OutcomeSuccess, ev.Outcome)
		assert.Equal(t, auth.Entity{Type: "risk", ID: r.Key}, ev.Entity)
		assert.Equal(t, "ivy", ev.User)
	})

	t.Run("another_owner", func(t *testing.T) {
		r := h.create(h.lena, func(n *NewRisk) { n.Owner = "ivy" })
		assert.Equal(t, "ivy", r.Owner)
	})
}

func TestCreateValidationNamesFields(t *testing.T) {
	h := newHarness(t)
	disabled := h.addUser("gone", auth.RoleInvestigator, "fraud", "")
	_, err := h.auth.UpdateUser(h.ctx, h.admin, disabled.Username, disabled.Version, auth.UserPatch{Disabled: ptr(true)}, auth.Meta{})
	require.NoError(t, err)

	tests := []struct {
		name  string
		edit  func(*NewRisk)
		field string
	}{
		{"missing_title", func(n *NewRisk) { n.Title = " " }, "title"},
		{"long_title", func(n *NewRisk) { n.Title = strings.Repeat("x", 301) }, "title"},
		{"nul_in_description", func(n *NewRisk) { n.Description = "a\x00b" }, "description"},
		{"no_policy_area", func(n *NewRisk) { n.PolicyAreas = nil }, "policy_areas"},
		{"unknown_policy_area", func(n *NewRisk) { n.PolicyAreas = []string{"fraud_scam", "weather"} }, "policy_areas[1]"},
		{"duplicate_policy_area", func(n *NewRisk) { n.PolicyAreas = []string{"spam", "spam"} }, "policy_areas[1]"},
		{"bad_discovery", func(n *NewRisk) { n.Discovery = "accidental" }, "discovery"},
		{"missing_discovery", func(n *NewRisk) { n.Discovery = "" }, "discovery"},
		{"owner_not_a_username", func(n *NewRisk) { n.Owner = "two words" }, "owner"},
		{"owner_unknown", func(n *NewRisk) { n.Owner = "nobody" }, "owner"},
		{"owner_disabled", func(n *NewRisk) { n.Owner = "gone" }, "owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validRisk()
			tt.edit(&in)
			_, err := h.svc.Create(h.ctx, h.lena, in, auth.Meta{})
			assert.Contains(t, errstest.Fields(t, err), tt.field)
		})
	}
	list, total, err := h.svc.List(h.ctx, h.admin, Query{}, auth.Meta{})
	require.NoError(t, err)
	assert.Empty(t, list, "no invalid risk is stored")
	assert.Zero(t, total)
}

func TestAccessByRole(t *testing.T) {
	h := newHarness(t)
	r := h.create(h.lena, nil)

	t.Run("vendor_agent_is_refused_everything_and_audited", func(t *testing.T) {
		m := auth.Meta{}
		calls := map[string]func() error{
			"risk.create": func() error { _, err := h.svc.Create(h.ctx, h.vic, validRisk(), m); return err },
			"risk.read":   func() error { _, err := h.svc.Get(h.ctx, h.vic, r.Key, m); return err },
			"risk.list":   func() error { _, _, err := h.svc.List(h.ctx, h.vic, Query{}, m); return err },
			"risk.update": func() error { _, err := h.svc.Update(h.ctx, h.vic, r.Key, 1, Patch{Title: ptr("x")}, m); return err },
			"risk.link": func() error {
				_, err := h.svc.Link(h.ctx, h.vic, r.Key, LinkTarget{CaseID: "CF-2026-1"}, 0, m)
				return err
			},
			"risk.unlink": func() error { _, err := h.svc.UnlinkCase(h.ctx, h.vic, r.Key, "CF-2026-1", 0, m); return err },
			"risk.change.create": func() error {
				_, _, err := h.svc.AddChange(h.ctx, h.vic, r.Key, NewChange{Title: "x", Owner: "vic", Category: "policy"}, 0, m)
				return err
			},
			"risk.change.update": func() error {
				_, _, err := h.svc.UpdateChange(h.ctx, h.vic, r.Key, 1, 1, ChangePatch{}, m)
				return err
			},
			"risk.seed_rca": func() error { _, err := h.svc.SeedRCA(h.ctx, h.vic, r.Key, "", m); return err },
		}
		for action, call := range calls {
			t.Run(action, func(t *testing.T) {
				errstest.Require(t, call(), errs.Forbidden)
				ev := h.lastEvent(action)
				assert.Equal(t, "vic", ev.User)
				assert.Equal(t, auth.OutcomeDenied, ev.Outcome)
			})
		}
		assert.EqualValues(t, 1, h.stored(r.Key).Version, "nothing was written")
	})

	t.Run("leadership_reads_but_does_not_write", func(t *testing.T) {
		assert.Equal(t, r.Key, h.get(h.leo, r.Key).Key)
		_, total, err := h.svc.List(h.ctx, h.leo, Query{}, auth.Meta{})
		require.NoError(t, err)
		assert.Equal(t, 1, total)
		_, err = h.svc.Create(h.ctx, h.leo, validRisk(), auth.Meta{})
		errstest.Require(t, err, errs.Forbidden)
		_, err = h.svc.Update(h.ctx, h.leo, r.Key, 1, Patch{Title: ptr("Renamed")}, auth.Meta{})
		errstest.Require(t, err, errs.Forbidden)
		assert.Equal(t, "leo", h.lastEvent("risk.update").User)
	})

	t.Run("unknown_risk_is_not_found", func(t *testing.T) {
		for _, id := range []string{"RISK-2026-99", "nonsense", ""} {
			_, err := h.svc.Get(h.ctx, h.ivy, id, auth.Meta{})
			errstest.Require(t, err, errs.NotFound)
		}
	})
}

func TestStatusMoves(t *testing.T) {
	h := newHarness(t)
	// path drives a new risk through statuses before the move under test.
	tests := []struct {
		path    []Status
		to      Status
		allowed bool
	}{
		{nil, Monitoring, true},
		{nil, Mitigated, true},
		{nil, Closed, true},
		{[]Status{Monitoring}, Mitigated, true},
		{[]Status{Monitoring}, Closed, true},
		{[]Status{Monitoring, Mitigated}, Closed, true},
		{[]Status{Mitigated}, Monitoring, true},
		{[]Status{Closed}, Monitoring, true},
		{[]Status{Monitoring}, Emerging, false},
		{[]Status{Mitigated}, Emerging, false},
		{[]Status{Closed}, Emerging, false},
		{[]Status{Closed}, Mitigated, false},
	}
	for _, tt := range tests {
		from := Emerging
		if len(tt.path) > 0 {
			from = tt.path[len(tt.path)-1]
		}
		verb := "cannot"
		if tt.allowed {
			verb = "can"
		}
		t.Run(fmt.Sprintf("%s_%s_move_to_%s", from, verb, tt.to), func(t *testing.T) {
			r := h.create(h.ivy, nil)
			for _, st := range tt.path {
				var err error
				r, err = h.svc.Update(h.ctx, h.ivy, r.Key, r.Version, Patch{Status: ptr(st)}, auth.Meta{})
				require.NoError(t, err)
			}
			got, err := h.svc.Update(h.ctx, h.ivy, r.Key, r.Version, Patch{Status: ptr(tt.to)}, auth.Meta{})
			if !tt.allowed {
				errstest.Require(t, err, errs.Conflict)
				assert.Equal(t, from, h.stored(r.Key).Status)
				assert.Equal(t, r.Version, h.stored(r.Key).Version, "a refused move writes nothing")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.to, got.Status)
			ev := h.lastEvent("risk.update")
			assert.Equal(t, map[string]string{"from": string(from), "to": string(tt.to)}, ev.Detail)
		})
	}

	t.Run("unknown_status_is_invalid", func(t *testing.T) {
		r := h.create(h.ivy, nil)
		_, err := h.svc.Update(h.ctx, h.ivy, r.Key, r.Version, Patch{Status: ptr(Status("archived"))}, auth.Meta{})
		assert.Equal(t, []string{"status"}, errstest.Fields(t, err))
	})
}

func TestUpdate(t *testing.T) {
	h := newHarness(t)
	r := h.create(h.ivy, nil)

	t.Run("patch_changes_only_what_it_names", func(t *testing.T) {
		got, err := h.svc.Update(h.ctx, h.lena, r.Key, 1, Patch{Title: ptr("Fakes on live streams"), Owner: ptr("lena"),
			PolicyAreas: &[]string{"ip_infringement"}, Discovery: ptr(Reactive)}, auth.Meta{})
		require.NoError(t, err)
		assert.Equal(t, "Fakes on live streams", got.Title)
		assert.Equal(t, r.Description, got.Description)
		assert.Equal(t, "lena", got.Owner)
		assert.Equal(t, []string{"ip_infringement"}, got.PolicyAreas)
		assert.Equal(t, Reactive, got.Discovery)
		assert.EqualValues(t, 2, got.Version)
		assert.Greater(t, h.stored(r.Key).Seq, int64(0))
	})

	t.Run("stale_version_is_412", func(t *testing.T) {
		_, err := h.svc.Update(h.ctx, h.lena, r.Key, 1, Patch{Title: ptr("Lost update")}, auth.Meta{})
		errstest.Require(t, err, errs.PreconditionFailed)
		assert.Equal(t, "Fakes on live streams", h.stored(r.Key).Title)
	})

	t.Run("missing_version_is_428", func(t *testing.T) {
		_, err := h.svc.Update(h.ctx, h.lena, r.Key, 0, Patch{Title: ptr("Blind write")}, auth.Meta{})
		errstest.Require(t, err, errs.PreconditionNeeded)
	})

	t.Run("invalid_patch_names_fields_and_writes_nothing", func(t *testing.T) {
		_, err := h.svc.Update(h.ctx, h.lena, r.Key, 2, Patch{Title: ptr(""), Owner: ptr("nobody"), PolicyAreas: &[]string{"weather"}}, auth.Meta{})
		assert.ElementsMatch(t, []string{"title", "policy_areas[0]"}, errstest.Fields(t, err))
		_, err = h.svc.Update(h.ctx, h.lena, r.Key, 2, Patch{Owner: ptr("nobody")}, auth.Meta{})
		assert.Equal(t, []string{"owner"}, errstest.Fields(t, err))
		assert.EqualValues(t, 2, h.stored(r.Key).Version)
	})

	t.Run("every_write_bumps_version_and_seq_and_notifies", func(t *testing.T) {
		before := h.stored(r.Key)
		n := len(h.changes)
		_, err := h.svc.Update(h.ctx, h.lena, r.Key, before.Version, Patch{Description: ptr("More detail.")}, auth.Meta{})
		require.NoError(t, err)
		after := h.stored(r.Key)
		assert.Equal(t, before.Version+1, after.Version)
		assert.Greater(t, after.Seq, before.Seq)
		assert.Equal(t, []string{"risk " + r.Key}, h.changes[n:])
	})
}

func TestList(t *testing.T) {
	h := newHarness(t)
	a := h.create(h.ivy, func(n *NewRisk) { n.PolicyAreas = []string{"spam"} })
	h.clock.Advance(day)
	b := h.create(h.lena, func(n *NewRisk) { n.PolicyAreas = []string{"fraud_scam", "spam"} })
	h.clock.Advance(day)
	c := h.create(h.lena, func(n *NewRisk) { n.PolicyAreas = []string{"fraud_scam"} })
	_, err := h.svc.Update(h.ctx, h.lena, c.Key, 1, Patch{Status: ptr(Monitoring)}, auth.Meta{})
	require.NoError(t, err)

	keys := func(q Query) ([]string, int) {
		t.Helper()
		list, total, err := h.svc.List(h.ctx, h.leo, q, auth.Meta{})
		require.NoError(t, err)
		out := []string{}
		for _, s := range list {
			out = append(out, s.Key)
		}
		return out, total
	}
	tests := []struct {
		name  string
		q     Query
		want  []string
		total int
	}{
		{"all_newest_first", Query{}, []string{c.Key, b.Key, a.Key}, 3},
		{"by_status", Query{Statuses: []Status{Emerging}}, []string{b.Key, a.Key}, 2},
		{"by_policy_area", Query{PolicyAreas: []string{"fraud_scam"}}, []string{c.Key, b.Key}, 2},
		{"by_owner", Query{Owners: []string{"ivy"}}, []string{a.Key}, 1},
		{"combined", Query{PolicyAreas: []string{"spam"}, Owners: []string{"lena"}}, []string{b.Key}, 1},
		{"page", Query{Limit: 1, Offset: 1}, []string{b.Key}, 3},
		{"past_the_end", Query{Limit: 10, Offset: 5}, []string{}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total := keys(tt.q)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.total, total)
		})
	}
}

func TestRisksSinceFollowsSeq(t *testing.T) {
	h := newHarness(t)
	a := h.create(h.ivy, nil)
	b := h.create(h.ivy, nil)
	_, err := h.svc.Update(h.ctx, h.ivy, a.Key, 1, Patch{Title: ptr("Touched last")}, auth.Meta{})
	require.NoError(t, err)

	all, err := h.store.RisksSince(h.ctx, 0, 10)
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, []string{b.Key, a.Key}, []string{all[0].Key, all[1].Key}, "ordered by the last write")
	assert.Less(t, all[0].Seq, all[1].Seq)

	after, err := h.store.RisksSince(h.ctx, all[0].Seq, 10)
	require.NoError(t, err)
	require.Len(t, after, 1)
	assert.Equal(t, a.Key, after[0].Key)

	limited, err := h.store.RisksSince(h.ctx, 0, 1)
	require.NoError(t, err)
	assert.Len(t, limited, 1)
}
