package web_test

// Bad input classes (issue 8, item 2), swept over every JSON route the app
// registers. Each route has one valid request (biRoutes); every attack is
// that request with the attack in it, so a refusal is the attack's doing.
// Rejected requests must leave the store as it was (biState).

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
)

// biRoute is one valid request of a route.
type biRoute struct {
	url  string         // concrete path, params filled with fixtures
	as   string         // username; "" is anonymous
	body map[string]any // valid JSON body; nil sends none
	// ifMatch names the fixture URL whose ETag the route needs ("" none).
	ifMatch string
	// params maps each path param to the fixture value in url.
	params map[string]string
}

// biFix is the fixture world of the sweeps.
type biFix struct {
	*world
	caseKey, caseID, eid string
	incKey               string
	riskKey              string
	calID                string
	webhookID            string
	disabledTok          string
	// etags caches If-Match values while a sweep only sends requests
	// that must be refused (nil: read afresh for each request).
	etags  map[string]string
	routes map[string]biRoute // by "METHOD /pattern"
}

const biDisabled = "dora"

func newBIFix(t *testing.T) *biFix {
	t.Helper()
	w := newWorld(t, 0)
	f := &biFix{world: w}
	c := w.createCase(t, leadName, newCase("bi-actor-1", "", "fraud", "acme"))
	f.caseKey, f.caseID = c.Key, c.ID
	f.eid = w.propose(t, leadName, c.Key, map[string]any{"action": "warning", "reason": "probe"}).ID

	in := w.createIncident(t, leadName, newIncident("Scam wave", "sev2", w.clock.Now().Add(-time.Hour)))
	f.incKey = in.Key
	res := w.putRCA(t, leadName, in.Key, rcaBody(rootCause("Not enough reviewers", "process", "capacity")))
	require.Equal(t, http.StatusOK, res.StatusCode, "rca: %s", res.body)
	res = w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/incidents/" + in.Key + "/action-items",
		body: map[string]any{"title": "Hire reviewers", "owner": leadName, "kind": "prevent"}})
	require.Equal(t, http.StatusCreated, res.StatusCode, "action item: %s", res.body)
	res = w.putPostmortem(t, leadName, in.Key, 0, map[string]any{"summary": "Scams stayed up."})
	require.Equal(t, http.StatusCreated, res.StatusCode, "postmortem: %s", res.body)

	f.riskKey = w.createRisk(t, leadName, newRisk("Counterfeits")).Key
	res = w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/risks/" + f.riskKey + "/changes",
		body: map[string]any{"title": "Detect fakes", "owner": leadName, "category": "product", "due": "2026-04-01T00:00:00Z"}})
	require.Equal(t, http.StatusCreated, res.StatusCode, "change: %s", res.body)

	res = w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/qa/calibration-sets", body: map[string]any{
		"name": "Gift cards", "items": []map[string]any{{"case": c.Key, "verdict": "violation", "action": "warning", "policy_area": "fraud_scam"}}}})
	require.Equal(t, http.StatusCreated, res.StatusCode, "calibration: %s", res.body)
	var set struct {
		ID string `json:"id"`
	}
	res.json(t, &set)
	f.calID = set.ID

	// A user whose account is disabled after signing in.
	res = w.as(t, adminName, req{method: http.MethodPost, path: "/api/v1/users", body: map[string]any{
		"username": biDisabled, "role": "investigator", "team": "fraud", "password": password}})
	require.Equal(t, http.StatusCreated, res.StatusCode, "user: %s", res.body)
	f.disabledTok = w.login(t, biDisabled)
	res = w.as(t, adminName, req{method: http.MethodPatch, path: "/api/v1/users/" + biDisabled, body: map[string]any{"disabled": true},
		header: map[string]string{"If-Match": res.Header.Get("ETag")}})
	require.Equal(t, http.StatusOK, res.StatusCode, "disable: %s", res.body)

	res = w.as(t, adminName, req{method: http.MethodPost, path: "/api/v1/webhooks", body: map[string]any{
		"url": "https://hooks.example.com/bi", "events": []any{"case.created"}, "secret": "bi-secret-0123456789"}})
	require.Equal(t, http.StatusCreated, res.StatusCode, "webhook: %s", res.body)
	var hook struct {
		ID string `json:"id"`
	}
	res.json(t, &hook)
	f.webhookID = hook.ID

	f.routes = f.table(t)
	return f
}

