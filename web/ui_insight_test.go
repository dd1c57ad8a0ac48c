package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	xssScript = `<script>alert(1)</script>`
	xssImg    = `<img src=x onerror=alert(1)>`
)

// requireEscaped checks that body shows payload as text and never as markup.
func requireEscaped(t *testing.T, body []byte, payload string) {
	t.Helper()
	s := string(body)
	assert.NotContains(t, s, payload)
	assert.Contains(t, s, strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(payload))
}

// tableRow is the row of a dashboard table headed head, as its cells.
var rowPattern = regexp.MustCompile(`<tr><th scope="row">([^<]*)</th>((?:<td class="num">[^<]*</td>)*)</tr>`)
var cellPattern = regexp.MustCompile(`<td class="num">([^<]*)</td>`)

// tableRows reads the rows of the table with id out of a page.
func tableRows(t *testing.T, body []byte, id string) map[string][]string {
	t.Helper()
	s := string(body)
	start := strings.Index(s, `<table id="`+id+`">`)
	require.GreaterOrEqual(t, start, 0, "no table %s", id)
	end := strings.Index(s[start:], "</table>")
	require.Greater(t, end, 0)
	out := map[string][]string{}
	for _, m := range rowPattern.FindAllStringSubmatch(s[start:start+end], -1) {
		var cells []string
		for _, c := range cellPattern.FindAllStringSubmatch(m[2], -1) {
			cells = append(cells, c[1])
		}
		out[m[1]] = cells
	}
	return out
}

func TestUIInsightSearch(t *testing.T) {
	w := newWorld(t, 0)
	acme := newCase("zz-actor-1", "", "fraud", "acme")
	acme["title"] = "Zanzibar refund ring " + xssImg
	acme["summary"] = "The zanzibar sellers wrote " + xssScript + " in their listings."
	acmeCase := w.createCase(t, investigatorName, acme)
	other := newCase("zz-actor-2", "", "fraud", "other")
	other["title"] = "Zanzibar gift cards"
	otherCase := w.createCase(t, investigatorName, other)

	t.Run("team_member_finds_both_with_highlights_and_facets", func(t *testing.T) {
		b := w.uiLogin(t, investigatorName)
		res := b.get(t, "/search?q=zanzibar")
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		body := string(res.body)
		assert.Contains(t, body, acmeCase.Key)
		assert.Contains(t, body, otherCase.Key)
		assert.Contains(t, body, "Results 1–2 of 2")
		assert.Regexp(t, `<mark>[Zz]anzibar</mark>`, body)
		assert.Contains(t, body, `value="fraud"`)
		assert.Contains(t, body, `fraud <span class="insight-count">(2)</span>`)
		// The tabs keep the query.
		assert.Contains(t, body, `href="/search?q=zanzibar&amp;type=case"`)
	})

	t.Run("snippets_escape_what_the_user_wrote", func(t *testing.T) {
		b := w.uiLogin(t, investigatorName)
		res := b.get(t, "/search?q=zanzibar")
		require.Equal(t, http.StatusOK, res.StatusCode)
		requireEscaped(t, res.body, xssScript)
		requireEscaped(t, res.body, xssImg)
		// The payload sits in a matched field: its snippet is shown, marked.
		assert.Regexp(t, `<p class="insight-snippet"><span class="muted">Summary:</span> The <mark>zanzibar</mark> sellers wrote &lt;script&gt;alert\(1\)&lt;/script&gt;`, string(res.body))
	})

	t.Run("another_team_sees_no_hit_and_no_count", func(t *testing.T) {
		b := w.uiLogin(t, ottoName)
		res := b.get(t, "/search?q=zanzibar")
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		body := string(res.body)
		assert.NotContains(t, body, acmeCase.Key)
		assert.NotContains(t, body, otherCase.Key)
		assert.NotContains(t, body, `value="fraud"`, "no facet count leaks the team's cases")
		assert.NotContains(t, body, `value="acme"`)
		assert.Contains(t, body, "No results")
		assert.Contains(t, body, `All <span class="insight-count">(0)</span>`)
	})

	t.Run("vendor_agent_sees_only_their_vendor", func(t *testing.T) {
		b := w.uiLogin(t, vicName)
		res := b.get(t, "/search?q=zanzibar")
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		body := string(res.body)
		assert.Contains(t, body, acmeCase.Key)
		assert.NotContains(t, body, otherCase.Key)
		assert.NotContains(t, body, `value="other"`)
		assert.Contains(t, body, `fraud <span class="insight-count">(1)</span>`)
		assert.Contains(t, body, "Results 1–1 of 1")
	})

	t.Run("facet_filter_narrows_and_stays_checked", func(t *testing.T) {
		b := w.uiLogin(t, investigatorName)
		res := b.get(t, "/search?q=zanzibar&type=case&vendor=other")
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		body := string(res.body)
		assert.Contains(t, body, otherCase.Key)
		assert.NotContains(t, body, acmeCase.Key)
		assert.Regexp(t, `name="vendor" value="other" checked`, body)
		assert.Contains(t, body, `aria-current="page">Cases`)
	})

	t.Run("a_bad_query_is_a_400_page", func(t *testing.T) {
		b := w.uiLogin(t, investigatorName)
		res := b.get(t, "/search?q="+url.QueryEscape("created_at:>notadate"))
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "%s", res.body)
		assert.Contains(t, res.Header.Get("Content-Type"), "text/html")
	})
}

