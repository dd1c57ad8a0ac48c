package web_test

// The route × role sweep (issue 8, item 1): every route the app registers,
// for anonymous callers and every role, against objects the caller must
// not reach. The expected answers are one table, sweepTable (in
// sweep_table_test.go); a route missing from it fails the test.

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/cases/quality"
)

// Special expectations besides HTTP statuses.
const (
	// skip: the role may use this route and it would change something
	// (a create, a singleton write, its own session or preferences); there
	// is no object it may not reach, so nothing is sent. The feature tests
	// cover the allowed use.
	skip = -1
	// miss: the role may reach every object of this route (admin and lead
	// see every case, investigators work on every incident and risk), so
	// the request goes to an object that does not exist and must be 404 —
	// the same answer a hidden object gets.
	miss = -2
)

// expect is a route's expected status per caller role.
type expect struct {
	anon, admin, lead, inv, vendor, leader int
}

func (e expect) of(role string) int {
	switch role {
	case "anonymous":
		return e.anon
	case "admin":
		return e.admin
	case "lead":
		return e.lead
	case "investigator":
		return e.inv
	case "vendor_agent":
		return e.vendor
	case "leadership":
		return e.leader
	}
	panic("no role " + role)
}

// sweepEntry is one route of the table.
type sweepEntry struct {
	want expect
	// body is the request body for a target: a JSON value for the API,
	// url.Values for a page form. Nil sends {} (API) or an empty form.
	body func(tg sweepTarget) any
	// query is appended to the path (lists and searches that would
	// show a hidden case if they leaked).
	query string
	// match names the object whose version goes in If-Match (API PATCH
	// and PUT): "case", "incident", "risk", "pm", "user", "set", "rules",
	// "taxonomy".
	match string
}

// sweepTarget is what a caller's requests name: objects that caller must
// not reach (or, for missTarget, objects that do not exist).
type sweepTarget struct {
	Case, EID, Evidence, Actor string
	Incident, ItemN            string
	Risk, ChangeN              string
	QA, Set, Alert, Vendor     string
	User                       string
	// HiddenKeys are the keys and titles of the cases the caller may not
	// read: no answer may name one.
	HiddenKeys []string
	versions   map[string]int64
}

// sweepCaller is one caller of the sweep: a username ("" is anonymous),
// its role and its targets.
type sweepCaller struct {
	name, role string
	targets    []sweepTarget
}

// sweepOps are the routes outside the API and the pages: no session.
var sweepOps = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

func sweepSkipped(method, path string) bool {
	switch method {
	case http.MethodHead, "USE", http.MethodConnect, http.MethodTrace, http.MethodOptions:
		return true
	}
	return path == "/static" || strings.HasPrefix(path, "/static/")
}

// fillPath puts tg's objects into a route path's parameters; a parameter
// it cannot place fails the test, so a new route is looked at.
func fillPath(t *testing.T, route string, tg sweepTarget) string {
	t.Helper()
	segs := strings.Split(route, "/")
	coll := ""
	for i, s := range segs {
		if !strings.HasPrefix(s, ":") {
			coll = s
			continue
		}
		// A parameter with a literal suffix (":id.md"): the suffix stays.
		suffix := ""
		if j := strings.IndexByte(s, '.'); j > 0 {
			s, suffix = s[:j], s[j:]
		}
		v := ""
		switch s {
		case ":id", ":key":
			switch coll {
			case "cases":
				v = tg.Case
			case "incidents", "postmortems":
				v = tg.Incident
			case "risks":
				v = tg.Risk
			case "queue", "reviews", "qa":
				v = tg.QA
			case "calibration-sets", "calibration":
				v = tg.Set
			case "alerts":
				v = tg.Alert
			case "webhooks":
				v = "wh_000000000000000000000000" // none (admin only: see the table)
			}
		case ":n":
			switch coll {
			case "evidence":
				v = tg.Evidence
			case "action-items", "items":
				v = tg.ItemN
			case "changes":
				v = tg.ChangeN
			}
		case ":eid":
			v = tg.EID
		case ":case":
			v = tg.Case
		case ":incident":
			v = tg.Incident
		case ":username":
			v = tg.User
		case ":actor_id":
			v = tg.Actor
		case ":vendor":
			v = tg.Vendor
		case ":decision":
			v = "approve"
		case ":step":
			v = "submit"
		}
		require.NotEmpty(t, v, "the sweep cannot fill %s in %s: teach fillPath", s, route)
		segs[i] = url.PathEscape(v) + suffix
	}
	return strings.Join(segs, "/")
}

