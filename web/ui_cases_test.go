package web_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/cases"
)

// uiWorld is the case cast with a browser for each member signed in.
func uiWorld(t *testing.T) *world {
	t.Helper()
	return newWorld(t, 0)
}

// rowOf is the <tr> of body that names key ("" when there is none).
func rowOf(body, key string) string {
	for _, tr := range strings.Split(body, "<tr>") {
		if strings.Contains(tr, ">"+key+"<") {
			if i := strings.Index(tr, "</tr>"); i >= 0 {
				return tr[:i]
			}
		}
	}
	return ""
}

// pageOK reads path and requires 200.
func pageOK(t *testing.T, b *browser, path string) string {
	t.Helper()
	res := b.get(t, path)
	require.Equal(t, http.StatusOK, res.StatusCode, "GET %s: %s", path, res.body)
	return string(res.body)
}

// requireSeeOther requires a 303 and returns where it goes.
func requireSeeOther(t *testing.T, res response) string {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "body: %s", res.body)
	return res.Header.Get("Location")
}

func assigned(body map[string]any, to, severity string) map[string]any {
	body["assignee"] = to
	if severity != "" {
		body["severity"] = severity
	}
	return body
}

var moveButton = regexp.MustCompile(`name="to" value="([a-z_]+)"`)

