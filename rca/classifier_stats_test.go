package rca

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

func TestClassifierStatsFromStoredRootCauses(t *testing.T) {
	h := newHarness(t)

	rep, err := h.svc.ClassifierStats(h.ctx, h.lena)
	require.NoError(t, err)
	assert.Equal(t, map[Category]int{Product: 0, Process: 0, Policy: 0}, rep.Labels)
	assert.Nil(t, rep.Agreement, "nothing to compare yet")
	assert.Zero(t, rep.Compared)
	assert.Positive(t, rep.SeedTerms)

	x := h.createIncident(h.lena, nil)
	h.putRCA(x.Key,
		rootCause(Product, "model_quality", "The spam model threshold was set too low after retraining"),
		rootCause(Process, "training_gap", "New vendor reviewers were never trained on the escalation SOP"))
	y := h.createIncident(h.lena, nil)
	h.putRCA(y.Key, rootCause(Process, "handoff", "The night shift did not hand the alert over"))
	// Replaced: the handoff root cause is no longer stored and no longer counts.
	h.putRCA(y.Key,
		rootCause(Policy, "ambiguous_policy", "The refund policy wording was ambiguous and reviewers disagreed on it"),
		rootCause(Policy, "outdated_policy", "The deduplication service crashed on a null pointer after the deploy"))

	agree, compared := 0, 0
	for _, key := range []string{x.Key, y.Key} {
		for _, rc := range h.getIncident(h.lena, key).RCA.RootCauses {
			require.True(t, rc.SuggestedCategory.Valid())
			compared++
			if rc.SuggestedCategory == rc.Category {
				agree++
			}
		}
	}
	require.Equal(t, 4, compared)
	require.Positive(t, agree, "the dataset has suggestions that agree")
	require.Less(t, agree, compared, "and one that does not")

	for _, u := range []*auth.User{h.lena, h.ivy, h.leo} {
		rep, err = h.svc.ClassifierStats(h.ctx, u)
		require.NoError(t, err, u.Username)
		assert.Equal(t, map[Category]int{Product: 1, Process: 1, Policy: 2}, rep.Labels)
		assert.Equal(t, 4, rep.Compared)
		require.NotNil(t, rep.Agreement)
		assert.InDelta(t, float64(agree)/4, *rep.Agreement, 1e-9)
		assert.Nil(t, rep.CrossValidated, "fewer than 10 labels: no cross-validation")
	}

	_, err = h.svc.ClassifierStats(h.ctx, h.vic)
	errstest.Require(t, err, errs.Forbidden)
}