// sweepResult is one answer, for the table dump and the report.
type sweepResult struct {
	route, caller, path string
	got, want           int
}

func TestSweepRoutesByRole(t *testing.T) {
	w := newWorld(t, 0)
	fx := sweepSetup(t, w)

	// The routes, from the app itself.
	type route struct{ method, path string }
	var routes []route
	seen := map[string]bool{}
	for _, r := range w.app.GetRoutes(true) {
		if sweepSkipped(r.Method, r.Path) {
			continue
		}
		k := r.Method + " " + r.Path
		if seen[k] {
			continue
		}
		seen[k] = true
		routes = append(routes, route{r.Method, r.Path})
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].path+routes[i].method < routes[j].path+routes[j].method })
	for k := range sweepTable {
		assert.True(t, seen[k], "the sweep table names %s, which the app does not register: remove it", k)
	}

	callers := fx.callers
	browsers := map[string]*browser{"": w.newBrowser()}
	for _, c := range callers {
		if c.name != "" {
			browsers[c.name] = w.uiLogin(t, c.name)
		}
	}

	before := fx.snapshot(t)
	dump := os.Getenv("SWEEP_DUMP") != ""
	for _, rt := range routes {
		if _, ok := sweepTable[rt.method+" "+rt.path]; !ok && !dump {
			t.Errorf("add route %s %s to the sweep table (sweep_table_test.go)", rt.method, rt.path)
		}
	}
	start := time.Now()
	results := make([][]sweepResult, len(callers))
	// One subtest per caller, in parallel: each has its own token and
	// browser, and every request is refused, so they cannot disturb each
	// other. The group returns when all are done.
	t.Run("callers", func(t *testing.T) {
		for i, c := range callers {
			name := c.name
			if name == "" {
				name = "anonymous"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				for _, rt := range routes {
					key := rt.method + " " + rt.path
					entry, ok := sweepTable[key]
					if !ok && !dump {
						continue
					}
					want := entry.want.of(c.role)
					if ok && want == skip {
						continue
					}
					targets := c.targets
					if ok && want == miss {
						targets = []sweepTarget{fx.missing}
					}
					api := strings.HasPrefix(rt.path, "/api/")
					done := map[string]bool{}
					for _, tg := range targets {
						path := fillPath(t, rt.path, tg) + entry.query
						if done[path] {
							continue
						}
						done[path] = true
						var body any
						if entry.body != nil {
							body = entry.body(tg)
						}
						var res response
						switch {
						case api || sweepOps[rt.path]:
							r := req{method: rt.method, path: path, token: w.tok[c.name]}
							if rt.method != http.MethodGet && rt.method != http.MethodDelete {
								r.body = body
								if r.body == nil {
									r.body = map[string]any{}
								}
							}
							if entry.match != "" {
								r.header = map[string]string{"If-Match": etag(int(tg.versions[entry.match]))}
							}
							res = w.do(t, r)
						case rt.method == http.MethodGet:
							res = browsers[c.name].get(t, path)
						case rt.method == http.MethodPost:
							form, _ := body.(url.Values)
							res = browsers[c.name].post(t, path, form)
						default:
							t.Fatalf("page route %s: the sweep sends only GET and POST to pages", key)
						}
						exp := want
						if exp == miss {
							exp = http.StatusNotFound
						}
						results[i] = append(results[i], sweepResult{route: key, caller: c.role + "/" + c.name, path: path, got: res.StatusCode, want: exp})
						if dump && !ok {
							continue
						}
						sweepCheck(t, key, c, path, exp, res, api, tg)
					}
				}
			})
		}
	})
	var all []sweepResult
	for _, r := range results {
		all = append(all, r...)
	}
	t.Logf("sweep: %d routes, %d callers, %d requests in %s", len(routes), len(callers), len(all), time.Since(start).Round(time.Millisecond))
	if dump {
		sweepDump(t, all)
	}

	after := fx.snapshot(t)
	assert.Equal(t, before, after, "the refused requests changed nothing")
}

