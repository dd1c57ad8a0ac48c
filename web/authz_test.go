package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
)

// adminRoute is one admin-only route and the audit event a refusal leaves.
type adminRoute struct {
	method string
	path   string
	body   any
	header map[string]string
	// action and entity of the "denied" audit event.
	action string
	entity auth.Entity
}

var adminRoutes = []adminRoute{
	{method: http.MethodGet, path: "/api/v1/users", action: "user.list", entity: auth.Entity{Type: "user"}},
	{method: http.MethodPost, path: "/api/v1/users",
		body:   map[string]string{"username": "mallory", "role": "admin", "password": "a long enough password"},
		action: string(auth.ManageUsers), entity: auth.Entity{Type: "user"}},
	{method: http.MethodGet, path: "/api/v1/users/" + adminName, action: "user.read", entity: auth.Entity{Type: "user", ID: adminName}},
	{method: http.MethodPatch, path: "/api/v1/users/" + adminName,
		body: map[string]any{"disabled": true}, header: map[string]string{"If-Match": etag(1)},
		action: string(auth.ManageUsers), entity: auth.Entity{Type: "user", ID: adminName}},
	{method: http.MethodGet, path: "/api/v1/audit", action: string(auth.ReadAudit), entity: auth.Entity{Type: "audit"}},
	{method: http.MethodGet, path: "/api/v1/audit/verify", action: string(auth.ReadAudit), entity: auth.Entity{Type: "audit"}},
}

func TestAdminRoutesRefuseOtherRoles(t *testing.T) {
	h := newHarness(t)
	admin := h.login(t, adminName)
	tokens := map[auth.Role]string{}
	for _, role := range nonAdminRoles {
		tokens[role] = h.login(t, userOfRole[role])
	}

	for _, rt := range adminRoutes {
		t.Run(rt.method+"_"+rt.path, func(t *testing.T) {
			t.Run("anonymous_is_unauthenticated", func(t *testing.T) {
				res := h.do(t, req{method: rt.method, path: rt.path, body: rt.body, header: rt.header})
				requireProblem(t, res, http.StatusUnauthorized, "unauthenticated")
			})
			for _, role := range nonAdminRoles {
				t.Run(string(role)+"_is_forbidden_and_audited", func(t *testing.T) {
					username := userOfRole[role]
					before := h.auditEvents(t, admin, url.Values{"user": {username}, "limit": {"1"}})

					res := h.do(t, req{method: rt.method, path: rt.path, token: tokens[role], body: rt.body, header: rt.header})
					requireProblem(t, res, http.StatusForbidden, "forbidden")

					after := h.auditEvents(t, admin, url.Values{"user": {username}, "limit": {"1"}})
					require.Equal(t, before.Total+1, after.Total, "one audit event per refusal")
					require.Len(t, after.Items, 1)
					e := after.Items[0]
					assert.Equal(t, auth.OutcomeDenied, e.Outcome)
					assert.Equal(t, rt.action, e.Action)
					assert.Equal(t, rt.entity, e.Entity)
					assert.Equal(t, role, e.Role)
					assert.Equal(t, res.Header.Get("X-Request-ID"), e.RequestID, "the event names the refused request")
					assert.Equal(t, "0.0.0.0", e.IP)
				})
			}
		})
	}

	t.Run("refusals_changed_nothing", func(t *testing.T) {
		res := h.get(t, "/api/v1/users/mallory", admin)
		requireProblem(t, res, http.StatusNotFound, "not-found")
		res = h.get(t, "/api/v1/users/"+adminName, admin)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, etag(1), res.Header.Get("ETag"))
		var u map[string]any
		res.json(t, &u)
		assert.Equal(t, false, u["disabled"])
	})

	t.Run("admin_may_use_every_admin_route", func(t *testing.T) {
		for _, rt := range adminRoutes {
			if rt.method != http.MethodGet {
				continue // the writes are covered by TestUsersAPI
			}
			res := h.get(t, rt.path, admin)
			assert.Equal(t, http.StatusOK, res.StatusCode, "%s %s: %s", rt.method, rt.path, res.body)
		}
	})
}

func TestUsersReadThemselvesButNotOthers(t *testing.T) {
	h := newHarness(t)
	admin := h.login(t, adminName)
	for _, role := range nonAdminRoles {
		t.Run(string(role), func(t *testing.T) {
			username := userOfRole[role]
			tok := h.login(t, username)

			res := h.get(t, "/api/v1/users/"+username, tok)
			require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
			assert.Equal(t, etag(1), res.Header.Get("ETag"))
			var u map[string]any
			res.json(t, &u)
			assert.Equal(t, username, u["username"])
			assert.Equal(t, string(role), u["role"])
			assert.NotContains(t, u, "password_hash")

			other := leadershipName
			if username == leadershipName {
				other = leadName
			}
			res = h.get(t, "/api/v1/users/"+other, tok)
			requireProblem(t, res, http.StatusForbidden, "forbidden")
			assert.NotContains(t, string(res.body), `"role"`, "nothing about the other user leaks")

			// A user that does not exist is refused the same way, so a
			// non-admin cannot probe for usernames.
			res = h.get(t, "/api/v1/users/no-such-user", tok)
			requireProblem(t, res, http.StatusForbidden, "forbidden")

			page := h.auditEvents(t, admin, url.Values{"user": {username}, "action": {"user.read"}})
			require.Len(t, page.Items, 2)
			assert.Equal(t, auth.Entity{Type: "user", ID: "no-such-user"}, page.Items[0].Entity)
			assert.Equal(t, auth.Entity{Type: "user", ID: other}, page.Items[1].Entity)
			for _, e := range page.Items {
				assert.Equal(t, auth.OutcomeDenied, e.Outcome)
			}
		})
	}

	t.Run("admin_reads_anyone_and_gets_404_for_nobody", func(t *testing.T) {
		res := h.get(t, "/api/v1/users/"+vendorAgentName, admin)
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var u map[string]any
		res.json(t, &u)
		assert.Equal(t, "acme", u["vendor"])
		requireProblem(t, h.get(t, "/api/v1/users/no-such-user", admin), http.StatusNotFound, "not-found")
	})
}
