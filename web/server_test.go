package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/errs"
)

func TestInternalErrorsHideTheirDetail(t *testing.T) {
	h := newHarness(t)
	h.app.Get("/test-panic", func(c *fiber.Ctx) error { panic("secret detail: dsn=mongodb://root:hunter2@db") })
	h.app.Get("/test-error", func(c *fiber.Ctx) error { return errors.New("store: users: secret detail hunter2") })
	h.app.Get("/test-wrapped", func(c *fiber.Ctx) error {
		return errs.Wrap(errs.Internal, errors.New("secret detail hunter2"), "secret message hunter2")
	})

	for _, path := range []string{"/test-panic", "/test-error", "/test-wrapped"} {
		t.Run(path, func(t *testing.T) {
			res := h.get(t, path, "")
			p := requireProblem(t, res, http.StatusInternalServerError, "internal")
			assert.NotContains(t, string(res.body), "secret")
			assert.NotContains(t, string(res.body), "hunter2")
			assert.Contains(t, p.Detail, "request id")
			assert.Equal(t, path, p.Instance)

			// The log has the detail, under the request id the client saw.
			logs := h.logs.String()
			assert.Contains(t, logs, "hunter2")
			assert.Contains(t, logs, `"request_id":"`+p.RequestID+`"`)
		})
	}

	t.Run("the_server_keeps_serving", func(t *testing.T) {
		assert.Equal(t, http.StatusOK, h.get(t, "/healthz", "").StatusCode)
	})
}

func TestUnknownRouteIsNotFound(t *testing.T) {
	h := newHarness(t)
	admin := h.login(t, adminName)
	for _, r := range []struct{ path, token string }{
		{"/nope", ""},
		{"/api/v2/me", ""},
		{"/api/v1/nope", admin},
		{"/api/v1/users/" + leadName + "/extra", admin},
		{"/API/V1/ME", admin}, // routes are case sensitive
		{"/<script>alert(1)</script>", ""},
	} {
		t.Run(r.path, func(t *testing.T) {
			res := h.get(t, r.path, r.token)
			requireProblem(t, res, http.StatusNotFound, "not-found")
			assert.NotContains(t, string(res.body), "<script>", "the path is not reflected unescaped")
		})
	}

	t.Run("unknown_api_route_without_a_token_is_unauthenticated", func(t *testing.T) {
		// Authentication guards the whole of /api/v1, so an anonymous
		// caller cannot map its routes.
		requireProblem(t, h.get(t, "/api/v1/nope", ""), http.StatusUnauthorized, "unauthenticated")
	})
}

func TestRequestID(t *testing.T) {
	h := newHarness(t)
	generated := regexp.MustCompile(`^[0-9a-f]{24}$`)

	t.Run("well_formed_id_is_echoed", func(t *testing.T) {
		for _, id := range []string{"req-12345678", "A1b2.C3d4_E5f6-G7h8", strings.Repeat("x", 64)} {
			res := h.do(t, req{method: http.MethodGet, path: "/healthz", header: map[string]string{"X-Request-ID": id}})
			assert.Equal(t, id, res.Header.Get("X-Request-ID"))
		}
	})

	t.Run("well_formed_id_is_in_problems_and_the_audit_log", func(t *testing.T) {
		tok := h.login(t, leadName)
		res := h.do(t, req{method: http.MethodGet, path: "/api/v1/audit", token: tok, header: map[string]string{"X-Request-ID": "proxy-id-0001"}})
		p := requireProblem(t, res, http.StatusForbidden, "forbidden")
		assert.Equal(t, "proxy-id-0001", p.RequestID)
		admin := h.login(t, adminName)
		page := h.auditEvents(t, admin, url.Values{"user": {leadName}, "action": {"audit.read"}})
		require.NotEmpty(t, page.Items)
		assert.Equal(t, "proxy-id-0001", page.Items[0].RequestID)
	})

	t.Run("malformed_id_is_replaced", func(t *testing.T) {
		for _, id := range []string{"short", strings.Repeat("x", 65), "has space here", "inject\"quote1", "<script>x</script>", "semi;colon;1"} {
			res := h.do(t, req{method: http.MethodGet, path: "/healthz", header: map[string]string{"X-Request-ID": id}})
			got := res.Header.Get("X-Request-ID")
			assert.NotEqual(t, id, got)
			assert.Regexp(t, generated, got, "sent %q", id)
		}
	})

	t.Run("missing_id_is_generated_fresh_each_time", func(t *testing.T) {
		a := h.get(t, "/healthz", "").Header.Get("X-Request-ID")
		b := h.get(t, "/healthz", "").Header.Get("X-Request-ID")
		assert.Regexp(t, generated, a)
		assert.Regexp(t, generated, b)
		assert.NotEqual(t, a, b)
	})
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	h := newHarness(t)
	h.app.Get("/test-panic", func(c *fiber.Ctx) error { panic("boom") })
	tok := h.login(t, leadName)
	cases := []struct {
		name   string
		r      req
		status int
	}{
		{"health", req{method: http.MethodGet, path: "/healthz"}, http.StatusOK},
		{"metrics", req{method: http.MethodGet, path: "/metrics"}, http.StatusOK},
		{"me", req{method: http.MethodGet, path: "/api/v1/me", token: tok}, http.StatusOK},
		{"unauthenticated", req{method: http.MethodGet, path: "/api/v1/me"}, http.StatusUnauthorized},
		{"forbidden", req{method: http.MethodGet, path: "/api/v1/users", token: tok}, http.StatusForbidden},
		{"validation", req{method: http.MethodPost, path: "/api/v1/auth/login", body: "{"}, http.StatusBadRequest},
		{"not_found", req{method: http.MethodGet, path: "/nope"}, http.StatusNotFound},
		{"panic", req{method: http.MethodGet, path: "/test-panic"}, http.StatusInternalServerError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.do(t, tc.r)
			require.Equal(t, tc.status, res.StatusCode, "body: %s", res.body)
			assert.NotEmpty(t, res.Header.Get("X-Request-ID"))
			assert.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
			assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
			assert.Equal(t, "same-origin", res.Header.Get("Referrer-Policy"))
			assert.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))
			assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
		})
	}
}

