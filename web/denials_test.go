package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// public are the only routes served without a signed-in caller.
var public = map[string]bool{
	"POST /api/v1/auth/login":   true,
	"POST /api/v1/auth/refresh": true,
	"GET /healthz":              true,
	"GET /readyz":               true,
	"GET /metrics":              true,
}

// TestEveryAPIRouteNeedsSignIn walks the routes the app registered (not a
// hand-kept list), so a new route that forgets authentication fails here.
func TestEveryAPIRouteNeedsSignIn(t *testing.T) {
	h := newHarness(t)
	seen := 0
	for _, r := range h.app.GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == "USE" || r.Method == http.MethodConnect || r.Method == http.MethodTrace || r.Method == http.MethodOptions {
			continue
		}
		name := r.Method + " " + r.Path
		if public[name] || !strings.HasPrefix(r.Path, "/api/v1") {
			continue
		}
		seen++
		path := strings.NewReplacer(":id", "CF-2026-1", ":eid", "e1", ":n", "1", ":username", "ada", ":actor_id", "a-1").Replace(r.Path)
		t.Run(name, func(t *testing.T) {
			res := h.do(t, req{method: r.Method, path: path, body: map[string]any{}})
			requireProblem(t, res, http.StatusUnauthorized, "unauthenticated")
		})
	}
	assert.Greater(t, seen, 40, "the sweep found the API routes")
}

// TestRoleDenialsOnNewerRoutes: each role refused where DOMAIN.md says so,
// with 403 for a whole route and no change to anything.
func TestRoleDenialsOnNewerRoutes(t *testing.T) {
	w := newWorld(t, 0)
	taxonomy := w.as(t, adminName, req{method: http.MethodGet, path: "/api/v1/taxonomy"})
	assert.Equal(t, http.StatusOK, taxonomy.StatusCode)
	etag := taxonomy.Header.Get("ETag")

	tests := []struct {
		name   string
		user   string
		r      req
		status int
		slug   string
	}{
		{"investigator_cannot_change_taxonomy", investigatorName, req{method: http.MethodPut, path: "/api/v1/taxonomy", body: map[string]any{}, header: map[string]string{"If-Match": etag}}, 403, "forbidden"},
		{"lead_cannot_change_taxonomy", leadName, req{method: http.MethodPut, path: "/api/v1/taxonomy", body: map[string]any{}, header: map[string]string{"If-Match": etag}}, 403, "forbidden"},
		{"vendor_agent_cannot_classify", vicName, req{method: http.MethodPost, path: "/api/v1/rca/classify", body: map[string]any{"text": "a bug"}}, 403, "forbidden"},
		{"leadership_cannot_classify", leoName, req{method: http.MethodPost, path: "/api/v1/rca/classify", body: map[string]any{"text": "a bug"}}, 403, "forbidden"},
		{"vendor_agent_cannot_read_classifier_stats", vicName, req{method: http.MethodGet, path: "/api/v1/rca/classifier"}, 403, "forbidden"},
		{"investigator_cannot_read_reports", investigatorName, req{method: http.MethodGet, path: "/api/v1/reports/root-causes"}, 403, "forbidden"},
		{"vendor_agent_cannot_read_reports", vicName, req{method: http.MethodGet, path: "/api/v1/reports/root-causes"}, 403, "forbidden"},
		{"vendor_agent_cannot_list_incidents", vicName, req{method: http.MethodGet, path: "/api/v1/incidents"}, 403, "forbidden"},
		{"vendor_agent_cannot_list_postmortems", vicName, req{method: http.MethodGet, path: "/api/v1/postmortems"}, 403, "forbidden"},
		{"leadership_cannot_list_cases", leoName, req{method: http.MethodGet, path: "/api/v1/cases"}, 403, "forbidden"},
		{"vendor_agent_cannot_create_incidents", vicName, req{method: http.MethodPost, path: "/api/v1/incidents", body: map[string]any{"title": "x"}}, 403, "forbidden"},
		{"leadership_cannot_file_cases", leoName, req{method: http.MethodPost, path: "/api/v1/cases", body: newCase("a-9", "", "fraud", "")}, 403, "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireProblem(t, w.as(t, tt.user, tt.r), tt.status, tt.slug)
		})
	}
	after := w.as(t, adminName, req{method: http.MethodGet, path: "/api/v1/taxonomy"})
	assert.Equal(t, etag, after.Header.Get("ETag"), "the taxonomy is unchanged")
	assert.Zero(t, w.caseTotal(t, leadName), "no case was filed")
}
