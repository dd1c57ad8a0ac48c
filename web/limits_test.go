package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/web"
)

// TestBodiesOverOneMebibyteAreRefused uses a real listener: a body over the
// transport's BodyLimit is refused by fasthttp while it reads it, and
// app.Test reports that read error instead of the response the client
// gets. JSON bodies are held to MaxJSONBody whichever layer refuses them.
func TestBodiesOverOneMebibyteAreRefused(t *testing.T) {
	h := newHarness(t)
	admin := h.login(t, adminName)
	addr := h.listen(t)

	over := strings.Repeat(" ", web.MaxJSONBody+1)
	cases := []struct {
		name string
		raw  string
	}{
		{"login", "POST /api/v1/auth/login HTTP/1.1\r\nHost: casefile.test\r\nContent-Type: application/json\r\n" +
			"Content-Length: " + strconv.Itoa(len(over)) + "\r\n\r\n" + over},
		{"user_create_as_admin", "POST /api/v1/users HTTP/1.1\r\nHost: casefile.test\r\nContent-Type: application/json\r\nAuthorization: Bearer " + admin + "\r\n" +
			"Content-Length: " + strconv.Itoa(len(over)) + "\r\n\r\n" + over},
		{"chunked", "POST /api/v1/auth/login HTTP/1.1\r\nHost: casefile.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(over), over)},
		// A length beyond any limit is refused before the body is read.
		{"declared_length_alone", "POST /api/v1/auth/login HTTP/1.1\r\nHost: casefile.test\r\nContent-Type: application/json\r\n" +
			"Content-Length: 1073741824\r\n\r\n{}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := rawExchange(t, addr, []byte(tc.raw))
			requireProblem(t, res, http.StatusRequestEntityTooLarge, "payload-too-large")
			assert.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
		})
	}

	t.Run("a_body_of_exactly_the_limit_is_read", func(t *testing.T) {
		body := `{"username":"nobody","password":"wrong password"}`
		body += strings.Repeat(" ", web.MaxJSONBody-len(body))
		require.Len(t, body, web.MaxJSONBody)
		res := h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: body})
		requireProblem(t, res, http.StatusUnauthorized, "unauthenticated")
	})
}

func TestMalformedJSONIsRefused(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name  string
		body  string
		field string // the field named, if any
	}{
		{"syntax_error", `{"username":"ada",}`, ""},
		{"single_quotes", `{'username':'ada','password':'x'}`, ""},
		{"truncated", `{"username":"ada","password":`, ""},
		{"not_json", `username=ada&password=x`, ""},
		{"empty", ``, ""},
		{"array_instead_of_object", `[]`, "(body)"},
		{"string_instead_of_object", `"ada"`, "(body)"},
		{"trailing_object", `{"username":"ada","password":"x"}{"username":"lee"}`, ""},
		{"trailing_garbage", `{"username":"ada","password":"x"} garbage`, ""},
		{"trailing_bracket", `{"username":"ada","password":"x"}]`, ""},
		{"trailing_number", `{"username":"ada","password":"x"} 1`, ""},
		{"invalid_utf8_escape", `{"username":"\x"}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: tc.body})
			p := requireProblem(t, res, http.StatusBadRequest, "validation")
			assert.NotEmpty(t, p.Detail)
			if tc.field != "" {
				assert.Equal(t, []string{tc.field}, p.fields())
			}
		})
	}

	t.Run("trailing_whitespace_is_fine", func(t *testing.T) {
		res := h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: `{"username":"ada","password":"` + password + "\"}\n\t \n"})
		assert.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
	})
}

func TestListLimits(t *testing.T) {
	h := newHarness(t)
	admin := h.login(t, adminName)

	for _, path := range []string{"/api/v1/users", "/api/v1/audit"} {
		t.Run(path, func(t *testing.T) {
			for _, limit := range []string{"0", "201", "abc", "-1", "1.5", "1e2", "99999999999999999999"} {
				t.Run("limit="+limit, func(t *testing.T) {
					res := h.get(t, path+"?limit="+url.QueryEscape(limit), admin)
					p := requireProblem(t, res, http.StatusBadRequest, "validation")
					assert.Equal(t, []string{"limit"}, p.fields())
				})
			}
			t.Run("overlong_cursor", func(t *testing.T) {
				res := h.get(t, path+"?cursor="+strings.Repeat("a", 513), admin)
				p := requireProblem(t, res, http.StatusBadRequest, "validation")
				assert.Equal(t, []string{"cursor"}, p.fields())
			})
			for _, limit := range []string{"1", "200"} {
				t.Run("limit="+limit+"_is_fine", func(t *testing.T) {
					assert.Equal(t, http.StatusOK, h.get(t, path+"?limit="+limit, admin).StatusCode)
				})
			}
		})
	}

	t.Run("default_limit_is_50", func(t *testing.T) {
		// The harness made 5 users and one login: 6 events, fewer than a
		// page. Fill the log past 50 with refusals, then read a page.
		lee := h.login(t, leadName)
		for range 50 {
			require.Equal(t, http.StatusForbidden, h.get(t, "/api/v1/audit/verify", lee).StatusCode)
		}
		res := h.get(t, "/api/v1/audit", admin)
		require.Equal(t, http.StatusOK, res.StatusCode)
		var page auditPage
		res.json(t, &page)
		assert.Len(t, page.Items, 50)
		assert.NotEmpty(t, page.NextCursor)
		assert.Greater(t, page.Total, int64(50))
	})
}

func TestUserPaginationWalksEveryUser(t *testing.T) {
	h := newHarness(t)
	admin := h.login(t, adminName)
	want := []string{adminName, investigatorName, leadName, leadershipName, vendorAgentName}
	slices.Sort(want)

	for _, limit := range []int{1, 2, 5} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			var got []string
			cursor := ""
			for pages := 1; ; pages++ {
				require.LessOrEqual(t, pages, len(want)+1, "the walk ends")
				q := url.Values{"limit": {strconv.Itoa(limit)}}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				res := h.get(t, "/api/v1/users?"+q.Encode(), admin)
				require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
				var page userPage
				res.json(t, &page)
				assert.EqualValues(t, len(want), page.Total)
				assert.LessOrEqual(t, len(page.Items), limit)
				for _, u := range page.Items {
					got = append(got, u["username"].(string))
					assert.NotContains(t, u, "password_hash")
				}
				if page.NextCursor == "" {
					break
				}
				cursor = page.NextCursor
			}
			assert.Equal(t, want, got, "every user once, in username order")
		})
	}
}