// sweepCheck asserts one answer: its status, and that it names no case
// the caller may not read and, for a 404, says no more than a missing
// object's 404 does.
func sweepCheck(t *testing.T, key string, c sweepCaller, path string, want int, res response, api bool, tg sweepTarget) {
	t.Helper()
	who := c.name
	if who == "" {
		who = "anonymous"
	}
	if !assert.Equal(t, want, res.StatusCode, "%s as %s (%s): %s %s", key, who, c.role, path, sweepExcerpt(res.body)) {
		return
	}
	if res.StatusCode < 300 || res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusForbidden {
		// The answer may echo the path the caller asked for (a problem's
		// instance); anything else naming a hidden case is a leak.
		body := string(res.body)
		for _, p := range []string{path, url.QueryEscape(path)} {
			body = strings.ReplaceAll(body, p, "")
		}
		for _, k := range tg.HiddenKeys {
			// The whole key: CF-2026-1 is not named by CF-2026-12.
			if loc := regexp.MustCompile(regexp.QuoteMeta(k) + `([^0-9]|$)`).FindStringIndex(body); loc != nil {
				t.Errorf("%s as %s names case %s, which %s may not read: %s", key, who, k, who, sweepExcerpt([]byte(body[max(0, loc[0]-200):])))
			}
		}
	}
	switch {
	case want == http.StatusSeeOther && c.name == "":
		assert.True(t, strings.HasPrefix(res.Header.Get("Location"), "/login"), "%s: anonymous page GET goes to /login, got %q", key, res.Header.Get("Location"))
	case !api && want == http.StatusNotFound:
		assert.Contains(t, string(res.body), "There is nothing here, or you may not see it.", "%s as %s: the page's 404 is the one for a missing object", key, who)
	case api && want >= 400:
		var p problemDoc
		res.json(t, &p)
		switch want {
		case http.StatusUnauthorized:
			assert.Equal(t, problemBase+"unauthenticated", p.Type, "%s as %s", key, who)
		case http.StatusForbidden:
			assert.Equal(t, problemBase+"forbidden", p.Type, "%s as %s", key, who)
		}
		if want == http.StatusNotFound {
			assert.Equal(t, problemBase+"not-found", p.Type, "%s as %s", key, who)
			assert.Empty(t, p.Errors, "%s as %s: a 404 judges no field of a hidden object", key, who)
		}
	}
}

func sweepExcerpt(b []byte) string {
	s := string(b)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// sweepDump prints the observed table (SWEEP_DUMP=1), to review by hand
// when routes are added: never paste it without reading it.
func sweepDump(t *testing.T, results []sweepResult) {
	byRoute := map[string]map[string]map[int]bool{}
	var keys []string
	for _, r := range results {
		role := strings.SplitN(r.caller, "/", 2)[0]
		if byRoute[r.route] == nil {
			byRoute[r.route] = map[string]map[int]bool{}
			keys = append(keys, r.route)
		}
		if byRoute[r.route][role] == nil {
			byRoute[r.route][role] = map[int]bool{}
		}
		byRoute[r.route][role][r.got] = true
	}
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%-60q", k)
		for _, role := range []string{"anonymous", "admin", "lead", "investigator", "vendor_agent", "leadership"} {
			var got []string
			for s := range byRoute[k][role] {
				got = append(got, fmt.Sprint(s))
			}
			sort.Strings(got)
			fmt.Fprintf(&b, " %s=%s", role, strings.Join(got, "|"))
		}
		b.WriteString("\n")
	}
	t.Logf("observed:\n%s", b.String())
}

// --- the world ---

type sweepFixture struct {
	w       *world
	callers []sweepCaller
	missing sweepTarget
	cases   []string // keys of the target cases
	inc     string
	risk    string
	sets    []string
	qa      string
}