// table is the valid request of every API route.
func (f *biFix) table(t *testing.T) map[string]biRoute {
	t.Helper()
	ck, ik, rk := f.caseKey, f.incKey, f.riskKey
	cp := "/api/v1/cases/" + ck
	ip := "/api/v1/incidents/" + ik
	rp := "/api/v1/risks/" + rk
	calp := "/api/v1/qa/calibration-sets/" + f.calID
	reason := map[string]any{"reason": "probe"}

	var tax map[string]any
	res := f.get(t, "/api/v1/taxonomy", f.tok[adminName])
	require.Equal(t, http.StatusOK, res.StatusCode)
	res.json(t, &tax)
	var rules map[string]any
	res = f.get(t, "/api/v1/qa/rules", f.tok[leadName])
	require.Equal(t, http.StatusOK, res.StatusCode)
	res.json(t, &rules)
	rulesBody := map[string]any{"seed": rules["seed"], "alert_drop": 0.2, "alert_min_reviews": 5,
		"rules": []any{map[string]any{"id": "all", "rate": 0.5, "vendor": "acme", "always_actions": []any{"warning"}}}}

	p := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	idC, idI, idR := p("id", ck), p("id", ik), p("id", rk)
	L := leadName
	return map[string]biRoute{
		"POST /api/v1/auth/login":   {url: "/api/v1/auth/login", body: map[string]any{"username": investigatorName, "password": password}},
		"POST /api/v1/auth/refresh": {url: "/api/v1/auth/refresh", body: map[string]any{"refresh_token": "not-a-refresh-token"}},
		"POST /api/v1/auth/logout":  {url: "/api/v1/auth/logout", as: L},
		"GET /api/v1/me":            {url: "/api/v1/me", as: L},

		"GET /api/v1/users":             {url: "/api/v1/users", as: adminName},
		"POST /api/v1/users":            {url: "/api/v1/users", as: adminName, body: map[string]any{"username": "newbie", "display_name": "New Bie", "role": "investigator", "team": "fraud", "password": password}},
		"GET /api/v1/users/:username":   {url: "/api/v1/users/" + investigatorName, as: adminName, params: p("username", investigatorName)},
		"PATCH /api/v1/users/:username": {url: "/api/v1/users/" + investigatorName, as: adminName, params: p("username", investigatorName), ifMatch: "/api/v1/users/" + investigatorName, body: map[string]any{"display_name": "Ivy I."}},

		"GET /api/v1/taxonomy": {url: "/api/v1/taxonomy", as: adminName},
		"PUT /api/v1/taxonomy": {url: "/api/v1/taxonomy", as: adminName, ifMatch: "/api/v1/taxonomy", body: tax},

		"GET /api/v1/actors/:actor_id":                     {url: "/api/v1/actors/bi-actor-1", as: L, params: p("actor_id", "bi-actor-1")},
		"POST /api/v1/cases":                               {url: "/api/v1/cases", as: L, body: map[string]any{"title": "A new case", "summary": "Reported.", "actor": map[string]any{"actor_id": "bi-actor-2", "handle": "h"}, "policy_areas": []any{"fraud_scam"}, "severity": "sev3", "source_kind": "reactive", "source_channel": "user_report", "team": "fraud", "tags": []any{"t1"}}},
		"GET /api/v1/cases":                                {url: "/api/v1/cases", as: L},
		"GET /api/v1/cases/:id":                            {url: cp, as: L, params: idC},
		"GET /api/v1/cases/:id.md":                         {url: cp + ".md", as: L, params: idC},
		"GET /api/v1/cases/:id.pdf":                        {url: cp + ".pdf", as: L, params: idC},
		"PATCH /api/v1/cases/:id":                          {url: cp, as: L, params: idC, ifMatch: cp, body: map[string]any{"summary": "probe", "behaviors": []any{map[string]any{"text": "spams", "tag": "spam"}}}},
		"POST /api/v1/cases/:id/transitions":               {url: cp + "/transitions", as: L, params: idC, body: map[string]any{"to": "triage", "reason": "probe"}},
		"POST /api/v1/cases/:id/notes":                     {url: cp + "/notes", as: L, params: idC, body: map[string]any{"text": "probe"}},
		"GET /api/v1/cases/:id/timeline":                   {url: cp + "/timeline", as: L, params: idC},
		"POST /api/v1/cases/:id/evidence":                  {url: cp + "/evidence", as: L, params: idC, body: map[string]any{"kind": "comment", "ref": "c-1", "description": "probe"}},
		"GET /api/v1/cases/:id/evidence/:n/file":           {url: cp + "/evidence/1/file", as: L, params: p("id", ck, "n", "1")},
		"GET /api/v1/cases/:id/enforcement/recommendation": {url: cp + "/enforcement/recommendation", as: L, params: idC},
		"POST /api/v1/cases/:id/enforcements":              {url: cp + "/enforcements", as: L, params: idC, body: map[string]any{"action": "warning", "reason": "probe", "policy_area": "fraud_scam"}},
		"POST /api/v1/cases/:id/enforcements/:eid/approve": {url: cp + "/enforcements/" + f.eid + "/approve", as: L, params: p("id", ck, "eid", f.eid), body: reason},
		"POST /api/v1/cases/:id/enforcements/:eid/reject":  {url: cp + "/enforcements/" + f.eid + "/reject", as: L, params: p("id", ck, "eid", f.eid), body: reason},
		"POST /api/v1/cases/:id/enforcements/:eid/apply":   {url: cp + "/enforcements/" + f.eid + "/apply", as: L, params: p("id", ck, "eid", f.eid), body: reason},
		"POST /api/v1/cases/:id/enforcements/:eid/reverse": {url: cp + "/enforcements/" + f.eid + "/reverse", as: L, params: p("id", ck, "eid", f.eid), body: reason},
		"GET /api/v1/cases/:id/qa":                         {url: cp + "/qa", as: L, params: idC},
		"GET /api/v1/cases/:id/risks":                      {url: cp + "/risks", as: L, params: idC},
		"POST /api/v1/cases/:id/risks":                     {url: cp + "/risks", as: L, params: idC, body: map[string]any{"risk_id": rk}},
		"GET /api/v1/cases/:id/similar":                    {url: cp + "/similar", as: L, params: idC},

		"POST /api/v1/incidents":                         {url: "/api/v1/incidents", as: L, body: map[string]any{"title": "Another wave", "severity": "sev3", "started_at": "2026-03-01T00:00:00Z", "detection": "reports", "impact": map[string]any{"text": "losses", "regions": []any{"DE"}}, "owner": L}},
		"GET /api/v1/incidents":                          {url: "/api/v1/incidents", as: L},
		"GET /api/v1/incidents/:id":                      {url: ip, as: L, params: idI},
		"PATCH /api/v1/incidents/:id":                    {url: ip, as: L, params: idI, ifMatch: ip, body: map[string]any{"title": "Scam wave, renamed", "detection": "dashboards"}},
		"PUT /api/v1/incidents/:id/rca":                  {url: ip + "/rca", as: L, params: idI, body: map[string]any{"problem_statement": "Scams stayed up.", "root_causes": []any{map[string]any{"description": "Too few reviewers", "category": "process", "subcategory": "capacity", "five_whys": []any{"why"}}}, "contributing_factors": []any{"weekend"}, "mitigation_gaps": []any{map[string]any{"mitigation": "sweep", "why": "slow"}}}},
		"POST /api/v1/incidents/:id/action-items":        {url: ip + "/action-items", as: L, params: idI, body: map[string]any{"title": "Train reviewers", "owner": L, "kind": "prevent"}},
		"PATCH /api/v1/incidents/:id/action-items/:n":    {url: ip + "/action-items/1", as: L, params: p("id", ik, "n", "1"), ifMatch: ip, body: map[string]any{"title": "Hire more reviewers"}},
		"GET /api/v1/incidents/:id/postmortem":           {url: ip + "/postmortem", as: L, params: idI},
		"PUT /api/v1/incidents/:id/postmortem":           {url: ip + "/postmortem", as: L, params: idI, body: map[string]any{"summary": "Scams stayed up.", "impact": "losses", "timeline": []any{map[string]any{"at": "2026-03-01T00:00:00Z", "event": "spike"}}, "lessons": "staff"}},
		"POST /api/v1/incidents/:id/postmortem/submit":   {url: ip + "/postmortem/submit", as: L, params: idI, body: map[string]any{}},
		"POST /api/v1/incidents/:id/postmortem/approve":  {url: ip + "/postmortem/approve", as: L, params: idI, body: map[string]any{}},
		"POST /api/v1/incidents/:id/postmortem/publish":  {url: ip + "/postmortem/publish", as: L, params: idI, body: map[string]any{"acknowledge_pii": true}},
		"POST /api/v1/incidents/:id/postmortem/comments": {url: ip + "/postmortem/comments", as: L, params: idI, body: map[string]any{"text": "probe"}},
		"GET /api/v1/incidents/:id/similar":              {url: ip + "/similar", as: L, params: idI},
		"POST /api/v1/rca/classify":                      {url: "/api/v1/rca/classify", as: L, body: map[string]any{"text": "reviewers were overloaded"}},
		"GET /api/v1/rca/classifier":                     {url: "/api/v1/rca/classifier", as: L},
		"GET /api/v1/postmortems":                        {url: "/api/v1/postmortems", as: L},
		"GET /api/v1/postmortems/:id":                    {url: "/api/v1/postmortems/" + ik, as: L, params: idI},
		"GET /api/v1/postmortems/:id.md":                 {url: "/api/v1/postmortems/" + ik + ".md", as: L, params: idI},
		"GET /api/v1/postmortems/:id.pdf":                {url: "/api/v1/postmortems/" + ik + ".pdf", as: L, params: idI},
		"GET /api/v1/enforcements":                       {url: "/api/v1/enforcements", as: L},
		"GET /api/v1/reports/enforcement":                {url: "/api/v1/reports/enforcement", as: L},
		"GET /api/v1/reports/root-causes":                {url: "/api/v1/reports/root-causes", as: L},

		"POST /api/v1/risks":                                 {url: "/api/v1/risks", as: L, body: map[string]any{"title": "Fake giveaways", "description": "Giveaways that ask for card numbers.", "policy_areas": []any{"fraud_scam"}, "owner": L, "discovery": "proactive"}},
		"GET /api/v1/risks":                                  {url: "/api/v1/risks", as: L},
		"GET /api/v1/risks/:id":                              {url: rp, as: L, params: idR},
		"PATCH /api/v1/risks/:id":                            {url: rp, as: L, params: idR, ifMatch: rp, body: map[string]any{"title": "Counterfeit goods", "description": "Sellers show fakes."}},
		"POST /api/v1/risks/:id/links":                       {url: rp + "/links", as: L, params: idR, body: map[string]any{"case_id": ck}},
		"DELETE /api/v1/risks/:id/links/cases/:case":         {url: rp + "/links/cases/" + ck, as: L, params: p("id", rk, "case", ck)},
		"DELETE /api/v1/risks/:id/links/incidents/:incident": {url: rp + "/links/incidents/" + ik, as: L, params: p("id", rk, "incident", ik)},
		"POST /api/v1/risks/:id/changes":                     {url: rp + "/changes", as: L, params: idR, body: map[string]any{"title": "Block fakes", "owner": L, "category": "product", "due": "2026-05-01T00:00:00Z"}},
		"PATCH /api/v1/risks/:id/changes/:n":                 {url: rp + "/changes/1", as: L, params: p("id", rk, "n", "1"), ifMatch: rp, body: map[string]any{"status": "in_progress", "owner": L}},
		"POST /api/v1/risks/:id/rca":                         {url: rp + "/rca", as: L, params: idR, body: map[string]any{"severity": "sev3"}},

		"GET /api/v1/qa/rules":                         {url: "/api/v1/qa/rules", as: L},
		"PUT /api/v1/qa/rules":                         {url: "/api/v1/qa/rules", as: L, ifMatch: "/api/v1/qa/rules", body: rulesBody},
		"GET /api/v1/qa/queue":                         {url: "/api/v1/qa/queue", as: L},
		"GET /api/v1/qa/queue/:id":                     {url: "/api/v1/qa/queue/nope", as: L, params: p("id", "nope")},
		"POST /api/v1/qa/reviews":                      {url: "/api/v1/qa/reviews", as: L, body: map[string]any{"decision_id": "nope", "verdict": "correct", "error_type": "", "severity": "", "feedback": "fine"}},
		"POST /api/v1/qa/reviews/:id/correction":       {url: "/api/v1/qa/reviews/nope/correction", as: L, params: p("id", "nope"), body: map[string]any{"kind": "reverse", "reason": "wrong", "action": "warning", "policy_area": "fraud_scam", "justification": "x"}},
		"GET /api/v1/qa/feedback":                      {url: "/api/v1/qa/feedback", as: L},
		"GET /api/v1/qa/calibration-sets":              {url: "/api/v1/qa/calibration-sets", as: L},
		"POST /api/v1/qa/calibration-sets":             {url: "/api/v1/qa/calibration-sets", as: L, body: map[string]any{"name": "Second set", "items": []any{map[string]any{"case": ck, "verdict": "violation", "action": "warning", "policy_area": "fraud_scam"}}}},
		"GET /api/v1/qa/calibration-sets/:id":          {url: calp, as: L, params: p("id", f.calID)},
		"POST /api/v1/qa/calibration-sets/:id/assign":  {url: calp + "/assign", as: L, params: p("id", f.calID), body: map[string]any{"users": []any{vicName}, "vendor": "acme"}},
		"POST /api/v1/qa/calibration-sets/:id/answers": {url: calp + "/answers", as: vicName, params: p("id", f.calID), body: map[string]any{"answers": []any{map[string]any{"case_id": f.caseID, "verdict": "violation", "action": "warning", "policy_area": "fraud_scam"}}}},
		"GET /api/v1/qa/alerts":                        {url: "/api/v1/qa/alerts", as: L},
		"POST /api/v1/qa/alerts/:id/rca":               {url: "/api/v1/qa/alerts/nope/rca", as: L, params: p("id", "nope")},
		"GET /api/v1/reports/quality":                  {url: "/api/v1/reports/quality", as: L},
		"GET /api/v1/reports/vendors":                  {url: "/api/v1/reports/vendors", as: L},
		"GET /api/v1/reports/vendors/:vendor":          {url: "/api/v1/reports/vendors/acme", as: L, params: p("vendor", "acme")},

		"GET /api/v1/search":       {url: "/api/v1/search", as: L},
		"GET /api/v1/audit":        {url: "/api/v1/audit", as: adminName},
		"GET /api/v1/audit/verify": {url: "/api/v1/audit/verify", as: adminName},

		"GET /api/v1/webhooks": {url: "/api/v1/webhooks", as: adminName},
		"POST /api/v1/webhooks": {url: "/api/v1/webhooks", as: adminName, body: map[string]any{"url": "https://hooks.example.com/casefile",
			"events": []any{"case.created", "sla.breached"}, "secret": "0123456789abcdef-secret", "format": "slack"}},
		"DELETE /api/v1/webhooks/:id":         {url: "/api/v1/webhooks/" + f.webhookID, as: adminName, params: p("id", f.webhookID)},
		"GET /api/v1/webhooks/:id/deliveries": {url: "/api/v1/webhooks/" + f.webhookID + "/deliveries", as: adminName, params: p("id", f.webhookID)},
	}
}

