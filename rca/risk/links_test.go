package risk

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
	"casefile.dev/casefile/rca"
)

// linkedWorld is a risk and cases filed over three months: two in March
// (a DE merchant of team fraud, a US user of team spam), one in April (a
// DE merchant of team fraud) and one in May whose actor has no region or
// kind.
type linkedWorld struct {
	*harness
	risk                 Risk
	mar1, mar2, apr, may cases.Case
}

func newLinkedWorld(t *testing.T) *linkedWorld {
	h := newHarness(t)
	w := &linkedWorld{harness: h}
	w.mar1 = h.newCase("fraud", cases.ActorRef{ActorID: "acct-de-1", Kind: "merchant", Region: "DE"})
	w.mar2 = h.newCase("spam", cases.ActorRef{ActorID: "acct-us-1", Kind: "user", Region: "US"})
	h.clock.Advance(31 * day)
	w.apr = h.newCase("fraud", cases.ActorRef{ActorID: "acct-de-2", Kind: "merchant", Region: "DE"})
	h.clock.Advance(30 * day)
	w.may = h.newCase("fraud", cases.ActorRef{ActorID: "acct-xx-1"})
	w.risk = h.create(h.lena, nil)
	return w
}

func TestLinkCasesKeepsAggregates(t *testing.T) {
	w := newLinkedWorld(t)
	key := w.risk.Key
	for _, c := range []cases.Case{w.mar1, w.mar2, w.apr} {
		w.linkCase(w.lena, key, c.Key)
	}
	w.linkCase(w.lena, key, w.may.ID) // by id as well as by key

	r := w.get(w.lena, key)
	assert.Equal(t, Evidence{
		CaseCount:  4,
		ByMonth:    map[string]int{"2026-03": 2, "2026-04": 1, "2026-05": 1},
		Regions:    map[string]int{"DE": 2, "US": 1, Unknown: 1},
		ActorKinds: map[string]int{"merchant": 2, "user": 1, Unknown: 1},
	}, r.Evidence)
	assert.Equal(t, []string{w.mar1.Key, w.mar2.Key, w.apr.Key, w.may.Key}, r.LinkedCases)
	assert.EqualValues(t, 5, r.Version, "one write per link")
	ev := w.lastEvent("risk.link")
	assert.Equal(t, map[string]string{"case": w.may.Key}, ev.Detail)

	t.Run("linking_twice_changes_nothing", func(t *testing.T) {
		n := len(w.changes)
		again := w.linkCase(w.lena, key, w.mar1.Key)
		assert.EqualValues(t, 5, again.Version)
		assert.Equal(t, 4, again.Evidence.CaseCount)
		assert.Len(t, w.stored(key).Links, 4)
		assert.Len(t, w.changes, n, "no write, no notification")
	})

	t.Run("unlinking_takes_back_what_the_link_added", func(t *testing.T) {
		r, err := w.svc.UnlinkCase(w.ctx, w.lena, key, w.mar2.Key, 0, auth.Meta{})
		require.NoError(t, err)
		assert.Equal(t, Evidence{
			CaseCount:  3,
			ByMonth:    map[string]int{"2026-03": 1, "2026-04": 1, "2026-05": 1},
			Regions:    map[string]int{"DE": 2, Unknown: 1},
			ActorKinds: map[string]int{"merchant": 2, Unknown: 1},
		}, r.Evidence, "counts that reach zero go away")
		assert.Equal(t, []string{w.mar1.Key, w.apr.Key, w.may.Key}, r.LinkedCases)
		assert.Equal(t, map[string]string{"case": w.mar2.Key}, w.lastEvent("risk.unlink").Detail)

		r, err = w.svc.UnlinkCase(w.ctx, w.lena, key, w.mar2.ID, 0, auth.Meta{})
		require.NoError(t, err, "unlinking what is not linked is a no-op")
		assert.EqualValues(t, 6, r.Version)
	})

	t.Run("unlinking_everything_leaves_empty_aggregates", func(t *testing.T) {
		for _, c := range []cases.Case{w.mar1, w.apr, w.may} {
			_, err := w.svc.UnlinkCase(w.ctx, w.lena, key, c.Key, 0, auth.Meta{})
			require.NoError(t, err)
		}
		r := w.get(w.lena, key)
		assert.Equal(t, Evidence{CaseCount: 0, ByMonth: map[string]int{}, Regions: map[string]int{}, ActorKinds: map[string]int{}}, r.Evidence)
		assert.Equal(t, []string{}, r.LinkedCases)
	})
}