// sweepSetup files the target objects: three cases (fraud/acme, spam/other,
// a restricted fraud/acme one), each with an evidence file and a proposed
// enforcement; a QA-sampled decision; an incident with an RCA, an action
// item and an unpublished (draft) postmortem; a risk linked to all three
// cases and the incident, with a requested change; and two calibration
// sets, one assigned to acme and one to other.
func sweepSetup(t *testing.T, w *world) *sweepFixture {
	t.Helper()
	lee := leadName
	w.sampleAll(t)

	actorOf, titleOf := map[string]string{}, map[string]string{}
	mk := func(actor, team, vendor string, restricted bool) string {
		body := newCase(actor, "", team, vendor)
		if restricted {
			body["restricted"] = true
		}
		c := w.createCase(t, lee, body)
		res := w.upload(t, lee, c.Key, [][2]string{{"kind", "video"}, {"ref", "v-" + actor}, {"description", "clip"}}, "file", "clip.png", randomBytes(t, 64))
		require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)
		actorOf[c.Key], titleOf[c.Key] = actor, c.Title
		return c.Key
	}
	fraudAcme := mk("sweep-actor-1", "fraud", "acme", false)
	spamOther := mk("sweep-actor-2", "spam", "other", false)
	restricted := mk("sweep-actor-3", "fraud", "acme", true)
	// A decision for QA: vic applies a warning on the acme case.
	warn := w.propose(t, vicName, fraudAcme, map[string]any{"action": "warning", "reason": "Sold fake cards"})
	res := w.as(t, vicName, req{method: http.MethodPost, path: "/api/v1/cases/" + fraudAcme + "/enforcements/" + warn.ID + "/apply", body: map[string]any{}})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	eid := map[string]string{}
	for _, k := range []string{fraudAcme, spamOther, restricted} {
		e := w.propose(t, lee, k, map[string]any{"action": "temporary_suspension", "duration": "30d", "policy_area": "fraud_scam",
			"reason": "Repeated scams", "justification": "Several victims this week"})
		require.Equal(t, "proposed", string(e.Status))
		eid[k] = e.ID
	}
	res = w.get(t, "/api/v1/qa/queue", w.tok[lee])
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	var queue struct {
		Items []quality.Item `json:"items"`
	}
	res.json(t, &queue)
	require.Len(t, queue.Items, 1)
	qa := queue.Items[0].ID

	inc := w.createIncident(t, investigatorName, newIncident("Sweep incident", "sev2", w.clock.Now().Add(-3*time.Hour)))
	require.Equal(t, http.StatusOK, w.putRCA(t, investigatorName, inc.Key, rcaBody(rootCause("No velocity limit", "product", "tooling_gap"))).StatusCode)
	res = w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/incidents/" + inc.Key + "/action-items",
		body: map[string]any{"title": "Add a velocity limit", "owner": investigatorName, "kind": "prevent"}})
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)
	res = w.putPostmortem(t, investigatorName, inc.Key, 0, map[string]any{"summary": "Draft: a scam wave.", "body": "## Draft"})
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)

	rk := w.createRisk(t, lee, newRisk("Sweep risk"))
	for _, k := range []string{fraudAcme, spamOther, restricted} {
		res := w.as(t, lee, linkCase(rk.Key, k))
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	}
	res = w.as(t, lee, req{method: http.MethodPost, path: "/api/v1/risks/" + rk.Key + "/links", body: map[string]string{"incident_id": inc.Key}})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	res = w.as(t, lee, req{method: http.MethodPost, path: "/api/v1/risks/" + rk.Key + "/changes",
		body: map[string]any{"title": "Detect fakes", "owner": investigatorName, "category": "product"}})
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)

	set := func(caseKey, vendor string) string {
		res := w.as(t, lee, req{method: http.MethodPost, path: "/api/v1/qa/calibration-sets", body: map[string]any{
			"name": "Sweep " + vendor, "items": []map[string]any{{"case": caseKey, "verdict": "violation", "action": "warning", "policy_area": "fraud_scam"}}}})
		require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)
		var s struct {
			ID string `json:"id"`
		}
		res.json(t, &s)
		res = w.as(t, lee, req{method: http.MethodPost, path: "/api/v1/qa/calibration-sets/" + s.ID + "/assign", body: map[string]any{"vendor": vendor}})
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		return s.ID
	}
	setAcme := set(fraudAcme, "acme")
	setOther := set(spamOther, "other")

	// The lists and searches the sweep reads do show the target cases to
	// a lead, so their leak checks are not vacuous.
	for _, p := range []string{"/api/v1/search?q=Suspicious&size=100", "/api/v1/cases?limit=200", "/api/v1/risks/" + rk.Key} {
		res := w.get(t, p, w.tok[lee])
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", p, res.body)
		for _, k := range []string{fraudAcme, spamOther, restricted} {
			require.Contains(t, string(res.body), `"`+k+`"`, "%s shows %s to a lead", p, k)
		}
	}

	fx := &sweepFixture{w: w, cases: []string{fraudAcme, spamOther, restricted}, inc: inc.Key, risk: rk.Key, sets: []string{setAcme, setOther}, qa: qa}
	versions := fx.versions(t)
	target := func(caseKey, set, vendor string, hiddenCases ...string) sweepTarget {
		var hidden []string
		for _, k := range hiddenCases {
			hidden = append(hidden, k, titleOf[k])
		}
		v := map[string]int64{}
		for k, x := range versions {
			v[k] = x
		}
		v["case"] = versions["case "+caseKey]
		v["set"] = versions["set "+set]
		return sweepTarget{Case: caseKey, EID: eid[caseKey], Evidence: "1", Actor: actorOf[caseKey],
			Incident: inc.Key, ItemN: "1", Risk: rk.Key, ChangeN: "1", QA: qa, Set: set, Alert: "no-such-alert", Vendor: vendor,
			User: adminName, HiddenKeys: hidden, versions: v}
	}
	fx.missing = sweepTarget{Case: "CF-2026-999", EID: "no-such-enforcement", Evidence: "1", Actor: "no-such-actor",
		Incident: "INC-2026-999", ItemN: "9", Risk: "RISK-2026-999", ChangeN: "9", QA: "no-such-decision", Set: "000000000000000000000000",
		Alert: "no-such-alert", Vendor: "nobody", User: "nobody",
		versions: map[string]int64{"case": 1, "incident": 1, "risk": 1, "pm": 1, "user": 1, "set": 1, "rules": 1, "taxonomy": 1}}
	all := fx.cases
	fx.callers = []sweepCaller{
		{name: "", role: "anonymous", targets: []sweepTarget{target(fraudAcme, setAcme, "acme")}},
		{name: adminName, role: "admin", targets: []sweepTarget{target(fraudAcme, setAcme, "acme")}},
		{name: leadName, role: "lead", targets: []sweepTarget{target(fraudAcme, setAcme, "acme")}},
		{name: investigatorName, role: "investigator", targets: []sweepTarget{
			target(spamOther, setAcme, "acme", spamOther, restricted), target(restricted, setAcme, "acme", spamOther, restricted)}},
		{name: ottoName, role: "investigator", targets: []sweepTarget{
			target(fraudAcme, setAcme, "acme", fraudAcme, restricted), target(restricted, setAcme, "acme", fraudAcme, restricted)}},
		{name: vicName, role: "vendor_agent", targets: []sweepTarget{
			target(spamOther, setOther, "other", spamOther, restricted), target(restricted, setOther, "other", spamOther, restricted)}},
		{name: veraName, role: "vendor_agent", targets: []sweepTarget{
			target(fraudAcme, setAcme, "acme", fraudAcme, restricted), target(restricted, setAcme, "acme", fraudAcme, restricted)}},
		{name: leoName, role: "leadership", targets: []sweepTarget{target(fraudAcme, setAcme, "acme", all...)}},
	}
	return fx
}

