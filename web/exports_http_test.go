package web_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/pdf"
	"casefile.dev/casefile/internal/pdf/pdftest"
)

// readPDF checks a PDF answer and reads it back.
func readPDF(t *testing.T, res response) pdftest.Doc {
	t.Helper()
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	require.Equal(t, "application/pdf", res.Header.Get("Content-Type"))
	require.True(t, bytes.HasPrefix(res.body, []byte("%PDF-")))
	d, err := pdftest.Parse(res.body)
	require.NoError(t, err)
	return d
}

// typeset is what the server's PDF of md must read as: the same Markdown
// typeset with the same title and footer.
func typeset(t *testing.T, md, key, title string, at time.Time) pdftest.Doc {
	t.Helper()
	b, err := pdf.Render(md, pdf.Options{Title: key + ": " + title, Footer: key + " · exported " + at.UTC().Format(time.RFC3339)})
	require.NoError(t, err)
	d, err := pdftest.Parse(b)
	require.NoError(t, err)
	return d
}

// readCSV checks a CSV answer and parses it.
func readCSV(t *testing.T, res response, filename string) [][]string {
	t.Helper()
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	assert.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Equal(t, `attachment; filename="`+filename+`"`, res.Header.Get("Content-Disposition"))
	r := csv.NewReader(bytes.NewReader(res.body))
	rows, err := r.ReadAll()
	require.NoError(t, err, "%s", res.body)
	require.NotEmpty(t, rows)
	return rows
}

func column(rows [][]string, name string) []string {
	i := -1
	for j, h := range rows[0] {
		if h == name {
			i = j
		}
	}
	if i < 0 {
		return nil
	}
	var out []string
	for _, r := range rows[1:] {
		out = append(out, r[i])
	}
	return out
}

