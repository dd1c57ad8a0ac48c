package web_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTaxonomyUpdate(t *testing.T) {
	w := newWorld(t, 0)
	res := w.as(t, adminName, req{method: http.MethodGet, path: "/api/v1/taxonomy"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, `"0"`, res.Header.Get("ETag"), "the shipped defaults are version 0")
	var tax map[string]any
	require.NoError(t, json.Unmarshal(res.body, &tax))
	areas := tax["policy_areas"].([]any)
	tax["policy_areas"] = append(areas, "gambling")

	put := func(ifMatch string, body any) response {
		h := map[string]string{}
		if ifMatch != "" {
			h["If-Match"] = ifMatch
		}
		return w.as(t, adminName, req{method: http.MethodPut, path: "/api/v1/taxonomy", body: body, header: h})
	}
	requireProblem(t, put("", tax), http.StatusPreconditionRequired, "precondition-required")
	bad := map[string]any{"policy_areas": []string{}}
	requireProblem(t, put(`"0"`, bad), http.StatusBadRequest, "validation")

	res = put(`"0"`, tax)
	require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
	assert.Equal(t, `"1"`, res.Header.Get("ETag"))
	requireProblem(t, put(`"0"`, tax), http.StatusPreconditionFailed, "precondition-failed")

	// The new area is usable at once.
	c := w.createCase(t, investigatorName, newCase("a-77", "gambling", "fraud", ""))
	assert.Equal(t, []string{"gambling"}, c.PolicyAreas)
}