// apiRoutes are the app's registered /api/v1 routes, as "METHOD /pattern".
func (f *biFix) apiRoutes() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range f.app.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Method == http.MethodHead || r.Method == "USE" {
			continue
		}
		k := r.Method + " " + r.Path
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// bodyRoutes are the routes whose valid request has a JSON body.
func (f *biFix) bodyRoutes() []string {
	var out []string
	for _, k := range f.apiRoutes() {
		if f.routes[k].body != nil {
			out = append(out, k)
		}
	}
	return out
}

// send makes the valid request of route k with body (any: map, string or
// []byte; nil for none), extra headers and the token of the route's user
// unless token is set.
func (f *biFix) send(t *testing.T, k string, body any, header map[string]string) response {
	t.Helper()
	r := f.routes[k]
	method, _, _ := strings.Cut(k, " ")
	hdr := map[string]string{}
	if r.ifMatch != "" {
		hdr["If-Match"] = f.cachedETag(t, r.ifMatch)
	}
	for k, v := range header {
		hdr[k] = v
	}
	rq := req{method: method, path: r.url, body: body, header: hdr}
	if _, set := hdr["Authorization"]; !set && r.as != "" {
		rq.token = f.tok[r.as]
	}
	return f.do(t, rq)
}

func (f *biFix) cachedETag(t *testing.T, path string) string {
	t.Helper()
	if f.etags == nil {
		return f.etagOf(t, path)
	}
	if _, ok := f.etags[path]; !ok {
		f.etags[path] = f.etagOf(t, path)
	}
	return f.etags[path]
}

// refusing caches ETags until the sweep ends: its requests change nothing.
func (f *biFix) refusing(t *testing.T) {
	f.etags = map[string]string{}
	t.Cleanup(func() { f.etags = nil })
}

func (f *biFix) etagOf(t *testing.T, path string) string {
	t.Helper()
	res := f.get(t, path, f.tok[adminName])
	if res.StatusCode != http.StatusOK {
		res = f.get(t, path, f.tok[leadName])
	}
	require.Equal(t, http.StatusOK, res.StatusCode, "etag of %s: %s", path, res.body)
	return res.Header.Get("ETag")
}

// state reads back, as admin and lead, everything the sweeps could touch:
// the fixtures (with their versions and sub-lists) and the counts.
func (f *biFix) state(t *testing.T) map[string]string {
	t.Helper()
	s := map[string]string{}
	read := func(path, as string) {
		res := f.get(t, path, f.tok[as])
		s[path] = fmt.Sprintf("%d %s %s", res.StatusCode, res.Header.Get("ETag"), res.body)
	}
	for _, p := range []string{"/api/v1/users?limit=200", "/api/v1/users/" + investigatorName, "/api/v1/users/" + adminName, "/api/v1/taxonomy", "/api/v1/users/" + biDisabled,
		"/api/v1/webhooks?limit=200"} {
		read(p, adminName)
	}
	for _, p := range []string{"/api/v1/cases/" + f.caseKey, "/api/v1/cases/" + f.caseKey + "/timeline?limit=200",
		"/api/v1/incidents/" + f.incKey, "/api/v1/incidents/" + f.incKey + "/postmortem", "/api/v1/risks?limit=200",
		"/api/v1/risks/" + f.riskKey, "/api/v1/qa/rules", "/api/v1/qa/calibration-sets?limit=200", "/api/v1/qa/calibration-sets/" + f.calID,
		"/api/v1/cases/" + f.caseKey + "/risks"} {
		read(p, leadName)
	}
	read("/api/v1/incidents?limit=200", leoName) // leadership reads summaries from the store
	for _, p := range []string{"/api/v1/cases?limit=1", "/api/v1/incidents?limit=1"} {
		res := f.get(t, p, f.tok[adminName])
		var page struct {
			Total int64 `json:"total"`
		}
		res.json(t, &page)
		s[p] = fmt.Sprint(page.Total)
	}
	return s
}