func TestCaseExports(t *testing.T) {
	w := newWorld(t, 0)
	body := newCase("acct-export-1", "", "fraud", "acme")
	body["title"] = "Sells *fake* cards <b>now</b>"
	body["summary"] = "Line one.\nLine two with [a link](http://x)."
	c := w.createCase(t, leadName, body)
	res := w.upload(t, leadName, c.Key, [][2]string{{"kind", "listing"}, {"ref", "l-1"}, {"description", "the listing"}}, "file", "shot.png", randomBytes(t, 32))
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)
	restricted := newCase("acct-export-2", "", "fraud", "acme")
	restricted["restricted"] = true
	r := w.createCase(t, leadName, restricted)

	t.Run("markdown", func(t *testing.T) {
		res := w.get(t, "/api/v1/cases/"+c.Key+".md", w.tok[investigatorName])
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		assert.Equal(t, "text/markdown; charset=utf-8", res.Header.Get("Content-Type"))
		assert.Equal(t, `attachment; filename="`+c.Key+`.md"`, res.Header.Get("Content-Disposition"))
		assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
		md := string(res.body)
		assert.True(t, strings.HasPrefix(md, "# Case "+c.Key+": Sells \\*fake\\* cards \\<b\\>now\\</b\\>\n"), md)
		assert.Contains(t, md, "- **1. listing**: the listing\n")
		assert.Contains(t, md, "Line one\\.\\\nLine two with \\[a link\\]\\(http\\:")
	})

	t.Run("the_case_itself_is_still_json", func(t *testing.T) {
		// /cases/:id.md is registered before /cases/:id: the key reaches
		// each route whole.
		got := w.getCase(t, leadName, c.Key)
		assert.Equal(t, c.ID, got.ID)
		res := w.get(t, "/api/v1/cases/"+c.Key+".txt", w.tok[leadName])
		requireProblem(t, res, http.StatusNotFound, "not-found")
	})

	t.Run("pdf_carries_the_markdown", func(t *testing.T) {
		md := w.get(t, "/api/v1/cases/"+c.Key+".md", w.tok[leadName])
		require.Equal(t, http.StatusOK, md.StatusCode)
		res := w.get(t, "/api/v1/cases/"+c.Key+".pdf", w.tok[leadName])
		assert.Equal(t, `attachment; filename="`+c.Key+`.pdf"`, res.Header.Get("Content-Disposition"))
		doc := readPDF(t, res)
		assert.Equal(t, c.Key+": "+c.Title, doc.Title)
		want := typeset(t, string(md.body), c.Key, c.Title, w.clock.Now())
		assert.Equal(t, want.Pages, doc.Pages, "the PDF is the Markdown typeset, nothing more or less")
		flat := doc.Flat()
		assert.Contains(t, flat, "Case "+c.Key+": Sells *fake* cards <b>now</b>")
		assert.Contains(t, flat, c.Key+" · exported "+w.clock.Now().UTC().Format(time.RFC3339)+" Page 1 of")
	})

	t.Run("denials", func(t *testing.T) {
		for _, tc := range []struct {
			name, who, key string
		}{
			{"investigator_of_another_team", ottoName, c.Key},
			{"vendor_agent_of_another_vendor", veraName, c.Key},
			{"vendor_agent_on_a_restricted_case", vicName, r.Key},
			{"investigator_on_a_restricted_case", investigatorName, r.Key},
			{"leadership", leoName, c.Key},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, ext := range []string{".md", ".pdf"} {
					res := w.get(t, "/api/v1/cases/"+tc.key+ext, w.tok[tc.who])
					p := requireProblem(t, res, http.StatusNotFound, "not-found")
					assert.NotContains(t, string(res.body), r.Title)
					assert.Empty(t, p.Errors)
				}
			})
		}
		res := w.get(t, "/api/v1/cases/"+c.Key+".pdf", "")
		requireProblem(t, res, http.StatusUnauthorized, "unauthenticated")
	})

	t.Run("audited", func(t *testing.T) {
		res := w.get(t, "/api/v1/cases/"+r.Key+".pdf", w.tok[lenaName])
		readPDF(t, res)
		page := w.auditEvents(t, w.tok[adminName], url.Values{"action": {"case.export"}, "entity_id": {r.Key}})
		require.Len(t, page.Items, 1)
		assert.Equal(t, lenaName, page.Items[0].User)
		assert.Equal(t, "pdf", page.Items[0].Detail["format"])
		reads := w.auditEvents(t, w.tok[adminName], url.Values{"action": {"case.read_restricted"}, "entity_id": {r.Key}, "user": {lenaName}})
		assert.NotEmpty(t, reads.Items, "the export read the restricted case, and that is audited too")
	})

	t.Run("pages", func(t *testing.T) {
		b := w.uiAs(t, investigatorName)
		page := b.get(t, "/cases/"+c.Key)
		require.Equal(t, http.StatusOK, page.StatusCode)
		assert.Contains(t, string(page.body), `href="/cases/`+c.Key+`/export.md"`)
		assert.Contains(t, string(page.body), `href="/cases/`+c.Key+`/export.pdf"`)
		res := b.get(t, "/cases/"+c.Key+"/export.md")
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.True(t, strings.HasPrefix(string(res.body), "# Case "+c.Key))
		readPDF(t, b.get(t, "/cases/"+c.Key+"/export.pdf"))
		res = b.get(t, "/cases/"+r.Key+"/export.pdf")
		assert.Equal(t, http.StatusNotFound, res.StatusCode)
		assert.Contains(t, string(res.body), "There is nothing here, or you may not see it.")
	})
}

