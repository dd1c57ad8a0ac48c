package quality_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
	"casefile.dev/casefile/search"
)

// TestBlindReviewAndFeedback: an applied enforcement is sampled; the
// queue hides its decider; the review's feedback reaches the decider, on
// their case and in their feedback list, and nobody else who is not a
// reviewer.
func TestBlindReviewAndFeedback(t *testing.T) {
	s := newSystem(t)
	s.setRules(quality.Rule{ID: "all", Rate: 1, Blind: true})
	c := s.newCase("t1", "acme")
	id := s.enforce(s.vic, c)

	queue, total, err := s.Quality.Queue(s.ctx, s.lena, quality.QueueQuery{Limit: 10})
	require.NoError(t, err)
	require.EqualValues(t, 1, total)
	assert.Equal(t, id, queue[0].ID)
	assert.Empty(t, queue[0].Decider, "blind: the reviewer does not see who decided")
	packet, err := s.Quality.Get(s.ctx, s.lena, id, auth.Meta{})
	require.NoError(t, err)
	raw, err := json.Marshal(packet)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), `"vic"`, "no name anywhere in the review packet")
	require.NotNil(t, packet.Enforce)
	assert.Equal(t, cases.Warning, packet.Enforce.Action)

	for _, u := range []*auth.User{s.ivy, s.vic, s.leo} {
		_, _, err := s.Quality.Queue(s.ctx, u, quality.QueueQuery{Limit: 10})
		errstest.Require(t, err, errs.Forbidden)
	}

	it := s.review(s.lena, id, quality.Disagree, "over_enforcement")
	assert.Equal(t, "disagree", it.Status())
	_, err = s.Quality.Review(s.ctx, s.luke, quality.NewReview{DecisionID: id, Verdict: quality.Agree}, auth.Meta{})
	errstest.Require(t, err, errs.Conflict)

	mine, n, err := s.Quality.Feedback(s.ctx, s.vic, 10, 0)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	assert.Equal(t, "The evidence does not show a sale.", mine[0].Review.Feedback)
	assert.Empty(t, mine[0].Review.Reviewer, "feedback is about the decision, not the reviewer")
	onCase, err := s.Quality.CaseFeedback(s.ctx, s.vic, c.ID, auth.Meta{})
	require.NoError(t, err)
	assert.Len(t, onCase, 1, "the decider sees the feedback on their case")

	// ivy can read the case (team t1) but did not decide: no feedback.
	onCase, err = s.Quality.CaseFeedback(s.ctx, s.ivy, c.ID, auth.Meta{})
	require.NoError(t, err)
	assert.Empty(t, onCase)
	others, n, err := s.Quality.Feedback(s.ctx, s.ivy, 10, 0)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Empty(t, others)
	_, err = s.Quality.CaseFeedback(s.ctx, s.vera, c.ID, auth.Meta{})
	errstest.Require(t, err, errs.NotFound)

	// The review is searchable by reviewers and by its decider only.
	find := func(u *auth.User) uint64 {
		res, err := s.Searcher.Search(s.ctx, u, search.Request{Query: "evidence sale", Types: []string{search.TypeReview}})
		require.NoError(t, err)
		return res.Total
	}
	assert.EqualValues(t, 1, find(s.lena))
	assert.EqualValues(t, 1, find(s.vic))
	for _, u := range []*auth.User{s.ivy, s.ian, s.vera, s.leo} {
		assert.Zero(t, find(u), u.Username)
	}
	res, err := s.Searcher.Search(s.ctx, s.lena, search.Request{Query: "evidence sale", Types: []string{search.TypeReview}})
	require.NoError(t, err)
	require.Len(t, res.Hits, 1)
	assert.Empty(t, res.Hits[0].Fields["assignee"], "blind: search rows do not name the decider either")
}

func TestNobodyReviewsTheirOwnDecision(t *testing.T) {
	s := newSystem(t)
	s.setRules(quality.Rule{ID: "all", Rate: 1})
	id := s.enforce(s.lena, s.newCase("t1", ""))
	_, err := s.Quality.Review(s.ctx, s.lena, quality.NewReview{DecisionID: id, Verdict: quality.Agree}, auth.Meta{})
	errstest.Require(t, err, errs.Forbidden)
	_, err = s.Quality.Review(s.ctx, s.luke, quality.NewReview{DecisionID: id, Verdict: quality.Disagree}, auth.Meta{})
	assert.ElementsMatch(t, []string{"error_type", "severity", "feedback"}, errstest.Fields(t, err))
}