func (f *biFix) requireUnchanged(t *testing.T, before map[string]string, what string) {
	t.Helper()
	after := f.state(t)
	for k, v := range before {
		assert.Equal(t, v, after[k], "%s changed %s", what, k)
	}
}

// requireRefused: a 4xx problem, never a 5xx.
func requireRefused(t *testing.T, res response, allowed ...int) {
	t.Helper()
	require.Less(t, res.StatusCode, 500, "body: %s", res.body)
	if len(allowed) > 0 {
		assert.Contains(t, allowed, res.StatusCode, "body: %s", res.body)
	}
	assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"), "body: %s", res.body)
}

// clone deep-copies a JSON value.
func clone(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// variant is a body with one change, named by where it is.
type variant struct {
	name string
	body map[string]any
}

// leafVariants replaces string leaves of body, one at a time, with values:
// the first leaf with each value, later ones (up to max leaves) with one
// value each, in turn, so every value meets several fields while the
// sweep stays small.
func leafVariants(body map[string]any, values map[string]any, max int) []variant {
	leaf := 0
	var out []variant
	// Walk a copy, snapshotting it at each change.
	work := clone(body).(map[string]any)
	var snaps []map[string]any
	var walk2 func(v any, path string, set func(any))
	walk2 = func(v any, path string, set func(any)) {
		switch x := v.(type) {
		case string:
			names := make([]string, 0, len(values))
			for n := range values {
				names = append(names, n)
			}
			sort.Strings(names)
			if leaf >= max {
				return
			}
			if leaf > 0 {
				names = []string{names[leaf%len(names)]}
			}
			leaf++
			for _, name := range names {
				set(values[name])
				out = append(out, variant{name: path + "=" + name})
				snaps = append(snaps, clone(work).(map[string]any))
				set(x)
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk2(x[k], path+"."+k, func(n any) { x[k] = n })
			}
		case []any:
			for i, e := range x {
				walk2(e, fmt.Sprintf("%s[%d]", path, i), func(n any) { x[i] = n })
			}
		}
	}
	walk2(work, "", nil)
	for i := range out {
		out[i].body = snaps[i]
	}
	return out
}

// keyVariants adds keys (with their values) to the objects of body, one at
// a time: the body itself gets each key, nested objects one key each, in
// turn (all of them when all is set).
func keyVariants(body map[string]any, keys map[string]any, all bool) []variant {
	var out []variant
	var objects []string
	var find func(v any, path string)
	find = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			objects = append(objects, path)
			for k, e := range x {
				find(e, path+"."+k)
			}
		case []any:
			for i, e := range x {
				find(e, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	find(body, "")
	sort.Strings(objects)
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for i, obj := range objects {
		these := names
		if obj != "" && !all {
			these = []string{names[i%len(names)]}
		}
		for _, k := range these {
			v := keys[k]
			b := clone(body).(map[string]any)
			target := lookup(b, obj).(map[string]any)
			if _, exists := target[k]; exists {
				continue
			}
			target[k] = v
			out = append(out, variant{obj + "+" + k, b})
		}
	}
	return out
}

var pathPart = regexp.MustCompile(`\.([^.\[]+)|\[(\d+)\]`)

func lookup(v any, path string) any {
	for _, m := range pathPart.FindAllStringSubmatch(path, -1) {
		if m[1] != "" {
			v = v.(map[string]any)[m[1]]
		} else {
			var i int
			fmt.Sscan(m[2], &i)
			v = v.([]any)[i]
		}
	}
	return v
}

func biRouteTableCoversEveryRoute(t *testing.T, f *biFix) {
	routes := f.apiRoutes()
	require.Greater(t, len(routes), 70)
	for _, k := range routes {
		_, ok := f.routes[k]
		assert.True(t, ok, "route %s has no valid request in the bad-input table: add one", k)
	}
	for k := range f.routes {
		assert.Contains(t, routes, k, "the table names a route the app does not have")
	}
}

// biOperatorInjectionInBodies: every string in every body
// swapped for a MongoDB operator document, and operator and dotted keys
// added to every object, is a 400 naming the problem, changing nothing.
func biOperatorInjectionInBodies(t *testing.T, f *biFix) {
	f.refusing(t)
	ops := map[string]any{
		"ne":    map[string]any{"$ne": nil},
		"gt":    map[string]any{"$gt": ""},
		"where": map[string]any{"$where": "sleep(100) || true"},
		"regex": map[string]any{"$regex": ".*"},
	}
	keys := map[string]any{
		"$where":     "1 == 1",
		"$set":       map[string]any{"role": "admin"},
		"a.b":        "x",
		"title.$[]":  "x",
		"$ne":        nil,
		"actor.$oid": "000000000000000000000000",
	}
	before := f.state(t)
	for _, k := range f.bodyRoutes() {
		body := f.routes[k].body
		t.Run(k, func(t *testing.T) {
			for _, v := range append(leafVariants(body, ops, 8), keyVariants(body, keys, false)...) {
				res := f.send(t, k, v.body, nil)
				if !assert.Equal(t, http.StatusBadRequest, res.StatusCode, "%s: %s", v.name, res.body) {
					continue
				}
				p := requireProblem(t, res, http.StatusBadRequest, "validation")
				assert.NotEmpty(t, p.Detail, v.name)
			}
		})
	}

	// Map-typed fields decode any key: the taxonomy's maps must still
	// refuse keys MongoDB would read as operators or paths.
	t.Run("taxonomy_map_keys", func(t *testing.T) {
		k := "PUT /api/v1/taxonomy"
		for _, field := range []string{"sla", "subcategories", "ladder_by_area"} {
			for _, key := range []string{"$where", "a.b", "$gt"} {
				b := clone(f.routes[k].body).(map[string]any)
				m, _ := b[field].(map[string]any)
				if m == nil {
					m = map[string]any{}
					b[field] = m
				}
				switch field {
				case "sla":
					m[key] = clone(m["sev3"])
				case "subcategories":
					m[key] = []any{"bug"}
				case "ladder_by_area":
					m[key] = clone(b["ladder"])
				}
				res := f.send(t, k, b, nil)
				requireProblem(t, res, http.StatusBadRequest, "validation")
			}
		}
	})
	f.requireUnchanged(t, before, "an injected body")
}

// biQueryParams are the query parameters each GET route reads.
var biQueryParams = map[string][]string{
	"GET /api/v1/users":                                {"cursor"},
	"GET /api/v1/audit":                                {"user", "entity_type", "entity_id", "action", "cursor"},
	"GET /api/v1/cases":                                {"q", "status", "severity", "source_kind", "policy_area", "assignee", "team", "vendor", "actor_id", "sla_state", "sort", "cursor"},
	"GET /api/v1/incidents":                            {"q", "status", "severity", "root_cause_category", "sort", "cursor"},
	"GET /api/v1/postmortems":                          {"q", "severity", "cursor"},
	"GET /api/v1/risks":                                {"policy_area", "owner", "status", "cursor"},
	"GET /api/v1/qa/queue":                             {"status", "vendor", "team", "policy_area", "cursor"},
	"GET /api/v1/qa/feedback":                          {"cursor"},
	"GET /api/v1/qa/calibration-sets":                  {"cursor"},
	"GET /api/v1/search":                               {"q", "type", "facet", "sort"},
	"GET /api/v1/reports/quality":                      {"by", "group"},
	"GET /api/v1/reports/vendors":                      {"group"},
	"GET /api/v1/reports/root-causes":                  {"interval"},
	"GET /api/v1/enforcements":                         {"from", "to", "policy_area", "action", "include_actor", "format", "cursor"},
	"GET /api/v1/reports/enforcement":                  {"from", "to", "format"},
	"GET /api/v1/cases/:id/timeline":                   {"cursor"},
	"GET /api/v1/postmortems/:id":                      {"revision"},
	"GET /api/v1/cases/:id/enforcement/recommendation": {"policy_area"},
	"GET /api/v1/webhooks":                             {"cursor"},
	"GET /api/v1/webhooks/:id/deliveries":              {"cursor"},
}

// biFreeFilters are filters that take any value: an operator there must
// match nothing.
var biFreeFilters = map[string]bool{"policy_area": true, "assignee": true, "team": true, "vendor": true, "actor_id": true, "owner": true,
	"user": true, "entity_type": true, "entity_id": true, "action": true}

// biOperatorInjectionInQueries: operator documents and keys in
// every query parameter of every GET route are a 400 or a plain string
// that matches nothing; never a 500, never other documents.
func biOperatorInjectionInQueries(t *testing.T, f *biFix) {
	values := []string{`{"$ne":null}`, `{"$where":"sleep(100)||true"}`}
	before := f.state(t)
	for _, k := range f.apiRoutes() {
		if !strings.HasPrefix(k, "GET ") {
			continue
		}
		params := biQueryParams[k]
		if len(params) == 0 {
			params = []string{"q"} // a parameter the route does not read is ignored
		}
		t.Run(k, func(t *testing.T) {
			r := f.routes[k]
			for _, param := range params {
				for _, v := range values {
					res := f.get(t, r.url+"?"+url.Values{param: {v}}.Encode(), f.tok[r.as])
					require.Less(t, res.StatusCode, 500, "%s=%s: %s", param, v, res.body)
					if res.StatusCode == http.StatusOK && biFreeFilters[param] {
						var page struct {
							Total *int64 `json:"total"`
						}
						res.json(t, &page)
						if page.Total != nil {
							assert.Zero(t, *page.Total, "%s=%s matched documents", param, v)
						}
					}
				}
				// Bracketed parameter names are other parameters, not operators.
				for _, name := range []string{param + "[$ne]"} {
					res := f.get(t, r.url+"?"+url.Values{name: {"x"}}.Encode(), f.tok[r.as])
					assert.Less(t, res.StatusCode, 500, "%s: %s", name, res.body)
				}
			}
		})
	}
	f.requireUnchanged(t, before, "an injected query")
}

// biRegexAndWildcardsAreBounded: ReDoS patterns and wildcard
// storms in search and filter parameters get an answer, 400 or 200, within
// the request's deadline (app.Test's timeout fails a hang; nothing here
// measures time).
func biRegexAndWildcardsAreBounded(t *testing.T, f *biFix) {
	// Long text for the patterns to run against.
	long := strings.Repeat("a", 3000) + "!"
	res := f.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/cases/" + f.caseKey + "/notes", body: map[string]any{"text": long}})
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)
	var storm []string
	for i := range 60 {
		storm = append(storm, fmt.Sprintf("%c*", 'a'+i%26))
	}
	patterns := []string{`(a+)+$`, `/(a+)+$/`, `/.*.*.*.*.*.*.*=.*/`, long, long[:190] + "*", strings.Repeat("a*", 90),
		strings.Join(storm, " "), `title:` + strings.Repeat("a?", 50), `*a`, `a~2`}
	type target struct{ path, param, as string }
	targets := []target{
		{"/api/v1/search", "q", leadName}, {"/api/v1/cases", "q", leadName}, {"/api/v1/incidents", "q", leadName},
		{"/api/v1/incidents", "q", leoName}, {"/api/v1/postmortems", "q", leadName}, {"/api/v1/cases", "assignee", leadName},
		{"/api/v1/cases", "actor_id", leadName}, {"/api/v1/risks", "owner", leadName}, {"/api/v1/audit", "user", adminName},
		{"/api/v1/audit", "entity_id", adminName}, {"/api/v1/qa/queue", "vendor", leadName},
	}
	for _, tg := range targets {
		t.Run(tg.path+"?"+tg.param+"_as_"+tg.as, func(t *testing.T) {
			for _, pat := range patterns {
				hr := httptest.NewRequest(http.MethodGet, tg.path+"?"+url.Values{tg.param: {pat}}.Encode(), nil)
				hr.Header.Set("Authorization", "Bearer "+f.tok[tg.as])
				res, err := f.app.Test(hr, 20000) // a hang fails here
				require.NoError(t, err, "pattern %.40q", pat)
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				assert.Contains(t, []int{http.StatusOK, http.StatusBadRequest}, res.StatusCode, "pattern %.40q: %s", pat, b)
			}
		})
	}
}

// biMassFields are fields a client must never set.
var biMassFields = map[string]any{
	"role": "admin", "version": 99, "created_by": adminName, "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
	"updated_by": adminName, "_id": "000000000000000000000000", "id": "forged", "seq": 1, "key": "CF-1999-1", "password_hash": "x",
	"audit": map[string]any{"outcome": "success"}, "prev_hash": "00", "hash": "00", "request_id": "forged", "disabled": false,
	"sid": "forged", "decided_by": adminName, "published_at": "2020-01-01T00:00:00Z",
}

// biMassRotating are the audit and ownership fields besides the core ones
// (role, version, created_by, _id, id, seq); each route gets one, in turn.
var biMassRotating = []string{"created_at", "updated_at", "updated_by", "key", "password_hash", "audit", "prev_hash", "hash",
	"request_id", "disabled", "sid", "decided_by", "published_at"}

// biLegit are fields some requests do take; they are not mass assignment there.
var biLegit = map[string][]string{
	"POST /api/v1/users":            {"role"},
	"PATCH /api/v1/users/:username": {"role", "disabled"},
}

// biMassAssignment: server-owned fields in every body, top level
// and in every nested object, are refused with a 400 naming the field and
// never stored.
func biMassAssignment(t *testing.T, f *biFix) {
	f.refusing(t)
	before := f.state(t)
	for i, k := range f.bodyRoutes() {
		body := f.routes[k].body
		t.Run(k, func(t *testing.T) {
			fields := map[string]any{}
			for _, field := range append([]string{"role", "version", "created_by", "_id", "id", "seq"}, biMassRotating[i%len(biMassRotating)]) {
				if !slicesContains(biLegit[k], field) {
					fields[field] = biMassFields[field]
				}
			}
			for _, v := range keyVariants(body, fields, false) {
				obj, field, _ := strings.Cut(v.name, "+")
				obj = strings.TrimPrefix(obj, ".") // a map's value type error names the map
				res := f.send(t, k, v.body, nil)
				p := requireProblem(t, res, http.StatusBadRequest, "validation")
				named := false
				for _, n := range p.fields() {
					named = named || n == field || strings.HasSuffix(n, "."+field) || (obj != "" && n == obj)
				}
				assert.True(t, named, "%s: the problem names %q: %v", v.name, field, p.fields())
			}
		})
	}
	f.requireUnchanged(t, before, "a mass-assigned body")

	// A refused request stored nothing; an accepted one ignores nothing
	// silently: the create answers with server-made fields.
	t.Run("created_objects_carry_server_fields", func(t *testing.T) {
		res := f.send(t, "POST /api/v1/cases", f.routes["POST /api/v1/cases"].body, nil)
		require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)
		var c map[string]any
		res.json(t, &c)
		assert.EqualValues(t, 1, c["version"])
		assert.Equal(t, leadName, c["created_by"])
		assert.NotEqual(t, "CF-1999-1", c["key"])
	})
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// biBadIDs are malformed path segments, already escaped for a URL.
var biBadIDs = map[string]string{
	"dotdot_slash": "..%2F..%2Fusers",
	"nul":          "%00",
	"very_long":    strings.Repeat("A", 4000),
	"unicode":      "%E6%A1%88%E4%BB%B6-%F0%9F%92%A5",
	"oid_document": url.PathEscape(`{"$oid":"000000000000000000000000"}`),
	"operator":     url.PathEscape(`{"$ne":null}`),
	"crlf":         "x%0D%0AX-Injected:%201",
	"invalid_utf8": "%FF%FE",
}

// biMalformedPathIDs: every path parameter of every route,
// replaced with malformed ids, is a 404 or 400, never a 500, and changes
// nothing.
func biMalformedPathIDs(t *testing.T, f *biFix) {
	f.refusing(t)
	before := f.state(t)
	names := make([]string, 0, len(biBadIDs))
	for n := range biBadIDs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, k := range f.apiRoutes() {
		r := f.routes[k]
		if len(r.params) == 0 {
			continue
		}
		method, pattern, _ := strings.Cut(k, " ")
		t.Run(k, func(t *testing.T) {
			for param := range r.params {
				for _, name := range names {
					path := pattern
					for p, v := range r.params {
						if p == param {
							v = biBadIDs[name]
						}
						path = strings.Replace(path, ":"+p, v, 1)
					}
					hdr := map[string]string{}
					if r.ifMatch != "" {
						hdr["If-Match"] = f.cachedETag(t, r.ifMatch)
					}
					var body any
					if r.body != nil {
						body = r.body
					}
					res := f.do(t, req{method: method, path: path, token: f.tok[r.as], body: body, header: hdr})
					requireRefused(t, res, http.StatusNotFound, http.StatusBadRequest)
					assert.NotContains(t, res.Header, "X-Injected", "%s=%s", param, name)
				}
			}
		})
	}
	f.requireUnchanged(t, before, "a malformed id")
}

// biJWTAttacksOnEveryRoute sends every authenticated route its
// valid request with forged, expired and revoked tokens: 401 each time,
// nothing changes.
func biJWTAttacksOnEveryRoute(t *testing.T, f *biFix) {
	f.refusing(t)
	issued := f.tok[leadName]
	var claimsOf jwt.MapClaims
	_, _, err := jwt.NewParser().ParseUnverified(issued, &claimsOf)
	require.NoError(t, err)
	pub := f.key.Public().(ed25519.PublicKey)
	kid := auth.KeyID(pub)
	now := f.clock.Now()
	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": auth.Issuer, "sub": leadName, "aud": []string{auth.Audience}, "iat": now.Unix(), "nbf": now.Unix(),
			"exp": now.Add(10 * time.Minute).Unix(), "jti": "forged", "sid": claimsOf["sid"]}
		if change != nil {
			change(c)
		}
		return c
	}
	control := forge(t, jwt.SigningMethodEdDSA, f.key, kid, claims(nil))
	require.Equal(t, http.StatusOK, f.get(t, "/api/v1/me", control).StatusCode, "the control token is accepted")
	parts := strings.Split(issued, ".")
	adminPayload := base64.RawURLEncoding.EncodeToString([]byte(mustJSON(t, claims(func(c jwt.MapClaims) { c["sub"] = adminName; c["role"] = "admin" }))))

	attacks := map[string]string{
		"alg_none":         forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, claims(nil)),
		"hs256_public_key": forge(t, jwt.SigningMethodHS256, []byte(pub), kid, claims(nil)),
		"expired": forge(t, jwt.SigningMethodEdDSA, f.key, kid, claims(func(c jwt.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-time.Hour).Unix(), now.Add(-5*time.Minute).Unix() // beyond the leeway
		})),
		"wrong_kid":      forge(t, jwt.SigningMethodEdDSA, f.key, "0123456789abcdef", claims(nil)),
		"wrong_audience": forge(t, jwt.SigningMethodEdDSA, f.key, kid, claims(func(c jwt.MapClaims) { c["aud"] = []string{"other"} })),
		"wrong_issuer":   forge(t, jwt.SigningMethodEdDSA, f.key, kid, claims(func(c jwt.MapClaims) { c["iss"] = "evil" })),
		"tampered":       parts[0] + "." + adminPayload + "." + parts[2],
		"disabled_user":  f.disabledTok,
	}
	names := make([]string, 0, len(attacks))
	for n := range attacks {
		names = append(names, n)
	}
	sort.Strings(names)
	before := f.state(t)
	seen := 0
	for _, k := range f.apiRoutes() {
		r := f.routes[k]
		if r.as == "" {
			continue
		}
		seen++
		t.Run(k, func(t *testing.T) {
			for _, name := range names {
				var body any
				if r.body != nil {
					body = r.body
				}
				res := f.send(t, k, body, map[string]string{"Authorization": "Bearer " + attacks[name]})
				assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "%s: %s", name, res.body)
			}
		})
	}
	assert.Greater(t, seen, 70)
	f.requireUnchanged(t, before, "a forged token")
}