func TestPostmortemExports(t *testing.T) {
	w := newWorld(t, 0)
	c := w.createCase(t, investigatorName, newCase("acct-pm-7", "", "fraud", ""))
	started := w.clock.Now().Add(-6 * time.Hour)
	in := w.createIncident(t, investigatorName, newIncident("Refund scam wave", "sev1", started, c.Key))
	require.Equal(t, http.StatusOK, w.putRCA(t, investigatorName, in.Key, rcaBody(
		rootCause("acct-pm-7 found the refund loophole", "product", "tooling_gap"),
		rootCause("The refund SOP skipped the fraud check", "process", "sop_gap"))).StatusCode)
	res := w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/incidents/" + in.Key + "/action-items",
		body: map[string]any{"title": "Block acct-pm-7 style refunds", "owner": investigatorName, "kind": "prevent"}})
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)
	content := map[string]any{"summary": "A refund scam wave hit checkout.", "body": "## Details\n\nIt ran for *six* hours.",
		"timeline": []map[string]any{{"at": started, "event": "Scam began"}}}
	require.Equal(t, http.StatusCreated, w.putPostmortem(t, investigatorName, in.Key, 0, content).StatusCode)

	t.Run("unpublished_is_not_found", func(t *testing.T) {
		for _, who := range []string{leadName, leoName} {
			for _, ext := range []string{".md", ".pdf"} {
				requireProblem(t, w.get(t, "/api/v1/postmortems/"+in.Key+ext, w.tok[who]), http.StatusNotFound, "not-found")
			}
		}
	})

	w.requirePMStep(t, investigatorName, in.Key, "submit", nil)
	w.requirePMStep(t, lenaName, in.Key, "approve", nil)
	w.requirePMStep(t, leadName, in.Key, "publish", nil)

	md := w.get(t, "/api/v1/postmortems/"+in.Key+".md", w.tok[leoName])
	require.Equal(t, http.StatusOK, md.StatusCode, "%s", md.body)
	assert.Equal(t, `attachment; filename="`+in.Key+`.md"`, md.Header.Get("Content-Disposition"))
	text := string(md.body)

	t.Run("markdown_is_the_reading", func(t *testing.T) {
		for _, want := range []string{"# Postmortem " + in.Key + ": Refund scam wave\n", "## Summary\n\nA refund scam wave hit checkout.",
			"## Root causes", "### Product", "- \\[redacted\\] found the refund loophole (tooling gap)", "### Process",
			"## Details\n\n## Details\n\nIt ran for *six* hours.", "## Action items", "- **Block \\[redacted\\] style refunds**: prevent, owner ivy; open"} {
			assert.Contains(t, text, want)
		}
		assert.NotContains(t, text, "acct-pm-7", "the reading's PII rules hold in the export")
	})

	t.Run("pdf_carries_the_markdown", func(t *testing.T) {
		doc := readPDF(t, w.get(t, "/api/v1/postmortems/"+in.Key+".pdf", w.tok[leoName]))
		want := typeset(t, text, in.Key, "Refund scam wave", w.clock.Now())
		assert.Equal(t, want.Pages, doc.Pages)
		flat := doc.Flat()
		assert.Contains(t, flat, "[redacted] found the refund loophole (tooling gap)")
		assert.Contains(t, flat, "It ran for six hours.")
		assert.NotContains(t, flat, "acct-pm-7")
	})

	t.Run("the_reading_itself_is_still_json", func(t *testing.T) {
		res := w.get(t, "/api/v1/postmortems/"+in.Key, w.tok[leoName])
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
		assert.Contains(t, string(res.body), `"incident_key":"`+in.Key+`"`)
	})

	t.Run("vendor_agents_read_no_postmortem", func(t *testing.T) {
		requireProblem(t, w.get(t, "/api/v1/postmortems/"+in.Key+".pdf", w.tok[vicName]), http.StatusNotFound, "not-found")
		res := w.uiAs(t, vicName).get(t, "/postmortems/"+in.Key+"/export.pdf")
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
	})

	t.Run("reading_page_links_and_downloads", func(t *testing.T) {
		b := w.uiAs(t, leoName)
		page := b.get(t, "/postmortems/"+in.Key)
		require.Equal(t, http.StatusOK, page.StatusCode)
		assert.Contains(t, string(page.body), `href="/postmortems/`+in.Key+`/export.pdf"`)
		assert.Contains(t, string(page.body), `href="/postmortems/`+in.Key+`/export.md"`)
		res := b.get(t, "/postmortems/"+in.Key+"/export.md")
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, text, string(res.body))
		readPDF(t, b.get(t, "/postmortems/"+in.Key+"/export.pdf"))
	})

	page := w.auditEvents(t, w.tok[adminName], url.Values{"action": {"postmortem.export"}, "user": {leoName}})
	assert.NotEmpty(t, page.Items)
}

