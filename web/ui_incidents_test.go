package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/rca"
)

// The browser pages of incidents, RCAs and postmortems (ui_incidents.go).

var versionInput = regexp.MustCompile(`name="version" value="(\d+)"`)

// formVersion is the first hidden version of a page's forms.
func formVersion(t *testing.T, res response) string {
	t.Helper()
	m := versionInput.FindSubmatch(res.body)
	require.NotNil(t, m, "no version in: %s", res.body)
	return string(m[1])
}

// uiAs signs username in through the UI of w.
func (w *world) uiAs(t *testing.T, username string) *browser {
	t.Helper()
	return w.uiLogin(t, username)
}

// incidentTotal counts stored incidents (leadership's list reads the store).
func (w *world) incidentTotal(t *testing.T) int64 {
	t.Helper()
	res := w.get(t, "/api/v1/incidents", w.tok[leoName])
	require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
	var page incidentList
	res.json(t, &page)
	return page.Total
}

// rcaForm is a posted RCA editor form with one root cause.
func rcaForm(version, action, description, category, subcategory string) url.Values {
	return url.Values{
		"version": {version}, "action": {action}, "causes": {"2"}, "gaps": {"1"},
		"problem_statement":    {"Scam listings stayed up for hours."},
		"rc.0.description":     {description},
		"rc.0.category":        {category},
		"rc.0.subcategory":     {subcategory},
		"contributing_factors": {"weekend staffing\nno on-call runbook"},
		"gap.0.mitigation":     {"manual sweep"},
		"gap.0.why":            {"too slow for the volume"},
	}
}

func TestUIIncidentsFileAnIncident(t *testing.T) {
	w := newWorld(t, 0)
	b := w.uiAs(t, investigatorName)

	page := b.get(t, "/incidents/new")
	require.Equal(t, http.StatusOK, page.StatusCode, "body: %s", page.body)
	for _, id := range []string{"title", "severity", "started_at", "detection", "impact_text", "linked_cases"} {
		assert.Contains(t, string(page.body), `<label for="`+id+`"`, "a label for %s", id)
	}

	valid := func() url.Values {
		return url.Values{"kind": {"incident"}, "title": {"Refund scam wave"}, "severity": {"sev1"}, "status": {"investigating"},
			"started_at": {"2026-03-01T08:00"}, "detected_at": {"2026-03-01T08:30"}, "detection": {"spike in user reports"},
			"impact_text": {"buyers lost money"}, "affected_actors": {"120"}, "exposure_count": {"5000"}, "regions": {"de, fr"}}
	}
	tests := []struct {
		name   string
		change func(url.Values)
		field  string
	}{
		{"missing_title", func(v url.Values) { v.Del("title") }, "err-title"},
		{"bad_severity", func(v url.Values) { v.Set("severity", "sev9") }, "err-severity"},
		{"missing_start", func(v url.Values) { v.Del("started_at") }, "err-started_at"},
		{"unreadable_start", func(v url.Values) { v.Set("started_at", "yesterday") }, "err-started_at"},
		{"detected_before_start", func(v url.Values) { v.Set("detected_at", "2026-02-28T08:00") }, "err-detected_at"},
		{"count_not_a_number", func(v url.Values) { v.Set("affected_actors", "many") }, "err-impact.affected_actors"},
		{"resolved_without_time", func(v url.Values) { v.Set("status", "resolved") }, "err-resolved_at"},
	}
	for _, tt := range tests {
		t.Run("refuses_"+tt.name, func(t *testing.T) {
			form := valid()
			tt.change(form)
			b.get(t, "/incidents/new")
			res := b.post(t, "/incidents/new", form)
			assert.Equal(t, http.StatusBadRequest, res.StatusCode, "body: %s", res.body)
			assert.Contains(t, string(res.body), `id="`+tt.field+`"`, "the error is shown beside its field")
			assert.Contains(t, string(res.body), "spike in user reports", "the form keeps what was typed")
			assert.EqualValues(t, 0, w.incidentTotal(t), "nothing is stored")
		})
	}

	t.Run("files_a_valid_incident", func(t *testing.T) {
		b.get(t, "/incidents/new")
		res := b.post(t, "/incidents/new", valid())
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "body: %s", res.body)
		assert.Equal(t, "/incidents/INC-2026-1", res.Header.Get("Location"))
		in := w.getIncident(t, investigatorName, "INC-2026-1")
		assert.Equal(t, "Refund scam wave", in.Title)
		assert.Equal(t, rca.Severity("sev1"), in.Severity)
		assert.Equal(t, time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), in.StartedAt)
		assert.Equal(t, []string{"DE", "FR"}, in.Impact.Regions)
		assert.EqualValues(t, 120, in.Impact.AffectedActors)
		assert.Equal(t, investigatorName, in.Owner)

		page := b.get(t, "/incidents/INC-2026-1")
		require.Equal(t, http.StatusOK, page.StatusCode, "body: %s", page.body)
		assert.Contains(t, string(page.body), "Filed INC-2026-1.")
		assert.Contains(t, string(page.body), "Refund scam wave")
	})

	t.Run("the_list_filters", func(t *testing.T) {
		w.createIncident(t, investigatorName, newIncident("Fake review ring", "sev3", w.clock.Now().Add(-time.Hour)))
		tests := []struct {
			query      string
			has, hasNo []string
		}{
			{"", []string{"INC-2026-1", "INC-2026-2"}, nil},
			{"?severity=sev1", []string{"INC-2026-1"}, []string{"INC-2026-2"}},
			{"?severity=sev3&status=investigating", []string{"INC-2026-2"}, []string{"INC-2026-1"}},
			{"?q=review", []string{"INC-2026-2"}, []string{"INC-2026-1"}},
			{"?root_cause_category=policy", nil, []string{"INC-2026-1", "INC-2026-2"}},
		}
		for _, tt := range tests {
			res := b.get(t, "/incidents"+tt.query)
			require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", tt.query, res.body)
			for _, k := range tt.has {
				assert.Contains(t, string(res.body), `href="/incidents/`+k+`"`, tt.query)
			}
			for _, k := range tt.hasNo {
				assert.NotContains(t, string(res.body), `href="/incidents/`+k+`"`, tt.query)
			}
		}
		res := b.get(t, "/incidents?status=bogus")
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		assert.Contains(t, string(res.body), `id="err-status"`)
	})
}

