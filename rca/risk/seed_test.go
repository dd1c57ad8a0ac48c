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

func TestSeedRCA(t *testing.T) {
	w := newLinkedWorld(t)
	key := w.risk.Key
	for _, c := range []cases.Case{w.mar1, w.mar2, w.apr, w.may} {
		w.linkCase(w.lena, key, c.Key)
	}

	// ivy (team fraud) seeds: the sample names only cases she reads.
	s, err := w.svc.SeedRCA(w.ctx, w.ivy, key, "", auth.Meta{})
	require.NoError(t, err)
	assert.True(t, s.Created)
	assert.Equal(t, "INC-2026-1", s.IncidentKey)

	t.Run("the_incident_is_an_issue_from_the_risk", func(t *testing.T) {
		in, err := w.rca.GetIncident(w.ctx, w.lena, s.IncidentKey)
		require.NoError(t, err)
		assert.Equal(t, s.IncidentID, in.ID)
		assert.Equal(t, rca.KindIssue, in.Kind)
		assert.Equal(t, w.risk.Title, in.Title)
		assert.Equal(t, rca.Severity("sev2"), in.Severity, "the default severity")
		assert.Equal(t, w.risk.CreatedAt, in.StartedAt)
		assert.Equal(t, "risk register "+key, in.Detection)
		assert.Contains(t, in.Impact.Text, "4 linked cases")
		assert.Contains(t, in.Impact.Text, "DE: 2")
		assert.Equal(t, []string{"DE", "US"}, in.Impact.Regions, "real regions, most cases first")
	})

	t.Run("the_problem_statement_holds_the_evidence", func(t *testing.T) {
		in, err := w.rca.GetIncident(w.ctx, w.lena, s.IncidentKey)
		require.NoError(t, err)
		ps := in.RCA.ProblemStatement
		for _, want := range []string{
			"Linked cases: 4",
			"Cases per month: 2026-03: 2, 2026-04: 1, 2026-05: 1",
			"Regions: DE: 2, US: 1, unknown: 1",
			"Actor kinds: merchant: 2, unknown: 1, user: 1",
			"Sample cases: " + w.mar1.Key + ", " + w.apr.Key + ", " + w.may.Key,
		} {
			assert.Contains(t, ps, want)
		}
		assert.NotContains(t, ps, w.mar2.Key, "a case of team spam ivy may not read")
		assert.NotContains(t, ps, "acct-", "no actor identifiers")
	})

	t.Run("the_risk_lists_the_incident", func(t *testing.T) {
		r := w.get(w.lena, key)
		assert.Equal(t, []string{s.IncidentKey}, r.LinkedIncidents)
		assert.Equal(t, s.IncidentKey, r.RCAIncident)
		assert.Equal(t, r.Version, s.Risk.Version, "the answer carries the risk as written")
		assert.Equal(t, map[string]string{"incident": s.IncidentKey}, w.lastEvent("risk.seed_rca").Detail)
	})

	t.Run("seeding_again_answers_the_same_incident", func(t *testing.T) {
		version := w.stored(key).Version
		again, err := w.svc.SeedRCA(w.ctx, w.lena, key, "sev1", auth.Meta{})
		require.NoError(t, err)
		assert.False(t, again.Created)
		assert.Equal(t, s.IncidentKey, again.IncidentKey)
		assert.Equal(t, version, w.stored(key).Version)
		list, total, err := w.rca.ListIncidents(w.ctx, w.lena, rca.IncidentQuery{Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, 1, total, "no second incident: %v", list)
	})

	t.Run("the_seeded_incident_stays_linked", func(t *testing.T) {
		_, err := w.svc.UnlinkIncident(w.ctx, w.lena, key, s.IncidentKey, 0, auth.Meta{})
		errstest.Require(t, err, errs.Conflict)
	})
}

// A failure between opening the incident and recording it on the risk
// leaves an incident the risk does not know; a retry adopts it and
// finishes the remaining steps.
func TestSeedRCARetryAdoptsTheIncidentAFailedCallOpened(t *testing.T) {
	w := newLinkedWorld(t)
	key := w.risk.Key
	w.linkCase(w.lena, key, w.mar1.Key)
	orphan, err := w.rca.CreateIncident(w.ctx, w.lena, rca.NewIncident{Kind: rca.KindIssue, Title: w.risk.Title, Severity: "sev1",
		StartedAt: w.risk.CreatedAt, Detection: detection(key), Impact: rca.Impact{Text: impactText(&w.risk)}}, auth.Meta{})
	require.NoError(t, err)
	// Another risk's incident mentions this key in passing; it is not adopted.
	_, err = w.rca.CreateIncident(w.ctx, w.lena, rca.NewIncident{Kind: rca.KindIssue, Title: "Other", Severity: "sev3",
		StartedAt: t0, Detection: "see " + key, Impact: rca.Impact{Text: "related to " + key}}, auth.Meta{})
	require.NoError(t, err)

	s, err := w.svc.SeedRCA(w.ctx, w.lena, key, "", auth.Meta{})
	require.NoError(t, err)
	assert.False(t, s.Created)
	assert.Equal(t, orphan.Key, s.IncidentKey)
	assert.Equal(t, orphan.Key, w.get(w.lena, key).RCAIncident)
	in, err := w.rca.GetIncident(w.ctx, w.lena, orphan.Key)
	require.NoError(t, err)
	assert.Contains(t, in.RCA.ProblemStatement, "Linked cases: 1")
	assert.Contains(t, in.RCA.ProblemStatement, "Sample cases: "+w.mar1.Key)
	_, total, err := w.rca.ListIncidents(w.ctx, w.lena, rca.IncidentQuery{Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, 2, total, "no incident was opened")
}

func TestSeedRCAPermissionsAndInput(t *testing.T) {
	w := newLinkedWorld(t)
	key := w.risk.Key

	_, err := w.svc.SeedRCA(w.ctx, w.leo, key, "", auth.Meta{})
	errstest.Require(t, err, errs.Forbidden)
	assert.Equal(t, auth.OutcomeDenied, w.lastEvent("risk.seed_rca").Outcome)

	_, err = w.svc.SeedRCA(w.ctx, w.lena, key, "sev9", auth.Meta{})
	assert.Equal(t, []string{"severity"}, errstest.Fields(t, err))

	_, err = w.svc.SeedRCA(w.ctx, w.lena, "RISK-2026-99", "", auth.Meta{})
	errstest.Require(t, err, errs.NotFound)

	_, total, err := w.rca.ListIncidents(w.ctx, w.lena, rca.IncidentQuery{Limit: 10})
	require.NoError(t, err)
	assert.Zero(t, total)

	s, err := w.svc.SeedRCA(w.ctx, w.lena, key, "sev1", auth.Meta{})
	require.NoError(t, err)
	in, err := w.rca.GetIncident(w.ctx, w.lena, s.IncidentKey)
	require.NoError(t, err)
	assert.Equal(t, rca.Severity("sev1"), in.Severity)
	assert.Contains(t, in.RCA.ProblemStatement, "Linked cases: 0")
	assert.NotContains(t, in.RCA.ProblemStatement, "Sample cases")
}