func TestLinkRefreshesAChangedCase(t *testing.T) {
	w := newLinkedWorld(t)
	w.linkCase(w.lena, w.risk.Key, w.mar1.Key)
	// The case moves to team spam: ivy (fraud) no longer reads it.
	c := w.mar1
	_, err := w.cases.Update(w.ctx, w.lena, c.Key, c.Version, cases.Patch{Team: ptr("spam")}, auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, []string{w.mar1.Key}, w.get(w.ivy, w.risk.Key).LinkedCases, "the snapshot is what was linked")

	r := w.linkCase(w.lena, w.risk.Key, c.Key)
	assert.EqualValues(t, 3, r.Version, "a changed case is written again")
	assert.Equal(t, 1, r.Evidence.CaseCount, "and counted once")
	assert.Equal(t, []string{}, w.get(w.ivy, w.risk.Key).LinkedCases)
	assert.Equal(t, []string{w.mar1.Key}, w.get(w.ian, w.risk.Key).LinkedCases)
}

func TestLinkNeedsACaseTheCallerReads(t *testing.T) {
	w := newLinkedWorld(t)
	key := w.risk.Key

	for name, ref := range map[string]string{"by_key": w.mar1.Key, "by_id": w.mar1.ID} {
		t.Run("investigator_of_another_team_"+name, func(t *testing.T) {
			_, err := w.svc.Link(w.ctx, w.ian, key, LinkTarget{CaseID: ref}, 0, auth.Meta{})
			errstest.Require(t, err, errs.NotFound)
			ev := w.lastEvent("risk.link")
			assert.Equal(t, "ian", ev.User)
			assert.Equal(t, auth.OutcomeDenied, ev.Outcome)
			assert.Equal(t, key, ev.Entity.ID)
		})
	}
	t.Run("no_such_case", func(t *testing.T) {
		_, err := w.svc.Link(w.ctx, w.lena, key, LinkTarget{CaseID: "CF-2026-99"}, 0, auth.Meta{})
		errstest.Require(t, err, errs.NotFound)
	})
	t.Run("no_such_risk", func(t *testing.T) {
		_, err := w.svc.Link(w.ctx, w.lena, "RISK-2026-99", LinkTarget{CaseID: w.mar1.Key}, 0, auth.Meta{})
		errstest.Require(t, err, errs.NotFound)
	})
	t.Run("leadership_may_not_link", func(t *testing.T) {
		_, err := w.svc.Link(w.ctx, w.leo, key, LinkTarget{CaseID: w.mar1.Key}, 0, auth.Meta{})
		errstest.Require(t, err, errs.Forbidden)
	})
	t.Run("investigator_cannot_unlink_what_they_cannot_read", func(t *testing.T) {
		w.linkCase(w.lena, key, w.mar1.Key)
		before := w.stored(key)
		_, err := w.svc.UnlinkCase(w.ctx, w.ian, key, w.mar1.Key, 0, auth.Meta{})
		errstest.Require(t, err, errs.NotFound)
		assert.Equal(t, before.Version, w.stored(key).Version)
	})
	assert.Equal(t, 1, w.stored(key).Evidence.CaseCount, "only lena's link was stored")
}

func TestLinkTargetValidation(t *testing.T) {
	w := newLinkedWorld(t)
	tests := []struct {
		name   string
		target LinkTarget
		fields []string
	}{
		{"neither", LinkTarget{}, []string{"case_id"}},
		{"both", LinkTarget{CaseID: w.mar1.Key, IncidentID: "INC-2026-1"}, []string{"incident_id"}},
		{"too_long", LinkTarget{CaseID: string(make([]byte, 65))}, []string{"case_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.svc.Link(w.ctx, w.lena, w.risk.Key, tt.target, 0, auth.Meta{})
			assert.Equal(t, tt.fields, errstest.Fields(t, err))
		})
	}
	assert.EqualValues(t, 1, w.stored(w.risk.Key).Version)
}

