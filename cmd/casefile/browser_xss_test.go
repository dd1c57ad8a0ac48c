package main

// (e) Stored XSS: records made through the API carry script in every
// free-text field; every page that shows them is opened in Chromium with
// the page's CSP bypassed (so that the escaping alone is tested, not the
// CSP behind it), and must neither run it nor grow its elements, and must
// show the text as text.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const (
	xssScript = `<script>window.__xss=1</script>`
	xssImg    = `<img src=x onerror="window.__xss=1">`
)

// xss is a field's payload: a label naming the field, then both attacks.
func xss(field string) string { return "zqxss " + field + " " + xssScript + " " + xssImg }

// xssCheck opens path and requires: no script ran, no element of the
// payload exists, no dialog opened, and each of plain (field labels) is
// shown with its payload as text (in the page's text or a form field's
// value). markdown names fields rendered from Markdown, whose raw HTML the
// sanitiser may drop: only their label must show.
func (p *tab) xssCheck(path string, plain []string, markdown ...string) {
	p.t.Helper()
	status := p.open(path)
	if status >= 400 {
		p.failf("%s answered %d:\n%s", path, status, clip(p.text(), 2000))
	}
	res := eval[map[string]any](p, `(() => ({
		ran: typeof window.__xss !== "undefined",
		imgs: document.querySelectorAll('img[src="x"], [onerror]').length,
		scripts: Array.from(document.scripts).filter(s => s.textContent.includes("__xss")).length,
		shown: document.body.innerText + "\n" + Array.from(document.querySelectorAll("input, textarea, select")).map(e => e.value).join("\n"),
	}))()`)
	if res["ran"] == true {
		p.failf("%s ran the injected script (window.__xss is set)", path)
	}
	if n, _ := res["imgs"].(float64); n > 0 {
		p.failf("%s has %v injected <img src=x>/onerror element(s)", path, n)
	}
	if n, _ := res["scripts"].(float64); n > 0 {
		p.failf("%s has %v injected <script> element(s)", path, n)
	}
	shown, _ := res["shown"].(string)
	for _, f := range plain {
		if !strings.Contains(shown, xss(f)) {
			p.failf("%s does not show the %s payload as text; want %q in:\n%s", path, f, xss(f), clip(shown, 4000))
		}
	}
	for _, f := range markdown {
		if !strings.Contains(shown, "zqxss "+f) {
			p.failf("%s does not show the %s section at all; want %q in:\n%s", path, f, "zqxss "+f, clip(shown, 4000))
		}
	}
	p.noDialogs()
}

// xssTab is a signed-in tab that ignores the pages' CSP.
func (e *browserEnv) xssTab(t *testing.T, u bUser) *tab {
	t.Helper()
	p := e.newTab(t, u.Username)
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		p.failf("bypass CSP: %v", err)
	}
	p.login(u)
	return p
}

