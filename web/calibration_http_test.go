package web_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCalibrationHTTP: a lead builds a set on an acme case and assigns it
// to acme; the agent answers blind and is scored; another vendor's agent
// cannot see the set.
func TestCalibrationHTTP(t *testing.T) {
	w := newWorld(t, 0)
	c := w.createCase(t, leadName, newCase("cal-actor-1", "", "fraud", "acme"))
	res := w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/qa/calibration-sets", body: map[string]any{
		"name": "Gift card scams", "items": []map[string]any{{"case": c.Key, "verdict": "violation", "action": "warning", "policy_area": "fraud_scam"}}}})
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)
	var set struct {
		ID string `json:"id"`
	}
	res.json(t, &set)
	requireProblem(t, w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/qa/calibration-sets", body: map[string]any{
		"name": "x", "items": []map[string]any{{"case": c.Key, "verdict": "no_violation"}}}}), http.StatusForbidden, "forbidden")

	res = w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/qa/calibration-sets/" + set.ID + "/assign", body: map[string]any{"vendor": "acme"}})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	// vera's vendor cannot read the acme case: refused, nothing stored.
	requireProblem(t, w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/qa/calibration-sets/" + set.ID + "/assign",
		body: map[string]any{"users": []string{veraName}}}), http.StatusBadRequest, "validation")

	res = w.get(t, "/api/v1/qa/calibration-sets/"+set.ID, w.tok[vicName])
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	assert.NotContains(t, string(res.body), "violation", "blind: no reference answers")
	requireProblem(t, w.get(t, "/api/v1/qa/calibration-sets/"+set.ID, w.tok[veraName]), http.StatusNotFound, "not-found")

	res = w.as(t, vicName, req{method: http.MethodPost, path: "/api/v1/qa/calibration-sets/" + set.ID + "/answers", body: map[string]any{
		"answers": []map[string]any{{"case_id": c.ID, "verdict": "violation", "action": "warning", "policy_area": "fraud_scam"}}}})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	assert.Contains(t, string(res.body), `"score":1`)
	requireProblem(t, w.as(t, vicName, req{method: http.MethodPost, path: "/api/v1/qa/calibration-sets/" + set.ID + "/answers", body: map[string]any{
		"answers": []map[string]any{{"case_id": c.ID, "verdict": "violation", "action": "warning", "policy_area": "fraud_scam"}}}}),
		http.StatusConflict, "conflict")
}