// biMethodOverrideHeadersAreIgnored: override headers never turn
// one method into another, on any route.
func biMethodOverrideHeadersAreIgnored(t *testing.T, f *biFix) {
	overrides := []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"}
	before := f.state(t)
	for _, k := range f.apiRoutes() {
		r := f.routes[k]
		method, _, _ := strings.Cut(k, " ")
		t.Run(k, func(t *testing.T) {
			all := func(m string) map[string]string {
				hdr := map[string]string{}
				for _, h := range overrides {
					hdr[h] = m
				}
				return hdr
			}
			if method == http.MethodGet {
				plain := f.get(t, r.url, f.tok[r.as])
				for _, m := range []string{http.MethodDelete} {
					res := f.do(t, req{method: http.MethodGet, path: r.url, token: f.tok[r.as], header: all(m)})
					assert.Equal(t, plain.StatusCode, res.StatusCode, "override to %s: %s", m, res.body)
				}
				return
			}
			// A GET to a write route that asks to be the write stays a GET.
			hdr := all(method)
			if r.ifMatch != "" {
				hdr["If-Match"] = f.etagOf(t, r.ifMatch)
			}
			res := f.do(t, req{method: http.MethodGet, path: r.url, token: f.tok[r.as], header: hdr})
			assert.NotContains(t, []int{http.StatusCreated, http.StatusNoContent}, res.StatusCode, "%s", res.body)
			assert.Less(t, res.StatusCode, 500)
		})
	}
	f.requireUnchanged(t, before, "an override header")

	t.Run("a_post_stays_a_post", func(t *testing.T) {
		k := "POST /api/v1/cases"
		for _, h := range overrides {
			res := f.send(t, k, f.routes[k].body, map[string]string{h: http.MethodGet})
			assert.Equal(t, http.StatusCreated, res.StatusCode, "%s: %s", h, res.body)
		}
	})
	t.Run("a_post_does_not_become_a_delete", func(t *testing.T) {
		// Link, then POST to the unlink URL asking for DELETE: no route.
		res := f.send(t, "POST /api/v1/risks/:id/links", f.routes["POST /api/v1/risks/:id/links"].body, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		linked := f.state(t)
		r := f.routes["DELETE /api/v1/risks/:id/links/cases/:case"]
		for _, h := range overrides {
			res := f.do(t, req{method: http.MethodPost, path: r.url, token: f.tok[r.as], header: map[string]string{h: http.MethodDelete}})
			requireRefused(t, res, http.StatusNotFound, http.StatusMethodNotAllowed)
		}
		f.requireUnchanged(t, linked, "a POST with a DELETE override")
	})
}

// biSizesDepthsAndPages: declared 50 MB bodies are refused before
// they are read, 10,000-deep JSON is a 400, and page parameters are
// bounded, on every route that reads them.
func biSizesDepthsAndPages(t *testing.T, f *biFix) {
	f.refusing(t)
	before := f.state(t)

	t.Run("deep_json", func(t *testing.T) {
		deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
		for _, k := range f.bodyRoutes() {
			var first string
			for fk := range f.routes[k].body {
				first = fk
				break
			}
			for name, body := range map[string]string{
				"root":     deep,
				"in_field": `{"` + first + `":` + deep + `}`,
				"objects":  strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
			} {
				res := f.send(t, k, body, nil)
				requireProblem(t, res, http.StatusBadRequest, "validation")
				_ = name
			}
		}
	})

	t.Run("page_parameters", func(t *testing.T) {
		paged := []string{"GET /api/v1/users", "GET /api/v1/audit", "GET /api/v1/cases", "GET /api/v1/incidents", "GET /api/v1/postmortems",
			"GET /api/v1/risks", "GET /api/v1/qa/queue", "GET /api/v1/qa/feedback", "GET /api/v1/qa/calibration-sets", "GET /api/v1/cases/:id/timeline"}
		for _, k := range paged {
			r := f.routes[k]
			qs := []string{"limit=1000000", "limit=-1", "limit=99999999999999999999"}
			if k != "GET /api/v1/users" { // its cursor is the last username: "-1" is one
				qs = append(qs, "cursor=-1", "cursor=o-1", "cursor=-5")
			}
			for _, q := range qs {
				res := f.get(t, r.url+"?"+q, f.tok[r.as])
				p := requireProblem(t, res, http.StatusBadRequest, "validation")
				assert.NotEmpty(t, p.fields(), "%s?%s", k, q)
			}
		}
		// Every other GET: an absurd limit or negative cursor is refused or
		// ignored, never a 500.
		for _, k := range f.apiRoutes() {
			if !strings.HasPrefix(k, "GET ") {
				continue
			}
			r := f.routes[k]
			for _, q := range []string{"limit=1000000&cursor=-1", "from=-1&size=1000000&revision=-1"} {
				res := f.get(t, r.url+"?"+q, f.tok[r.as])
				assert.Less(t, res.StatusCode, 500, "%s?%s: %s", k, q, res.body)
			}
		}
		for _, q := range []string{"from=-1", "from=100000000", "size=1000000", "size=-1", "from=99999999999999999999"} {
			res := f.get(t, "/api/v1/search?"+q, f.tok[leadName])
			requireProblem(t, res, http.StatusBadRequest, "validation")
		}
		for _, q := range []string{"from=-1", "to=-1"} {
			for _, path := range []string{"/api/v1/incidents", "/api/v1/audit", "/api/v1/reports/root-causes", "/api/v1/reports/quality"} {
				tok := f.tok[leadName]
				if path == "/api/v1/audit" {
					tok = f.tok[adminName]
				}
				requireProblem(t, f.get(t, path+"?"+q, tok), http.StatusBadRequest, "validation")
			}
		}
	})
	f.requireUnchanged(t, before, "an oversized or deep request")

	t.Run("fifty_megabytes", func(t *testing.T) {
		addr := f.listen(t)
		for _, k := range f.bodyRoutes() {
			r := f.routes[k]
			method, _, _ := strings.Cut(k, " ")
			raw := method + " " + r.url + " HTTP/1.1\r\nHost: casefile.test\r\nContent-Type: application/json\r\n"
			if r.as != "" {
				raw += "Authorization: Bearer " + f.tok[r.as] + "\r\n"
			}
			// The body is declared, not sent: an answer proves it was not read.
			raw += "Content-Length: " + fmt.Sprint(50<<20) + "\r\n\r\n{\"a\":"
			res := rawExchange(t, addr, []byte(raw))
			requireProblem(t, res, http.StatusRequestEntityTooLarge, "payload-too-large")
		}
	})
}

// biNasty are text payloads; invalid UTF-8 is spliced in after encoding.
var biNasty = map[string]any{
	"crlf":         "line one\r\n{\"level\":\"ERROR\",\"msg\":\"forged\"}\r\nX-Injected: 1",
	"nul":          "before\x00after",
	"invalid_utf8": "BI-INVALID-UTF8",
	"rtl":          "\u202egpj.exe <script>alert(1)</script>",
}

// biControlCharacters: CRLF, NUL, invalid UTF-8 and U+202E in
// every text field of every body are refused with a 400 or stored safely;
// the request log stays one JSON line per event; pages escape what was
// stored.
func biControlCharacters(t *testing.T, f *biFix) {
	requests := 0
	for _, k := range f.bodyRoutes() {
		if k == "POST /api/v1/auth/login" {
			continue // a wrong password each time would lock the address
		}
		body := f.routes[k].body
		t.Run(k, func(t *testing.T) {
			for _, v := range leafVariants(body, biNasty, 4) {
				b, err := json.Marshal(v.body)
				require.NoError(t, err)
				b = bytes.ReplaceAll(b, []byte("BI-INVALID-UTF8"), []byte("bad \xff\xfe utf8"))
				res := f.send(t, k, b, nil)
				requests++
				assert.Less(t, res.StatusCode, 500, "%s: %s", v.name, res.body)
				assert.NotContains(t, res.Header, "X-Injected")
				if res.StatusCode == http.StatusBadRequest {
					requireProblem(t, res, http.StatusBadRequest, "validation")
				}
			}
		})
	}

	t.Run("the_log_is_one_json_line_per_event", func(t *testing.T) {
		lines := strings.Split(strings.TrimRight(f.logs.String(), "\n"), "\n")
		httpLines := 0
		for _, l := range lines {
			var e map[string]any
			require.NoError(t, json.Unmarshal([]byte(l), &e), "log line %q", l)
			assert.NotContains(t, l, "\r")
			if e["msg"] == "http" {
				httpLines++
			}
			assert.NotEqual(t, "forged", e["msg"])
		}
		assert.GreaterOrEqual(t, httpLines, requests)
	})

	t.Run("pages_escape_stored_text", func(t *testing.T) {
		payload := "\u202e<script>alert(1)</script>\r\n<img src=x onerror=alert(2)>"
		body := newCase("bi-actor-9", "", "fraud", "")
		body["title"] = "Case " + payload
		body["summary"] = payload
		res := f.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/cases", body: body})
		if res.StatusCode == http.StatusBadRequest { // a title may refuse line breaks; the summary keeps them
			body["title"] = "Case \u202e<script>alert(1)</script><img src=x onerror=alert(2)>"
			res = f.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/cases", body: body})
		}
		require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)
		var c struct {
			Key   string `json:"key"`
			Title string `json:"title"`
		}
		res.json(t, &c)
		b := f.uiLogin(t, leadName)
		for _, path := range []string{"/cases/" + c.Key, "/cases"} {
			page := b.get(t, path)
			require.Equal(t, http.StatusOK, page.StatusCode, "%s: %s", path, page.body)
			assert.NotContains(t, string(page.body), "<script>alert(1)")
			assert.NotContains(t, string(page.body), "<img src=x")
		}
		page := b.get(t, "/cases/"+c.Key)
		assert.Contains(t, string(page.body), "&lt;script&gt;alert(1)&lt;/script&gt;")
	})
}

