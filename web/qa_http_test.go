package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/cases/quality"
)

// sampleAll sets the QA rules to sample every decision, not blind.
func (w *world) sampleAll(t *testing.T) {
	t.Helper()
	res := w.get(t, "/api/v1/qa/rules", w.tok[leadName])
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	var r quality.Rules
	res.json(t, &r)
	body := map[string]any{"seed": r.Seed, "alert_drop": 0.2, "alert_min_reviews": 5,
		"rules": []map[string]any{{"id": "all", "rate": 1, "always_actions": []string{}}}}
	res = w.as(t, leadName, req{method: http.MethodPut, path: "/api/v1/qa/rules", body: body, header: map[string]string{"If-Match": res.Header.Get("ETag")}})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
}

func TestQARulesHTTP(t *testing.T) {
	w := newWorld(t, 0)
	res := w.get(t, "/api/v1/qa/rules", w.tok[leadName])
	require.Equal(t, http.StatusOK, res.StatusCode)
	etag := res.Header.Get("ETag")
	var r quality.Rules
	res.json(t, &r)
	body := map[string]any{"seed": r.Seed, "alert_drop": 0.2, "alert_min_reviews": 5, "rules": []map[string]any{{"id": "a", "rate": 0.5}}}

	requireProblem(t, w.as(t, leadName, req{method: http.MethodPut, path: "/api/v1/qa/rules", body: body}), http.StatusPreconditionRequired, "precondition-required")
	requireProblem(t, w.as(t, investigatorName, req{method: http.MethodPut, path: "/api/v1/qa/rules", body: body, header: map[string]string{"If-Match": etag}}),
		http.StatusForbidden, "forbidden")
	bad := map[string]any{"seed": r.Seed, "alert_drop": 0.2, "alert_min_reviews": 5, "rules": []map[string]any{{"id": "a", "rate": 2}}}
	p := requireProblem(t, w.as(t, leadName, req{method: http.MethodPut, path: "/api/v1/qa/rules", body: bad, header: map[string]string{"If-Match": etag}}),
		http.StatusBadRequest, "validation")
	assert.Equal(t, []string{"rules[0].rate"}, p.fields())
	res = w.as(t, leadName, req{method: http.MethodPut, path: "/api/v1/qa/rules", body: body, header: map[string]string{"If-Match": etag}})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	requireProblem(t, w.as(t, adminName, req{method: http.MethodPut, path: "/api/v1/qa/rules", body: body, header: map[string]string{"If-Match": etag}}),
		http.StatusPreconditionFailed, "precondition-failed")
	for _, who := range []string{investigatorName, vicName, leoName} {
		requireProblem(t, w.get(t, "/api/v1/qa/rules", w.tok[who]), http.StatusForbidden, "forbidden")
		requireProblem(t, w.get(t, "/api/v1/qa/queue", w.tok[who]), http.StatusForbidden, "forbidden")
	}
}

// TestQAReviewHTTP: a vendor agent's enforcement is sampled, a lead
// reviews it, and the feedback reaches the agent and nobody else; the
// agent reads their vendor's scorecard and no other vendor's (404).
func TestQAReviewHTTP(t *testing.T) {
	w := newWorld(t, 0)
	w.sampleAll(t)
	c := w.createCase(t, leadName, newCase("qa-actor-1", "", "fraud", "acme"))
	e := w.propose(t, vicName, c.Key, map[string]any{"action": "warning", "reason": "Sold fake cards", "justification": "clear"})
	if e.Status == "proposed" {
		res := w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/cases/" + c.Key + "/enforcements/" + e.ID + "/approve", body: map[string]any{}})
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	}
	res := w.as(t, vicName, req{method: http.MethodPost, path: "/api/v1/cases/" + c.Key + "/enforcements/" + e.ID + "/apply", body: map[string]any{}})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)

	res = w.get(t, "/api/v1/qa/queue", w.tok[leadName])
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	var queue struct {
		Items []quality.Item `json:"items"`
		Total int64          `json:"total"`
	}
	res.json(t, &queue)
	require.EqualValues(t, 1, queue.Total)
	id := queue.Items[0].ID
	res = w.get(t, "/api/v1/qa/queue/"+url.PathEscape(id), w.tok[leadName])
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)

	review := map[string]any{"decision_id": id, "verdict": "disagree", "error_type": "wrong_policy", "severity": "minor", "feedback": "This is spam, not fraud."}
	requireProblem(t, w.as(t, vicName, req{method: http.MethodPost, path: "/api/v1/qa/reviews", body: review}), http.StatusForbidden, "forbidden")
	p := requireProblem(t, w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/qa/reviews",
		body: map[string]any{"decision_id": id, "verdict": "disagree"}}), http.StatusBadRequest, "validation")
	assert.ElementsMatch(t, []string{"error_type", "severity", "feedback"}, p.fields())
	res = w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/qa/reviews", body: review})
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)
	requireProblem(t, w.as(t, lenaName, req{method: http.MethodPost, path: "/api/v1/qa/reviews", body: review}), http.StatusConflict, "conflict")

	res = w.get(t, "/api/v1/qa/feedback", w.tok[vicName])
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(res.body), "This is spam, not fraud.")
	res = w.get(t, "/api/v1/cases/"+c.Key+"/qa", w.tok[vicName])
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(res.body), "This is spam, not fraud.")
	for _, who := range []string{investigatorName, leoName} {
		res = w.get(t, "/api/v1/qa/feedback", w.tok[who])
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.NotContains(t, string(res.body), "This is spam", who)
	}
	res = w.get(t, "/api/v1/cases/"+c.Key+"/qa", w.tok[investigatorName])
	require.Equal(t, http.StatusOK, res.StatusCode, "ivy can read the case")
	assert.NotContains(t, string(res.body), "This is spam", "but not someone else's feedback")
	requireProblem(t, w.get(t, "/api/v1/cases/"+c.Key+"/qa", w.tok[veraName]), http.StatusNotFound, "not-found")

	res = w.get(t, "/api/v1/reports/vendors", w.tok[vicName])
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	var rep struct {
		Groups []quality.Scorecard `json:"groups"`
	}
	res.json(t, &rep)
	require.Len(t, rep.Groups, 1)
	assert.Equal(t, "acme", rep.Groups[0].Group)
	assert.Equal(t, 1, rep.Groups[0].Reviewed)
	assert.Equal(t, map[string]int{"wrong_policy": 1}, rep.Groups[0].ErrorTypes)
	requireProblem(t, w.get(t, "/api/v1/reports/vendors/other", w.tok[vicName]), http.StatusNotFound, "not-found")
	requireProblem(t, w.get(t, "/api/v1/reports/vendors/acme", w.tok[veraName]), http.StatusNotFound, "not-found")
	requireProblem(t, w.get(t, "/api/v1/reports/quality?by=agent", w.tok[vicName]), http.StatusNotFound, "not-found")
	requireProblem(t, w.get(t, "/api/v1/reports/quality", w.tok[investigatorName]), http.StatusForbidden, "forbidden")
	requireProblem(t, w.get(t, "/api/v1/reports/quality?by=planet", w.tok[leoName]), http.StatusBadRequest, "validation")
	res = w.get(t, "/api/v1/reports/quality?by=agent", w.tok[leoName])
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	assert.Contains(t, string(res.body), `"group":"vic"`)
	requireProblem(t, w.get(t, "/api/v1/reports/vendors/nobody", w.tok[leoName]), http.StatusNotFound, "not-found")
}