func moves(body string) []string {
	var out []string
	for _, m := range moveButton.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestUICasesQueue(t *testing.T) {
	w := uiWorld(t)
	breached := w.createCase(t, investigatorName, assigned(newCase("act-q1", "", "fraud", ""), investigatorName, "sev1"))
	atRisk := w.createCase(t, investigatorName, assigned(newCase("act-q2", "", "fraud", ""), investigatorName, "sev2"))
	ok := w.createCase(t, investigatorName, assigned(newCase("act-q3", "", "fraud", ""), investigatorName, "sev4"))
	others := w.createCase(t, leadName, assigned(newCase("act-q4", "", "fraud", ""), leadName, "sev1"))
	unassigned := w.createCase(t, leadName, newCase("act-q5", "", "fraud", ""))
	// sev1 triage is due in 1h, sev2 in 4h (at risk from 3h12m), sev4 in 72h.
	w.clock.Advance(3*time.Hour + 30*time.Minute)

	b := w.uiLogin(t, investigatorName)
	body := pageOK(t, b, "/")
	for _, k := range []string{breached.Key, atRisk.Key, ok.Key} {
		assert.Contains(t, body, ">"+k+"<", "my case %s is in my queue", k)
	}
	for _, k := range []string{others.Key, unassigned.Key} {
		assert.NotContains(t, body, ">"+k+"<", "%s is not mine", k)
	}
	assert.Contains(t, rowOf(body, breached.Key), `class="badge breached"`)
	assert.Contains(t, rowOf(body, atRisk.Key), `class="badge at_risk"`)
	assert.Contains(t, rowOf(body, ok.Key), `class="badge ok"`)
	assert.NotContains(t, rowOf(body, ok.Key), "breached")
	// Soonest due first.
	i, j, k := strings.Index(body, ">"+breached.Key+"<"), strings.Index(body, ">"+atRisk.Key+"<"), strings.Index(body, ">"+ok.Key+"<")
	assert.True(t, i < j && j < k, "sorted by SLA due: %d %d %d", i, j, k)

	t.Run("closed_cases_leave_the_queue", func(t *testing.T) {
		w.relogin(t)
		for _, to := range []string{"triage", "investigating"} {
			res := w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/cases/" + ok.Key + "/transitions", body: map[string]string{"to": to}})
			require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		}
		res := w.as(t, investigatorName, req{method: http.MethodPatch, path: "/api/v1/cases/" + ok.Key, header: map[string]string{"If-Match": etag(3)},
			body: map[string]string{"verdict": "no_violation"}})
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		for _, to := range []string{"no_violation", "closed"} {
			res := w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/cases/" + ok.Key + "/transitions", body: map[string]string{"to": to}})
			require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		}
		body := pageOK(t, b, "/")
		assert.NotContains(t, body, ">"+ok.Key+"<")
		assert.Contains(t, body, ">"+breached.Key+"<")
	})
}

func TestUICasesList(t *testing.T) {
	w := uiWorld(t)
	sev1 := newCase("act-l1", "fraud_scam", "fraud", "")
	sev1["severity"], sev1["title"] = "sev1", "Gift card laundering ring"
	a := w.createCase(t, leadName, sev1)
	b2 := w.createCase(t, leadName, newCase("act-l2", "spam", "fraud", ""))
	c3 := w.createCase(t, leadName, newCase("act-l3", "spam", "fraud", "acme"))
	spam := w.createCase(t, leadName, newCase("act-l4", "spam", "spam", ""))

	ivy := w.uiLogin(t, investigatorName)
	tests := []struct {
		name      string
		query     string
		want, not []string
	}{
		{"all_my_team_can_see", "", []string{a.Key, b2.Key, c3.Key}, []string{spam.Key}},
		{"by_severity", "?severity=sev1", []string{a.Key}, []string{b2.Key, c3.Key}},
		{"by_policy_area", "?policy_area=spam", []string{b2.Key, c3.Key}, []string{a.Key}},
		{"by_vendor", "?vendor=acme", []string{c3.Key}, []string{a.Key, b2.Key}},
		{"by_status", "?status=new", []string{a.Key, b2.Key, c3.Key}, nil},
		{"no_status_matches", "?status=closed", nil, []string{a.Key, b2.Key, c3.Key}},
		{"by_query", "?q=laundering", []string{a.Key}, []string{b2.Key, c3.Key}},
		{"by_sla_state", "?sla_state=ok", []string{a.Key, b2.Key}, nil},
		{"team_filter_does_not_widen_scope", "?team=spam", nil, []string{spam.Key}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := pageOK(t, ivy, "/cases"+tt.query)
			for _, k := range tt.want {
				assert.Contains(t, body, ">"+k+"<")
			}
			for _, k := range tt.not {
				assert.NotContains(t, body, ">"+k+"<")
			}
		})
	}

	t.Run("the_form_keeps_the_filters", func(t *testing.T) {
		body := pageOK(t, ivy, "/cases?severity=sev1&q=laundering")
		assert.Contains(t, body, `<option value="sev1" selected>`)
		assert.Contains(t, body, `name="q" value="laundering"`)
		assert.Regexp(t, `<label for="f-severity">`, body)
	})

	t.Run("pages", func(t *testing.T) {
		body := pageOK(t, ivy, "/cases?limit=2")
		assert.Contains(t, body, "of 3")
		m := regexp.MustCompile(`href="(/cases\?[^"]*)" rel="next"`).FindStringSubmatch(body)
		require.NotNil(t, m, "a next link")
		next := strings.ReplaceAll(m[1], "&amp;", "&")
		assert.Contains(t, next, "cursor=o2")
		body2 := pageOK(t, ivy, next)
		assert.Contains(t, body2, "Showing 3–3 of 3")
		assert.Contains(t, body2, `rel="prev"`)
		assert.NotContains(t, body2, `rel="next"`)
	})

	t.Run("bad_filters_are_400", func(t *testing.T) {
		res := ivy.get(t, "/cases?severity=sev9")
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		assert.Contains(t, res.Header.Get("Content-Type"), "text/html")
		assert.Contains(t, string(res.body), "sev9")
	})

	t.Run("leadership_has_no_case_list", func(t *testing.T) {
		res := w.uiLogin(t, leoName).get(t, "/cases")
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		assert.Contains(t, res.Header.Get("Content-Type"), "text/html")
	})
}