func TestUIInsightDashboard(t *testing.T) {
	w := newWorld(t, 0)
	jan := w.createIncident(t, investigatorName, newIncident("January outage", "sev2", time.Date(2026, 1, 10, 10, 0, 0, 0, time.UTC)))
	feb := w.createIncident(t, investigatorName, newIncident("February backlog", "sev3", time.Date(2026, 2, 5, 10, 0, 0, 0, time.UTC)))
	for key, causes := range map[string][]map[string]string{
		jan.Key: {rootCause("A deploy broke the report button", "product", "bug"),
			rootCause("An agent closed reports without reading them", "process", "human_error")},
		feb.Key: {rootCause("An agent closed reports in bulk without reading them", "process", "human_error"),
			rootCause("New agents had no training on scams", "process", "training_gap"),
			rootCause("The policy on refund scams was ambiguous", "policy", "ambiguous_policy")},
	} {
		res := w.putRCA(t, investigatorName, key, rcaBody(causes...))
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	}
	// Two fraud cases: a sev1 (triage due in 1h) and an acme sev3 (24h)
	// with an applied warning; two hours later the sev1 is breached.
	sev1 := newCase("dash-actor-1", "", "fraud", "")
	sev1["severity"] = "sev1"
	w.createCase(t, investigatorName, sev1)
	warned := w.createCase(t, investigatorName, newCase("dash-actor-2", "", "fraud", "acme"))
	e := w.propose(t, investigatorName, warned.Key, map[string]any{"action": "warning", "reason": "scam listings", "justification": "clear"})
	res := w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/cases/" + warned.Key + "/enforcements/" + e.ID + "/apply", body: map[string]any{}})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	w.clock.Advance(2 * time.Hour)

	t.Run("lead_reads_the_numbers", func(t *testing.T) {
		b := w.uiLogin(t, leadName)
		res := b.get(t, "/dashboard")
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		body := res.body

		assert.Equal(t, map[string][]string{"2026-01": {"1", "1", "0", "2"}, "2026-02": {"0", "2", "1", "3"}}, tableRows(t, body, "root-causes-table"))
		recurring := tableRows(t, body, "recurring-table")
		assert.Equal(t, []string{"2", "2", jan.Key + ", " + feb.Key}, recurring["process/human_error"])
		assert.Len(t, recurring, 1)
		assert.Equal(t, map[string][]string{"sev1": {"1", "1", "0.0%"}, "sev3": {"1", "0", "100.0%"}}, tableRows(t, body, "sla-severity-table"))
		assert.Equal(t, []string{"2", "1", "50.0%"}, tableRows(t, body, "sla-team-table")["fraud"])
		assert.Equal(t, []string{"1", "0", "100.0%"}, tableRows(t, body, "sla-vendor-table")["acme"])
		assert.Equal(t, map[string][]string{"warning": {"1", "0", "0.0%"}}, tableRows(t, body, "enforcement-table"))
		assert.Equal(t, []string{"1", "0", "0", "–", "–"}, tableRows(t, body, "vendor-quality-table")["acme"])

		s := string(body)
		assert.Contains(t, s, `<caption>Root causes by category per month</caption>`)
		assert.Contains(t, s, `<th scope="col">Month</th>`)
		assert.Equal(t, 7, strings.Count(s, `role="img"`), "every chart is an image with a name")
		assert.Contains(t, s, `aria-label="Root causes by category per month"`)
		assert.NotContains(t, s, "style=", "the CSP refuses style attributes")
		assert.NotContains(t, s, "<script>", "no inline script")
	})

	t.Run("the_period_narrows_the_report", func(t *testing.T) {
		b := w.uiLogin(t, leadName)
		res := b.get(t, "/dashboard?from=2026-02-01&to=2026-02-28")
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		assert.Equal(t, map[string][]string{"2026-02": {"0", "2", "1", "3"}}, tableRows(t, res.body, "root-causes-table"))
		res = b.get(t, "/dashboard?from=yesterday")
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		assert.Contains(t, string(res.body), `id="err-from"`)
	})

	t.Run("leadership_reads_it", func(t *testing.T) {
		b := w.uiLogin(t, leoName)
		res := b.get(t, "/dashboard")
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		assert.Equal(t, []string{"0", "2", "1", "3"}, tableRows(t, res.body, "root-causes-table")["2026-02"])
		assert.Equal(t, map[string][]string{"warning": {"1", "0", "0.0%"}}, tableRows(t, res.body, "enforcement-table"))
	})

	t.Run("investigators_and_vendor_agents_are_refused", func(t *testing.T) {
		for _, who := range []string{investigatorName, vicName} {
			b := w.uiLogin(t, who)
			res := b.get(t, "/dashboard")
			assert.Equal(t, http.StatusForbidden, res.StatusCode, who)
			assert.Contains(t, res.Header.Get("Content-Type"), "text/html")
			assert.NotContains(t, string(res.body), "root-causes-table")
		}
	})

	t.Run("a_reversal_counts_against_its_action", func(t *testing.T) {
		w.relogin(t) // the clock moved past the API tokens' lifetime
		res := w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/cases/" + warned.Key + "/enforcements/" + e.ID + "/reverse",
			body: map[string]any{"reason": "appeal upheld"}})
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		for _, who := range []string{leadName, leoName} {
			page := w.uiLogin(t, who).get(t, "/dashboard")
			require.Equal(t, http.StatusOK, page.StatusCode, "%s", page.body)
			assert.Equal(t, map[string][]string{"warning": {"1", "1", "100.0%"}}, tableRows(t, page.body, "enforcement-table"), who)
		}
	})
}

