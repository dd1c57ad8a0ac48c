package web_test

import (
	"net/url"
	"strconv"
)

// The expectations of the sweep, by route, as expect{anonymous, admin,
// lead, investigator, vendor_agent, leadership}. The rules (API.md,
// DOMAIN.md, auth.Can):
//   - anonymous: 401 on the API and on page posts, 303 to /login on page
//     reads;
//   - an object the caller may not see: 404, never 403, and the answer
//     names no hidden case;
//   - a route the role may not use at all: 403 (a role gate before any
//     object is looked up, so it says nothing about the object);
//   - miss: the role reaches every object of the route, so the sweep asks
//     for one that does not exist (404); skip: the role may use the route
//     and it would change something, with no object it may not reach.
//
// Each caller's targets are objects it may not reach (sweepSetup): ivy
// (fraud) gets the spam/other case and the restricted case, otto (spam)
// the fraud/acme case and the restricted one, vic (acme) the spam/other
// case and the restricted one, vera (other) the fraud/acme case and the
// restricted one, leo (leadership) the fraud/acme case; everyone gets the
// incident whose postmortem is an unpublished draft and, where the route
// names one, the risk, the QA item, the calibration set of another
// vendor, another vendor's scorecard and another user (ada).
//
// A role that may see no object of a kind gets 404 from the API's
// single-object routes of that kind, as for an object that does not exist
// (the established answer: ui_cases_test.go, incidents_http_test.go), and
// 403 from the kind's collection routes: leadership and cases, vendor
// agents and incidents. The incident pages refuse vendor agents and
// leadership with 403 at their gate (incEditors), before any lookup.
var sweepTable = map[string]sweepEntry{
	// --- outside the API: no session at all ---
	"GET /healthz": {want: expect{200, 200, 200, 200, 200, 200}},
	"GET /readyz":  {want: expect{200, 200, 200, 200, 200, 200}},
	"GET /metrics": {want: expect{200, 200, 200, 200, 200, 200}},
	// The OpenAPI document is public.
	"GET /api/openapi.json": {want: expect{200, 200, 200, 200, 200, 200}},

	// --- sign-in: public, so the role does not matter: the anonymous
	// caller sends a bad credential and is refused ---
	"POST /api/v1/auth/login":   {want: expect{401, skip, skip, skip, skip, skip}, body: jsonBody(map[string]any{"username": "sweep-nobody", "password": "not the password"})},
	"POST /api/v1/auth/refresh": {want: expect{401, skip, skip, skip, skip, skip}, body: jsonBody(map[string]any{"refresh_token": "not-a-token"})},
	// Logging out ends the caller's own session: nothing to refuse.
	"POST /api/v1/auth/logout": {want: expect{401, skip, skip, skip, skip, skip}},
	"GET /api/v1/me":           {want: expect{401, 200, 200, 200, 200, 200}},

	// --- users, taxonomy, audit: admin only (non-admins get 403 for any
	// username, existing or not, so that they cannot probe names) ---
	"GET /api/v1/users":           {want: expect{401, 200, 403, 403, 403, 403}},
	"POST /api/v1/users":          {want: expect{401, skip, 403, 403, 403, 403}, body: jsonBody(map[string]any{"username": "mallory", "role": "admin", "password": "a long enough password"})},
	"GET /api/v1/users/:username": {want: expect{401, miss, 403, 403, 403, 403}},
	"PATCH /api/v1/users/:username": {want: expect{401, miss, 403, 403, 403, 403}, match: "user",
		body: jsonBody(map[string]any{"disabled": true})},
	"GET /api/v1/taxonomy":     {want: expect{401, 200, 200, 200, 200, 200}},
	"PUT /api/v1/taxonomy":     {want: expect{401, skip, 403, 403, 403, 403}, match: "taxonomy"},
	"GET /api/v1/audit":        {want: expect{401, 200, 403, 403, 403, 403}},
	"GET /api/v1/audit/verify": {want: expect{401, 200, 403, 403, 403, 403}},

	// --- webhooks: admin only; fillPath names a webhook that does not
	// exist, which only an admin gets as far as looking up ---
	"GET /api/v1/webhooks": {want: expect{401, 200, 403, 403, 403, 403}},
	"POST /api/v1/webhooks": {want: expect{401, skip, 403, 403, 403, 403},
		body: jsonBody(map[string]any{"url": "https://hooks.example.com/sweep", "events": []string{"case.created"}, "secret": "sweep-secret-0123456789"})},
	"DELETE /api/v1/webhooks/:id":         {want: expect{401, miss, 403, 403, 403, 403}},
	"GET /api/v1/webhooks/:id/deliveries": {want: expect{401, miss, 403, 403, 403, 403}},

	// --- actors: investigators read any actor's profile (it lists only
	// the cases they may see); a vendor agent only through its cases ---
	"GET /api/v1/actors/:actor_id": {want: expect{401, 200, 200, 200, 404, 404}},

	// --- cases ---
	"POST /api/v1/cases":    {want: expect{401, skip, skip, skip, 403, 403}, body: jsonBody(newCase("sweep-new-actor", "", "fraud", ""))},
	"GET /api/v1/cases":     {want: expect{401, 200, 200, 200, 200, 403}, query: "?limit=200"},
	"GET /api/v1/cases/:id": {want: expect{401, 200, 200, 404, 404, 404}},
	// The exports read the case as GET does.
	"GET /api/v1/cases/:id.md":  {want: expect{401, 200, 200, 404, 404, 404}},
	"GET /api/v1/cases/:id.pdf": {want: expect{401, 200, 200, 404, 404, 404}},
	"PATCH /api/v1/cases/:id": {want: expect{401, miss, miss, 404, 404, 404}, match: "case",
		body: jsonBody(map[string]any{"summary": "probe"})},
	"POST /api/v1/cases/:id/transitions": {want: expect{401, miss, miss, 404, 404, 404}, body: jsonBody(map[string]any{"to": "triage", "reason": "probe"})},
	"POST /api/v1/cases/:id/notes":       {want: expect{401, miss, miss, 404, 404, 404}, body: jsonBody(map[string]any{"text": "probe"})},
	"GET /api/v1/cases/:id/timeline":     {want: expect{401, 200, 200, 404, 404, 404}},
	"POST /api/v1/cases/:id/evidence": {want: expect{401, miss, miss, 404, 404, 404},
		body: jsonBody(map[string]any{"kind": "comment", "ref": "c-1", "description": "probe"})},
	"GET /api/v1/cases/:id/evidence/:n/file":           {want: expect{401, 200, 200, 404, 404, 404}},
	"GET /api/v1/cases/:id/enforcement/recommendation": {want: expect{401, 200, 200, 404, 404, 404}},
	"POST /api/v1/cases/:id/enforcements": {want: expect{401, miss, miss, 404, 404, 404},
		body: jsonBody(map[string]any{"action": "warning", "reason": "probe"})},
	"POST /api/v1/cases/:id/enforcements/:eid/approve": {want: expect{401, miss, miss, 404, 404, 404}, body: jsonBody(map[string]any{"reason": "probe"})},
	"POST /api/v1/cases/:id/enforcements/:eid/reject":  {want: expect{401, miss, miss, 404, 404, 404}, body: jsonBody(map[string]any{"reason": "probe"})},
	"POST /api/v1/cases/:id/enforcements/:eid/apply":   {want: expect{401, miss, miss, 404, 404, 404}, body: jsonBody(map[string]any{"reason": "probe"})},
	"POST /api/v1/cases/:id/enforcements/:eid/reverse": {want: expect{401, miss, miss, 404, 404, 404}, body: jsonBody(map[string]any{"reason": "probe"})},
	"GET /api/v1/cases/:id/similar":                    {want: expect{401, 200, 200, 404, 404, 404}},
	"GET /api/v1/cases/:id/qa":                         {want: expect{401, 200, 200, 404, 404, 404}},
	// The risk routes of a case: riskGate refuses vendor agents first.
	"GET /api/v1/cases/:id/risks":  {want: expect{401, 200, 200, 404, 403, 404}},
	"POST /api/v1/cases/:id/risks": {want: expect{401, miss, miss, 404, 403, 403}, body: func(tg sweepTarget) any { return map[string]any{"risk_id": tg.Risk} }},

	// --- incidents, RCAs, postmortems: investigators work on every
	// incident (miss); vendor agents on none (403); leadership reads
	// incidents and published postmortems only ---
	"POST /api/v1/incidents": {want: expect{401, skip, skip, skip, 403, 403}, body: jsonBody(map[string]any{
		"title": "Sweep", "severity": "sev3", "started_at": "2026-03-01T09:00:00Z", "detection": "reports"})},
	"GET /api/v1/incidents":     {want: expect{401, 200, 200, 200, 403, 200}},
	"GET /api/v1/incidents/:id": {want: expect{401, 200, 200, 200, 404, 200}},
	"PATCH /api/v1/incidents/:id": {want: expect{401, miss, miss, miss, 404, 403}, match: "incident",
		body: jsonBody(map[string]any{"title": "probe"})},
	"PUT /api/v1/incidents/:id/rca": {want: expect{401, miss, miss, miss, 404, 403}, match: "incident",
		body: jsonBody(rcaBody(rootCause("probe", "product", "bug")))},
	"POST /api/v1/incidents/:id/action-items": {want: expect{401, miss, miss, miss, 404, 403},
		body: jsonBody(map[string]any{"title": "probe", "owner": investigatorName, "kind": "prevent"})},
	"PATCH /api/v1/incidents/:id/action-items/:n": {want: expect{401, miss, miss, miss, 404, 403}, match: "incident",
		body: jsonBody(map[string]any{"status": "done"})},
	// The working postmortem is hidden from leadership until published.
	"GET /api/v1/incidents/:id/postmortem": {want: expect{401, 200, 200, 200, 404, 404}},
	"PUT /api/v1/incidents/:id/postmortem": {want: expect{401, miss, miss, miss, 404, 403}, match: "pm",
		body: jsonBody(map[string]any{"summary": "probe"})},
	"POST /api/v1/incidents/:id/postmortem/submit":   {want: expect{401, miss, miss, miss, 404, 404}},
	"POST /api/v1/incidents/:id/postmortem/approve":  {want: expect{401, miss, miss, miss, 404, 404}},
	"POST /api/v1/incidents/:id/postmortem/publish":  {want: expect{401, miss, miss, miss, 404, 404}},
	"POST /api/v1/incidents/:id/postmortem/comments": {want: expect{401, miss, miss, miss, 404, 404}, body: jsonBody(map[string]any{"text": "probe"})},
	// Leadership reads incidents' summaries, not the full incident the
	// similarity search starts from: hidden, 404.
	"GET /api/v1/incidents/:id/similar": {want: expect{401, 200, 200, 200, 404, 404}},
	"POST /api/v1/rca/classify":         {want: expect{401, 200, 200, 200, 403, 403}, body: jsonBody(map[string]any{"text": "a bug in the queue"})},
	// Classifier statistics are a report: leadership reads them.
	"GET /api/v1/rca/classifier": {want: expect{401, 200, 200, 200, 403, 200}},
	// The published reading: the draft is no published postmortem.
	"GET /api/v1/postmortems":         {want: expect{401, 200, 200, 200, 403, 200}},
	"GET /api/v1/postmortems/:id":     {want: expect{401, 404, 404, 404, 404, 404}},
	"GET /api/v1/reports/root-causes": {want: expect{401, 200, 200, 403, 403, 200}},
	// The exports of the published reading: the draft is not one.
	"GET /api/v1/postmortems/:id.md":  {want: expect{401, 404, 404, 404, 404, 404}},
	"GET /api/v1/postmortems/:id.pdf": {want: expect{401, 404, 404, 404, 404, 404}},
	// Transparency: rows of the cases the caller may read only (the leak
	// check reads the CSV); leadership reads the counts, never case keys.
	"GET /api/v1/enforcements":        {want: expect{401, 200, 200, 200, 200, 403}, query: "?format=csv"},
	"GET /api/v1/reports/enforcement": {want: expect{401, 200, 200, 403, 403, 200}},

	// --- risk register: riskGate refuses vendor agents before anything;
	// leadership reads but edits nothing; the risk is linked to all three
	// target cases, so its reads must not name the hidden ones ---
	"POST /api/v1/risks":    {want: expect{401, skip, skip, skip, 403, 403}, body: jsonBody(newRisk("Sweep"))},
	"GET /api/v1/risks":     {want: expect{401, 200, 200, 200, 403, 200}},
	"GET /api/v1/risks/:id": {want: expect{401, 200, 200, 200, 403, 200}},
	"PATCH /api/v1/risks/:id": {want: expect{401, miss, miss, miss, 403, 403}, match: "risk",
		body: jsonBody(map[string]any{"title": "probe"})},
	// Linking or unlinking a case the caller may not see: 404.
	"POST /api/v1/risks/:id/links":                       {want: expect{401, miss, miss, 404, 403, 403}, body: func(tg sweepTarget) any { return map[string]any{"case_id": tg.Case} }},
	"DELETE /api/v1/risks/:id/links/cases/:case":         {want: expect{401, miss, miss, 404, 403, 403}},
	"DELETE /api/v1/risks/:id/links/incidents/:incident": {want: expect{401, miss, miss, miss, 403, 403}},
	"POST /api/v1/risks/:id/changes": {want: expect{401, miss, miss, miss, 403, 403},
		body: jsonBody(map[string]any{"title": "probe", "owner": investigatorName, "category": "product"})},
	"PATCH /api/v1/risks/:id/changes/:n": {want: expect{401, miss, miss, miss, 403, 403}, match: "risk",
		body: jsonBody(map[string]any{"status": "done"})},
	"POST /api/v1/risks/:id/rca": {want: expect{401, miss, miss, miss, 403, 403}},

	// --- quality ---
	"GET /api/v1/qa/rules": {want: expect{401, 200, 200, 403, 403, 403}},
	"PUT /api/v1/qa/rules": {want: expect{401, skip, skip, 403, 403, 403}, match: "rules",
		body: jsonBody(map[string]any{"seed": "sweep", "alert_drop": 0.2, "alert_min_reviews": 5, "rules": []map[string]any{{"id": "all", "rate": 1}}})},
	"GET /api/v1/qa/queue":     {want: expect{401, 200, 200, 403, 403, 403}},
	"GET /api/v1/qa/queue/:id": {want: expect{401, 200, 200, 403, 403, 403}},
	"POST /api/v1/qa/reviews": {want: expect{401, miss, miss, 403, 403, 403},
		body: func(tg sweepTarget) any { return map[string]any{"decision_id": tg.QA, "verdict": "agree"} }},
	"POST /api/v1/qa/reviews/:id/correction": {want: expect{401, miss, miss, 403, 403, 403},
		body: jsonBody(map[string]any{"kind": "reverse", "reason": "probe"})},
	"GET /api/v1/qa/feedback":         {want: expect{401, 200, 200, 200, 200, 200}},
	"GET /api/v1/qa/calibration-sets": {want: expect{401, 200, 200, 200, 200, 200}},
	"POST /api/v1/qa/calibration-sets": {want: expect{401, skip, skip, 403, 403, 403},
		body: func(tg sweepTarget) any {
			return map[string]any{"name": "probe", "items": []map[string]any{{"case": tg.Case, "verdict": "no_violation"}}}
		}},
	"GET /api/v1/qa/calibration-sets/:id": {want: expect{401, 200, 200, 404, 404, 404}},
	"POST /api/v1/qa/calibration-sets/:id/assign": {want: expect{401, miss, miss, 403, 403, 403},
		body: jsonBody(map[string]any{"vendor": "acme"})},
	"POST /api/v1/qa/calibration-sets/:id/answers": {want: expect{401, miss, miss, 404, 404, 404},
		body: func(tg sweepTarget) any {
			return map[string]any{"answers": []map[string]any{{"case_id": tg.Case, "verdict": "violation", "action": "warning", "policy_area": "fraud_scam"}}}
		}},
	// Vendor agents read their own vendor's alerts (quality.Alerts filters);
	// leadership reads reports.
	"GET /api/v1/qa/alerts":          {want: expect{401, 200, 200, 403, 200, 200}},
	"POST /api/v1/qa/alerts/:id/rca": {want: expect{401, miss, miss, 403, 403, 403}},
	"GET /api/v1/reports/quality":    {want: expect{401, 200, 200, 403, 200, 200}},
	"GET /api/v1/reports/vendors":    {want: expect{401, 200, 200, 403, 200, 200}},
	// Another vendor's scorecard: 404 to a vendor agent.
	"GET /api/v1/reports/vendors/:vendor": {want: expect{401, 200, 200, 403, 404, 200}},

	// --- search ---
	"GET /api/v1/search": {want: expect{401, 200, 200, 200, 200, 200}, query: "?q=Suspicious&size=100"},

	// --- pages: cases ---
	"GET /":           {want: expect{303, 200, 200, 200, 200, 403}},
	"GET /cases":      {want: expect{303, 200, 200, 200, 200, 403}, query: "?limit=200"},
	"GET /cases/new":  {want: expect{303, 200, 200, 200, 403, 403}},
	"POST /cases/new": {want: expect{401, skip, skip, skip, 403, 403}, body: formBody(caseForm)},
	"GET /cases/:key": {want: expect{303, 200, 200, 404, 404, 404}},
	// Downloads: the list as CSV (readable cases only), the case as a file.
	"GET /cases.csv":             {want: expect{303, 200, 200, 200, 200, 403}},
	"GET /cases/:key/export.md":  {want: expect{303, 200, 200, 404, 404, 404}},
	"GET /cases/:key/export.pdf": {want: expect{303, 200, 200, 404, 404, 404}},
	"POST /cases/:key/edit": {want: expect{401, miss, miss, 404, 404, 404},
		body: versioned("case", map[string]string{"title": "probe", "summary": "probe", "severity": "sev3", "policy_areas": "fraud_scam"})},
	"POST /cases/:key/reassign":   {want: expect{401, miss, miss, 404, 404, 404}, body: versioned("case", map[string]string{"assignee": ottoName})},
	"POST /cases/:key/transition": {want: expect{401, miss, miss, 404, 404, 404}, body: versioned("case", map[string]string{"to": "triage", "reason": "probe"})},
	"POST /cases/:key/notes":      {want: expect{401, miss, miss, 404, 404, 404}, body: formBody(map[string]string{"text": "probe"})},
	"POST /cases/:key/evidence": {want: expect{401, miss, miss, 404, 404, 404},
		body: formBody(map[string]string{"kind": "comment", "ref": "c-1", "description": "probe"})},
	"GET /cases/:id/evidence/:n/file": {want: expect{303, 200, 200, 404, 404, 404}},
	"POST /cases/:key/enforcements": {want: expect{401, miss, miss, 404, 404, 404},
		body: formBody(map[string]string{"action": "warning", "reason": "probe"})},
	"POST /cases/:key/enforcements/:eid/:decision": {want: expect{401, miss, miss, 404, 404, 404}, body: formBody(map[string]string{"reason": "probe"})},
	// The page resolves the case before the risk right: hidden, 404
	// (the API's riskGate answers 403 first; neither names the case).
	"POST /cases/:key/risks": {want: expect{401, miss, miss, 404, 404, 404}, body: func(tg sweepTarget) any { return url.Values{"risk_id": {tg.Risk}} }},
	"GET /actors/:actor_id":  {want: expect{303, 200, 200, 200, 404, 404}},
	// A user's own preferences: nothing to refuse.
	"POST /settings/preferences": {want: expect{401, skip, skip, skip, skip, skip}},

	// --- pages: incidents (incEditors admits admin, lead, investigator) ---
	"GET /incidents":              {want: expect{303, 200, 200, 200, 403, 403}},
	"GET /incidents/new":          {want: expect{303, 200, 200, 200, 403, 403}},
	"POST /incidents/new":         {want: expect{401, skip, skip, skip, 403, 403}, body: formBody(map[string]string{"title": "probe", "severity": "sev3", "started_at": "2026-03-01T09:00"})},
	"GET /incidents/:key":         {want: expect{303, 200, 200, 200, 403, 403}},
	"POST /incidents/:key/status": {want: expect{401, miss, miss, miss, 403, 403}, body: versioned("incident", map[string]string{"status": "mitigated"})},
	"POST /incidents/:key/rca": {want: expect{401, miss, miss, miss, 403, 403},
		body: func(tg sweepTarget) any {
			return rcaForm(strconv.FormatInt(tg.versions["incident"], 10), "save", "probe", "product", "bug")
		}},
	"POST /incidents/:key/items": {want: expect{401, miss, miss, miss, 403, 403},
		body: versioned("incident", map[string]string{"title": "probe", "owner": investigatorName, "kind": "prevent"})},
	"POST /incidents/:key/items/:n":            {want: expect{401, miss, miss, miss, 403, 403}, body: versioned("incident", map[string]string{"status": "done"})},
	"GET /incidents/:key/postmortem":           {want: expect{303, 200, 200, 200, 403, 403}},
	"POST /incidents/:key/postmortem":          {want: expect{401, miss, miss, miss, 403, 403}, body: versioned("pm", map[string]string{"summary": "probe", "action": "save"})},
	"POST /incidents/:key/postmortem/comments": {want: expect{401, miss, miss, miss, 403, 403}, body: formBody(map[string]string{"text": "probe"})},
	"POST /incidents/:key/postmortem/:step":    {want: expect{401, miss, miss, miss, 403, 403}, body: versioned("pm", nil)},
	"GET /postmortems":                         {want: expect{303, 200, 200, 200, 403, 200}},
	"GET /postmortems/:key":                    {want: expect{303, 404, 404, 404, 403, 404}},
	"GET /postmortems/:key/export.md":          {want: expect{303, 404, 404, 404, 403, 404}},
	"GET /postmortems/:key/export.pdf":         {want: expect{303, 404, 404, 404, 403, 404}},

	// --- pages: lead work ---
	"GET /approvals": {want: expect{303, 200, 200, 403, 403, 403}},
	// As the API's decision routes: the case first (hidden: 404), then
	// the right to decide.
	"POST /approvals/:case/:eid/:decision": {want: expect{401, miss, miss, 404, 404, 404}, body: formBody(map[string]string{"reason": "probe"})},
	"GET /qa/calibration":                  {want: expect{303, 200, 200, 200, 200, 200}},
	"GET /qa/calibration/new":              {want: expect{303, 200, 200, 403, 403, 403}},
	"POST /qa/calibration/new":             {want: expect{401, skip, skip, 403, 403, 403}, body: formBody(map[string]string{"name": "probe"})},
	"GET /qa/calibration/:id":              {want: expect{303, 200, 200, 404, 404, 404}},
	// The page resolves the set before the lead's right: hidden, 404.
	"POST /qa/calibration/:id/assign": {want: expect{401, miss, miss, 404, 404, 404}, body: formBody(map[string]string{"vendor": "acme"})},
	"POST /qa/calibration/:id/answers": {want: expect{401, miss, miss, 404, 404, 404},
		body: formBody(map[string]string{"verdict": "violation", "action": "warning", "policy_area": "fraud_scam"})},
	"GET /qa":                 {want: expect{303, 200, 200, 403, 403, 403}},
	"GET /qa/:id":             {want: expect{303, 200, 200, 403, 403, 403}},
	"POST /qa/:id":            {want: expect{401, miss, miss, 403, 403, 403}, body: formBody(map[string]string{"verdict": "agree"})},
	"POST /qa/:id/correction": {want: expect{401, miss, miss, 403, 403, 403}, body: formBody(map[string]string{"action": "content_removal", "reason": "probe"})},
	"GET /scorecards":         {want: expect{303, 200, 200, 403, 200, 200}},
	"GET /risks":              {want: expect{303, 200, 200, 200, 403, 200}},
	"GET /risks/new":          {want: expect{303, 200, 200, 200, 403, 403}},
	"POST /risks/new": {want: expect{401, skip, skip, skip, 403, 403},
		body: formBody(map[string]string{"title": "probe", "description": "probe", "policy_areas": "spam", "discovery": "proactive"})},
	"GET /risks/:id":       {want: expect{303, 200, 200, 200, 403, 200}},
	"POST /risks/:id/edit": {want: expect{401, miss, miss, miss, 403, 403}, body: versioned("risk", map[string]string{"title": "probe"})},
	"POST /risks/:id/link": {want: expect{401, miss, miss, 404, 403, 403},
		body: func(tg sweepTarget) any {
			return url.Values{"case": {tg.Case}, "case_id": {tg.Case}, "version": {strconv.FormatInt(tg.versions["risk"], 10)}}
		}},
	"POST /risks/:id/changes": {want: expect{401, miss, miss, miss, 403, 403},
		body: versioned("risk", map[string]string{"title": "probe", "owner": investigatorName, "category": "product"})},
	"POST /risks/:id/changes/:n": {want: expect{401, miss, miss, miss, 403, 403}, body: versioned("risk", map[string]string{"status": "done"})},
	"POST /risks/:id/rca":        {want: expect{401, miss, miss, miss, 403, 403}, body: versioned("risk", nil)},

	// --- pages: insight and admin ---
	"GET /search":          {want: expect{303, 200, 200, 200, 200, 200}, query: "?q=Suspicious"},
	"GET /dashboard":       {want: expect{303, 200, 200, 403, 403, 200}},
	"GET /admin":           {want: expect{303, 200, 403, 403, 403, 403}},
	"GET /admin/users":     {want: expect{303, 200, 403, 403, 403, 403}},
	"GET /admin/users/new": {want: expect{303, 200, 403, 403, 403, 403}},
	"POST /admin/users": {want: expect{401, skip, 403, 403, 403, 403},
		body: formBody(map[string]string{"username": "mallory", "role": "admin", "password": "a long enough password"})},
	"GET /admin/users/:username":  {want: expect{303, miss, 403, 403, 403, 403}},
	"POST /admin/users/:username": {want: expect{401, miss, 403, 403, 403, 403}, body: versioned("user", map[string]string{"disabled": "on"})},
	"GET /admin/taxonomy":         {want: expect{303, 200, 403, 403, 403, 403}},
	"POST /admin/taxonomy":        {want: expect{401, skip, 403, 403, 403, 403}, body: versioned("taxonomy", nil)},
	"GET /admin/audit":            {want: expect{303, 200, 403, 403, 403, 403}},
	"GET /admin/audit/verify":     {want: expect{303, 200, 403, 403, 403, 403}},

	// --- pages: session ---
	"GET /login":    {want: expect{200, 200, 200, 200, 200, 200}},
	"POST /login":   {want: expect{401, skip, skip, skip, skip, skip}, body: formBody(map[string]string{"username": "sweep-nobody", "password": "not the password"})},
	"POST /logout":  {want: expect{401, skip, skip, skip, skip, skip}},
	"GET /settings": {want: expect{303, 200, 200, 200, 200, 200}},
}

var caseForm = map[string]string{"title": "probe", "summary": "probe", "actor_id": "sweep-page-actor", "policy_areas": "fraud_scam",
	"severity": "sev3", "source_kind": "reactive", "source_channel": "user_report", "team": "fraud"}

func jsonBody(v any) func(sweepTarget) any { return func(sweepTarget) any { return v } }

func formBody(fields map[string]string) func(sweepTarget) any {
	return func(sweepTarget) any {
		f := url.Values{}
		for k, v := range fields {
			f.Set(k, v)
		}
		return f
	}
}

// versioned is a form with the current version of the target's object.
func versioned(object string, fields map[string]string) func(sweepTarget) any {
	return func(tg sweepTarget) any {
		f := formBody(fields)(tg).(url.Values)
		f.Set("version", strconv.FormatInt(tg.versions[object], 10))
		return f
	}
}