func TestCaseListCSV(t *testing.T) {
	w := newWorld(t, 0)
	evil := newCase("acct-csv-1", "", "fraud", "")
	evil["title"] = `=HYPERLINK("http://evil.example","click"), "quoted"`
	evil["severity"] = "sev1"
	e := w.createCase(t, leadName, evil)
	// A second apart, so that created_at orders them.
	for i, title := range []string{"+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\tTabbed"} {
		w.clock.Advance(time.Second)
		body := newCase("acct-csv-other-"+string(rune('a'+i)), "", "fraud", "")
		body["title"] = title
		w.createCase(t, leadName, body)
	}
	w.clock.Advance(time.Second)
	spam := w.createCase(t, ottoName, newCase("acct-csv-spam", "spam", "spam", ""))

	t.Run("columns_and_defused_cells", func(t *testing.T) {
		res := w.get(t, "/api/v1/cases?format=csv&sort=created_at", w.tok[leadName])
		rows := readCSV(t, res, "cases.csv")
		assert.Equal(t, []string{"key", "title", "status", "severity", "policy_areas", "team", "vendor", "assignee", "actor_id",
			"sla_state", "restricted", "created_at", "updated_at", "due"}, rows[0])
		assert.Equal(t, "6", res.Header.Get("X-Total-Count"))
		assert.Empty(t, res.Header.Get("X-Truncated"))
		titles := column(rows, "title")
		assert.Equal(t, []string{`'=HYPERLINK("http://evil.example","click"), "quoted"`, "'+cmd|' /C calc'!A0", "'@SUM(1+1)", "'-2+3", "'\tTabbed",
			"Suspicious activity by acct-csv-spam"}, titles, "oldest first, as sorted; formulas start with an apostrophe")
		assert.Equal(t, e.Key, rows[1][0])
		assert.Equal(t, "fraud_scam", rows[1][4])
		assert.Equal(t, "false", rows[1][10])
	})

	t.Run("filters_and_sort_apply", func(t *testing.T) {
		rows := readCSV(t, w.get(t, "/api/v1/cases?format=csv&severity=sev1", w.tok[leadName]), "cases.csv")
		assert.Equal(t, []string{e.Key}, column(rows, "key"))
		rows = readCSV(t, w.get(t, "/api/v1/cases?format=csv&team=spam", w.tok[leadName]), "cases.csv")
		assert.Equal(t, []string{spam.Key}, column(rows, "key"))
		rows = readCSV(t, w.get(t, "/api/v1/cases?format=csv&sort=-created_at", w.tok[leadName]), "cases.csv")
		assert.Equal(t, spam.Key, rows[1][0], "newest first")
	})

	t.Run("accept_header_asks_for_csv", func(t *testing.T) {
		res := w.do(t, req{method: http.MethodGet, path: "/api/v1/cases?team=spam", token: w.tok[leadName], header: map[string]string{"Accept": "text/csv"}})
		assert.Equal(t, []string{spam.Key}, column(readCSV(t, res, "cases.csv"), "key"))
	})

	t.Run("only_readable_cases", func(t *testing.T) {
		rows := readCSV(t, w.get(t, "/api/v1/cases?format=csv", w.tok[ottoName]), "cases.csv")
		assert.Equal(t, []string{spam.Key}, column(rows, "key"))
		requireProblem(t, w.get(t, "/api/v1/cases?format=csv", w.tok[leoName]), http.StatusForbidden, "forbidden")
	})

	t.Run("bad_format_and_filters", func(t *testing.T) {
		p := requireProblem(t, w.get(t, "/api/v1/cases?format=xlsx", w.tok[leadName]), http.StatusBadRequest, "validation")
		assert.Equal(t, []string{"format"}, p.fields())
		p = requireProblem(t, w.get(t, "/api/v1/cases?format=csv&severity=sev9", w.tok[leadName]), http.StatusBadRequest, "validation")
		assert.Equal(t, []string{"severity"}, p.fields())
	})

	t.Run("page_link_keeps_filters", func(t *testing.T) {
		b := w.uiAs(t, leadName)
		page := b.get(t, "/cases?severity=sev1&team=fraud")
		require.Equal(t, http.StatusOK, page.StatusCode)
		assert.Contains(t, string(page.body), `href="/cases.csv?severity=sev1&amp;team=fraud"`)
		rows := readCSV(t, b.get(t, "/cases.csv?severity=sev1&team=fraud"), "cases.csv")
		assert.Equal(t, []string{e.Key}, column(rows, "key"))
	})

	page := w.auditEvents(t, w.tok[adminName], url.Values{"action": {"case.list_export"}, "user": {ottoName}})
	require.Len(t, page.Items, 1)
	assert.Equal(t, "1", page.Items[0].Detail["rows"])
}