func TestUnsampledDecisionsAreNotQueued(t *testing.T) {
	s := newSystem(t)
	s.setRules(quality.Rule{ID: "none", Rate: 0})
	id := s.enforce(s.vic, s.newCase("t1", "acme"))
	_, total, err := s.Quality.Queue(s.ctx, s.lena, quality.QueueQuery{Status: "all", Limit: 10})
	require.NoError(t, err)
	assert.Zero(t, total)
	_, err = s.Quality.Review(s.ctx, s.lena, quality.NewReview{DecisionID: id, Verdict: quality.Agree}, auth.Meta{})
	errstest.Require(t, err, errs.NotFound)
}

// TestCorrectionGoesThroughEnforcement: a disagreement reverses the
// enforcement as a new step of the case (audited), never by editing it.
func TestCorrectionGoesThroughEnforcement(t *testing.T) {
	s := newSystem(t)
	s.setRules(quality.Rule{ID: "all", Rate: 1})
	c := s.newCase("t1", "acme")
	id := s.enforce(s.vic, c)

	_, err := s.Quality.Correct(s.ctx, s.lena, id, quality.NewCorrection{Kind: quality.CorrectReverse, Reason: "Not a sale"}, auth.Meta{})
	errstest.Require(t, err, errs.Conflict) // not reviewed yet
	s.review(s.lena, id, quality.Disagree, "over_enforcement")
	_, err = s.Quality.Correct(s.ctx, s.vic, id, quality.NewCorrection{Kind: quality.CorrectReverse, Reason: "x"}, auth.Meta{})
	errstest.Require(t, err, errs.Forbidden)

	it, err := s.Quality.Correct(s.ctx, s.lena, id, quality.NewCorrection{Kind: quality.CorrectReverse, Reason: "Not a sale"}, auth.Meta{})
	require.NoError(t, err)
	require.NotNil(t, it.Correction)
	got, err := s.Cases.Get(s.ctx, s.lena, c.ID, auth.Meta{})
	require.NoError(t, err)
	require.Len(t, got.Enforcements, 1)
	e := got.Enforcements[0]
	assert.Equal(t, cases.Reversed, e.Status)
	assert.Equal(t, "lena", e.ReversedBy)
	assert.Equal(t, "vic", e.ProposedBy, "history kept: who decided is still on record")
	assert.Equal(t, e.ID, it.Correction.EnforcementID)

	events, _, _, err := s.Audit.List(s.ctx, auth.AuditFilter{EntityType: "qa_item", Action: "qa.correction"}, 10, "")
	require.NoError(t, err)
	assert.Len(t, events, 1, "the correction is in the audit log")
	reversals, _, _, err := s.Audit.List(s.ctx, auth.AuditFilter{User: "lena", Action: "enforcement.reverse"}, 10, "")
	require.NoError(t, err)
	assert.Len(t, reversals, 1, "and so is the reversal, on the case")
	_, err = s.Quality.Correct(s.ctx, s.lena, id, quality.NewCorrection{Kind: quality.CorrectReverse, Reason: "again"}, auth.Meta{})
	errstest.Require(t, err, errs.Conflict)
}

// TestClosureDecisionsAreSampled: closing a case is a decision too; a
// correction of it proposes a new enforcement.
func TestClosureDecisionsAreSampled(t *testing.T) {
	s := newSystem(t)
	s.setRules(quality.Rule{ID: "all", Rate: 1})
	c := s.newCase("t1", "")
	verdict := cases.VerdictNoViolation
	_, err := s.Cases.Update(s.ctx, s.ivy, c.ID, 0, cases.Patch{Verdict: &verdict}, auth.Meta{})
	require.NoError(t, err)
	for _, to := range []cases.Status{cases.StatusTriage, cases.StatusInvestigating, cases.StatusNoViolation, cases.StatusClosed} {
		var err error
		c, err = s.Cases.Transition(s.ctx, s.ivy, c.ID, 0, to, "", auth.Meta{})
		require.NoError(t, err, to)
	}
	queue, _, err := s.Quality.Queue(s.ctx, s.lena, quality.QueueQuery{Limit: 10})
	require.NoError(t, err)
	require.Len(t, queue, 1)
	assert.Equal(t, cases.DecisionClosure, queue[0].Kind)
	assert.Equal(t, "ivy", queue[0].Decider)
	s.review(s.lena, queue[0].ID, quality.Disagree, "missed_violation")
	it, err := s.Quality.Correct(s.ctx, s.lena, queue[0].ID, quality.NewCorrection{Kind: quality.CorrectPropose, Reason: "Sold fake cards",
		Proposal: cases.Proposal{Action: cases.Warning, Justification: "QA found a violation"}}, auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, quality.CorrectPropose, it.Correction.Kind)
}
