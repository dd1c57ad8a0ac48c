package quality_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
	"casefile.dev/casefile/rca"
)

const week = 7 * 24 * time.Hour

// TestScorecardsOnASeededDataset: every number of the vendor scorecards,
// computed from the index, on a dataset small enough to count by hand.
//
//	acme: 5 cases; vic decides on 4 of them, all sampled (rate 1):
//	      week 1: agree, agree; week 2: agree, disagree (wrong_action).
//	      4 cases are past their SLA, the fifth is an hour old.
//	      Root causes naming acme: vendor_execution 1, human_error 1.
//	bpo2: 2 cases; vera decides on both, none sampled (rate 0); both past
//	      SLA. One human_error root cause names bpo2.
func TestScorecardsOnASeededDataset(t *testing.T) {
	s := newSystem(t)
	s.setRules(quality.Rule{ID: "acme", Vendor: "acme", Rate: 1}, quality.Rule{ID: "bpo2", Vendor: "bpo2", Rate: 0})
	week1 := s.clock.Now()
	var acme []string
	for range 2 {
		acme = append(acme, s.enforce(s.vic, s.newCase("t1", "acme")))
	}
	s.enforce(s.vera, s.newCase("t2", "bpo2"))
	s.enforce(s.vera, s.newCase("t2", "bpo2"))
	s.clock.Advance(week)
	for range 2 {
		acme = append(acme, s.enforce(s.vic, s.newCase("t1", "acme")))
	}
	for i, id := range acme {
		verdict := quality.Agree
		if i == 3 {
			verdict = quality.Disagree
		}
		s.review(s.lena, id, verdict, "wrong_action")
	}
	in, err := s.RCA.CreateIncident(s.ctx, s.lena, rca.NewIncident{Kind: rca.KindIssue, Title: "Vendor queue errors", Severity: "sev3",
		Status: rca.Investigating, StartedAt: week1, Detection: "QA", Impact: rca.Impact{Text: "Wrong actions."}}, auth.Meta{})
	require.NoError(t, err)
	_, err = s.RCA.PutRCA(s.ctx, s.lena, in.Key, 0, rca.RCA{ProblemStatement: "Errors", RootCauses: []rca.RootCause{
		{Category: rca.Process, Subcategory: "vendor_execution", Vendor: "acme", Description: "Acme skipped the second check"},
		{Category: rca.Process, Subcategory: "human_error", Vendor: "acme", Description: "An agent misread the policy"},
		{Category: rca.Process, Subcategory: "human_error", Vendor: "bpo2", Description: "An agent misread the policy too"},
	}}, auth.Meta{})
	require.NoError(t, err)
	s.clock.Advance(8 * 24 * time.Hour) // every case so far is past its 7-day SLA
	s.newCase("t1", "acme")
	s.clock.Advance(time.Hour)

	cards, err := s.Quality.Scorecards(s.ctx, s.leo, quality.ScorecardQuery{By: "vendor"})
	require.NoError(t, err)
	require.Len(t, cards, 2)
	a, b := cards[0], cards[1]
	require.Equal(t, "acme", a.Group)
	assert.Equal(t, 4, a.Decisions)
	assert.Equal(t, 4, a.Sampled)
	assert.Equal(t, 4, a.Reviewed)
	assert.Equal(t, 3, a.Agreed)
	require.NotNil(t, a.Agreement)
	assert.InDelta(t, 0.75, a.Agreement.Rate, 1e-12)
	w := quality.Wilson(3, 4)
	assert.Equal(t, *w, *a.Agreement)
	assert.Equal(t, map[string]int{"wrong_action": 1}, a.ErrorTypes)
	assert.Equal(t, 5, a.Cases)
	assert.Equal(t, 4, a.SLABreached)
	require.NotNil(t, a.SLAAdherence)
	assert.InDelta(t, 0.2, *a.SLAAdherence, 1e-12)
	assert.Equal(t, map[string]int{"vendor_execution": 1, "human_error": 1}, a.RootCauses)
	require.Len(t, a.Trend, 2)
	assert.Equal(t, []int{2, 2}, []int{a.Trend[0].Reviewed, a.Trend[1].Reviewed})
	assert.Equal(t, []int{2, 1}, []int{a.Trend[0].Agreed, a.Trend[1].Agreed})
	assert.Equal(t, time.Monday, a.Trend[0].Start.Weekday())
	assert.Equal(t, week, a.Trend[1].Start.Sub(a.Trend[0].Start))

	require.Equal(t, "bpo2", b.Group)
	assert.Equal(t, 2, b.Decisions)
	assert.Zero(t, b.Sampled)
	assert.Nil(t, b.Agreement, "nothing reviewed: no estimate")
	assert.Equal(t, 2, b.Cases)
	assert.InDelta(t, 0, *b.SLAAdherence, 1e-12)
	assert.Equal(t, map[string]int{"vendor_execution": 0, "human_error": 1}, b.RootCauses)
	assert.Empty(t, b.Trend)

	agents, err := s.Quality.Scorecards(s.ctx, s.lena, quality.ScorecardQuery{By: "agent", Group: "vic"})
	require.NoError(t, err)
	require.Len(t, agents, 1)
	assert.Equal(t, 4, agents[0].Decisions)
	assert.Nil(t, agents[0].RootCauses, "root causes name vendors, not agents")

	// A vendor agent reads their own card and no other.
	own, err := s.Quality.Scorecards(s.ctx, s.vic, quality.ScorecardQuery{By: "vendor"})
	require.NoError(t, err)
	require.Len(t, own, 1)
	assert.Equal(t, "acme", own[0].Group)
	_, err = s.Quality.Scorecards(s.ctx, s.vic, quality.ScorecardQuery{By: "vendor", Group: "bpo2"})
	errstest.Require(t, err, errs.NotFound)
	_, err = s.Quality.Scorecards(s.ctx, s.vic, quality.ScorecardQuery{By: "agent", Group: "vic"})
	errstest.Require(t, err, errs.NotFound)
	_, err = s.Quality.Scorecards(s.ctx, s.ivy, quality.ScorecardQuery{By: "vendor"})
	errstest.Require(t, err, errs.Forbidden)
}