// enforcementWorld: applied enforcements on a fraud/acme case (a warning,
// later reversed), a spam/other case (a content removal in spam) and a
// restricted fraud/acme case (a warning), an hour apart.
type enforcementWorld struct {
	*world
	acme, other, restricted cases.Case
	t0                      time.Time
}

func newEnforcementWorld(t *testing.T) *enforcementWorld {
	t.Helper()
	w := &enforcementWorld{world: newWorld(t, 0)}
	w.t0 = w.clock.Now()
	apply := func(c cases.Case, body map[string]any) cases.Enforcement {
		e := w.propose(t, leadName, c.Key, body)
		if e.Status == cases.Proposed { // off the ladder: another lead approves
			res := w.as(t, lenaName, req{method: http.MethodPost, path: "/api/v1/cases/" + c.Key + "/enforcements/" + e.ID + "/approve", body: map[string]any{}})
			require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		}
		res := w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/cases/" + c.Key + "/enforcements/" + e.ID + "/apply", body: map[string]any{}})
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		w.clock.Advance(time.Hour)
		w.relogin(t) // access tokens last 15 minutes
		return e
	}
	w.acme = w.createCase(t, leadName, newCase("acct-enf-1", "", "fraud", "acme"))
	warn := apply(w.acme, map[string]any{"action": "warning", "reason": "First offence"})
	w.other = w.createCase(t, leadName, newCase("acct-enf-2", "spam", "spam", "other"))
	apply(w.other, map[string]any{"action": "content_removal", "policy_area": "spam", "reason": "Spam posts",
		"justification": "Removal stops the spread"})
	body := newCase("acct-enf-3", "", "fraud", "acme")
	body["restricted"] = true
	w.restricted = w.createCase(t, leadName, body)
	apply(w.restricted, map[string]any{"action": "warning", "reason": "First offence"})
	res := w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/cases/" + w.acme.Key + "/enforcements/" + warn.ID + "/reverse",
		body: map[string]any{"reason": "=Appeal granted"}})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	return w
}

type enforcementList struct {
	Items      []cases.EnforcementRecord `json:"items"`
	NextCursor string                    `json:"next_cursor"`
	Total      int                       `json:"total"`
}

func (w *enforcementWorld) list(t *testing.T, who, query string) enforcementList {
	t.Helper()
	res := w.get(t, "/api/v1/enforcements"+query, w.tok[who])
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	var l enforcementList
	res.json(t, &l)
	return l
}

func keysOf(l enforcementList) []string {
	var out []string
	for _, r := range l.Items {
		out = append(out, r.CaseKey)
	}
	return out
}