func TestUICasesCasePageAccess(t *testing.T) {
	w := uiWorld(t)
	kc := w.createCase(t, leadName, newCase("act-a1", "", "fraud", "acme"))
	tests := []struct {
		user   string
		status int
	}{
		{investigatorName, http.StatusOK},
		{leadName, http.StatusOK},
		{vicName, http.StatusOK},
		{ottoName, http.StatusNotFound},
		{veraName, http.StatusNotFound},
		// Leadership may not read cases; the service answers as for a case
		// that does not exist.
		{leoName, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			res := w.uiLogin(t, tt.user).get(t, "/cases/"+kc.Key)
			require.Equal(t, tt.status, res.StatusCode, "body: %s", res.body)
			assert.Contains(t, res.Header.Get("Content-Type"), "text/html")
			body := string(res.body)
			if tt.status == http.StatusOK {
				assert.Contains(t, body, kc.Title)
				assert.Contains(t, body, `href="/actors/act-a1"`)
			} else {
				assert.NotContains(t, body, kc.Title)
				assert.Contains(t, body, "There is nothing here")
			}
		})
	}
	t.Run("unknown_key", func(t *testing.T) {
		res := w.uiLogin(t, investigatorName).get(t, "/cases/CF-2026-999")
		assert.Equal(t, http.StatusNotFound, res.StatusCode)
	})
}