func TestUIIncidentsRCAEditor(t *testing.T) {
	w := newWorld(t, 0)
	in := w.createIncident(t, investigatorName, newIncident("Scam listings surge", "sev2", w.clock.Now().Add(-3*time.Hour)))
	b := w.uiAs(t, investigatorName)
	path := "/incidents/" + in.Key
	description := "The detection model missed the new scam keywords"

	t.Run("suggest_shows_category_and_confidence_and_saves_nothing", func(t *testing.T) {
		page := b.get(t, path)
		require.Equal(t, http.StatusOK, page.StatusCode, "body: %s", page.body)
		res := b.post(t, path+"/rca", rcaForm(formVersion(t, page), "suggest", description, "", ""))
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)

		sug := w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/rca/classify", body: map[string]string{"text": description}})
		require.Equal(t, http.StatusOK, sug.StatusCode, "body: %s", sug.body)
		var want rca.Suggestion
		sug.json(t, &want)
		require.True(t, want.Category.Valid())
		body := string(res.body)
		label := strings.ToUpper(string(want.Category)[:1]) + string(want.Category)[1:]
		assert.Contains(t, body, fmt.Sprintf("Classifier suggests: <strong>%s</strong> (%.1f%% confidence)", label, 100*want.Confidence))
		assert.NotContains(t, selectOf(t, body, "rc-0-c"), "selected", "the category is left for the human to choose")
		assert.Contains(t, body, description, "the typed text stays in the form")

		got := w.getIncident(t, investigatorName, in.Key)
		assert.Equal(t, in.Version, got.Version, "a suggestion saves nothing")
		assert.Empty(t, got.RCA.RootCauses)
	})

	t.Run("a_cause_without_a_category_is_refused", func(t *testing.T) {
		page := b.get(t, path)
		res := b.post(t, path+"/rca", rcaForm(formVersion(t, page), "save", description, "", ""))
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "body: %s", res.body)
		assert.Contains(t, string(res.body), `id="err-root_causes[0].category"`)
		assert.Equal(t, in.Version, w.getIncident(t, investigatorName, in.Key).Version)
	})

	var saved int64
	t.Run("saves_the_human_category", func(t *testing.T) {
		page := b.get(t, path)
		res := b.post(t, path+"/rca", rcaForm(formVersion(t, page), "save", description, "product", "detection_gap"))
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "body: %s", res.body)
		assert.Equal(t, path+"#rca", res.Header.Get("Location"))
		got := w.getIncident(t, investigatorName, in.Key)
		require.Len(t, got.RCA.RootCauses, 1)
		rc := got.RCA.RootCauses[0]
		assert.Equal(t, rca.Product, rc.Category)
		assert.Equal(t, "detection_gap", rc.Subcategory)
		assert.True(t, rc.SuggestedCategory.Valid(), "the suggestion is kept beside the choice")
		assert.Equal(t, []string{"weekend staffing", "no on-call runbook"}, got.RCA.ContributingFactors)
		assert.Equal(t, []rca.MitigationGap{{Mitigation: "manual sweep", Why: "too slow for the volume"}}, got.RCA.MitigationGaps)
		saved = got.Version

		page = b.get(t, path)
		assert.Contains(t, selectOf(t, string(page.body), "rc-0-c"), `<option value="product" selected>`)
		assert.Contains(t, string(page.body), "Classifier suggested: ")
	})

	t.Run("a_stale_version_is_412_and_changes_nothing", func(t *testing.T) {
		stale := fmt.Sprint(in.Version)
		b.get(t, path)
		res := b.post(t, path+"/rca", rcaForm(stale, "save", "Reviewers lacked training", "process", "training_gap"))
		assert.Equal(t, http.StatusPreconditionFailed, res.StatusCode, "body: %s", res.body)
		assert.Contains(t, string(res.body), "Someone else changed this while you were editing.")
		got := w.getIncident(t, investigatorName, in.Key)
		assert.Equal(t, saved, got.Version)
		require.Len(t, got.RCA.RootCauses, 1)
		assert.Equal(t, description, got.RCA.RootCauses[0].Description)
	})

	t.Run("action_items_are_added_and_change_status", func(t *testing.T) {
		b.get(t, path)
		res := b.post(t, path+"/items", url.Values{"title": {"Retrain the keyword model"}, "owner": {investigatorName},
			"due": {"2026-03-20"}, "kind": {"prevent"}, "root_cause": {"0"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "body: %s", res.body)
		got := w.getIncident(t, investigatorName, in.Key)
		require.Len(t, got.ActionItems, 1)
		item := got.ActionItems[0]
		assert.Equal(t, rca.ItemOpen, item.Status)
		require.NotNil(t, item.Due)
		assert.Equal(t, time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC), *item.Due)
		require.NotNil(t, item.RootCause)

		b.get(t, path)
		res = b.post(t, path+"/items", url.Values{"title": {""}, "owner": {investigatorName}, "kind": {"prevent"}})
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		assert.Contains(t, string(res.body), `id="err-item.title"`)
		assert.Len(t, w.getIncident(t, investigatorName, in.Key).ActionItems, 1)

		page := b.get(t, path)
		v := formVersion(t, page)
		res = b.post(t, path+"/items/1", url.Values{"version": {v}, "status": {"done"}, "owner": {leadName}, "due": {"2026-03-20"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "body: %s", res.body)
		got = w.getIncident(t, investigatorName, in.Key)
		assert.Equal(t, rca.ItemDone, got.ActionItems[0].Status)
		assert.Equal(t, leadName, got.ActionItems[0].Owner)
		assert.NotNil(t, got.ActionItems[0].DoneAt)

		res = b.post(t, path+"/items/1", url.Values{"version": {v}, "status": {"open"}})
		assert.Equal(t, http.StatusPreconditionFailed, res.StatusCode, "the version read before is stale")
		assert.Equal(t, rca.ItemDone, w.getIncident(t, investigatorName, in.Key).ActionItems[0].Status)
	})
}

func TestUIIncidentsStatusUpdate(t *testing.T) {
	w := newWorld(t, 0)
	in := w.createIncident(t, investigatorName, newIncident("Scam listings surge", "sev2", w.clock.Now().Add(-3*time.Hour)))
	b := w.uiAs(t, investigatorName)
	path := "/incidents/" + in.Key
	tests := []struct {
		name   string
		form   url.Values
		status int
		want   rca.Status
	}{
		{"resolved_needs_its_time", url.Values{"status": {"resolved"}}, http.StatusBadRequest, rca.Investigating},
		{"stale_version", url.Values{"status": {"mitigated"}, "mitigated_at": {"2026-03-02T08:00"}, "version": {"7"}}, http.StatusPreconditionFailed, rca.Investigating},
		{"resolves", url.Values{"status": {"resolved"}, "mitigated_at": {"2026-03-02T07:00"}, "resolved_at": {"2026-03-02T08:00"}}, http.StatusSeeOther, rca.Resolved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := b.get(t, path)
			if !tt.form.Has("version") {
				tt.form.Set("version", formVersion(t, page))
			}
			res := b.post(t, path+"/status", tt.form)
			assert.Equal(t, tt.status, res.StatusCode, "body: %s", res.body)
			if tt.status == http.StatusBadRequest {
				assert.Contains(t, string(res.body), `id="err-inc.resolved_at"`)
			}
			assert.Equal(t, tt.want, w.getIncident(t, investigatorName, in.Key).Status)
		})
	}
}

// selectOf is the markup of the <select> with id.
func selectOf(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, `<select id="`+id+`"`)
	require.GreaterOrEqual(t, i, 0, "no select %s", id)
	j := strings.Index(body[i:], "</select>")
	require.Greater(t, j, 0)
	return body[i : i+j]
}

