package main

// The browser flows: (b) a case from filing to actioned, (c) an incident,
// its RCA and its postmortem from draft to published, (d) leadership
// reading it and refused the case, (e) stored XSS on every page that
// shows free text.

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// templatesDir holds the page templates (the tests run in cmd/casefile).
const templatesDir = "../../web/ui/templates/pages"

// needPages skips the test while a page's template is not written yet.
// Once it exists, every failure is a failure.
func needPages(t *testing.T, names ...string) {
	t.Helper()
	var missing []string
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(templatesDir, n+".html")); err != nil {
			missing = append(missing, n+".html")
		}
	}
	if len(missing) > 0 {
		t.Skipf("waiting for page template(s) %s", strings.Join(missing, ", "))
	}
}

// clickSubmit clicks the button (CSS), waits for the next page and
// requires it to be a success (below 400).
func (p *tab) clickSubmit(what, css string) {
	p.t.Helper()
	status := p.submit(what, chromedp.ScrollIntoView(chromedp.CSS(css)), chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
	if status >= 400 {
		p.failf("%s: the server answered %d: %s", what, status, clip(p.text(), 3000))
	}
}

// flash is the one-time message at the top of the page ("" if none).
func (p *tab) flash() string {
	p.t.Helper()
	return eval[string](p, `(document.querySelector(".flash") || {}).innerText || ""`)
}

// requireFlash fails unless the page's one-time message contains want.
func (p *tab) requireFlash(want string) {
	p.t.Helper()
	if f := p.flash(); !strings.Contains(strings.ToLower(f), strings.ToLower(want)) {
		p.failf("the message is %q, want it to mention %q; the page shows:\n%s", f, want, clip(p.text(), 3000))
	}
}

// choose picks value in the form control named name: a select (single
// or multiple), a radio button or a checkbox. scope is a CSS selector
// for the form ("" for the whole page).
func (p *tab) choose(scope, name, value string) {
	p.t.Helper()
	ok := eval[string](p, fmt.Sprintf(`(() => {
		const root = %s ? document.querySelector(%s) : document;
		if (!root) return "no form";
		const els = root.querySelectorAll('[name="' + CSS.escape(%s) + '"]');
		if (els.length === 0) return "no field";
		for (const el of els) {
			if (el.tagName === "SELECT") {
				const opt = Array.from(el.options).find(o => o.value === %s);
				if (!opt) return "no option " + %s + " in " + Array.from(el.options).map(o => o.value).join(",");
				opt.selected = true;
				el.dispatchEvent(new Event("change", {bubbles: true}));
				return "ok";
			}
			if ((el.type === "checkbox" || el.type === "radio") && el.value === %s) {
				el.checked = true;
				el.dispatchEvent(new Event("change", {bubbles: true}));
				return "ok";
			}
		}
		return "no control with value " + %s;
	})()`, jsString(scope), jsString(scope), jsString(name), jsString(value), jsString(value), jsString(value), jsString(value)))
	if ok != "ok" {
		p.failf("choose %s=%s in %q: %s", name, value, scope, ok)
	}
}

// fillIfPresent fills a field when the page has it.
func (p *tab) fillIfPresent(css, value string) {
	p.t.Helper()
	if p.has(css) {
		p.fill(css, value)
	}
}

// openDetails opens the <details> that holds the selector, as a click on
// its summary would.
func (p *tab) openDetails(css string) {
	p.t.Helper()
	ok := eval[bool](p, fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		if (!el) return false;
		const d = el.closest("details");
		if (d && !d.open) d.querySelector("summary").click();
		return true;
	})()`, jsString(css)))
	if !ok {
		p.failf("no %s on the page", css)
	}
}

var caseKeyPath = regexp.MustCompile(`^/cases/(CF-\d{4}-\d+)`)
var incKeyPath = regexp.MustCompile(`^/incidents/(INC-\d{4}-\d+)`)

// (b) An investigator files a case with evidence, proposes a suspension;
// a lead approves in another browser; the investigator applies it and
// moves the case to actioned; the case is found on /search.
func browserCaseFlow(t *testing.T, e *browserEnv) {
	needPages(t, "case_new", "case", "approvals", "search")
	word := "zqbrowsercase"
	ivy := e.newTab(t, "ivy")
	ivy.login(uIvy)

	// File.
	ivy.open("/cases/new")
	form := `form[action="/cases/new"]`
	ivy.fill(form+` [name="title"]`, "Refund scam ring "+word)
	ivy.fill(form+` [name="summary"]`, "Takes payment for listings it never ships; several buyers reported it.")
	ivy.fill(form+` [name="actor_id"]`, "m-browser-1")
	ivy.fillIfPresent(form+` [name="actor_handle"]`, "bestdeals")
	if ivy.has(form + ` [name="actor_kind"]`) {
		ivy.choose(form, "actor_kind", "merchant")
	}
	ivy.choose(form, "policy_areas", "fraud_scam")
	ivy.choose(form, "severity", "sev2")
	if ivy.has(form + ` [name="source_kind"]`) {
		ivy.choose(form, "source_kind", "reactive")
	}
	ivy.choose(form, "source_channel", "user_report")
	ivy.fillIfPresent(form+` [name="team"]`, "fraud")
	ivy.fillIfPresent(form+` [name="assignee"]`, "ivy")
	ivy.clickSubmit("file the case", form+` button[type="submit"]`)
	m := caseKeyPath.FindStringSubmatch(ivy.path())
	if m == nil {
		ivy.failf("after filing: %s, want /cases/{key}; the page shows:\n%s", ivy.path(), clip(ivy.text(), 3000))
	}
	key := m[1]
	ivy.requireFlash(key)
	ivy.requireText("Refund scam ring "+word, "m-browser-1")

	// Evidence with a screenshot.
	pngPath := writePNG(t, 64, 48)
	evForm := fmt.Sprintf(`form[action="/cases/%s/evidence"]`, key)
	ivy.openDetails(evForm)
	ivy.choose(evForm, "kind", "listing")
	ivy.fill("#ev-description", "Listing with stolen product photos")
	ivy.do("attach the PNG", chromedp.SetUploadFiles(chromedp.CSS("#ev-file"), []string{pngPath}))
	ivy.clickSubmit("add evidence", evForm+` button[type="submit"]`)
	ivy.requireFlash("Evidence #1 added")
	ivy.requireText("Listing with stolen product photos", filepath.Base(pngPath))
	// The image is served back (veiled until revealed) and decodes.
	if ivy.has(`button[data-reveal]`) {
		ivy.do("reveal the evidence", chromedp.Click(chromedp.CSS(`button[data-reveal]`), chromedp.NodeVisible))
	}
	img := fmt.Sprintf(`img[src="/cases/%s/evidence/1/file"]`, key)
	run1(ivy, "wait for the evidence image", chromedp.Poll[bool](fmt.Sprintf(
		`(() => { const i = document.querySelector(%s); return !!i && i.complete && i.naturalWidth === 64; })()`, jsString(img)),
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0)))

	// Work it: triage, investigate.
	move := func(p *tab, to string) {
		p.t.Helper()
		p.clickSubmit("move the case to "+to, fmt.Sprintf(`form[action="/cases/%s/transition"] button[name="to"][value="%s"]`, key, to))
		p.requireFlash(strings.ReplaceAll(to, "_", " "))
	}
	move(ivy, "triage")
	move(ivy, "investigating")

	// Propose a 30-day suspension (not what the ladder says for a first
	// strike, so it needs a justification).
	propose := fmt.Sprintf(`form[action="/cases/%s/enforcements"]`, key)
	ivy.openDetails(propose)
	ivy.choose(propose, "action", "temporary_suspension")
	ivy.choose(propose, "policy_area", "fraud_scam")
	ivy.fill("#p-duration", "30d")
	ivy.fill("#p-reason", "Operates a refund scam ring "+word)
	ivy.fill("#p-justification", "Organised, many victims in a week")
	ivy.clickSubmit("propose a suspension", propose+` button[type="submit"]`)
	ivy.requireText("Temporary suspension", "Proposed")

	// A lead, in a browser of her own, approves it from her approvals.
	lena := e.newTab(t, "lena")
	lena.login(uLena)
	lena.open("/approvals")
	lena.requireText(key, "Operates a refund scam ring "+word)
	approve := fmt.Sprintf(`form[action^="/approvals/%s/"][action$="/approve"] button[type="submit"]:not([formaction])`, key)
	lena.clickSubmit("approve the suspension", approve)
	lena.requireFlash("approved")
	lena.open("/approvals")
	lena.requireNoText("Operates a refund scam ring " + word)

	// The investigator applies it and moves the case on.
	ivy.open("/cases/" + key)
	ivy.requireText("Approved")
	ivy.clickSubmit("apply the suspension", `#enforcement button[name="step"][value="apply"]`)
	ivy.requireFlash("applied")
	move(ivy, "pending_review")
	move(ivy, "actioned")
	if got := ivy.textOf("#workflow strong"); !strings.EqualFold(got, "Actioned") {
		ivy.failf("the workflow shows status %q, want Actioned", got)
	}

	// Found through the search page.
	ivy.open("/search")
	ivy.fill("#q", word)
	ivy.clickSubmit("search", `form[role="search"] button[type="submit"]`)
	hit := fmt.Sprintf(`.insight-hitlist a[href="/cases/%s"]`, key)
	if !ivy.has(hit) {
		ivy.failf("the search for %q does not link %s:\n%s", word, key, clip(ivy.text(), 3000))
	}
	ivy.submit("open the hit", chromedp.Click(chromedp.CSS(hit), chromedp.NodeVisible))
	if ivy.path() != "/cases/"+key {
		ivy.failf("the hit opened %s", ivy.path())
	}
	ivy.noDialogs()
	lena.noDialogs()
}