// TestQualityDropFiresOneAlert: agreement for acme falls from 100% to 50%
// week over week; one alert per group, however many reviews follow, and
// the alert seeds an RCA with its evidence.
func TestQualityDropFiresOneAlert(t *testing.T) {
	s := newSystem(t)
	s.setRules(quality.Rule{ID: "all", Rate: 1})
	rules, err := s.Quality.Rules(s.ctx, s.lena)
	require.NoError(t, err)
	rules.AlertDrop, rules.AlertMinReviews = 0.3, 2
	_, err = s.Quality.PutRules(s.ctx, s.lena, rules.Version, rules, auth.Meta{})
	require.NoError(t, err)

	s.review(s.lena, s.enforce(s.vic, s.newCase("t1", "acme")), quality.Agree, "")
	s.review(s.lena, s.enforce(s.vic, s.newCase("t1", "acme")), quality.Agree, "")
	s.clock.Advance(week)
	s.review(s.lena, s.enforce(s.vic, s.newCase("t1", "acme")), quality.Agree, "")
	assert.Empty(t, s.alert, "one review this week is too few to judge")
	s.review(s.lena, s.enforce(s.vic, s.newCase("t1", "acme")), quality.Disagree, "wrong_action")
	require.Len(t, s.alert, 3, "vendor acme, team t1 and agent vic each dropped from 100% to 50%")
	scopes := map[string]string{}
	for _, a := range s.alert {
		scopes[a.Scope] = a.Group
		assert.InDelta(t, 1.0, a.Previous, 1e-12)
		assert.InDelta(t, 0.5, a.Current, 1e-12)
	}
	assert.Equal(t, map[string]string{"vendor": "acme", "team": "t1", "agent": "vic"}, scopes)

	s.review(s.lena, s.enforce(s.vic, s.newCase("t1", "acme")), quality.Disagree, "wrong_action")
	assert.Len(t, s.alert, 3, "the same drop does not fire again")

	alerts, err := s.Quality.Alerts(s.ctx, s.vic)
	require.NoError(t, err)
	require.Len(t, alerts, 1, "a vendor agent sees their vendor's alert only")
	assert.Equal(t, "vendor", alerts[0].Scope)
	_, err = s.Quality.Alerts(s.ctx, s.ivy)
	errstest.Require(t, err, errs.Forbidden)

	key, err := s.Quality.SeedRCA(s.ctx, s.lena, s.RCA, alerts[0].ID, auth.Meta{})
	require.NoError(t, err)
	in, err := s.RCA.GetIncident(s.ctx, s.lena, key)
	require.NoError(t, err)
	assert.Equal(t, rca.KindIssue, in.Kind)
	assert.Contains(t, in.RCA.ProblemStatement, "from 100% to 50%")
	assert.Contains(t, in.RCA.ProblemStatement, "wrong_action")
	again, err := s.Quality.SeedRCA(s.ctx, s.lena, s.RCA, alerts[0].ID, auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, key, again, "seeding twice opens one RCA")
}