// TestBadInput runs the sweeps on one fixture world: the refusal sweeps
// first (each checks the store is as it found it), then those whose
// accepted requests change things.
func TestBadInput(t *testing.T) {
	f := newBIFix(t)
	for _, s := range []struct {
		name string
		run  func(*testing.T, *biFix)
	}{
		{"RouteTableCoversEveryRoute", biRouteTableCoversEveryRoute},
		{"OperatorInjectionInBodies", biOperatorInjectionInBodies},
		{"OperatorInjectionInQueries", biOperatorInjectionInQueries},
		{"RegexAndWildcardsAreBounded", biRegexAndWildcardsAreBounded},
		{"MassAssignment", biMassAssignment},
		{"MalformedPathIDs", biMalformedPathIDs},
		{"JWTAttacksOnEveryRoute", biJWTAttacksOnEveryRoute},
		{"MethodOverrideHeadersAreIgnored", biMethodOverrideHeadersAreIgnored},
		{"SizesDepthsAndPages", biSizesDepthsAndPages},
		{"CrossOriginFormPosts", biCrossOriginFormPosts},
		{"OperatorsInPageForms", biOperatorsInPageForms},
		{"ControlCharacters", biControlCharacters},
	} {
		t.Run(s.name, func(t *testing.T) { s.run(t, f) })
	}
}