// (c) An investigator files an incident, records its RCA (a root cause
// with a category) and drafts the postmortem; it is submitted, and a lead
// approves and publishes it.
func browserIncidentFlow(t *testing.T, e *browserEnv) {
	needPages(t, "incident_new", "incident", "postmortem_edit", "postmortem")
	word := "zqbrowserinc"
	ivy := e.newTab(t, "ivy")
	ivy.login(uIvy)

	ivy.open("/incidents/new")
	form := `form[action="/incidents/new"]`
	if ivy.has(form + ` [name="kind"]`) {
		ivy.choose(form, "kind", "incident")
	}
	ivy.fill("#title", "Refund-scam wave missed by detection "+word)
	ivy.choose(form, "severity", "sev1")
	ivy.choose(form, "status", "resolved")
	ivy.fill("#started_at", "2026-11-02T08:00")
	ivy.fill("#detected_at", "2026-11-03T10:00")
	ivy.fill("#mitigated_at", "2026-11-03T12:00")
	ivy.fill("#resolved_at", "2026-11-04T09:00")
	ivy.fill("#impact_text", "Buyers lost money to fake listings")
	ivy.fillIfPresent("#affected_actors", "240")
	ivy.fillIfPresent("#regions", "US")
	ivy.clickSubmit("file the incident", form+` button[type="submit"]`)
	m := incKeyPath.FindStringSubmatch(ivy.path())
	if m == nil {
		ivy.failf("after filing: %s, want /incidents/{key}; the page shows:\n%s", ivy.path(), clip(ivy.text(), 3000))
	}
	key := m[1]
	ivy.requireText(key, "Refund-scam wave missed by detection "+word)

	// The RCA: one root cause, with a category and subcategory chosen.
	rcaForm := fmt.Sprintf(`form[action="/incidents/%s/rca"]`, key)
	ivy.fill("#problem_statement", "A refund-scam wave ran for a day before anyone noticed")
	ivy.fill("#rc-0-d", "The scam classifier threshold was raised in a deploy without a holdout evaluation")
	ivy.choose(rcaForm, "rc.0.category", "product")
	ivy.choose(rcaForm, "rc.0.subcategory", "model_quality")
	ivy.clickSubmit("save the RCA", rcaForm+` button[name="action"][value="save"]`)
	if v := run1(ivy, "saved root cause", chromedp.Value(chromedp.CSS("#rc-0-d"))); !strings.Contains(v, "holdout evaluation") {
		ivy.failf("the saved RCA shows root cause %q", v)
	}
	if v := run1(ivy, "saved category", chromedp.Value(chromedp.CSS("#rc-0-c"))); v != "product" {
		ivy.failf("the saved RCA shows category %q, want product", v)
	}

	// The postmortem: draft, save, submit.
	ivy.open("/incidents/" + key + "/postmortem")
	pmForm := fmt.Sprintf(`form[action="/incidents/%s/postmortem"]`, key)
	ivy.fill("#pm-summary", "Detection missed a refund-scam wave for 26 hours "+word+".")
	ivy.fillIfPresent("#pm-impact", "240 buyers lost money.")
	ivy.fillIfPresent("#pm-lessons", "Evaluate thresholds before shipping.")
	ivy.fillIfPresent("#pm-body", "## Details\n\n**Root cause**: a threshold change shipped without evaluation.")
	ivy.clickSubmit("save the draft", pmForm+` button[name="action"][value="save"]`)
	ivy.requireText("Draft")
	ivy.clickSubmit("submit for review", fmt.Sprintf(`form[action="/incidents/%s/postmortem/submit"] button`, key))
	ivy.requireText("In review")
	if ivy.has(fmt.Sprintf(`form[action="/incidents/%s/postmortem/approve"]`, key)) {
		ivy.failf("the author is offered to approve her own postmortem")
	}

	// A lead who did not write it approves and publishes it.
	luke := e.newTab(t, "luke")
	luke.login(uLuke)
	luke.open("/approvals")
	luke.requireText(key)
	luke.open("/incidents/" + key + "/postmortem")
	luke.clickSubmit("approve the postmortem", fmt.Sprintf(`form[action="/incidents/%s/postmortem/approve"] button`, key))
	luke.requireText("Approved")
	luke.clickSubmit("publish the postmortem", fmt.Sprintf(`form[action="/incidents/%s/postmortem/publish"] button`, key))
	luke.requireText("Published")
	luke.open("/postmortems/" + key)
	luke.requireText("Detection missed a refund-scam wave for 26 hours "+word, "holdout evaluation")
	ivy.noDialogs()
	luke.noDialogs()
}