func TestEnforcementsRoute(t *testing.T) {
	w := newEnforcementWorld(t)

	t.Run("lead_sees_all_oldest_first", func(t *testing.T) {
		l := w.list(t, leadName, "")
		assert.Equal(t, 3, l.Total)
		assert.Equal(t, []string{w.acme.Key, w.other.Key, w.restricted.Key}, keysOf(l))
		first := l.Items[0]
		assert.Equal(t, cases.Warning, first.Action)
		assert.Equal(t, "fraud_scam", first.PolicyArea)
		assert.True(t, first.Reversed)
		require.NotNil(t, first.ReversedAt)
		assert.Equal(t, "=Appeal granted", first.ReversalReason)
		assert.Equal(t, w.t0, first.AppliedAt.UTC())
		assert.True(t, strings.HasPrefix(first.DecisionID, w.acme.ID+":enforcement:"))
		assert.False(t, l.Items[1].Reversed)
		assert.Empty(t, first.ActorID, "no actor id unless asked")
		assert.NotContains(t, w.get(t, "/api/v1/enforcements", w.tok[leadName]).body, []byte("actor_id"))
	})

	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			query string
			want  []string
		}{
			{"?action=content_removal", []string{w.other.Key}},
			{"?action=warning", []string{w.acme.Key, w.restricted.Key}},
			{"?policy_area=spam", []string{w.other.Key}},
			{"?from=" + url.QueryEscape(w.t0.Add(30*time.Minute).Format(time.RFC3339)), []string{w.other.Key, w.restricted.Key}},
			{"?to=" + url.QueryEscape(w.t0.Add(90*time.Minute).Format(time.RFC3339)), []string{w.acme.Key, w.other.Key}},
			{"?policy_area=hate_speech", nil},
		}
		for _, tc := range tests {
			t.Run(tc.query, func(t *testing.T) {
				l := w.list(t, leadName, tc.query)
				assert.Equal(t, tc.want, keysOf(l))
				assert.Equal(t, len(tc.want), l.Total)
			})
		}
		p := requireProblem(t, w.get(t, "/api/v1/enforcements?action=shadow_ban&include_actor=maybe", w.tok[leadName]), http.StatusBadRequest, "validation")
		assert.ElementsMatch(t, []string{"action", "include_actor"}, p.fields())
	})

	t.Run("pages", func(t *testing.T) {
		l := w.list(t, leadName, "?limit=2")
		assert.Equal(t, []string{w.acme.Key, w.other.Key}, keysOf(l))
		require.NotEmpty(t, l.NextCursor)
		l = w.list(t, leadName, "?limit=2&cursor="+l.NextCursor)
		assert.Equal(t, []string{w.restricted.Key}, keysOf(l))
		assert.Empty(t, l.NextCursor)
	})

	t.Run("only_cases_the_caller_may_read", func(t *testing.T) {
		tests := []struct {
			who  string
			want []string
		}{
			{investigatorName, []string{w.acme.Key}}, // fraud; the restricted one is not theirs
			{ottoName, []string{w.other.Key}},
			{vicName, []string{w.acme.Key}}, // acme, unrestricted only
			{veraName, []string{w.other.Key}},
		}
		for _, tc := range tests {
			t.Run(tc.who, func(t *testing.T) {
				assert.Equal(t, tc.want, keysOf(w.list(t, tc.who, "")))
				rows := readCSV(t, w.get(t, "/api/v1/enforcements?format=csv", w.tok[tc.who]), "enforcements.csv")
				assert.Equal(t, tc.want, column(rows, "case_key"))
			})
		}
		requireProblem(t, w.get(t, "/api/v1/enforcements", w.tok[leoName]), http.StatusForbidden, "forbidden")
	})

	t.Run("csv", func(t *testing.T) {
		res := w.get(t, "/api/v1/enforcements?format=csv", w.tok[leadName])
		rows := readCSV(t, res, "enforcements.csv")
		assert.Equal(t, []string{"case_key", "decision_id", "policy_area", "action", "duration", "applied_at", "reversed", "reversed_at",
			"reversal_reason"}, rows[0])
		require.Len(t, rows, 4)
		assert.Equal(t, []string{"true", "false", "false"}, column(rows, "reversed"))
		assert.Equal(t, "'=Appeal granted", rows[1][8], "a formula in a reason is defused")
		assert.Equal(t, w.t0.Format(time.RFC3339), rows[1][5])
		assert.Equal(t, "3", res.Header.Get("X-Total-Count"))
	})

	t.Run("actor_ids", func(t *testing.T) {
		l := w.list(t, leadName, "?include_actor=true")
		assert.Equal(t, []string{"acct-enf-1", "acct-enf-2", "acct-enf-3"}, []string{l.Items[0].ActorID, l.Items[1].ActorID, l.Items[2].ActorID})
		rows := readCSV(t, w.get(t, "/api/v1/enforcements?format=csv&include_actor=true", w.tok[investigatorName]), "enforcements.csv")
		assert.Equal(t, "actor_id", rows[0][len(rows[0])-1])
		assert.Equal(t, []string{"acct-enf-1"}, column(rows, "actor_id"))
		for _, who := range []string{vicName, leoName} {
			p := requireProblem(t, w.get(t, "/api/v1/enforcements?format=csv&include_actor=true", w.tok[who]), http.StatusForbidden, "forbidden")
			assert.NotContains(t, p.Detail, "acct-enf")
		}
		page := w.auditEvents(t, w.tok[adminName], url.Values{"action": {"enforcement.export"}, "user": {investigatorName}})
		require.NotEmpty(t, page.Items)
		assert.Equal(t, map[string]string{"format": "csv", "rows": "1", "restricted_rows": "0", "include_actor": "true"}, page.Items[0].Detail)
		denied := w.auditEvents(t, w.tok[adminName], url.Values{"action": {"enforcement.export"}, "user": {vicName}})
		require.NotEmpty(t, denied.Items)
		assert.Equal(t, auth.OutcomeDenied, denied.Items[0].Outcome)
	})

	t.Run("a_case_moved_away_drops_out", func(t *testing.T) {
		// The decision document still says team fraud; the case is read
		// afresh and is spam's now.
		cur := w.getCase(t, leadName, w.acme.Key)
		res := w.as(t, leadName, req{method: http.MethodPatch, path: "/api/v1/cases/" + w.acme.Key, body: map[string]any{"team": "spam"},
			header: map[string]string{"If-Match": etag(int(cur.Version))}})
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		l := w.list(t, investigatorName, "")
		assert.Empty(t, l.Items)
	})
}