// TestBadInputSpoofedForwardingOnThePageLogin: the login form, like the
// API, counts the peer and not X-Forwarded-For or X-Real-IP.
// It has its own harness: it throttles the test peer's address.
func TestBadInputSpoofedForwardingOnThePageLogin(t *testing.T) {
	h := newHarness(t)
	b := h.newBrowser()
	b.get(t, "/login")
	post := func(i int, user, pw string) response {
		form := url.Values{"username": {user}, "password": {pw}, "_csrf": {b.csrf}}
		r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		r.Header.Set("X-Real-IP", fmt.Sprintf("192.0.2.%d", i))
		return b.send(t, r)
	}
	var last response
	for i := 0; i <= auth.MaxAddrAttempts; i++ {
		last = post(i, fmt.Sprintf("guess-%d", i), "not the password at all")
		if last.StatusCode == http.StatusTooManyRequests {
			break
		}
		require.Equal(t, http.StatusUnauthorized, last.StatusCode, "attempt %d", i)
	}
	assert.Equal(t, http.StatusTooManyRequests, last.StatusCode)
	assert.Equal(t, http.StatusTooManyRequests, post(99, leadName, password).StatusCode, "the right password from the same peer is throttled too")
	assert.NotContains(t, b.cookies, "cf_access")
	// And the API login shares the address count.
	requireProblem(t, loginAs(t, h, leadName, password, map[string]string{"X-Forwarded-For": "198.51.100.1"}), http.StatusTooManyRequests, "rate-limited")
}

