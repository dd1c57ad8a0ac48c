package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUsersAPI(t *testing.T) {
	h := newHarness(t)
	admin := h.login(t, adminName)

	post := func(t *testing.T, body any) response {
		t.Helper()
		return h.do(t, req{method: http.MethodPost, path: "/api/v1/users", token: admin, body: body})
	}
	patch := func(t *testing.T, username, ifMatch string, body any) response {
		t.Helper()
		hdr := map[string]string{}
		if ifMatch != "" {
			hdr["If-Match"] = ifMatch
		}
		return h.do(t, req{method: http.MethodPatch, path: "/api/v1/users/" + username, token: admin, header: hdr, body: body})
	}
	// requireAbsent checks that no user called username was created.
	requireAbsent := func(t *testing.T, username string) {
		t.Helper()
		requireProblem(t, h.get(t, "/api/v1/users/"+username, admin), http.StatusNotFound, "not-found")
	}
	userCount := func(t *testing.T) int64 {
		t.Helper()
		res := h.get(t, "/api/v1/users", admin)
		require.Equal(t, http.StatusOK, res.StatusCode)
		var page userPage
		res.json(t, &page)
		return page.Total
	}

	t.Run("create_answers_201_with_location_and_etag", func(t *testing.T) {
		res := post(t, map[string]string{"username": "nora", "display_name": "Nora N.", "role": "investigator", "team": "trust-1", "password": "a long enough password"})
		require.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", res.body)
		assert.Equal(t, "/api/v1/users/nora", res.Header.Get("Location"))
		assert.Equal(t, etag(1), res.Header.Get("ETag"))
		var u map[string]any
		res.json(t, &u)
		assert.Equal(t, "nora", u["username"])
		assert.Equal(t, "Nora N.", u["display_name"])
		assert.Equal(t, "investigator", u["role"])
		assert.Equal(t, "trust-1", u["team"])
		assert.EqualValues(t, 1, u["version"])
		assert.NotContains(t, u, "password_hash")
		assert.NotContains(t, u, "password")
		assert.NotContains(t, string(res.body), "argon2")
		assert.NotContains(t, string(res.body), "a long enough password")

		got := h.get(t, res.Header.Get("Location"), admin)
		require.Equal(t, http.StatusOK, got.StatusCode)
		assert.Equal(t, etag(1), got.Header.Get("ETag"))

		// The new user can sign in with the password set.
		login := h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: map[string]string{"username": "nora", "password": "a long enough password"}})
		assert.Equal(t, http.StatusOK, login.StatusCode, "body: %s", login.body)
	})

	t.Run("create_accepts_json_with_a_charset", func(t *testing.T) {
		res := h.do(t, req{method: http.MethodPost, path: "/api/v1/users", token: admin, ctype: "application/json; charset=utf-8",
			body: map[string]string{"username": "omar", "role": "leadership", "password": "a long enough password"}})
		require.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", res.body)
	})

	t.Run("create_refuses_invalid_fields", func(t *testing.T) {
		before := userCount(t)
		cases := []struct {
			name   string
			body   string
			fields []string
		}{
			{"bad_username", `{"username":"Bad Name!","role":"lead","password":"a long enough password"}`, []string{"username"}},
			{"missing_username", `{"role":"lead","password":"a long enough password"}`, []string{"username"}},
			{"short_password", `{"username":"pat","role":"lead","password":"short"}`, []string{"password"}},
			{"missing_password", `{"username":"pat","role":"lead"}`, []string{"password"}},
			{"unknown_role", `{"username":"pat","role":"superuser","password":"a long enough password"}`, []string{"role"}},
			{"vendor_agent_without_vendor", `{"username":"pat","role":"vendor_agent","password":"a long enough password"}`, []string{"vendor"}},
			{"vendor_on_a_non_vendor_role", `{"username":"pat","role":"lead","vendor":"acme","password":"a long enough password"}`, []string{"vendor"}},
			{"bad_team", `{"username":"pat","role":"lead","team":"Team A","password":"a long enough password"}`, []string{"team"}},
			{"display_name_too_long", `{"username":"pat","role":"lead","display_name":"` + strings.Repeat("x", 121) + `","password":"a long enough password"}`, []string{"display_name"}},
			{"role_of_wrong_type", `{"username":"pat","role":5,"password":"a long enough password"}`, []string{"role"}},
			{"several_at_once", `{"username":"P","role":"nobody","password":"short"}`, []string{"username", "role", "password"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p := requireProblem(t, post(t, tc.body), http.StatusBadRequest, "validation")
				assert.ElementsMatch(t, tc.fields, p.fields())
				for _, e := range p.Errors {
					assert.NotEmpty(t, e.Message)
				}
			})
		}
		assert.Equal(t, before, userCount(t), "nothing was created")
	})

	t.Run("create_refuses_unknown_fields", func(t *testing.T) {
		cases := []struct {
			name  string
			extra string
			field string
		}{
			{"version", `"version":9`, "version"},
			{"password_hash", `"password_hash":"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA"`, "password_hash"},
			{"disabled", `"disabled":true`, "disabled"},
			{"created_at", `"created_at":"2020-01-01T00:00:00Z"`, "created_at"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				body := `{"username":"quinn","role":"lead","password":"a long enough password",` + tc.extra + `}`
				p := requireProblem(t, post(t, body), http.StatusBadRequest, "validation")
				assert.Equal(t, []string{tc.field}, p.fields())
				requireAbsent(t, "quinn")
			})
		}
	})

	t.Run("create_refuses_a_duplicate", func(t *testing.T) {
		body := map[string]string{"username": "rita", "role": "lead", "password": "a long enough password"}
		require.Equal(t, http.StatusCreated, post(t, body).StatusCode)
		body["role"] = "admin"
		p := requireProblem(t, post(t, body), http.StatusConflict, "conflict")
		assert.Equal(t, []string{"username"}, p.fields())
		res := h.get(t, "/api/v1/users/rita", admin)
		var u map[string]any
		res.json(t, &u)
		assert.Equal(t, "lead", u["role"], "the first user is untouched")
	})

	t.Run("create_needs_a_json_content_type", func(t *testing.T) {
		body := `{"username":"sam","role":"lead","password":"a long enough password"}`
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/jsonx", "not a media type"} {
			t.Run(ct, func(t *testing.T) {
				res := h.do(t, req{method: http.MethodPost, path: "/api/v1/users", token: admin, body: body, ctype: ct})
				p := requireProblem(t, res, http.StatusBadRequest, "validation")
				assert.Equal(t, []string{"Content-Type"}, p.fields())
			})
		}
		requireAbsent(t, "sam")
	})

	t.Run("patch_needs_if_match", func(t *testing.T) {
		res := patch(t, leadName, "", map[string]string{"display_name": "Lee L."})
		requireProblem(t, res, http.StatusPreconditionRequired, "precondition-required")
	})

	t.Run("patch_refuses_a_malformed_if_match", func(t *testing.T) {
		for _, v := range []string{`"abc"`, `"-1"`, `*`} {
			p := requireProblem(t, patch(t, leadName, v, map[string]string{"display_name": "Lee L."}), http.StatusBadRequest, "validation")
			assert.Equal(t, []string{"If-Match"}, p.fields(), "If-Match: %s", v)
		}
		// "0" is well formed (an unchanged taxonomy has it) but no user is at version 0.
		requireProblem(t, patch(t, leadName, `"0"`, map[string]string{"display_name": "Lee L."}), http.StatusPreconditionFailed, "precondition-failed")
	})

	t.Run("patch_with_the_right_version_updates_and_bumps_the_etag", func(t *testing.T) {
		res := patch(t, leadName, etag(1), map[string]any{"display_name": "Lee L.", "team": "trust-2"})
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		assert.Equal(t, etag(2), res.Header.Get("ETag"))
		var u map[string]any
		res.json(t, &u)
		assert.Equal(t, "Lee L.", u["display_name"])
		assert.Equal(t, "trust-2", u["team"])
		assert.EqualValues(t, 2, u["version"])

		// A weak ETag names the same version.
		res = patch(t, leadName, `W/"2"`, map[string]any{"display_name": "Lee Lead"})
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		assert.Equal(t, etag(3), res.Header.Get("ETag"))
	})

	t.Run("patch_with_a_stale_version_changes_nothing", func(t *testing.T) {
		res := patch(t, leadName, etag(1), map[string]any{"display_name": "Stale Write"})
		p := requireProblem(t, res, http.StatusPreconditionFailed, "precondition-failed")
		assert.Contains(t, p.Detail, "version 3")

		got := h.get(t, "/api/v1/users/"+leadName, admin)
		require.Equal(t, http.StatusOK, got.StatusCode)
		assert.Equal(t, etag(3), got.Header.Get("ETag"))
		var u map[string]any
		got.json(t, &u)
		assert.Equal(t, "Lee Lead", u["display_name"])
	})

	t.Run("patch_refuses_fields_an_admin_may_not_set", func(t *testing.T) {
		for _, field := range []string{"version", "username", "password_hash", "created_at"} {
			t.Run(field, func(t *testing.T) {
				body := `{"display_name":"Mass Assigned","` + field + `":"x"}`
				p := requireProblem(t, patch(t, leadName, etag(3), body), http.StatusBadRequest, "validation")
				assert.Equal(t, []string{field}, p.fields())
			})
		}
		got := h.get(t, "/api/v1/users/"+leadName, admin)
		assert.Equal(t, etag(3), got.Header.Get("ETag"), "nothing was written")
	})

	t.Run("patch_validates_values", func(t *testing.T) {
		cases := []struct {
			name  string
			body  string
			field string
		}{
			{"unknown_role", `{"role":"superuser"}`, "role"},
			{"short_password", `{"password":"short"}`, "password"},
			{"disabled_of_wrong_type", `{"disabled":"yes"}`, "disabled"},
			{"vendor_on_a_lead", `{"vendor":"acme"}`, "vendor"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p := requireProblem(t, patch(t, leadName, etag(3), tc.body), http.StatusBadRequest, "validation")
				assert.Contains(t, p.fields(), tc.field)
			})
		}
	})

	t.Run("patch_needs_a_json_content_type", func(t *testing.T) {
		res := h.do(t, req{method: http.MethodPatch, path: "/api/v1/users/" + leadName, token: admin, ctype: "text/plain",
			header: map[string]string{"If-Match": etag(3)}, body: `{"display_name":"Plain"}`})
		p := requireProblem(t, res, http.StatusBadRequest, "validation")
		assert.Equal(t, []string{"Content-Type"}, p.fields())
	})

	t.Run("patch_of_a_missing_user_is_not_found", func(t *testing.T) {
		requireProblem(t, patch(t, "no-such-user", etag(1), map[string]string{"display_name": "X"}), http.StatusNotFound, "not-found")
	})

	t.Run("admin_cannot_disable_themself", func(t *testing.T) {
		p := requireProblem(t, patch(t, adminName, etag(1), map[string]any{"disabled": true}), http.StatusBadRequest, "validation")
		assert.Contains(t, p.fields(), "role")
		assert.Equal(t, http.StatusOK, h.get(t, "/api/v1/me", admin).StatusCode)
	})

	t.Run("password_reset_takes_effect", func(t *testing.T) {
		res := patch(t, "nora", etag(1), map[string]string{"password": "an entirely new password"})
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		assert.NotContains(t, string(res.body), "an entirely new password")
		old := h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: map[string]string{"username": "nora", "password": "a long enough password"}})
		requireProblem(t, old, http.StatusUnauthorized, "unauthenticated")
		fresh := h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: map[string]string{"username": "nora", "password": "an entirely new password"}})
		assert.Equal(t, http.StatusOK, fresh.StatusCode)
	})
}