func TestEnforcementReport(t *testing.T) {
	w := newEnforcementWorld(t)
	type report struct {
		Total        cases.EnforcementCount   `json:"total"`
		ByAction     []cases.EnforcementCount `json:"by_action"`
		ByPolicyArea []cases.EnforcementCount `json:"by_policy_area"`
	}
	read := func(who, query string) report {
		res := w.get(t, "/api/v1/reports/enforcement"+query, w.tok[who])
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		var r report
		res.json(t, &r)
		return r
	}
	rate := func(f float64) *float64 { return &f }

	r := read(leoName, "")
	assert.Equal(t, cases.EnforcementCount{Key: "", Applied: 3, Reversed: 1, ReversalRate: rate(1.0 / 3)}, r.Total)
	assert.Equal(t, []cases.EnforcementCount{{Key: "warning", Applied: 2, Reversed: 1, ReversalRate: rate(0.5)},
		{Key: "content_removal", Applied: 1, Reversed: 0, ReversalRate: rate(0)}}, r.ByAction)
	assert.Equal(t, []cases.EnforcementCount{{Key: "fraud_scam", Applied: 2, Reversed: 1, ReversalRate: rate(0.5)},
		{Key: "spam", Applied: 1, Reversed: 0, ReversalRate: rate(0)}}, r.ByPolicyArea)
	assert.NotContains(t, string(w.get(t, "/api/v1/reports/enforcement", w.tok[leoName]).body), "CF-", "counts name no case")

	later := read(leadName, "?from="+url.QueryEscape(w.t0.Add(30*time.Minute).Format(time.RFC3339)))
	assert.Equal(t, 2, later.Total.Applied)
	assert.Equal(t, 0, later.Total.Reversed)

	rows := readCSV(t, w.get(t, "/api/v1/reports/enforcement?format=csv", w.tok[adminName]), "enforcement-report.csv")
	assert.Equal(t, [][]string{
		{"dimension", "key", "applied", "reversed", "reversal_rate"},
		{"total", "", "3", "1", "0.3333"},
		{"action", "warning", "2", "1", "0.5000"},
		{"action", "content_removal", "1", "0", "0.0000"},
		{"policy_area", "fraud_scam", "2", "1", "0.5000"},
		{"policy_area", "spam", "1", "0", "0.0000"},
	}, rows)

	for _, who := range []string{investigatorName, vicName} {
		requireProblem(t, w.get(t, "/api/v1/reports/enforcement", w.tok[who]), http.StatusForbidden, "forbidden")
	}
	p := requireProblem(t, w.get(t, "/api/v1/reports/enforcement?from=2026-03-02T10:00:00Z&to=2026-03-02T09:00:00Z", w.tok[leadName]),
		http.StatusBadRequest, "validation")
	assert.Equal(t, []string{"to"}, p.fields())
}