func TestUIInsightAdmin(t *testing.T) {
	w := newWorld(t, 0)

	t.Run("non_admins_are_refused", func(t *testing.T) {
		for _, who := range []string{leadName, investigatorName, vicName, leoName} {
			b := w.uiLogin(t, who)
			for _, path := range []string{"/admin", "/admin/users", "/admin/users/new", "/admin/users/" + adminName, "/admin/taxonomy", "/admin/audit", "/admin/audit/verify"} {
				res := b.get(t, path)
				assert.Equal(t, http.StatusForbidden, res.StatusCode, "%s %s", who, path)
			}
			res := b.post(t, "/admin/users", url.Values{"username": {"sneaky"}, "role": {"admin"}, "password": {password}})
			assert.Equal(t, http.StatusForbidden, res.StatusCode, who)
		}
		assert.Equal(t, http.StatusNotFound, w.get(t, "/api/v1/users/sneaky", w.tok[adminName]).StatusCode, "nobody was created")
	})

	b := w.uiLogin(t, adminName)

	t.Run("create_shows_field_errors", func(t *testing.T) {
		b.get(t, "/admin/users/new")
		res := b.post(t, "/admin/users", url.Values{"username": {"Bad Name!"}, "role": {"vendor_agent"}, "password": {"short"}, "display_name": {xssScript}})
		require.Equal(t, http.StatusBadRequest, res.StatusCode, "%s", res.body)
		body := string(res.body)
		for _, f := range []string{"username", "vendor", "password"} {
			assert.Contains(t, body, `id="err-`+f+`"`, f)
		}
		assert.Contains(t, body, "is required for a vendor_agent")
		requireEscaped(t, res.body, xssScript)
		assert.Contains(t, body, `value="Bad Name!"`, "what was typed is kept")
	})

	t.Run("create_then_list_escapes_the_display_name", func(t *testing.T) {
		b.get(t, "/admin/users/new")
		res := b.post(t, "/admin/users", url.Values{"username": {"newbie"}, "display_name": {xssScript}, "role": {"investigator"},
			"team": {"fraud"}, "password": {password}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s", res.body)
		assert.Equal(t, "/admin/users/newbie", res.Header.Get("Location"))
		list := b.get(t, "/admin/users")
		require.Equal(t, http.StatusOK, list.StatusCode)
		assert.Contains(t, string(list.body), "User newbie created.")
		assert.Contains(t, string(list.body), `href="/admin/users/newbie"`)
		requireEscaped(t, list.body, xssScript)
		page := b.get(t, "/admin/users/newbie")
		require.Equal(t, http.StatusOK, page.StatusCode)
		assert.Contains(t, string(page.body), `name="version" value="1"`)
		requireEscaped(t, page.body, xssScript)
	})

	t.Run("edit_with_a_stale_version_is_412", func(t *testing.T) {
		b.get(t, "/admin/users/newbie")
		form := url.Values{"version": {"1"}, "display_name": {xssImg}, "role": {"investigator"}, "team": {"spam"}}
		res := b.post(t, "/admin/users/newbie", form)
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s", res.body)
		got := w.get(t, "/api/v1/users/newbie", w.tok[adminName])
		assert.Contains(t, string(got.body), `"team":"spam"`)
		assert.Contains(t, string(got.body), `"version":2`)

		res = b.post(t, "/admin/users/newbie", url.Values{"version": {"1"}, "display_name": {"Late"}, "role": {"lead"}})
		assert.Equal(t, http.StatusPreconditionFailed, res.StatusCode, "%s", res.body)
		assert.Contains(t, string(res.body), "Someone else changed this")
		got = w.get(t, "/api/v1/users/newbie", w.tok[adminName])
		assert.Contains(t, string(got.body), `"role":"investigator"`, "the stale edit changed nothing")
	})

	t.Run("audit_log_escapes_what_users_wrote", func(t *testing.T) {
		// A failed sign-in names the user it tried in the audit log.
		res := w.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", body: map[string]string{"username": xssScript, "password": "nope"}})
		require.Equal(t, http.StatusUnauthorized, res.StatusCode)
		res = b.get(t, "/admin/audit?action=user.update")
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		assert.Contains(t, string(res.body), "user.update")
		requireEscaped(t, res.body, xssImg)
		res = b.get(t, "/admin/audit?action=auth.login&user="+url.QueryEscape(xssScript))
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, string(res.body), "(1 in all)")
		requireEscaped(t, res.body, xssScript)
	})

	t.Run("audit_filters", func(t *testing.T) {
		res := b.get(t, "/admin/audit?action=user.create")
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, string(res.body), "user: newbie")
		assert.NotContains(t, string(res.body), "user.update")
		res = b.get(t, "/admin/audit?from=never")
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	})

	t.Run("verify_shows_the_chain_is_ok", func(t *testing.T) {
		res := b.get(t, "/admin/audit/verify")
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		assert.Contains(t, string(res.body), "Chain OK")
		assert.Regexp(t, `[1-9][0-9]* events checked`, string(res.body))
		assert.NotContains(t, string(b.get(t, "/admin/audit").body), "Chain OK", "only when asked")
	})

	t.Run("taxonomy_editor", func(t *testing.T) {
		page := b.get(t, "/admin/taxonomy")
		require.Equal(t, http.StatusOK, page.StatusCode)
		m := regexp.MustCompile(`(?s)<textarea[^>]*>(.*?)</textarea>`).FindSubmatch(page.body)
		require.NotNil(t, m)
		doc := strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#39;", "'").Replace(string(m[1]))
		assert.Contains(t, doc, `"fraud_scam"`)
		version := regexp.MustCompile(`name="version" value="(\d+)"`).FindSubmatch(page.body)
		require.NotNil(t, version)

		res := b.post(t, "/admin/taxonomy", url.Values{"version": {string(version[1])}, "taxonomy": {"{not json"}})
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		assert.Contains(t, string(res.body), `id="err-taxonomy"`)

		res = b.post(t, "/admin/taxonomy", url.Values{"version": {string(version[1])}, "taxonomy": {`{"policy_areas": []}`}})
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "%s", res.body)
		assert.Contains(t, string(res.body), "policy_areas")

		changed := strings.Replace(doc, `"fraud_scam"`, `"fraud_scam", "crypto_scam"`, 1)
		res = b.post(t, "/admin/taxonomy", url.Values{"version": {string(version[1])}, "taxonomy": {changed}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s", res.body)
		assert.Contains(t, string(w.get(t, "/api/v1/taxonomy", w.tok[investigatorName]).body), "crypto_scam")

		b.get(t, "/admin/taxonomy")
		res = b.post(t, "/admin/taxonomy", url.Values{"version": {string(version[1])}, "taxonomy": {doc}})
		assert.Equal(t, http.StatusPreconditionFailed, res.StatusCode)
		assert.Contains(t, string(res.body), "Someone else changed this")
	})
}