// TestLoginRefusesOperatorInjection sends MongoDB query operators where a
// string belongs: strict decoding refuses them before any query is built.
func TestLoginRefusesOperatorInjection(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name  string
		body  string
		field string
	}{
		{"username_ne_null", `{"username":{"$ne":null},"password":"x"}`, "username"},
		{"username_gt_empty", `{"username":{"$gt":""},"password":"x"}`, "username"},
		{"username_regex", `{"username":{"$regex":".*"},"password":"x"}`, "username"},
		{"password_ne_null", `{"username":"` + adminName + `","password":{"$ne":null}}`, "password"},
		{"username_array", `{"username":["` + adminName + `"],"password":"x"}`, "username"},
		{"operator_as_extra_field", `{"username":"` + adminName + `","password":"x","$where":"1"}`, "$where"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: tc.body})
			p := requireProblem(t, res, http.StatusBadRequest, "validation")
			assert.Equal(t, []string{tc.field}, p.fields())
			assert.NotContains(t, string(res.body), "access_token")
		})
	}

	t.Run("missing_fields_name_themselves", func(t *testing.T) {
		p := requireProblem(t, h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: `{}`}), http.StatusBadRequest, "validation")
		assert.ElementsMatch(t, []string{"username", "password"}, p.fields())
	})
}
