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

func TestAuditAPI(t *testing.T) {
	h := newHarness(t)
	// The harness's user creations are events 1-5 at 09:00. An hour later
	// three users sign in and one is refused a route.
	h.clock.Advance(time.Hour)
	later := h.clock.Now()
	admin := h.login(t, adminName)
	lee := h.login(t, leadName)
	h.login(t, investigatorName)
	refused := h.get(t, "/api/v1/audit", lee)
	requireProblem(t, refused, http.StatusForbidden, "forbidden")
	const events = 5 + 3 + 1

	t.Run("lists_newest_first", func(t *testing.T) {
		page := h.auditEvents(t, admin, nil)
		require.Len(t, page.Items, events)
		assert.EqualValues(t, events, page.Total)
		assert.Empty(t, page.NextCursor)
		for i, e := range page.Items {
			assert.EqualValues(t, events-i, e.Seq)
			assert.NotEmpty(t, e.Hash)
		}
		newest := page.Items[0]
		assert.Equal(t, leadName, newest.User)
		assert.Equal(t, string(auth.ReadAudit), newest.Action)
		assert.Equal(t, auth.OutcomeDenied, newest.Outcome)
		assert.Equal(t, refused.Header.Get("X-Request-ID"), newest.RequestID)
		assert.True(t, newest.At.Equal(later), "at %s", newest.At)
		oldest := page.Items[events-1]
		assert.Equal(t, "user.create", oldest.Action)
		assert.Equal(t, "system", oldest.User)
		assert.Empty(t, oldest.PrevHash)
		assert.Equal(t, oldest.Hash, page.Items[events-2].PrevHash, "the chain links")
	})

	t.Run("filters_by_user", func(t *testing.T) {
		page := h.auditEvents(t, admin, url.Values{"user": {leadName}})
		require.Len(t, page.Items, 2)
		assert.EqualValues(t, 2, page.Total)
		assert.Equal(t, string(auth.ReadAudit), page.Items[0].Action)
		assert.Equal(t, "auth.login", page.Items[1].Action)
	})

	t.Run("filters_by_action", func(t *testing.T) {
		page := h.auditEvents(t, admin, url.Values{"action": {"auth.login"}})
		require.Len(t, page.Items, 3)
		assert.Equal(t, []string{investigatorName, leadName, adminName}, []string{page.Items[0].User, page.Items[1].User, page.Items[2].User})
	})

	t.Run("filters_combine", func(t *testing.T) {
		page := h.auditEvents(t, admin, url.Values{"action": {"auth.login"}, "user": {adminName}})
		require.Len(t, page.Items, 1)
		assert.Equal(t, adminName, page.Items[0].User)
	})

	t.Run("filters_by_entity", func(t *testing.T) {
		page := h.auditEvents(t, admin, url.Values{"entity_type": {"user"}, "entity_id": {vendorAgentName}})
		require.Len(t, page.Items, 1)
		assert.Equal(t, "user.create", page.Items[0].Action)
		assert.Equal(t, map[string]string{"role": "vendor_agent", "team": "", "vendor": "acme"}, page.Items[0].Detail)
	})

	t.Run("filters_by_time", func(t *testing.T) {
		page := h.auditEvents(t, admin, url.Values{"from": {later.Format(time.RFC3339)}})
		assert.EqualValues(t, 4, page.Total, "the events of the later hour")
		page = h.auditEvents(t, admin, url.Values{"to": {later.Format(time.RFC3339)}})
		assert.EqualValues(t, 5, page.Total, "the user creations; to is exclusive")
		page = h.auditEvents(t, admin, url.Values{"from": {"2026-03-02T09:00:00+00:00"}, "to": {"2026-03-02T09:30:00Z"}})
		assert.EqualValues(t, 5, page.Total, "any offset is accepted")
	})

	t.Run("no_match_is_an_empty_list", func(t *testing.T) {
		res := h.get(t, "/api/v1/audit?user=nobody", admin)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.JSONEq(t, `{"items":[],"total":0}`, string(res.body))
	})

	t.Run("cursor_walks_every_event_once", func(t *testing.T) {
		var seqs []int64
		cursor := ""
		for pages := 1; ; pages++ {
			require.LessOrEqual(t, pages, 5, "the walk ends")
			q := url.Values{"limit": {"2"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			page := h.auditEvents(t, admin, q)
			assert.EqualValues(t, events, page.Total)
			for _, e := range page.Items {
				seqs = append(seqs, e.Seq)
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		assert.Equal(t, []int64{9, 8, 7, 6, 5, 4, 3, 2, 1}, seqs)
	})

	t.Run("cursor_keeps_the_filter", func(t *testing.T) {
		first := h.auditEvents(t, admin, url.Values{"action": {"auth.login"}, "limit": {"1"}})
		require.NotEmpty(t, first.NextCursor)
		second := h.auditEvents(t, admin, url.Values{"action": {"auth.login"}, "limit": {"1"}, "cursor": {first.NextCursor}})
		require.Len(t, second.Items, 1)
		assert.Equal(t, "auth.login", second.Items[0].Action)
		assert.Less(t, second.Items[0].Seq, first.Items[0].Seq)
	})

	t.Run("bad_parameters_are_refused", func(t *testing.T) {
		cases := []struct {
			name   string
			query  url.Values
			fields []string
		}{
			{"from_not_a_time", url.Values{"from": {"yesterday"}}, []string{"from"}},
			{"from_without_zone", url.Values{"from": {"2026-03-02T09:00:00"}}, []string{"from"}},
			{"from_date_only", url.Values{"from": {"2026-03-02"}}, []string{"from"}},
			{"to_not_a_time", url.Values{"to": {"1740000000"}}, []string{"to"}},
			{"both_bad_and_a_bad_limit", url.Values{"from": {"x"}, "to": {"y"}, "limit": {"0"}}, []string{"from", "to", "limit"}},
			{"cursor_not_issued_here", url.Values{"cursor": {"not-a-cursor"}}, []string{"cursor"}},
			{"cursor_of_another_kind", url.Values{"cursor": {"czotMQ"}}, []string{"cursor"}}, // "s:-1"
			{"user_too_long", url.Values{"user": {strings.Repeat("u", 201)}}, []string{"user"}},
			{"action_too_long", url.Values{"action": {strings.Repeat("a", 201)}}, []string{"action"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := h.get(t, "/api/v1/audit?"+tc.query.Encode(), admin)
				p := requireProblem(t, res, http.StatusBadRequest, "validation")
				assert.ElementsMatch(t, tc.fields, p.fields())
			})
		}
	})

	t.Run("verify_reports_an_intact_chain", func(t *testing.T) {
		res := h.get(t, "/api/v1/audit/verify", admin)
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
		assert.JSONEq(t, `{"ok":true,"checked":9,"first_bad_seq":null}`, string(res.body))
	})
}