// versions reads the version of every target object, as admin.
func (fx *sweepFixture) versions(t *testing.T) map[string]int64 {
	t.Helper()
	w := fx.w
	v := map[string]int64{}
	read := func(name, path string) {
		res := w.get(t, path, w.tok[adminName])
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", path, res.body)
		var doc struct {
			Version int64 `json:"version"`
		}
		res.json(t, &doc)
		if doc.Version == 0 {
			var n int64
			_, err := fmt.Sscanf(strings.Trim(res.Header.Get("ETag"), `"`), "%d", &n)
			require.NoError(t, err, "%s has no version", path)
			doc.Version = n
		}
		v[name] = doc.Version
	}
	for _, k := range fx.cases {
		read("case "+k, "/api/v1/cases/"+k)
	}
	read("incident", "/api/v1/incidents/"+fx.inc)
	read("pm", "/api/v1/incidents/"+fx.inc+"/postmortem")
	read("risk", "/api/v1/risks/"+fx.risk)
	for _, s := range fx.sets {
		read("set "+s, "/api/v1/qa/calibration-sets/"+s)
	}
	read("user", "/api/v1/users/"+adminName)
	read("rules", "/api/v1/qa/rules")
	read("taxonomy", "/api/v1/taxonomy")
	return v
}

// snapshot is everything the sweep must leave as it was: the versions of
// the target objects and the totals of every collection.
func (fx *sweepFixture) snapshot(t *testing.T) map[string]any {
	t.Helper()
	w := fx.w
	snap := map[string]any{}
	for k, v := range fx.versions(t) {
		snap[k] = v
	}
	total := func(path string) {
		res := w.get(t, path, w.tok[adminName])
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", path, res.body)
		var page struct {
			Total int64 `json:"total"`
			Items []any `json:"items"`
		}
		res.json(t, &page)
		snap["total "+path] = fmt.Sprint(page.Total, "/", len(page.Items))
	}
	for _, p := range []string{"/api/v1/cases", "/api/v1/incidents", "/api/v1/risks", "/api/v1/users", "/api/v1/qa/calibration-sets",
		"/api/v1/qa/queue", "/api/v1/postmortems", "/api/v1/qa/alerts"} {
		total(p)
	}
	res := w.get(t, "/api/v1/qa/queue/"+url.PathEscape(fx.qa), w.tok[adminName])
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	var item struct {
		Version int64 `json:"version"`
		Review  any   `json:"review"`
	}
	res.json(t, &item)
	snap["qa item"] = fmt.Sprint(item.Version, item.Review)
	return snap
}