// (d) Leadership reads a published postmortem and is refused case pages.
func browserLeadershipFlow(t *testing.T, e *browserEnv) {
	needPages(t, "postmortem", "postmortems")
	word := "zqbrowserleo"
	caseKey := e.seedCase(t, "ivy", map[string]any{"title": "Confidential actor case " + word})
	inc := e.seedIncident(t, "ivy", map[string]any{"title": "Fake-engagement burst " + word})
	e.putRCA(t, "ivy", inc, map[string]any{
		"problem_statement": "Purchased likes inflated rankings for a day",
		"root_causes":       []map[string]any{{"description": "Rate limits on likes were off after a migration", "category": "product", "subcategory": "model_quality"}},
	})
	e.publishPostmortem(t, "ivy", "luke", inc, map[string]any{
		"summary": "Purchased likes inflated rankings for a day " + word + ".", "lessons": "Check rate limits after migrations.",
	})

	leo := e.newTab(t, "leo")
	leo.login(uLeo)
	leo.open("/postmortems")
	leo.requireText(inc)
	leo.open("/postmortems/" + inc)
	leo.requireText("Fake-engagement burst "+word, "Purchased likes inflated rankings for a day "+word, "Rate limits on likes were off after a migration")

	status := leo.open("/cases/" + caseKey)
	if status != http.StatusNotFound && status != http.StatusForbidden {
		leo.failf("leadership opened /cases/%s with %d, want 404 or 403", caseKey, status)
	}
	leo.requireNoText("Confidential actor case " + word)
	if leo.has(".case-head") {
		leo.failf("leadership sees the case page")
	}
	// Nor the case list.
	if status := leo.open("/cases"); status < 400 {
		leo.requireNoText("Confidential actor case " + word)
	}
	leo.noDialogs()
}