// pmForm is a posted postmortem editor form.
func pmForm(version, action string, fields map[string]string) url.Values {
	v := url.Values{"version": {version}, "action": {action}, "timeline_rows": {"1"}}
	for k, s := range fields {
		v.Set(k, s)
	}
	return v
}

func TestUIPostmortemWorkflow(t *testing.T) {
	w := newWorld(t, 0)
	in := w.createIncident(t, investigatorName, newIncident("Refund scam wave", "sev1", w.clock.Now().Add(-5*time.Hour)))
	require.Equal(t, http.StatusOK, w.putRCA(t, investigatorName, in.Key, rcaBody(rootCause("No velocity limit on refunds", "product", "tooling_gap"))).StatusCode)
	ivy, lee, lena := w.uiAs(t, investigatorName), w.uiAs(t, leadName), w.uiAs(t, lenaName)
	path := "/incidents/" + in.Key + "/postmortem"
	stored := func(t *testing.T) (rca.Postmortem, bool) {
		t.Helper()
		res := w.get(t, "/api/v1"+path, w.tok[investigatorName])
		if res.StatusCode == http.StatusNotFound {
			return rca.Postmortem{}, false
		}
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var p rca.Postmortem
		res.json(t, &p)
		return p, true
	}
	content := map[string]string{"summary": "A refund scam wave hit checkout.", "impact": "Buyers lost **money**.",
		"body":    "# Details\n\n<script>alert(1)</script>\n\nThe scam ran for *six* hours.\n\n[link](javascript:alert(1))",
		"tl.0.at": "2026-03-02T04:00", "tl.0.event": "First reports arrived"}

	t.Run("preview_renders_sanitised_markdown_and_saves_nothing", func(t *testing.T) {
		page := ivy.get(t, path)
		require.Equal(t, http.StatusOK, page.StatusCode, "body: %s", page.body)
		assert.Contains(t, string(page.body), "Not started")
		res := ivy.post(t, path, pmForm("0", "preview", content))
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		body := string(res.body)
		assert.Contains(t, body, "<h1>Details</h1>")
		assert.Contains(t, body, "<em>six</em>")
		assert.Contains(t, body, "<strong>money</strong>")
		assert.NotContains(t, body, "<script>alert(1)</script>", "no script survives")
		assert.NotContains(t, body, `href="javascript:`)
		assert.Contains(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;", "the textarea keeps the source, escaped")
		_, exists := stored(t)
		assert.False(t, exists, "a preview saves nothing")
	})

	t.Run("investigator_saves_a_draft_and_submits", func(t *testing.T) {
		ivy.get(t, path)
		res := ivy.post(t, path, pmForm("0", "save", content))
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "body: %s", res.body)
		p, ok := stored(t)
		require.True(t, ok)
		assert.Equal(t, rca.Draft, p.Status)
		require.Len(t, p.Content.Timeline, 1)
		assert.Equal(t, time.Date(2026, 3, 2, 4, 0, 0, 0, time.UTC), p.Content.Timeline[0].At)

		page := ivy.get(t, path)
		assert.Contains(t, string(page.body), "Submit for review")
		res = ivy.post(t, path+"/submit", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "body: %s", res.body)
		p, _ = stored(t)
		assert.Equal(t, rca.InReview, p.Status)
	})

	t.Run("a_stale_save_is_412", func(t *testing.T) {
		ivy.get(t, path)
		before, _ := stored(t)
		res := ivy.post(t, path, pmForm("1", "save", map[string]string{"summary": "overwritten"}))
		assert.Equal(t, http.StatusPreconditionFailed, res.StatusCode, "body: %s", res.body)
		after, _ := stored(t)
		assert.Equal(t, before.Version, after.Version)
		assert.Equal(t, content["summary"], after.Content.Summary)
	})

	t.Run("a_lead_edits_and_so_may_not_approve", func(t *testing.T) {
		page := lee.get(t, path)
		withPII := map[string]string{"summary": "Victims wrote to fraud-desk@example.com.", "impact": content["impact"], "body": content["body"],
			"tl.0.at": content["tl.0.at"], "tl.0.event": content["tl.0.event"]}
		res := lee.post(t, path, pmForm(formVersion(t, page), "save", withPII))
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "body: %s", res.body)
		page = lee.get(t, path)
		assert.NotContains(t, string(page.body), ">Approve</button>")
		res = lee.post(t, path+"/approve", nil)
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		res = ivy.post(t, path+"/approve", nil)
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		p, _ := stored(t)
		assert.Equal(t, rca.InReview, p.Status)
	})

	t.Run("review_comments", func(t *testing.T) {
		lena.get(t, path)
		res := lena.post(t, path+"/comments", url.Values{"text": {"Please add the detection delay."}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "body: %s", res.body)
		page := ivy.get(t, path)
		assert.Contains(t, string(page.body), "Please add the detection delay.")
	})

	t.Run("a_second_lead_approves", func(t *testing.T) {
		page := lena.get(t, path)
		assert.Contains(t, string(page.body), ">Approve</button>")
		res := lena.post(t, path+"/approve", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "body: %s", res.body)
		p, _ := stored(t)
		assert.Equal(t, rca.Approved, p.Status)
		assert.Equal(t, lenaName, p.ApprovedBy)
	})

	t.Run("publish_shows_pii_findings_then_publishes_when_acknowledged", func(t *testing.T) {
		lee.get(t, path)
		res := lee.post(t, path+"/publish", nil)
		assert.Equal(t, http.StatusConflict, res.StatusCode, "body: %s", res.body)
		assert.Contains(t, string(res.body), "Possible personal data")
		assert.Contains(t, string(res.body), "fraud-desk@example.com")
		assert.Contains(t, string(res.body), `name="acknowledge_pii"`)
		p, _ := stored(t)
		assert.Equal(t, rca.Approved, p.Status, "nothing was published")

		res = lee.post(t, path+"/publish", url.Values{"acknowledge_pii": {"1"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "body: %s", res.body)
		p, _ = stored(t)
		assert.Equal(t, rca.Published, p.Status)
		assert.Equal(t, leadName, p.PIIAcknowledgedBy)
	})
}

// publishViaAPI drafts, submits, approves and publishes a postmortem of key.
func (w *world) publishViaAPI(t *testing.T, key string, content map[string]any) {
	t.Helper()
	res := w.putPostmortem(t, investigatorName, key, 0, content)
	require.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", res.body)
	w.requirePMStep(t, investigatorName, key, "submit", nil)
	w.requirePMStep(t, lenaName, key, "approve", nil)
	w.requirePMStep(t, leadName, key, "publish", nil)
}

func TestUIPostmortemReadingView(t *testing.T) {
	w := newWorld(t, 0)
	started := w.clock.Now().Add(-6 * time.Hour)
	pub := w.createIncident(t, investigatorName, newIncident("Refund scam wave", "sev1", started))
	require.Equal(t, http.StatusOK, w.putRCA(t, investigatorName, pub.Key, rcaBody(
		rootCause("No velocity limit on refunds", "product", "tooling_gap"),
		rootCause("The refund SOP skipped the fraud check", "process", "sop_gap"))).StatusCode)
	res := w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/incidents/" + pub.Key + "/action-items",
		body: map[string]any{"title": "Add a velocity limit", "owner": investigatorName, "kind": "prevent"}})
	require.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", res.body)
	w.publishViaAPI(t, pub.Key, map[string]any{"summary": "A refund scam wave hit checkout.", "body": "## Details\n\nIt ran for *six* hours.",
		"timeline": []map[string]any{{"at": started.Add(time.Hour), "event": "Refund volume doubled"}, {"at": started, "event": "Scam began"}}})
	draft := w.createIncident(t, investigatorName, newIncident("Draft only", "sev1", started))
	require.Equal(t, http.StatusCreated, w.putPostmortem(t, investigatorName, draft.Key, 0, map[string]any{"summary": "Not yet."}).StatusCode)
	none := w.createIncident(t, investigatorName, newIncident("No postmortem", "sev2", started))

	leo := w.uiAs(t, leoName)

	t.Run("leadership_lists_published_postmortems", func(t *testing.T) {
		tests := []struct {
			query string
			want  bool
		}{
			{"", true}, {"?category=product", true}, {"?category=process", true}, {"?category=policy", false},
			{"?severity=sev1", true}, {"?severity=sev2", false}, {"?q=refund", true},
		}
		for _, tt := range tests {
			res := leo.get(t, "/postmortems"+tt.query)
			require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", tt.query, res.body)
			assert.Equal(t, tt.want, strings.Contains(string(res.body), `href="/postmortems/`+pub.Key+`"`), tt.query)
			assert.NotContains(t, string(res.body), draft.Key, "drafts are not listed")
		}
		assert.Equal(t, http.StatusBadRequest, leo.get(t, "/postmortems?category=people").StatusCode)
	})

	t.Run("leadership_reads_a_published_postmortem", func(t *testing.T) {
		res := leo.get(t, "/postmortems/"+pub.Key)
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		body := string(res.body)
		assert.Contains(t, body, `<link rel="stylesheet" href="/static/print.css" media="print">`)
		assert.Contains(t, body, "<em>six</em>")
		assert.Contains(t, body, "<dt>Revision</dt><dd>1</dd>")
		first, second := strings.Index(body, "Scam began"), strings.Index(body, "Refund volume doubled")
		require.True(t, first > 0 && second > 0, "the timeline is shown")
		assert.Less(t, first, second, "the timeline is in time order")
		product, process := strings.Index(body, "<h3>Product</h3>"), strings.Index(body, "<h3>Process</h3>")
		require.True(t, product > 0 && process > 0, "root causes are grouped by category")
		assert.Less(t, product, strings.Index(body, "No velocity limit on refunds"))
		assert.Less(t, process, strings.Index(body, "The refund SOP skipped the fraud check"))
		assert.Less(t, strings.Index(body, "No velocity limit on refunds"), process)
		assert.Contains(t, body, "Add a velocity limit")
		assert.Contains(t, body, ">Open</span>")
	})

	t.Run("unpublished_is_404", func(t *testing.T) {
		for _, key := range []string{draft.Key, none.Key, "INC-2026-999"} {
			assert.Equal(t, http.StatusNotFound, leo.get(t, "/postmortems/"+key).StatusCode, key)
		}
	})

	t.Run("leadership_is_refused_editor_and_case_pages", func(t *testing.T) {
		for _, p := range []string{"/incidents", "/incidents/new", "/incidents/" + pub.Key, "/incidents/" + pub.Key + "/postmortem", "/cases"} {
			res := leo.get(t, p)
			assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, res.StatusCode, p)
			assert.NotContains(t, string(res.body), "No velocity limit on refunds", p)
		}
		leo.get(t, "/postmortems")
		res := leo.post(t, "/incidents/"+pub.Key+"/rca", rcaForm(fmt.Sprint(pub.Version), "save", "x", "policy", "policy_gap"))
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		res = leo.post(t, "/incidents/new", url.Values{"title": {"x"}, "severity": {"sev3"}, "started_at": {"2026-03-01T08:00"}})
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		assert.EqualValues(t, 3, w.incidentTotal(t))
	})

	t.Run("vendor_agents_are_refused", func(t *testing.T) {
		vic := w.uiAs(t, vicName)
		for _, p := range []string{"/incidents", "/incidents/new", "/incidents/" + pub.Key, "/incidents/" + pub.Key + "/postmortem", "/postmortems", "/postmortems/" + pub.Key} {
			res := vic.get(t, p)
			assert.Equal(t, http.StatusForbidden, res.StatusCode, p)
			assert.NotContains(t, string(res.body), "Refund scam wave", p)
		}
	})

	t.Run("the_category_filter_follows_the_incident", func(t *testing.T) {
		// A policy root cause found after publishing: the published
		// postmortem is now listed under policy too.
		require.Equal(t, http.StatusOK, w.putRCA(t, investigatorName, pub.Key, rcaBody(
			rootCause("No velocity limit on refunds", "product", "tooling_gap"),
			rootCause("The refund policy was ambiguous", "policy", "ambiguous_policy"))).StatusCode)
		for query, want := range map[string]bool{"?category=policy": true, "?category=process": false} {
			res := leo.get(t, "/postmortems"+query)
			require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", query, res.body)
			assert.Equal(t, want, strings.Contains(string(res.body), `href="/postmortems/`+pub.Key+`"`), query)
		}
		var page struct {
			Total int `json:"total"`
		}
		res := w.get(t, "/api/v1/postmortems?root_cause_category=policy", w.tok[leoName])
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
		res.json(t, &page)
		assert.Equal(t, 1, page.Total, "the API filters the same way")
	})
}