func TestLinksAreBounded(t *testing.T) {
	w := newLinkedWorld(t)
	w.svc.maxLinks = 2
	key := w.risk.Key
	w.linkCase(w.lena, key, w.mar1.Key)
	w.linkCase(w.lena, key, w.mar2.Key)

	_, err := w.svc.Link(w.ctx, w.lena, key, LinkTarget{CaseID: w.apr.Key}, 0, auth.Meta{})
	assert.Equal(t, []string{"case_id"}, errstest.Fields(t, err))
	r := w.stored(key)
	assert.Len(t, r.Links, 2)
	assert.Equal(t, 2, r.Evidence.CaseCount)
	assert.EqualValues(t, 3, r.Version)

	w.linkCase(w.lena, key, w.mar1.Key) // what is linked may be linked again
	_, err = w.svc.UnlinkCase(w.ctx, w.lena, key, w.mar1.Key, 0, auth.Meta{})
	require.NoError(t, err)
	w.linkCase(w.lena, key, w.apr.Key) // room again after an unlink

	for _, title := range []string{"one", "two"} {
		in, err := w.rca.CreateIncident(w.ctx, w.lena, rca.NewIncident{Title: title, Severity: "sev3", StartedAt: t0}, auth.Meta{})
		require.NoError(t, err)
		_, err = w.svc.Link(w.ctx, w.lena, key, LinkTarget{IncidentID: in.Key}, 0, auth.Meta{})
		require.NoError(t, err)
	}
	in, err := w.rca.CreateIncident(w.ctx, w.lena, rca.NewIncident{Title: "three", Severity: "sev3", StartedAt: t0}, auth.Meta{})
	require.NoError(t, err)
	_, err = w.svc.Link(w.ctx, w.lena, key, LinkTarget{IncidentID: in.Key}, 0, auth.Meta{})
	assert.Equal(t, []string{"incident_id"}, errstest.Fields(t, err))
}

func TestLinkIncidents(t *testing.T) {
	w := newLinkedWorld(t)
	key := w.risk.Key
	in, err := w.rca.CreateIncident(w.ctx, w.lena, rca.NewIncident{Title: "Live-stream fakes", Severity: "sev2", StartedAt: t0}, auth.Meta{})
	require.NoError(t, err)

	r, err := w.svc.Link(w.ctx, w.ivy, key, LinkTarget{IncidentID: in.ID}, 0, auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, []string{in.Key}, r.LinkedIncidents, "linked by id, shown by key")
	r, err = w.svc.Link(w.ctx, w.ivy, key, LinkTarget{IncidentID: in.Key}, 0, auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, []string{in.Key}, r.LinkedIncidents, "linking twice is idempotent")
	assert.EqualValues(t, 2, r.Version)
	assert.Equal(t, []string{in.Key}, w.get(w.leo, key).LinkedIncidents, "leadership reads incidents")

	_, err = w.svc.Link(w.ctx, w.ivy, key, LinkTarget{IncidentID: "INC-2026-99"}, 0, auth.Meta{})
	errstest.Require(t, err, errs.NotFound)

	r, err = w.svc.UnlinkIncident(w.ctx, w.ivy, key, in.Key, 0, auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, []string{}, r.LinkedIncidents)
	assert.Equal(t, map[string]string{"incident": in.Key}, w.lastEvent("risk.unlink").Detail)
}

func TestPresentationByReader(t *testing.T) {
	w := newLinkedWorld(t)
	key := w.risk.Key
	restricted := w.newCase("fraud", cases.ActorRef{ActorID: "acct-cs-1", Kind: "user", Region: "FR"})
	_, err := w.cases.Update(w.ctx, w.lena, restricted.Key, restricted.Version, cases.Patch{Restricted: ptr(true)}, auth.Meta{})
	require.NoError(t, err)
	for _, c := range []cases.Case{w.mar1, w.mar2, restricted} {
		w.linkCase(w.lena, key, c.Key)
	}

	tests := []struct {
		name   string
		reader *auth.User
		keys   []string
	}{
		{"lead_reads_every_case", w.lena, []string{w.mar1.Key, w.mar2.Key, restricted.Key}},
		{"investigator_reads_own_team_unrestricted", w.ivy, []string{w.mar1.Key}},
		{"investigator_of_other_team", w.ian, []string{w.mar2.Key}},
		{"leadership_reads_no_case", w.leo, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.get(tt.reader, key)
			assert.Equal(t, tt.keys, r.LinkedCases)
			assert.Nil(t, r.Links, "snapshots are never presented")
			assert.Equal(t, 3, r.Evidence.CaseCount, "everyone who reads the risk sees all the counts")
			assert.Equal(t, map[string]int{"DE": 1, "US": 1, "FR": 1}, r.Evidence.Regions)
		})
	}
}
