package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
)

func TestUISignIn(t *testing.T) {
	h := newHarness(t)

	t.Run("pages_need_a_session", func(t *testing.T) {
		res := h.newBrowser().get(t, "/settings")
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Equal(t, "/login?next=%2Fsettings", res.Header.Get("Location"))
	})

	t.Run("login_sets_strict_httponly_cookies", func(t *testing.T) {
		b := h.newBrowser()
		page := b.get(t, "/login")
		require.Equal(t, http.StatusOK, page.StatusCode)
		assert.Contains(t, page.Header.Get("Content-Security-Policy"), "default-src 'self'")
		res := b.post(t, "/login", url.Values{"username": {investigatorName}, "password": {password}, "next": {"/settings"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "body: %s", res.body)
		assert.Equal(t, "/settings", res.Header.Get("Location"))
		names := map[string]bool{}
		for _, c := range res.Cookies() {
			names[c.Name] = true
			assert.True(t, c.HttpOnly, c.Name)
			assert.Equal(t, http.SameSiteStrictMode, c.SameSite, c.Name)
			assert.False(t, c.Secure, "plain HTTP in tests")
			assert.Equal(t, int((30 * 60)), c.MaxAge, "idle expiry")
		}
		assert.True(t, names["cf_access"] && names["cf_refresh"])
		settings := b.get(t, "/settings")
		require.Equal(t, http.StatusOK, settings.StatusCode)
		assert.Contains(t, string(settings.body), investigatorName)
	})

	t.Run("login_refuses_a_post_without_the_form_token", func(t *testing.T) {
		b := h.newBrowser()
		b.get(t, "/login")
		res := b.post(t, "/login", url.Values{"username": {investigatorName}, "password": {password}, "_csrf": {strings.Repeat("0", 64)}})
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		assert.NotContains(t, b.cookies, "cf_access")
	})

	t.Run("wrong_password_says_so_and_escapes_the_name", func(t *testing.T) {
		b := h.newBrowser()
		b.get(t, "/login")
		res := b.post(t, "/login", url.Values{"username": {`<script>alert(1)</script>`}, "password": {"nope"}})
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
		assert.NotContains(t, string(res.body), "<script>alert(1)")
		assert.Contains(t, string(res.body), "&lt;script&gt;")
	})

	t.Run("next_stays_on_this_site", func(t *testing.T) {
		for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example"} {
			b := h.newBrowser()
			b.get(t, "/login")
			res := b.post(t, "/login", url.Values{"username": {investigatorName}, "password": {password}, "next": {next}})
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			assert.Equal(t, "/", res.Header.Get("Location"), next)
		}
	})

	t.Run("form_posts_need_the_session_token_and_origin", func(t *testing.T) {
		b := h.uiLogin(t, investigatorName)
		res := b.post(t, "/logout", url.Values{"_csrf": {"forged"}})
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		assert.Contains(t, res.Header.Get("Content-Type"), "text/html")

		b.get(t, "/settings")
		r := b.post(t, "/logout", nil)
		require.Equal(t, http.StatusSeeOther, r.StatusCode, "the real token works: %s", r.body)
		assert.NotContains(t, b.cookies, "cf_access")
		assert.Equal(t, http.StatusSeeOther, b.get(t, "/settings").StatusCode, "signed out")
	})

	t.Run("an_expired_access_token_is_refreshed_unnoticed", func(t *testing.T) {
		b := h.uiLogin(t, investigatorName)
		before := b.cookies["cf_refresh"]
		h.clock.Advance(auth.AccessTokenTTL + 2*60e9)
		res := b.get(t, "/settings")
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		assert.NotEqual(t, before, b.cookies["cf_refresh"], "the refresh token rotated")
		// A second request still holding the old pair (sent at once by the
		// same page) shares the refresh rather than revoking the session.
		old := b.cookies["cf_refresh"]
		twin := h.newBrowser()
		twin.cookies["cf_refresh"] = before
		twin.cookies["cf_access"] = "expired"
		assert.Equal(t, http.StatusOK, twin.get(t, "/settings").StatusCode)
		assert.Equal(t, http.StatusOK, b.get(t, "/settings").StatusCode)
		assert.Equal(t, old, b.cookies["cf_refresh"])
	})
}

// TestEveryPageNeedsSignIn walks the page routes the app registered, so a
// new page that forgets the session fails here: a signed-out GET goes to
// the login page, and a signed-out POST is refused without doing anything.
func TestEveryPageNeedsSignIn(t *testing.T) {
	h := newHarness(t)
	open := map[string]bool{"GET /login": true, "POST /login": true, "GET /healthz": true, "GET /readyz": true, "GET /metrics": true}
	seen := 0
	for _, r := range h.app.GetRoutes(true) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost || open[r.Method+" "+r.Path] ||
			strings.HasPrefix(r.Path, "/api/") || strings.HasPrefix(r.Path, "/static") {
			continue
		}
		seen++
		path := strings.NewReplacer(":key", "CF-2026-1", ":id", "CF-2026-1", ":eid", "e1", ":n", "1", ":username", "ada",
			":actor_id", "a-1", ":case", "CF-2026-1", ":decision", "d1", "*", "x").Replace(r.Path)
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			b := h.newBrowser()
			if r.Method == http.MethodGet {
				res := b.get(t, path)
				require.Equal(t, http.StatusSeeOther, res.StatusCode, "body: %s", res.body)
				assert.True(t, strings.HasPrefix(res.Header.Get("Location"), "/login?next="), res.Header.Get("Location"))
				return
			}
			res := b.post(t, path, url.Values{"title": {"x"}})
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
			assert.Contains(t, res.Header.Get("Content-Type"), "text/html")
		})
	}
	assert.Greater(t, seen, 40, "the sweep found the pages")
}