func browserXSS(t *testing.T, e *browserEnv) {
	needPages(t, "case", "cases", "queue", "search", "approvals", "incident", "incidents", "postmortem_edit",
		"postmortem", "postmortems", "risk", "risks", "actor", "dashboard", "admin_users", "admin_user")

	// A case with every free-text field poisoned, assigned to ivy.
	actor := "m-xss-1"
	key := e.seedCase(t, "ivy", map[string]any{
		"title": xss("case-title"), "summary": xss("case-summary"),
		"actor": map[string]any{"actor_id": actor, "handle": "h" + "xss", "display_name": xss("actor-name"), "kind": "merchant"},
	})
	e.patchCase(t, "ivy", key, map[string]any{"findings": xss("case-findings"), "proposed_response": xss("case-response"),
		"mitigation_plan": xss("case-plan")})
	e.must(t, "ivy", http.MethodPost, "/cases/"+key+"/notes", map[string]any{"text": xss("case-note")})
	e.must(t, "ivy", http.MethodPost, "/cases/"+key+"/evidence", map[string]any{"kind": "listing", "description": xss("evidence-desc"),
		"ref": xss("evidence-ref")})
	e.moveCase(t, "ivy", key, "triage", "investigating")
	e.proposeEnforcement(t, "ivy", key, map[string]any{"action": "temporary_suspension", "duration": "30d", "policy_area": "fraud_scam",
		"reason": xss("enf-reason"), "justification": xss("enf-justification")})

	// An incident with its RCA, an action item and a published postmortem.
	inc := e.seedIncident(t, "ivy", map[string]any{"title": xss("inc-title"), "detection": xss("inc-detection"),
		"impact": map[string]any{"text": xss("inc-impact"), "affected_actors": 3, "exposure_count": 10, "regions": []string{"US"}}})
	e.putRCA(t, "ivy", inc, map[string]any{
		"problem_statement": xss("rca-problem"),
		"root_causes": []map[string]any{{"description": xss("rc-desc"), "category": "product", "subcategory": "model_quality",
			"five_whys": []string{xss("rc-why")}}},
		"contributing_factors": []string{xss("rca-factor")},
		"mitigation_gaps":      []map[string]any{{"mitigation": xss("gap-mitigation"), "why": xss("gap-why")}},
	})
	e.must(t, "ivy", http.MethodPost, "/incidents/"+inc+"/action-items", map[string]any{"title": xss("item-title"), "owner": "ivy",
		"kind": "prevent", "due": time.Now().UTC().Add(14 * 24 * time.Hour)})
	sections := []string{"summary", "impact", "detection", "response", "what_went_well", "what_went_wrong", "where_we_got_lucky", "lessons", "body"}
	content := map[string]any{"timeline": []map[string]any{{"at": time.Now().UTC().Add(-48 * time.Hour), "event": xss("pm-event")}}}
	for _, s := range sections {
		content[s] = xss("pm-" + s)
	}
	e.publishPostmortem(t, "ivy", "luke", inc, content)
	e.must(t, "ivy", http.MethodPost, "/incidents/"+inc+"/postmortem/comments", map[string]any{"text": xss("pm-comment")})

	// A risk.
	risk := e.seedRisk(t, "lena", map[string]any{"title": xss("risk-title"), "description": xss("risk-desc"),
		"policy_areas": []string{"fraud_scam"}, "owner": "lena", "discovery": "proactive"})

	// A user whose display name is the payload.
	e.must(t, "admin", http.MethodPost, "/users", map[string]any{"username": "xavier", "role": "investigator", "team": "fraud",
		"password": browserPassword, "display_name": xss("user-name")})

	ivy := e.xssTab(t, uIvy)
	ivy.xssCheck("/cases/"+key, []string{"case-title", "case-summary", "actor-name", "case-findings", "case-response", "case-plan", "case-note",
		"evidence-desc", "evidence-ref", "enf-reason", "enf-justification"})
	ivy.xssCheck("/cases", []string{"case-title"})
	ivy.xssCheck("/", []string{"case-title"})
	ivy.xssCheck("/search?q=zqxss", []string{"case-title"})
	ivy.xssCheck("/actors/"+actor, []string{"actor-name", "case-title"})
	ivy.xssCheck("/incidents/"+inc, []string{"inc-title", "inc-detection", "inc-impact", "rca-problem", "rc-desc", "rc-why",
		"rca-factor", "gap-mitigation", "gap-why", "item-title"})
	ivy.xssCheck("/incidents", []string{"inc-title"})
	ivy.xssCheck("/incidents/"+inc+"/postmortem", []string{"inc-title", "pm-summary", "pm-body", "pm-lessons", "pm-event", "pm-comment"})

	lena := e.xssTab(t, uLena)
	lena.xssCheck("/approvals", []string{"case-title", "enf-reason", "enf-justification"})
	lena.xssCheck("/risks/"+risk, []string{"risk-title", "risk-desc"})
	lena.xssCheck("/risks", []string{"risk-title"})
	lena.xssCheck("/search?q=zqxss", nil)

	ada := e.xssTab(t, uAda)
	ada.xssCheck("/admin/users", []string{"user-name"})
	ada.xssCheck("/admin/users/xavier", []string{"user-name"})

	leo := e.xssTab(t, uLeo)
	mdSections := make([]string, len(sections))
	for i, s := range sections {
		mdSections[i] = "pm-" + s
	}
	leo.xssCheck("/postmortems/"+inc, []string{"inc-title", "rc-desc", "pm-event", "item-title"}, mdSections...)
	leo.xssCheck("/postmortems", []string{"inc-title"})
	leo.xssCheck("/dashboard", nil)
	leo.xssCheck("/search?q=zqxss", nil)
}