func TestHealth(t *testing.T) {
	t.Run("healthz", func(t *testing.T) {
		h := newHarness(t)
		res := h.get(t, "/healthz", "")
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.JSONEq(t, `{"status":"ok"}`, string(res.body))
	})

	t.Run("readyz_follows_ready", func(t *testing.T) {
		var readyErr error
		var deadline time.Duration
		h := newHarness(t, harnessOptions{ready: func(ctx context.Context) error {
			if d, ok := ctx.Deadline(); ok {
				deadline = time.Until(d)
			}
			return readyErr
		}})

		res := h.get(t, "/readyz", "")
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.JSONEq(t, `{"status":"ready"}`, string(res.body))
		assert.Greater(t, deadline, time.Duration(0), "the probe is bounded")
		assert.LessOrEqual(t, deadline, 2*time.Second)

		readyErr = errors.New("store: ping: connection refused to mongodb://root:hunter2@db")
		res = h.get(t, "/readyz", "")
		require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
		assert.JSONEq(t, `{"status":"not ready","reason":"internal"}`, string(res.body))
		assert.NotContains(t, string(res.body), "hunter2")

		readyErr = nil
		assert.Equal(t, http.StatusOK, h.get(t, "/readyz", "").StatusCode, "ready again")
	})
}

func TestMetrics(t *testing.T) {
	h := newHarness(t)
	h.app.Get("/test-panic", func(c *fiber.Ctx) error { panic("boom") })
	tok := h.login(t, leadName)
	require.Equal(t, http.StatusOK, h.get(t, "/api/v1/me", tok).StatusCode)
	require.Equal(t, http.StatusOK, h.get(t, "/api/v1/users/"+leadName, tok).StatusCode)
	require.Equal(t, http.StatusNotFound, h.get(t, "/no/such/route", "").StatusCode)
	require.Equal(t, http.StatusNotFound, h.get(t, "/api/v1/no/such/route", tok).StatusCode)
	require.Equal(t, http.StatusInternalServerError, h.get(t, "/test-panic", "").StatusCode)

	res := h.get(t, "/metrics", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain"), "Content-Type %q", res.Header.Get("Content-Type"))
	body := string(res.body)
	for _, series := range []string{
		`casefile_http_request_duration_seconds_count{method="POST",route="/api/v1/auth/login",status="200"} 1`,
		`casefile_http_request_duration_seconds_count{method="GET",route="/api/v1/me",status="200"} 1`,
		// The route template, not the path: usernames do not become labels.
		`casefile_http_request_duration_seconds_count{method="GET",route="/api/v1/users/:username",status="200"} 1`,
		`casefile_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 2`,
		`casefile_http_request_duration_seconds_count{method="GET",route="/test-panic",status="500"} 1`,
		`casefile_http_request_duration_seconds_bucket{method="GET",route="/api/v1/me",status="200",le="+Inf"} 1`,
	} {
		assert.Contains(t, body, series)
	}
	assert.NotContains(t, body, "/no/such/route")
	assert.NotContains(t, body, `route="/"`, "a 404 is not counted as a request to /")
	assert.NotContains(t, body, `route="/api/v1/users/`+leadName+`"`)
}