func TestUICasesFileCase(t *testing.T) {
	w := uiWorld(t)
	b := w.uiLogin(t, investigatorName)
	page := pageOK(t, b, "/cases/new")
	idem := regexp.MustCompile(`name="idem" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	require.NotNil(t, idem)
	for _, id := range []string{"c-title", "c-actor", "c-areas", "c-severity", "c-channel"} {
		assert.Contains(t, page, `<label for="`+id+`">`, "a label for %s", id)
	}

	t.Run("validation_errors_next_to_fields", func(t *testing.T) {
		before := w.caseTotal(t, leadName)
		res := b.post(t, "/cases/new", url.Values{"idem": {idem[1]}, "title": {""}, "actor_id": {"bad id!"}, "severity": {"sev9"}, "source_channel": {"user_report"}})
		require.Equal(t, http.StatusBadRequest, res.StatusCode, "body: %s", res.body)
		body := string(res.body)
		for _, f := range []string{"title", "actor_actor_id", "policy_areas", "severity"} {
			assert.Contains(t, body, `id="err-`+f+`"`, "error shown next to %s", f)
		}
		assert.Contains(t, body, `aria-invalid="true" aria-describedby="err-title"`)
		assert.Contains(t, body, `value="bad id!"`, "what was typed is kept")
		assert.NotContains(t, body, `id="err-source_channel"`)
		assert.Equal(t, before, w.caseTotal(t, leadName), "nothing stored")
	})

	form := url.Values{"idem": {idem[1]}, "title": {"Refund fraud ring"}, "summary": {"Many reports."}, "actor_id": {"act-new-1"},
		"actor_handle": {"@refunder"}, "policy_areas": {"fraud_scam", "spam"}, "severity": {"sev2"}, "source_channel": {"user_report"}, "tags": {"refunds, ring"}}
	loc := requireSeeOther(t, b.post(t, "/cases/new", form))
	require.Regexp(t, `^/cases/CF-2026-[0-9]+$`, loc)
	key := strings.TrimPrefix(loc, "/cases/")
	body := pageOK(t, b, loc)
	assert.Contains(t, body, "Refund fraud ring")
	assert.Contains(t, body, "Filed "+key)

	kc := w.getCase(t, investigatorName, key)
	assert.Equal(t, "fraud", kc.Team, "the filer's team by default")
	assert.Equal(t, []string{"fraud_scam", "spam"}, kc.PolicyAreas)
	assert.Equal(t, cases.Sev2, kc.Severity)
	assert.Equal(t, "reactive", kc.SourceKind)
	assert.Equal(t, "@refunder", kc.Actor.Handle)
	assert.Equal(t, []string{"refunds", "ring"}, kc.Tags)

	t.Run("a_double_submit_files_one_case", func(t *testing.T) {
		before := w.caseTotal(t, leadName)
		pageOK(t, b, "/cases/new")
		again := requireSeeOther(t, b.post(t, "/cases/new", form))
		assert.Equal(t, loc, again)
		assert.Equal(t, before, w.caseTotal(t, leadName))
	})

	t.Run("leadership_may_not_file", func(t *testing.T) {
		res := w.uiLogin(t, leoName).get(t, "/cases/new")
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
	})
}

func TestUICasesStaleEdit(t *testing.T) {
	w := uiWorld(t)
	kc := w.createCase(t, investigatorName, newCase("act-s1", "", "fraud", ""))
	b := w.uiLogin(t, investigatorName)
	body := pageOK(t, b, "/cases/"+kc.Key)
	require.Contains(t, body, `name="version" value="1"`)

	// The lead saves findings meanwhile.
	res := w.as(t, leadName, req{method: http.MethodPatch, path: "/api/v1/cases/" + kc.Key, header: map[string]string{"If-Match": etag(1)},
		body: map[string]string{"findings": "the lead's findings"}})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)

	res = b.post(t, "/cases/"+kc.Key+"/edit", url.Values{"version": {"1"}, "findings": {"my stale findings"}, "verdict": {""}})
	require.Equal(t, http.StatusPreconditionFailed, res.StatusCode, "body: %s", res.body)
	assert.Contains(t, string(res.body), "Someone else changed this while you were editing")
	assert.Contains(t, string(res.body), "my stale findings", "what was typed is not lost")
	assert.Equal(t, "the lead's findings", w.getCase(t, leadName, kc.Key).Findings, "nothing changed")

	t.Run("a_current_version_saves", func(t *testing.T) {
		body := pageOK(t, b, "/cases/"+kc.Key)
		require.Contains(t, body, `name="version" value="2"`)
		requireSeeOther(t, b.post(t, "/cases/"+kc.Key+"/edit", url.Values{"version": {"2"}, "findings": {"merged findings"},
			"verdict": {"violation"}, "proposed_response": {"warn"}, "mitigation_plan": {"watch"}}))
		got := w.getCase(t, leadName, kc.Key)
		assert.Equal(t, "merged findings", got.Findings)
		assert.Equal(t, cases.VerdictViolation, got.Verdict)
		assert.Equal(t, "watch", got.MitigationPlan)
	})
}

func TestUICasesTransitions(t *testing.T) {
	w := uiWorld(t)
	kc := w.createCase(t, investigatorName, newCase("act-t1", "", "fraud", ""))
	ivy, lee := w.uiLogin(t, investigatorName), w.uiLogin(t, leadName)
	path := "/cases/" + kc.Key
	move := func(b *browser, to string) response {
		t.Helper()
		pageOK(t, b, path)
		return b.post(t, path+"/transition", url.Values{"to": {to}, "version": {versionOf(t, b, path)}})
	}

	assert.Equal(t, []string{"triage"}, moves(pageOK(t, ivy, path)))
	requireSeeOther(t, move(ivy, "triage"))
	assert.Equal(t, []string{"investigating"}, moves(pageOK(t, ivy, path)))
	requireSeeOther(t, move(ivy, "investigating"))
	assert.Equal(t, []string{"pending_review"}, moves(pageOK(t, ivy, path)), "no_violation needs a verdict first")

	t.Run("an_illegal_move_is_refused", func(t *testing.T) {
		res := move(ivy, "actioned")
		assert.Equal(t, http.StatusConflict, res.StatusCode)
		assert.Contains(t, string(res.body), "cannot move")
		assert.Equal(t, cases.StatusInvestigating, w.getCase(t, leadName, kc.Key).Status)
	})

	pageOK(t, ivy, path)
	requireSeeOther(t, ivy.post(t, path+"/edit", url.Values{"version": {versionOf(t, ivy, path)}, "verdict": {"no_violation"}}))
	assert.ElementsMatch(t, []string{"pending_review", "no_violation"}, moves(pageOK(t, ivy, path)))
	requireSeeOther(t, move(ivy, "no_violation"))
	requireSeeOther(t, move(ivy, "closed"))

	body := pageOK(t, ivy, path)
	assert.Empty(t, moves(body), "investigators do not reopen")
	assert.Contains(t, body, "No moves are open to you")
	otto := w.uiLogin(t, ottoName)
	pageOK(t, otto, "/cases")
	res := otto.post(t, path+"/transition", url.Values{"to": {"investigating"}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "other teams cannot even see it")

	body = pageOK(t, lee, path)
	assert.Equal(t, []string{"investigating"}, moves(body))
	assert.Contains(t, body, ">Reopen</button>")
	requireSeeOther(t, move(lee, "investigating"))
	assert.Equal(t, cases.StatusInvestigating, w.getCase(t, leadName, kc.Key).Status)

	t.Run("lead_reassigns", func(t *testing.T) {
		assert.NotContains(t, pageOK(t, ivy, path), `action="/cases/`+kc.Key+`/reassign" class="stack"`, "not for investigators")
		pageOK(t, lee, path)
		requireSeeOther(t, lee.post(t, path+"/reassign", url.Values{"version": {versionOf(t, lee, path)}, "team": {"fraud"}, "vendor": {""}, "assignee": {ottoName}}))
		assert.Equal(t, ottoName, w.getCase(t, leadName, kc.Key).Assignee)
	})
}

var versionField = regexp.MustCompile(`name="version" value="([0-9]+)"`)

// versionOf reads the version the case page's forms carry.
func versionOf(t *testing.T, b *browser, path string) string {
	t.Helper()
	m := versionField.FindStringSubmatch(pageOK(t, b, path))
	require.NotNil(t, m, "a version field")
	return m[1]
}

var decideAction = regexp.MustCompile(`formaction="/cases/[^/]+/enforcements/([0-9a-f]+)/([a-z]+)"`)

// steps lists the decision buttons of a case page by enforcement id.
func steps(body string) map[string][]string {
	out := map[string][]string{}
	for _, m := range decideAction.FindAllStringSubmatch(body, -1) {
		out[m[1]] = append(out[m[1]], m[2])
	}
	return out
}

func TestUICasesEnforcement(t *testing.T) {
	w := uiWorld(t)
	kc := w.createCase(t, investigatorName, assigned(newCase("act-e1", "", "fraud", ""), investigatorName, ""))
	ivy, lee := w.uiLogin(t, investigatorName), w.uiLogin(t, leadName)
	path := "/cases/" + kc.Key

	body := pageOK(t, ivy, path)
	assert.Contains(t, body, "the ladder recommends")
	assert.Contains(t, body, "<strong>Warning</strong>")
	assert.Contains(t, body, "0 active strikes")

	t.Run("a_departure_needs_a_justification", func(t *testing.T) {
		res := ivy.post(t, path+"/enforcements", url.Values{"action": {"temporary_suspension"}, "duration": {"30d"}, "reason": {"repeat fraud"}})
		require.Equal(t, http.StatusBadRequest, res.StatusCode, "body: %s", res.body)
		assert.Contains(t, string(res.body), `id="err-justification"`)
		assert.Empty(t, w.getCase(t, leadName, kc.Key).Enforcements)
	})

	pageOK(t, ivy, path)
	requireSeeOther(t, ivy.post(t, path+"/enforcements", url.Values{"action": {"temporary_suspension"}, "duration": {"30d"},
		"policy_area": {"fraud_scam"}, "reason": {"repeat fraud"}, "justification": {"organised ring"}}))
	got := w.getCase(t, leadName, kc.Key)
	require.Len(t, got.Enforcements, 1)
	eid := got.Enforcements[0].ID
	assert.Equal(t, cases.Proposed, got.Enforcements[0].Status)

	assert.Empty(t, steps(pageOK(t, ivy, path))[eid], "investigators do not approve")
	body = pageOK(t, lee, path)
	assert.Equal(t, []string{"approve", "reject"}, steps(body)[eid])
	requireSeeOther(t, lee.post(t, path+"/enforcements/"+eid+"/approve", url.Values{}))
	assert.Equal(t, cases.Approved, w.getCase(t, leadName, kc.Key).Enforcements[0].Status)

	assert.Equal(t, []string{"apply"}, steps(pageOK(t, ivy, path))[eid], "the proposer applies")
	requireSeeOther(t, ivy.post(t, path+"/enforcements/"+eid+"/apply", url.Values{}))
	assert.Equal(t, cases.Applied, w.getCase(t, leadName, kc.Key).Enforcements[0].Status)
	assert.Empty(t, steps(pageOK(t, ivy, path))[eid])
	assert.Equal(t, []string{"reverse"}, steps(pageOK(t, lee, path))[eid])

	t.Run("reversing_needs_a_reason", func(t *testing.T) {
		res := lee.post(t, path+"/enforcements/"+eid+"/reverse", url.Values{})
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		assert.Contains(t, string(res.body), `id="err-reason"`)
		assert.Equal(t, cases.Applied, w.getCase(t, leadName, kc.Key).Enforcements[0].Status)
	})

	t.Run("the_actor_page_shows_it", func(t *testing.T) {
		body := pageOK(t, ivy, "/actors/act-e1")
		assert.Contains(t, body, ">"+kc.Key+"<")
		assert.Contains(t, body, "Temporary suspension")
		res := w.uiLogin(t, veraName).get(t, "/actors/act-e1")
		assert.Equal(t, http.StatusNotFound, res.StatusCode)
	})
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func TestUICasesEvidenceAndWellness(t *testing.T) {
	w := uiWorld(t)
	kc := w.createCase(t, investigatorName, newCase("act-v1", "", "fraud", ""))
	ivy := w.uiLogin(t, investigatorName)
	path := "/cases/" + kc.Key
	pic := pngBytes(t)

	pageOK(t, ivy, path)
	res := ivy.postFile(t, path+"/evidence", url.Values{"kind": {"other"}, "description": {""}}, "file", "shot.png", pic)
	require.Equal(t, http.StatusBadRequest, res.StatusCode, "body: %s", res.body)
	assert.Contains(t, string(res.body), `id="err-description"`)
	assert.Empty(t, w.getCase(t, leadName, kc.Key).Evidence)

	pageOK(t, ivy, path)
	requireSeeOther(t, ivy.postFile(t, path+"/evidence", url.Values{"kind": {"other"}, "description": {"screenshot of the scam"}}, "file", "shot.png", pic))
	pageOK(t, ivy, path)
	requireSeeOther(t, ivy.postFile(t, path+"/evidence", url.Values{"kind": {"comment"}, "description": {"text only"}}, "file", "", nil))
	got := w.getCase(t, leadName, kc.Key)
	require.Len(t, got.Evidence, 2)
	require.NotNil(t, got.Evidence[0].Attachment)
	assert.Nil(t, got.Evidence[1].Attachment, "an empty file input adds no file")

	file := path + "/evidence/1/file"
	t.Run("the_file_is_served_to_the_team_only", func(t *testing.T) {
		res := ivy.get(t, file)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, pic, res.body)
		assert.Equal(t, "image/png", res.Header.Get("Content-Type"))
		res = w.uiLogin(t, ottoName).get(t, file)
		assert.Equal(t, http.StatusNotFound, res.StatusCode)
		assert.NotEqual(t, pic, res.body)
		assert.Equal(t, http.StatusSeeOther, w.newBrowser().get(t, file).StatusCode, "not without a session")
	})

	veiled := `<div class="media veiled" id="m-1">`
	shown := `<div class="media" id="m-1">`
	t.Run("media_is_veiled_by_default", func(t *testing.T) {
		body := pageOK(t, ivy, path)
		assert.Contains(t, body, veiled)
		assert.Contains(t, body, `<img src="`+file+`"`)
		assert.Regexp(t, `data-reveal="m-1" aria-controls="m-1" aria-pressed="false">Reveal</button>`, body)
		assert.NotContains(t, body, `id="m-2"`, "no media box for evidence without media")
	})

	t.Run("the_preference_reveals_it", func(t *testing.T) {
		settings := pageOK(t, ivy, "/settings")
		assert.Contains(t, settings, `<label for="p-reveal">`)
		assert.NotContains(t, settings, "checked")
		requireSeeOther(t, ivy.post(t, "/settings/preferences", url.Values{"reveal_media": {"1"}}))
		assert.Contains(t, pageOK(t, ivy, "/settings"), "checked")
		body := pageOK(t, ivy, path)
		assert.Contains(t, body, shown)
		assert.NotContains(t, body, veiled)
		assert.Contains(t, body, `aria-pressed="true">Hide again</button>`)

		// Only for ivy.
		assert.Contains(t, pageOK(t, w.uiLogin(t, leadName), path), veiled)

		pageOK(t, ivy, "/settings")
		requireSeeOther(t, ivy.post(t, "/settings/preferences", url.Values{}))
		assert.Contains(t, pageOK(t, ivy, path), veiled)
	})
}

func TestUICasesRisks(t *testing.T) {
	w := uiWorld(t)
	kc := w.createCase(t, investigatorName, newCase("act-r1", "", "fraud", "acme"))
	r := w.createRisk(t, investigatorName, newRisk("Refund fraud wave"))
	ivy := w.uiLogin(t, investigatorName)
	path := "/cases/" + kc.Key
	assert.Contains(t, pageOK(t, ivy, path), "Not linked to a risk")

	res := ivy.post(t, path+"/risks", url.Values{"risk_id": {"RISK-2026-999"}})
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, string(res.body), `id="err-risk_id"`)

	pageOK(t, ivy, path)
	requireSeeOther(t, ivy.post(t, path+"/risks", url.Values{"risk_id": {r.Key}}))
	assert.Contains(t, pageOK(t, ivy, path), `href="/risks/`+r.Key+`"`)
	assert.NotContains(t, pageOK(t, w.uiLogin(t, vicName), "/cases/"+kc.Key), "Link to a risk", "vendor agents have no risk register")
}

func TestUICasesEscapesUserText(t *testing.T) {
	const script, img = `<script>alert(1)</script>`, `<img src=x onerror=alert(1)>`
	const escScript, escImg = `&lt;script&gt;alert(1)&lt;/script&gt;`, `&lt;img src=x onerror=alert(1)&gt;`
	w := uiWorld(t)
	body := assigned(newCase("act-x1", "", "fraud", ""), investigatorName, "")
	body["title"], body["summary"] = "T "+script+img, "S "+script+img
	body["actor"] = map[string]any{"actor_id": "act-x1", "handle": img, "display_name": script}
	kc := w.createCase(t, investigatorName, body)
	ivy := w.uiLogin(t, investigatorName)
	path := "/cases/" + kc.Key

	pageOK(t, ivy, path)
	requireSeeOther(t, ivy.post(t, path+"/edit", url.Values{"version": {"1"}, "findings": {"F " + script + img}, "proposed_response": {img}, "mitigation_plan": {script}}))
	pageOK(t, ivy, path)
	requireSeeOther(t, ivy.post(t, path+"/notes", url.Values{"text": {"N " + script + img}}))
	pageOK(t, ivy, path)
	requireSeeOther(t, ivy.postFile(t, path+"/evidence", url.Values{"kind": {"other"}, "description": {"E " + script + img}, "ref": {img}}, "file", img+".png", pngBytes(t)))

	for _, p := range []string{path, "/", "/cases", "/actors/act-x1"} {
		t.Run(strings.ReplaceAll(p, "/", "_"), func(t *testing.T) {
			page := pageOK(t, ivy, p)
			assert.NotContains(t, page, script)
			assert.NotContains(t, page, img)
			assert.NotContains(t, page, "<script>")
			assert.Contains(t, page, escScript)
			assert.Contains(t, page, escImg)
		})
	}
	page := pageOK(t, ivy, path)
	for _, prefix := range []string{"T ", "S ", "F ", "N ", "E "} {
		assert.Contains(t, page, prefix+escScript+escImg, "field starting %q is escaped", prefix)
	}

	t.Run("refused_posts_escape_what_they_echo", func(t *testing.T) {
		pageOK(t, ivy, path)
		res := ivy.post(t, path+"/edit", url.Values{"version": {"1"}, "findings": {script + img}})
		require.Equal(t, http.StatusPreconditionFailed, res.StatusCode)
		assert.NotContains(t, string(res.body), script)
		assert.Contains(t, string(res.body), escScript)
	})
}
