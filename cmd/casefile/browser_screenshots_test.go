package main

// (f) The screenshots in docs/screenshots: the queue, a case, a
// postmortem and the dashboard, at 1280×900, over realistic data.
// Run with CASEFILE_SCREENSHOTS=1 (never in CI):
//
//	CASEFILE_SCREENSHOTS=1 go test ./cmd/casefile -run TestBrowserScreenshots -count=1

import (
	"bytes"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// screenshotsDir is docs/screenshots of the repository (the tests run in
// cmd/casefile).
var screenshotsDir = filepath.Join("..", "..", "docs", "screenshots")

// uploadEvidence adds a file as evidence, as multipart, as user.
func (e *browserEnv) uploadEvidence(t *testing.T, user, key, kind, description, file string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	require.NoError(t, w.WriteField("kind", kind))
	require.NoError(t, w.WriteField("description", description))
	fw, err := w.CreateFormFile("file", filepath.Base(file))
	require.NoError(t, err)
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	_, err = fw.Write(raw)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	req, err := http.NewRequest(http.MethodPost, e.srv.base+"/api/v1/cases/"+key+"/evidence", &body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+e.tokens[user])
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", out)
}

// shoot saves the tab's page at path as docs/screenshots/name.png.
func (p *tab) shoot(path, name string) {
	p.t.Helper()
	if status := p.open(path); status >= 400 {
		p.failf("%s answered %d", path, status)
	}
	img := run1(p, "screenshot "+path, chromedp.CaptureScreenshot())
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil || cfg.Width != 1280 || cfg.Height != 900 {
		p.failf("the screenshot of %s is %dx%d (%v), want 1280x900", path, cfg.Width, cfg.Height, err)
	}
	out := filepath.Join(screenshotsDir, name+".png")
	if err := os.WriteFile(out, img, 0o644); err != nil {
		p.failf("write %s: %v", out, err)
	}
	p.t.Logf("wrote %s (%s)", out, path)
}

// viewport sets the tab's viewport to 1280×900 at scale 1.
func (p *tab) viewport() {
	p.t.Helper()
	p.do("set the viewport", chromedp.EmulateViewport(1280, 900))
}

func TestBrowserScreenshots(t *testing.T) {
	if os.Getenv("CASEFILE_SCREENSHOTS") != "1" {
		t.Skip("set CASEFILE_SCREENSHOTS=1 to write docs/screenshots/*.png")
	}
	needPages(t, "queue", "case", "postmortem", "dashboard")
	require.NoError(t, os.MkdirAll(screenshotsDir, 0o755))
	e := startBrowserEnv(t)
	now := time.Now().UTC()

	// Ivy's queue: open cases of several kinds and severities.
	main := e.seedCase(t, "ivy", map[string]any{
		"title":   "Refund scam ring selling phantom electronics",
		"summary": "Merchant takes payment for phones and consoles that never ship; 14 buyer reports in 6 days, all with the same tracking-number pattern.",
		"actor":   map[string]any{"actor_id": "m-48213", "handle": "bestdeals_outlet", "display_name": "Best Deals Outlet", "kind": "merchant", "region": "US"},
		"tags":    []string{"refunds", "electronics"},
	})
	for _, c := range []map[string]any{
		{"title": "Coordinated fake reviews on a supplement store", "severity": "sev3", "policy_areas": []string{"fake_engagement"},
			"actor": map[string]any{"actor_id": "m-77120", "handle": "vitalboost", "kind": "merchant", "region": "GB"}},
		{"title": "Impersonation of a verified creator", "severity": "sev2", "policy_areas": []string{"impersonation"},
			"actor": map[string]any{"actor_id": "u-90331", "handle": "real_jamie_k", "kind": "user", "region": "CA"}},
		{"title": "Spam comments linking to a crypto giveaway", "severity": "sev4", "policy_areas": []string{"spam"},
			"source_kind": "proactive", "source_channel": "automated_detection",
			"actor": map[string]any{"actor_id": "u-12087", "handle": "giveaway_official", "kind": "user", "region": "DE"}},
		{"title": "Harassment campaign against a streamer", "severity": "sev1", "policy_areas": []string{"harassment"},
			"actor": map[string]any{"actor_id": "u-55410", "handle": "nightowl_99", "kind": "user", "region": "US"}},
		{"title": "Counterfeit sneakers listed as authentic", "severity": "sev3", "policy_areas": []string{"fraud_scam"},
			"actor": map[string]any{"actor_id": "m-30019", "handle": "kicks_direct", "kind": "merchant", "region": "FR"}},
	} {
		k := e.seedCase(t, "ivy", c)
		e.moveCase(t, "ivy", k, "triage")
	}

	// The main case, worked: evidence, notes, an applied suspension.
	e.moveCase(t, "ivy", main, "triage", "investigating")
	e.uploadEvidence(t, "ivy", main, "listing", "Listing for a games console at 40% of retail, photos lifted from the manufacturer's site", writePNG(t, 320, 200))
	e.must(t, "ivy", http.MethodPost, "/cases/"+main+"/evidence", map[string]any{"kind": "message",
		"description": "Buyer chat: seller asks to move payment off-platform", "ref": "msg-2291-0042"})
	e.must(t, "ivy", http.MethodPost, "/cases/"+main+"/notes", map[string]any{"text": "Same shipping label template as CF-2026-118; asked payments for the refund ledger."})
	e.patchCase(t, "ivy", main, map[string]any{"findings": "Fourteen orders, none shipped; tracking numbers reused across orders. Payments confirm funds withdrawn within hours.",
		"verdict": "violation", "proposed_response": "30-day suspension while refunds are processed."})
	eid := e.proposeEnforcement(t, "ivy", main, map[string]any{"action": "temporary_suspension", "duration": "30d", "policy_area": "fraud_scam",
		"reason": "Operates a refund scam ring", "justification": "Organised, many victims in a week"})
	e.must(t, "lena", http.MethodPost, "/cases/"+main+"/enforcements/"+eid+"/approve", map[string]any{"reason": "Agreed: pattern is clear"})
	e.must(t, "ivy", http.MethodPost, "/cases/"+main+"/enforcements/"+eid+"/apply", nil)

	// Incidents with RCAs for the dashboard, one with a published postmortem.
	cats := []struct {
		title, cat, sub, desc string
		daysAgo               int
	}{
		{"Refund-scam wave missed by detection", "product", "model_quality", "The scam classifier threshold was raised in a deploy without a holdout evaluation", 20},
		{"Fake-review ring slipped past the spam model", "product", "model_quality", "The spam model was not retrained after the review form changed", 75},
		{"Review queue backlog over a holiday weekend", "process", "capacity", "No surge staffing plan for holiday weekends", 50},
		{"Vendor agents applied the wrong strike ladder", "process", "training_gap", "New vendor agents were not trained on the 2026 ladder", 45},
		{"Appeals tool outage delayed reinstatements", "product", "infrastructure", "The appeals service ran out of database connections", 12},
		{"Conflicting guidance on resale listings", "policy", "conflicting_guidance", "Two policy pages disagreed on authenticity proof for resale", 80},
		{"Weekend reports routed to an unstaffed queue", "process", "capacity", "Routing sent weekend reports to a weekday-only queue", 8},
	}
	var pmKey string
	for i, c := range cats {
		day := now.Add(-time.Duration(c.daysAgo) * 24 * time.Hour).Truncate(time.Hour)
		k := e.seedIncident(t, "ivy", map[string]any{"title": c.title, "started_at": day, "detected_at": day.Add(26 * time.Hour),
			"mitigated_at": day.Add(30 * time.Hour), "resolved_at": day.Add(50 * time.Hour)})
		e.putRCA(t, "ivy", k, map[string]any{"problem_statement": c.title,
			"root_causes": []map[string]any{{"description": c.desc, "category": c.cat, "subcategory": c.sub}}})
		e.must(t, "ivy", http.MethodPost, "/incidents/"+k+"/action-items", map[string]any{"title": "Fix: " + c.desc, "owner": "ivy",
			"kind": "prevent", "due": now.Add(time.Duration(i*7-7) * 24 * time.Hour)})
		if i == 0 {
			pmKey = k
		}
	}
	e.publishPostmortem(t, "ivy", "luke", pmKey, map[string]any{
		"summary":            "For 26 hours a refund-scam wave went undetected after a classifier threshold change; 240 buyers lost money before manual reports were triaged.",
		"impact":             "240 buyers affected, about 18,000 exposures to fraudulent listings, all in the US marketplace.",
		"detection":          "Detected by a spike in buyer reports, not by the classifier.",
		"response":           "The threshold was rolled back, 31 merchants suspended, and refunds issued from the buyer-protection fund.",
		"what_went_well":     "Refunds went out within two days.",
		"what_went_wrong":    "The threshold change shipped without a holdout evaluation.",
		"where_we_got_lucky": "A journalist's report came after the rollback, not before.",
		"lessons":            "Evaluate every threshold change against a holdout set before it ships.",
		"timeline": []map[string]any{
			{"at": now.Add(-20 * 24 * time.Hour), "event": "Threshold change deployed"},
			{"at": now.Add(-19 * 24 * time.Hour), "event": "Buyer reports spike; on-call paged"},
			{"at": now.Add(-19*24*time.Hour + 4*time.Hour), "event": "Threshold rolled back"},
		},
	})

	ivy := e.newTab(t, "ivy")
	ivy.viewport()
	ivy.login(uIvy)
	ivy.shoot("/", "queue")
	ivy.shoot("/cases/"+main, "case")

	leo := e.newTab(t, "leo")
	leo.viewport()
	leo.login(uLeo)
	leo.shoot("/postmortems/"+pmKey, "postmortem")
	leo.shoot("/dashboard", "dashboard")
}
