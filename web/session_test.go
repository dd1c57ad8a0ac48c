package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
)

func refresh(t *testing.T, h *harness, refreshToken string) response {
	t.Helper()
	return h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": refreshToken}})
}

func TestSession(t *testing.T) {
	h := newHarness(t)

	t.Run("login_answers_a_bearer_token_pair", func(t *testing.T) {
		res := h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: map[string]string{"username": investigatorName, "password": password}})
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
		var tk auth.Tokens
		res.json(t, &tk)
		assert.NotEmpty(t, tk.AccessToken)
		assert.NotEmpty(t, tk.RefreshToken)
		assert.Equal(t, "Bearer", tk.TokenType)
		assert.Equal(t, int(auth.AccessTokenTTL.Seconds()), tk.ExpiresIn)
	})

	t.Run("me_answers_the_caller_with_an_etag", func(t *testing.T) {
		tk := h.tokens(t, investigatorName)
		res := h.get(t, "/api/v1/me", tk.AccessToken)
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		assert.Equal(t, etag(1), res.Header.Get("ETag"))
		var me map[string]any
		res.json(t, &me)
		assert.Equal(t, investigatorName, me["username"])
		assert.Equal(t, string(auth.RoleInvestigator), me["role"])
		assert.EqualValues(t, 1, me["version"])
		assert.NotContains(t, me, "password_hash")
		assert.NotContains(t, string(res.body), "argon2")
	})

	t.Run("wrong_password_is_unauthenticated", func(t *testing.T) {
		res := h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: map[string]string{"username": leadName, "password": "not the password at all"}})
		requireProblem(t, res, http.StatusUnauthorized, "unauthenticated")
		unknown := h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: map[string]string{"username": "nobody", "password": "not the password at all"}})
		p := requireProblem(t, unknown, http.StatusUnauthorized, "unauthenticated")
		var q problemDoc
		res.json(t, &q)
		assert.Equal(t, q.Detail, p.Detail, "an unknown user and a wrong password look the same")
	})

	t.Run("refresh_rotates_and_reuse_revokes_the_family", func(t *testing.T) {
		first := h.tokens(t, investigatorName)

		res := refresh(t, h, first.RefreshToken)
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var second auth.Tokens
		res.json(t, &second)
		assert.NotEmpty(t, second.AccessToken)
		assert.NotEqual(t, first.AccessToken, second.AccessToken)
		assert.NotEqual(t, first.RefreshToken, second.RefreshToken)
		require.Equal(t, http.StatusOK, h.get(t, "/api/v1/me", second.AccessToken).StatusCode, "the new access token works")

		// The spent refresh token comes back: a thief or a replay.
		reuse := refresh(t, h, first.RefreshToken)
		requireProblem(t, reuse, http.StatusUnauthorized, "unauthenticated")

		// The whole family is revoked: the access token minted from it and
		// the refresh token that had not been used yet.
		requireProblem(t, h.get(t, "/api/v1/me", second.AccessToken), http.StatusUnauthorized, "unauthenticated")
		requireProblem(t, h.get(t, "/api/v1/me", first.AccessToken), http.StatusUnauthorized, "unauthenticated")
		requireProblem(t, refresh(t, h, second.RefreshToken), http.StatusUnauthorized, "unauthenticated")

		// Another session of the same user is untouched.
		other := h.login(t, investigatorName)
		assert.Equal(t, http.StatusOK, h.get(t, "/api/v1/me", other).StatusCode)
	})

	t.Run("refresh_refuses_bad_input", func(t *testing.T) {
		cases := []struct {
			name   string
			body   string
			status int
			slug   string
			field  string
		}{
			{"unknown_token", `{"refresh_token":"bm90IGEgcmVmcmVzaCB0b2tlbg"}`, http.StatusUnauthorized, "unauthenticated", ""},
			{"overlong_token", `{"refresh_token":"` + strings.Repeat("a", 4000) + `"}`, http.StatusUnauthorized, "unauthenticated", ""},
			{"missing_token", `{}`, http.StatusBadRequest, "validation", "refresh_token"},
			{"token_of_wrong_type", `{"refresh_token":{"$ne":null}}`, http.StatusBadRequest, "validation", "refresh_token"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/refresh", body: tc.body})
				p := requireProblem(t, res, tc.status, tc.slug)
				if tc.field != "" {
					assert.Contains(t, p.fields(), tc.field)
				}
			})
		}
	})

	t.Run("refresh_token_expires", func(t *testing.T) {
		h := newHarness(t)
		tk := h.tokens(t, leadName)
		h.clock.Advance(auth.RefreshTokenTTL + time.Minute)
		requireProblem(t, refresh(t, h, tk.RefreshToken), http.StatusUnauthorized, "unauthenticated")
	})

	t.Run("logout_revokes_the_session", func(t *testing.T) {
		tk := h.tokens(t, leadName)
		require.Equal(t, http.StatusOK, h.get(t, "/api/v1/me", tk.AccessToken).StatusCode)

		res := h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/logout", token: tk.AccessToken})
		require.Equal(t, http.StatusNoContent, res.StatusCode, "body: %s", res.body)
		assert.Empty(t, res.body)

		requireProblem(t, h.get(t, "/api/v1/me", tk.AccessToken), http.StatusUnauthorized, "unauthenticated")
		requireProblem(t, refresh(t, h, tk.RefreshToken), http.StatusUnauthorized, "unauthenticated")
		requireProblem(t, h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/logout", token: tk.AccessToken}), http.StatusUnauthorized, "unauthenticated")
	})

	t.Run("logout_needs_a_token", func(t *testing.T) {
		requireProblem(t, h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/logout"}), http.StatusUnauthorized, "unauthenticated")
	})

	t.Run("login_refresh_and_logout_are_audited", func(t *testing.T) {
		admin := h.login(t, adminName)
		page := h.auditEvents(t, admin, url.Values{"user": {leadName}, "action": {"auth.logout"}})
		require.NotEmpty(t, page.Items)
		assert.Equal(t, auth.OutcomeSuccess, page.Items[0].Outcome)
		assert.Equal(t, "0.0.0.0", page.Items[0].IP, "the app.Test peer")

		page = h.auditEvents(t, admin, url.Values{"user": {investigatorName}, "action": {"auth.refresh"}})
		outcomes := map[string]int{}
		for _, e := range page.Items {
			outcomes[e.Outcome]++
		}
		assert.Equal(t, 1, outcomes[auth.OutcomeSuccess], "one rotation")
		assert.Equal(t, 1, outcomes[auth.OutcomeDenied], "one reuse")
	})
}

func TestDisabledUserIsLockedOutAtOnce(t *testing.T) {
	h := newHarness(t)
	admin := h.login(t, adminName)
	victim := h.tokens(t, investigatorName)
	require.Equal(t, http.StatusOK, h.get(t, "/api/v1/me", victim.AccessToken).StatusCode)

	res := h.do(t, req{method: http.MethodPatch, path: "/api/v1/users/" + investigatorName, token: admin,
		header: map[string]string{"If-Match": etag(1)}, body: map[string]any{"disabled": true}})
	require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)

	// No clock advance: the access token has not expired, it is refused
	// because the user is read on every request.
	requireProblem(t, h.get(t, "/api/v1/me", victim.AccessToken), http.StatusUnauthorized, "unauthenticated")
	requireProblem(t, refresh(t, h, victim.RefreshToken), http.StatusUnauthorized, "unauthenticated")
	login := h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: map[string]string{"username": investigatorName, "password": password}})
	requireProblem(t, login, http.StatusUnauthorized, "unauthenticated")

	// Other users are not affected.
	assert.Equal(t, http.StatusOK, h.get(t, "/api/v1/me", admin).StatusCode)
}