func TestUIIncidentsEscapeEveryField(t *testing.T) {
	w := newWorld(t, 0)
	const script, img = `<script>alert(1)</script>`, `<img src=x onerror=alert(1)>`
	x := script + img
	ivy, lee, lena := w.uiAs(t, investigatorName), w.uiAs(t, leadName), w.uiAs(t, lenaName)
	clean := func(t *testing.T, res response, where string) {
		t.Helper()
		body := string(res.body)
		assert.NotContains(t, body, script, where)
		assert.NotContains(t, body, img, where)
		assert.NotContains(t, body, "<img", where)
		assert.Contains(t, body, "alert(1)", "%s shows the text (escaped)", where)
	}

	ivy.get(t, "/incidents/new")
	res := ivy.post(t, "/incidents/new", url.Values{"kind": {"incident"}, "title": {"T " + x}, "severity": {"sev1"}, "status": {"investigating"},
		"started_at": {"2026-03-01T08:00"}, "detection": {"D " + x}, "impact_text": {"I " + x}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "body: %s", res.body)
	key := "INC-2026-1"
	path := "/incidents/" + key

	ivy.get(t, "/incidents/new")
	refused := ivy.post(t, "/incidents/new", url.Values{"title": {x}, "detection": {x}, "owner": {x}, "linked_cases": {x}, "regions": {x}})
	assert.Equal(t, http.StatusBadRequest, refused.StatusCode)
	clean(t, refused, "a refused incident form")

	page := ivy.get(t, path)
	suggest := ivy.post(t, path+"/rca", url.Values{"version": {formVersion(t, page)}, "action": {"suggest"}, "causes": {"1"}, "gaps": {"1"},
		"problem_statement": {x}, "rc.0.description": {"C " + x}, "rc.0.whys": {"W " + x}, "rc.0.vendor": {x},
		"contributing_factors": {"F " + x}, "gap.0.mitigation": {"M " + x}, "gap.0.why": {"Y " + x}})
	require.Equal(t, http.StatusOK, suggest.StatusCode, "body: %s", suggest.body)
	clean(t, suggest, "the RCA editor after a suggestion")
	badVendor := ivy.post(t, path+"/rca", url.Values{"version": {formVersion(t, page)}, "action": {"save"}, "causes": {"1"},
		"problem_statement": {x}, "rc.0.description": {"C " + x}, "rc.0.category": {"product"}, "rc.0.subcategory": {"bug"}, "rc.0.vendor": {x}})
	assert.Equal(t, http.StatusBadRequest, badVendor.StatusCode)
	clean(t, badVendor, "a refused RCA")
	save := ivy.post(t, path+"/rca", url.Values{"version": {formVersion(t, page)}, "action": {"save"}, "causes": {"1"}, "gaps": {"1"},
		"problem_statement": {"P " + x}, "rc.0.description": {"C " + x}, "rc.0.category": {"product"}, "rc.0.subcategory": {"bug"},
		"rc.0.whys": {"W " + x}, "contributing_factors": {"F " + x}, "gap.0.mitigation": {"M " + x}, "gap.0.why": {"Y " + x}})
	require.Equal(t, http.StatusSeeOther, save.StatusCode, "body: %s", save.body)
	ivy.get(t, path)
	require.Equal(t, http.StatusSeeOther, ivy.post(t, path+"/items", url.Values{"title": {"A " + x}, "owner": {investigatorName}, "kind": {"prevent"}, "root_cause": {"0"}}).StatusCode)

	pmPath := path + "/postmortem"
	prose := map[string]string{}
	for _, f := range []string{"summary", "impact", "detection", "response", "what_went_well", "what_went_wrong", "where_we_got_lucky", "lessons", "body"} {
		prose[f] = f + " " + x
	}
	prose["tl.0.at"], prose["tl.0.event"] = "2026-03-01T09:00", "E "+x
	ivy.get(t, pmPath)
	clean(t, ivy.post(t, pmPath, pmForm("0", "preview", prose)), "the postmortem preview")
	require.Equal(t, http.StatusSeeOther, ivy.post(t, pmPath, pmForm("0", "save", prose)).StatusCode)
	require.Equal(t, http.StatusSeeOther, ivy.post(t, pmPath+"/comments", url.Values{"text": {"K " + x}}).StatusCode)
	require.Equal(t, http.StatusSeeOther, ivy.post(t, pmPath+"/submit", nil).StatusCode)
	lena.get(t, pmPath)
	require.Equal(t, http.StatusSeeOther, lena.post(t, pmPath+"/approve", nil).StatusCode)
	lee.get(t, pmPath)
	require.Equal(t, http.StatusSeeOther, lee.post(t, pmPath+"/publish", nil).StatusCode)

	incident := ivy.get(t, path)
	require.Equal(t, http.StatusOK, incident.StatusCode)
	clean(t, incident, "the incident page")
	for _, text := range []string{"T ", "D ", "I ", "P ", "C ", "W ", "F ", "M ", "Y ", "A "} {
		assert.Contains(t, string(incident.body), text+"&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;", "field %q is shown escaped", text)
	}
	clean(t, ivy.get(t, "/incidents"), "the incident list")
	editor := ivy.get(t, pmPath)
	clean(t, editor, "the postmortem editor")
	assert.Contains(t, string(editor.body), "K &lt;script&gt;", "the comment is shown escaped")
	reading := w.uiAs(t, leoName).get(t, "/postmortems/"+key)
	require.Equal(t, http.StatusOK, reading.StatusCode, "body: %s", reading.body)
	clean(t, reading, "the reading view")
	assert.Contains(t, string(reading.body), "E &lt;script&gt;", "the timeline is shown escaped")
	clean(t, w.uiAs(t, leoName).get(t, "/postmortems"), "the postmortem list")
}