// A vendor agent sees their vendor's cases only, and no postmortems.
func browserVendorScope(t *testing.T, e *browserEnv) {
	needPages(t, "cases", "case")
	word := "zqbrowservendor"
	own := e.seedCase(t, "lena", map[string]any{"title": "Acme queue case " + word, "team": "", "vendor": "acme", "assignee": ""})
	other := e.seedCase(t, "ivy", map[string]any{"title": "Fraud team case " + word})

	vic := e.newTab(t, "vic")
	vic.login(uVic)
	vic.open("/cases")
	vic.requireText("Acme queue case " + word)
	vic.requireNoText("Fraud team case " + word)
	if status := vic.open("/cases/" + own); status != http.StatusOK {
		vic.failf("the vendor agent opened their vendor's case with %d", status)
	}
	vic.requireText("Acme queue case " + word)
	if status := vic.open("/cases/" + other); status != http.StatusNotFound && status != http.StatusForbidden {
		vic.failf("the vendor agent opened another team's case with %d, want 404 or 403", status)
	}
	vic.requireNoText("Fraud team case " + word)
	if vic.has(`header nav a[href="/postmortems"]`) {
		vic.failf("the vendor agent's menu offers postmortems")
	}
	if status := vic.open("/postmortems"); status < 400 {
		vic.failf("the vendor agent opened /postmortems with %d", status)
	}
	vic.noDialogs()
}