// biCrossOriginFormPosts: every page form post without the CSRF
// token, with another session's token, or from a foreign Origin is
// refused, and changes nothing.
func biCrossOriginFormPosts(t *testing.T, f *biFix) {
	b := f.uiLogin(t, adminName)
	other := f.uiLogin(t, leadName)
	before := f.state(t)
	repl := strings.NewReplacer(":key", f.caseKey, ":case", f.caseKey, ":eid", f.eid, ":decision", "approve", ":n", "1", ":username", investigatorName, ":step", "submit")
	seen := 0
	for _, r := range f.app.GetRoutes(true) {
		if r.Method != http.MethodPost || strings.HasPrefix(r.Path, "/api/") || r.Path == "/login" {
			continue
		}
		seen++
		path := repl.Replace(r.Path)
		switch {
		case strings.HasPrefix(path, "/incidents/"):
			path = strings.Replace(path, ":id", f.incKey, 1)
		case strings.HasPrefix(path, "/risks/"):
			path = strings.Replace(path, ":id", f.riskKey, 1)
		case strings.HasPrefix(path, "/qa/calibration/"):
			path = strings.Replace(path, ":id", f.calID, 1)
		}
		path = strings.ReplaceAll(path, ":id", "x")
		t.Run(r.Path, func(t *testing.T) {
			form := func() url.Values { return url.Values{"title": {"x"}, "summary": {"x"}, "text": {"x"}, "reason": {"x"}} }
			cases := map[string]struct {
				token  string
				origin string
			}{
				"no_token":               {"", ""},
				"forged_token":           {strings.Repeat("0", 64), ""},
				"another_sessions_token": {other.csrf, ""},
				"foreign_origin":         {b.csrf, "https://evil.example"},
				"null_origin":            {b.csrf, "null"},
				"lookalike_origin":       {b.csrf, "http://example.com.evil.example"},
			}
			for name, tc := range cases {
				fm := form()
				if tc.token != "" {
					fm.Set("_csrf", tc.token)
				}
				rq := httptest.NewRequest(http.MethodPost, path, strings.NewReader(fm.Encode()))
				rq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if tc.origin != "" {
					rq.Header.Set("Origin", tc.origin)
				}
				res := b.send(t, rq)
				assert.Equal(t, http.StatusForbidden, res.StatusCode, "%s: %s", name, res.body)
			}
		})
	}
	assert.Greater(t, seen, 20)
	assert.Equal(t, http.StatusOK, b.get(t, "/settings").StatusCode, "still signed in")
	f.requireUnchanged(t, before, "a cross-site form post")

	t.Run("login_form_from_a_foreign_origin", func(t *testing.T) {
		nb := f.newBrowser()
		nb.get(t, "/login")
		fm := url.Values{"username": {leadName}, "password": {password}, "_csrf": {nb.csrf}}
		rq := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(fm.Encode()))
		rq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rq.Header.Set("Origin", "https://evil.example")
		res := nb.send(t, rq)
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		assert.NotContains(t, nb.cookies, "cf_access")
	})
}

// biOperatorsInPageForms: page form fields are plain strings;
// operator-looking values and bracketed names are refused or stored as
// written, never a 500.
func biOperatorsInPageForms(t *testing.T, f *biFix) {
	b := f.uiLogin(t, leadName)
	b.get(t, "/cases/new")
	before := f.caseTotal(t, adminName)
	form := url.Values{"title": {`{"$ne":null}`}, "summary": {`{"$where":"sleep(100)"}`}, "actor_id": {`{"$gt":""}`},
		"policy_areas": {"fraud_scam"}, "severity": {"sev3"}, "source_kind": {"reactive"}, "source_channel": {"user_report"},
		"team": {"fraud"}, "title[$ne]": {"x"}, "$where": {"1"}, "a.b": {"x"}}
	res := b.post(t, "/cases/new", form)
	require.Less(t, res.StatusCode, 500, "%s", res.body)
	if res.StatusCode == http.StatusSeeOther {
		key := strings.TrimPrefix(res.Header.Get("Location"), "/cases/")
		c := f.getCase(t, leadName, key)
		assert.Equal(t, `{"$ne":null}`, c.Title, "stored as written")
		assert.Equal(t, `{"$gt":""}`, c.Actor.ActorID)
		assert.Equal(t, before+1, f.caseTotal(t, adminName))
	} else {
		assert.Equal(t, before, f.caseTotal(t, adminName))
	}
	for _, path := range []string{"/cases?q=" + url.QueryEscape(`{"$ne":null}`), "/cases?assignee=" + url.QueryEscape(`{"$ne":null}`),
		"/search?q=" + url.QueryEscape(`(a+)+$`), "/incidents?q=" + url.QueryEscape(`{"$gt":""}`), "/risks?owner=" + url.QueryEscape(`{"$ne":null}`)} {
		res := b.get(t, path)
		assert.Less(t, res.StatusCode, 500, "%s: %s", path, res.body)
	}
}
