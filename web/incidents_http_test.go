package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/rca"
)

// incidentList is the answer of GET /incidents: index rows for those who
// edit incidents, summaries for leadership; both have these fields.
type incidentList struct {
	Items []struct {
		ID          string   `json:"id"`
		Key         string   `json:"key"`
		Title       string   `json:"title"`
		LinkedCases []string `json:"linked_cases"`
	} `json:"items"`
	Total int64 `json:"total"`
}

// publishedList is the answer of GET /postmortems: index rows.
type publishedList struct {
	Items []struct {
		ID          string `json:"id"`
		Key         string `json:"key"`
		Title       string `json:"title"`
		PublishedAt string `json:"published_at"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
	Total      int64  `json:"total"`
}

// newIncident is a valid POST /incidents body.
func newIncident(title, severity string, started time.Time, linked ...string) map[string]any {
	body := map[string]any{
		"title":      title,
		"severity":   severity,
		"started_at": started,
		"detection":  "spike in user reports",
		"impact":     map[string]any{"text": "buyers lost money", "affected_actors": 120, "exposure_count": 5000, "regions": []string{"DE"}},
	}
	if len(linked) > 0 {
		body["linked_cases"] = linked
	}
	return body
}

// createIncident opens an incident as username and requires 201.
func (w *world) createIncident(t *testing.T, username string, body map[string]any) rca.Incident {
	t.Helper()
	res := w.as(t, username, req{method: http.MethodPost, path: "/api/v1/incidents", body: body})
	require.Equal(t, http.StatusCreated, res.StatusCode, "create incident: %s", res.body)
	var in rca.Incident
	res.json(t, &in)
	return in
}

// getIncident reads an incident as username and requires 200.
func (w *world) getIncident(t *testing.T, username, idOrKey string) rca.Incident {
	t.Helper()
	res := w.get(t, "/api/v1/incidents/"+idOrKey, w.tok[username])
	require.Equal(t, http.StatusOK, res.StatusCode, "get incident %s: %s", idOrKey, res.body)
	var in rca.Incident
	res.json(t, &in)
	return in
}

// putRCA replaces an incident's RCA as username.
func (w *world) putRCA(t *testing.T, username, idOrKey string, body map[string]any) response {
	t.Helper()
	return w.as(t, username, req{method: http.MethodPut, path: "/api/v1/incidents/" + idOrKey + "/rca", body: body})
}

// rootCause is one root cause of a PUT /incidents/{id}/rca body.
func rootCause(description, category, subcategory string) map[string]string {
	return map[string]string{"description": description, "category": category, "subcategory": subcategory}
}

func rcaBody(causes ...map[string]string) map[string]any {
	return map[string]any{
		"problem_statement":    "Scam listings stayed up for hours.",
		"root_causes":          causes,
		"contributing_factors": []string{"weekend staffing"},
		"mitigation_gaps":      []map[string]string{{"mitigation": "manual sweep", "why": "too slow for the volume"}},
	}
}

// pmStep posts a postmortem review step as username.
func (w *world) pmStep(t *testing.T, username, key, step string, body any) response {
	t.Helper()
	return w.as(t, username, req{method: http.MethodPost, path: "/api/v1/incidents/" + key + "/postmortem/" + step, body: body})
}

// requirePMStep posts a step and requires 200.
func (w *world) requirePMStep(t *testing.T, username, key, step string, body any) rca.PublishResult {
	t.Helper()
	res := w.pmStep(t, username, key, step, body)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s by %s: %s", step, username, res.body)
	var r rca.PublishResult
	res.json(t, &r)
	return r
}

// putPostmortem writes a postmortem as username; version 0 sends no If-Match.
func (w *world) putPostmortem(t *testing.T, username, key string, version int64, content map[string]any) response {
	t.Helper()
	r := req{method: http.MethodPut, path: "/api/v1/incidents/" + key + "/postmortem", body: content}
	if version > 0 {
		r.header = map[string]string{"If-Match": etag(int(version))}
	}
	return w.as(t, username, r)
}

func TestIncidentCreate(t *testing.T) {
	w := newWorld(t, 0)
	c := w.createCase(t, investigatorName, newCase("acct-inc-1", "", "fraud", ""))
	spam := w.createCase(t, ottoName, newCase("acct-inc-2", "spam", "spam", ""))
	started := w.clock.Now().Add(-2 * time.Hour)

	body := newIncident("Refund scam wave", "sev1", started, c.Key)
	body["detected_at"] = started.Add(30 * time.Minute)
	res := w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/incidents", body: body})
	require.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", res.body)
	assert.Equal(t, "/api/v1/incidents/INC-2026-1", res.Header.Get("Location"))
	assert.Equal(t, etag(1), res.Header.Get("ETag"))
	var in rca.Incident
	res.json(t, &in)

	t.Run("answer", func(t *testing.T) {
		assert.Equal(t, "INC-2026-1", in.Key)
		assert.Len(t, in.ID, 20)
		assert.Equal(t, rca.Severity("sev1"), in.Severity)
		assert.Equal(t, rca.Investigating, in.Status)
		assert.Equal(t, rca.KindIncident, in.Kind)
		assert.Equal(t, investigatorName, in.Owner)
		assert.Equal(t, []string{c.Key}, in.LinkedCases)
		require.NotNil(t, in.TimeToDetect)
		assert.EqualValues(t, 1800, *in.TimeToDetect)
		assert.Equal(t, in.ID, w.getIncident(t, investigatorName, in.ID).ID, "readable by id")

		res := w.get(t, "/api/v1/incidents", w.tok[investigatorName])
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var page incidentList
		res.json(t, &page)
		require.Len(t, page.Items, 1, "a new incident is listed at once")
		assert.Equal(t, in.Key, page.Items[0].Key)
	})

	t.Run("the_case_shows_the_incident", func(t *testing.T) {
		got := w.getCase(t, investigatorName, c.Key)
		assert.Equal(t, []string{"INC-2026-1"}, got.LinkedIncidents)
		assert.Equal(t, "linked to incident INC-2026-1", got.Timeline[len(got.Timeline)-1].Text)
	})

	t.Run("linking_a_case_the_caller_cannot_see_is_400", func(t *testing.T) {
		before := w.getCase(t, investigatorName, c.Key)
		for name, linked := range map[string][]string{
			"hidden_case":               {spam.Key},
			"visible_then_hidden":       {c.Key, spam.Key},
			"visible_then_no_such_case": {c.Key, "CF-2026-99"},
			"restricted_case":           {w.createCase(t, adminName, newCase("acct-inc-3", "child_safety", "fraud", "")).Key},
		} {
			t.Run(name, func(t *testing.T) {
				res := w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/incidents", body: newIncident("Linked to the unseen", "sev2", started, linked...)})
				p := requireProblem(t, res, http.StatusBadRequest, "validation")
				assert.Equal(t, []string{"linked_cases"}, p.fields())
			})
		}
		res := w.get(t, "/api/v1/incidents", w.tok[investigatorName])
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var page incidentList
		res.json(t, &page)
		assert.EqualValues(t, 1, page.Total, "no incident was stored")
		require.Len(t, page.Items, 1)
		assert.Equal(t, "INC-2026-1", page.Items[0].Key)
		// A visible case linked before the refusal is unlinked again (its
		// version moves; its links end as they were).
		after := w.getCase(t, investigatorName, c.Key)
		assert.Equal(t, []string{"INC-2026-1"}, after.LinkedIncidents, "no dangling link was left on the visible case")
		assert.Equal(t, before.LinkedIncidents, after.LinkedIncidents)
		assert.Empty(t, w.getCase(t, ottoName, spam.Key).LinkedIncidents)
	})

	t.Run("vendor_agent", func(t *testing.T) {
		res := w.as(t, vicName, req{method: http.MethodPost, path: "/api/v1/incidents", body: newIncident("By a vendor", "sev3", started)})
		requireProblem(t, res, http.StatusForbidden, "forbidden")
		for _, ref := range []string{in.Key, in.ID} {
			requireProblem(t, w.get(t, "/api/v1/incidents/"+ref, w.tok[vicName]), http.StatusNotFound, "not-found")
		}
		requireProblem(t, w.get(t, "/api/v1/incidents", w.tok[vicName]), http.StatusForbidden, "forbidden")
	})

	t.Run("invalid_incident_names_fields", func(t *testing.T) {
		bad := newIncident("", "sev5", time.Time{})
		delete(bad, "started_at")
		res := w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/incidents", body: bad})
		p := requireProblem(t, res, http.StatusBadRequest, "validation")
		assert.ElementsMatch(t, []string{"title", "severity", "started_at"}, p.fields())
	})
}

func TestRCAOverHTTP(t *testing.T) {
	w := newWorld(t, 0)
	in := w.createIncident(t, investigatorName, newIncident("Scam listings", "sev2", w.clock.Now().Add(-3*time.Hour)))

	res := w.putRCA(t, investigatorName, in.Key, rcaBody(
		rootCause("The detection model missed the new scam listing pattern", "product", "detection_gap"),
		rootCause("Vendor agents were not trained on the updated SOP for refund scams", "process", "training_gap"),
	))
	require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
	assert.Equal(t, etag(2), res.Header.Get("ETag"))

	t.Run("root_causes_carry_the_classifiers_suggestion", func(t *testing.T) {
		var raw struct {
			RCA struct {
				RootCauses []map[string]any `json:"root_causes"`
			} `json:"rca"`
		}
		res.json(t, &raw)
		require.Len(t, raw.RCA.RootCauses, 2)
		for i, rc := range raw.RCA.RootCauses {
			assert.Contains(t, []any{"product", "process", "policy"}, rc["suggested_category"], "root cause %d", i)
			conf, ok := rc["suggestion_confidence"].(float64)
			require.True(t, ok, "root cause %d: %v", i, rc)
			assert.Greater(t, conf, 0.0)
			assert.LessOrEqual(t, conf, 1.0)
		}
		assert.Equal(t, "product", raw.RCA.RootCauses[0]["category"], "the human choice is kept")
		assert.Equal(t, "detection_gap", raw.RCA.RootCauses[0]["subcategory"])
		assert.Equal(t, "process", raw.RCA.RootCauses[1]["category"])
	})

	t.Run("bad_subcategory_is_400_and_changes_nothing", func(t *testing.T) {
		res := w.putRCA(t, investigatorName, in.Key, rcaBody(rootCause("An agent mislabelled the report", "product", "human_error")))
		p := requireProblem(t, res, http.StatusBadRequest, "validation")
		assert.Equal(t, []string{"root_causes[0].subcategory"}, p.fields())
		got := w.getIncident(t, investigatorName, in.Key)
		assert.EqualValues(t, 2, got.Version)
		assert.Len(t, got.RCA.RootCauses, 2)
	})

	t.Run("stale_if_match_is_412", func(t *testing.T) {
		r := req{method: http.MethodPut, path: "/api/v1/incidents/" + in.Key + "/rca", body: rcaBody(), header: map[string]string{"If-Match": etag(1)}}
		requireProblem(t, w.as(t, investigatorName, r), http.StatusPreconditionFailed, "precondition-failed")
	})

	t.Run("classify", func(t *testing.T) {
		res := w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/rca/classify",
			body: map[string]string{"text": "A bug in the detection model let scam listings through"}})
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var s rca.Suggestion
		res.json(t, &s)
		assert.True(t, s.Category.Valid(), "category %q", s.Category)
		assert.Greater(t, s.Confidence, 0.0)
		assert.LessOrEqual(t, s.Confidence, 1.0)
		require.Len(t, s.Scores, 3)
		sum := 0.0
		for _, c := range rca.Categories {
			sum += s.Scores[c]
		}
		assert.InDelta(t, 1.0, sum, 1e-6)
		assert.Equal(t, s.Confidence, s.Scores[s.Category])
		assert.NotEmpty(t, s.Terms)

		empty := w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/rca/classify", body: map[string]string{"text": " "}})
		p := requireProblem(t, empty, http.StatusBadRequest, "validation")
		assert.Equal(t, []string{"text"}, p.fields())

		requireProblem(t, w.as(t, leoName, req{method: http.MethodPost, path: "/api/v1/rca/classify", body: map[string]string{"text": "x"}}),
			http.StatusForbidden, "forbidden")
	})

	t.Run("classifier_stats_count_the_stored_labels", func(t *testing.T) {
		res := w.get(t, "/api/v1/rca/classifier", w.tok[investigatorName])
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var st rca.ClassifierReport
		res.json(t, &st)
		assert.Equal(t, map[rca.Category]int{rca.Product: 1, rca.Process: 1, rca.Policy: 0}, st.Labels)
		assert.Equal(t, 2, st.Compared)
		assert.Nil(t, st.CrossValidated, "too few labels to cross-validate")
		assert.Positive(t, st.SeedTerms)
	})
}

func TestActionItems(t *testing.T) {
	w := newWorld(t, 0)
	in := w.createIncident(t, investigatorName, newIncident("Queue backlog", "sev2", w.clock.Now().Add(-5*time.Hour)))
	res := w.putRCA(t, investigatorName, in.Key, rcaBody(rootCause("Not enough reviewers on the weekend shift", "process", "capacity")))
	require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
	items := "/api/v1/incidents/" + in.Key + "/action-items"
	now := w.clock.Now()
	// ifMatchIncident is the If-Match of the incident as it is now (an
	// action item's version is its incident's).
	ifMatchIncident := func(t *testing.T, key string) map[string]string {
		return map[string]string{"If-Match": etag(int(w.getIncident(t, investigatorName, key).Version))}
	}

	create := func(t *testing.T, title string, due time.Time) rca.ActionItem {
		t.Helper()
		res := w.as(t, investigatorName, req{method: http.MethodPost, path: items,
			body: map[string]any{"title": title, "owner": investigatorName, "due": due, "kind": "prevent", "root_cause": 0}})
		require.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", res.body)
		var a rca.ActionItem
		res.json(t, &a)
		return a
	}
	first := create(t, "Add weekend capacity", now.Add(24*time.Hour))
	second := create(t, "Alert on queue age", now.Add(48*time.Hour))

	t.Run("created_open", func(t *testing.T) {
		assert.Equal(t, 1, first.N)
		assert.Equal(t, 2, second.N)
		assert.Equal(t, rca.ItemOpen, first.Status)
		assert.False(t, first.Overdue)
		assert.Nil(t, first.DoneAt)
		require.NotNil(t, first.RootCause)
		assert.Equal(t, 0, *first.RootCause)
	})

	t.Run("invalid_item_names_fields", func(t *testing.T) {
		res := w.as(t, investigatorName, req{method: http.MethodPost, path: items, body: map[string]any{"title": "x", "owner": investigatorName, "kind": "pray", "root_cause": 3}})
		p := requireProblem(t, res, http.StatusBadRequest, "validation")
		assert.ElementsMatch(t, []string{"kind", "root_cause"}, p.fields())
		requireProblem(t, w.as(t, investigatorName, req{method: http.MethodPatch, path: items + "/9", body: map[string]string{"status": "done"},
			header: ifMatchIncident(t, in.Key)}), http.StatusNotFound, "not-found")
	})

	t.Run("patch_needs_if_match", func(t *testing.T) {
		before := w.getIncident(t, investigatorName, in.Key)
		requireProblem(t, w.as(t, investigatorName, req{method: http.MethodPatch, path: items + "/1", body: map[string]string{"status": "done"}}),
			http.StatusPreconditionRequired, "precondition-required")
		requireProblem(t, w.as(t, investigatorName, req{method: http.MethodPatch, path: items + "/1", body: map[string]string{"status": "done"},
			header: map[string]string{"If-Match": etag(int(before.Version) - 1)}}), http.StatusPreconditionFailed, "precondition-failed")
		after := w.getIncident(t, investigatorName, in.Key)
		assert.Equal(t, before.Version, after.Version)
		assert.Equal(t, rca.ItemOpen, after.ActionItems[0].Status, "a refused PATCH changes nothing")
	})

	t.Run("done_sets_done_at", func(t *testing.T) {
		res := w.as(t, investigatorName, req{method: http.MethodPatch, path: items + "/1", body: map[string]string{"status": "done"}, header: ifMatchIncident(t, in.Key)})
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var a rca.ActionItem
		res.json(t, &a)
		assert.Equal(t, rca.ItemDone, a.Status)
		require.NotNil(t, a.DoneAt)
		assert.True(t, a.DoneAt.Equal(now), "done_at %s", a.DoneAt)
	})

	t.Run("open_item_past_due_is_overdue", func(t *testing.T) {
		w.clock.Advance(72 * time.Hour)
		w.relogin(t)
		got := w.getIncident(t, investigatorName, in.Key)
		require.Len(t, got.ActionItems, 2)
		assert.False(t, got.ActionItems[0].Overdue, "a done item is never overdue")
		assert.True(t, got.ActionItems[1].Overdue)
		assert.Equal(t, rca.ItemOpen, got.ActionItems[1].Status)

		res := w.as(t, investigatorName, req{method: http.MethodPatch, path: items + "/2", body: map[string]string{"status": "in_progress"}, header: ifMatchIncident(t, in.Key)})
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var a rca.ActionItem
		res.json(t, &a)
		assert.True(t, a.Overdue, "in progress past due is still overdue")
	})
}

func TestPostmortemWorkflow(t *testing.T) {
	w := newWorld(t, 0)
	c := w.createCase(t, investigatorName, newCase("acct-pm-77", "", "fraud", ""))
	in := w.createIncident(t, investigatorName, newIncident("Refund scam wave", "sev1", w.clock.Now().Add(-6*time.Hour), c.Key))
	res := w.putRCA(t, investigatorName, in.Key, rcaBody(rootCause("The refund flow had no velocity limit", "product", "tooling_gap")))
	require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
	res = w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/incidents/" + in.Key + "/action-items",
		body: map[string]any{"title": "Add a velocity limit", "owner": investigatorName, "kind": "prevent"}})
	require.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", res.body)

	key := in.Key
	pmPath := "/api/v1/incidents/" + key + "/postmortem"
	draft := map[string]any{"summary": "A refund scam wave hit checkout.", "impact": "Buyers lost money.", "body": "## Details\n\nThe scam ran for six hours."}
	withPII := map[string]any{"summary": "Account acct-pm-77 ran the scam; victims wrote to fraud-desk@example.com.",
		"impact": "Buyers lost money.", "body": "## Details\n\nThe scam ran for six hours."}
	redacted := map[string]any{"summary": "One account ran the scam.", "impact": "Buyers lost money.", "body": "## Details\n\nRevised after review."}

	publishedTotal := func(t *testing.T) int64 {
		t.Helper()
		res := w.get(t, "/api/v1/postmortems", w.tok[leoName])
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var page publishedList
		res.json(t, &page)
		return page.Total
	}
	working := func(t *testing.T) rca.Postmortem {
		t.Helper()
		res := w.get(t, pmPath, w.tok[investigatorName])
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var p rca.Postmortem
		res.json(t, &p)
		assert.Equal(t, etag(int(p.Version)), res.Header.Get("ETag"))
		return p
	}

	t.Run("investigator_drafts", func(t *testing.T) {
		res := w.putPostmortem(t, investigatorName, key, 0, draft)
		require.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", res.body)
		assert.Equal(t, pmPath, res.Header.Get("Location"))
		assert.Equal(t, etag(1), res.Header.Get("ETag"))
		var p rca.Postmortem
		res.json(t, &p)
		assert.Equal(t, rca.Draft, p.Status)
		assert.Equal(t, 1, p.Revision)
		assert.Equal(t, []string{investigatorName}, p.Authors)

		again := w.putPostmortem(t, investigatorName, key, 0, draft)
		requireProblem(t, again, http.StatusPreconditionRequired, "precondition-required")
	})

	t.Run("submit", func(t *testing.T) {
		r := w.requirePMStep(t, investigatorName, key, "submit", nil)
		assert.Equal(t, rca.InReview, r.Postmortem.Status)
	})

	t.Run("a_lead_edits_in_review", func(t *testing.T) {
		res := w.putPostmortem(t, leadName, key, working(t).Version, withPII)
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var p rca.Postmortem
		res.json(t, &p)
		assert.Equal(t, rca.InReview, p.Status)
		assert.Equal(t, []string{investigatorName, leadName}, p.Authors)
	})

	t.Run("authors_and_investigators_may_not_approve", func(t *testing.T) {
		requireProblem(t, w.pmStep(t, leadName, key, "approve", nil), http.StatusForbidden, "forbidden")
		requireProblem(t, w.pmStep(t, investigatorName, key, "approve", nil), http.StatusForbidden, "forbidden")
		requireProblem(t, w.pmStep(t, investigatorName, key, "publish", nil), http.StatusForbidden, "forbidden")
		assert.Equal(t, rca.InReview, working(t).Status)
	})

	t.Run("publishing_before_approval_is_a_conflict", func(t *testing.T) {
		requireProblem(t, w.pmStep(t, lenaName, key, "publish", nil), http.StatusConflict, "conflict")
	})

	t.Run("another_lead_approves", func(t *testing.T) {
		r := w.requirePMStep(t, lenaName, key, "approve", nil)
		assert.Equal(t, rca.Approved, r.Postmortem.Status)
		assert.Equal(t, lenaName, r.Postmortem.ApprovedBy)
	})

	t.Run("publish_with_pii_is_refused", func(t *testing.T) {
		res := w.pmStep(t, leadName, key, "publish", nil)
		p := requireProblem(t, res, http.StatusConflict, "conflict")
		require.Len(t, p.Errors, 2, "errors: %+v", p.Errors)
		var messages []string
		for _, e := range p.Errors {
			assert.Equal(t, "summary", e.Field)
			messages = append(messages, e.Message)
		}
		all := strings.Join(messages, "\n")
		assert.Contains(t, all, "actor_id: acct-pm-77")
		assert.Contains(t, all, "email: fraud-desk@example.com")
		assert.EqualValues(t, 0, publishedTotal(t), "nothing was published")
		requireProblem(t, w.get(t, "/api/v1/postmortems/"+key, w.tok[leoName]), http.StatusNotFound, "not-found")
		assert.Equal(t, rca.Approved, working(t).Status)
	})

	t.Run("acknowledge_pii_is_only_for_publish", func(t *testing.T) {
		p := requireProblem(t, w.pmStep(t, leadName, key, "submit", map[string]bool{"acknowledge_pii": true}), http.StatusBadRequest, "validation")
		assert.Equal(t, []string{"acknowledge_pii"}, p.fields())
	})

	t.Run("publish_acknowledging_pii", func(t *testing.T) {
		r := w.requirePMStep(t, leadName, key, "publish", map[string]bool{"acknowledge_pii": true})
		assert.Equal(t, rca.Published, r.Postmortem.Status)
		assert.Equal(t, 1, r.Postmortem.PublishedRevision)
		assert.Equal(t, leadName, r.Postmortem.PIIAcknowledgedBy)
		kinds := map[string]bool{}
		for _, f := range r.Findings {
			kinds[f.Kind] = true
		}
		assert.Equal(t, map[string]bool{"actor_id": true, "email": true}, kinds)
	})

	t.Run("leadership_reads_the_published_postmortem", func(t *testing.T) {
		res := w.get(t, "/api/v1/postmortems", w.tok[leoName])
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var page publishedList
		res.json(t, &page)
		require.EqualValues(t, 1, page.Total)
		require.Len(t, page.Items, 1)
		assert.Equal(t, key, page.Items[0].Key)
		assert.Equal(t, in.ID, page.Items[0].ID)
		assert.Equal(t, "Refund scam wave", page.Items[0].Title)
		assert.NotEmpty(t, page.Items[0].PublishedAt)

		for _, ref := range []string{key, in.ID} {
			res = w.get(t, "/api/v1/postmortems/"+ref, w.tok[leoName])
			require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
			var rev rca.Revision
			res.json(t, &rev)
			assert.Equal(t, 1, rev.Revision)
			assert.Equal(t, withPII["summary"], rev.Content.Summary)
			assert.Contains(t, rev.BodyHTML, "<h2>Details</h2>")
			assert.Contains(t, rev.BodyHTML, "<p>The scam ran for six hours.</p>")
		}

		res = w.get(t, "/api/v1/postmortems/"+key+".md", w.tok[leoName])
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		assert.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/markdown"), res.Header.Get("Content-Type"))
		md := string(res.body)
		assert.True(t, strings.HasPrefix(md, "# Postmortem "+key+": Refund scam wave\n"), md)
		assert.Contains(t, md, "- Revision: 1\n")
		assert.Contains(t, md, "## Summary\n\n"+withPII["summary"].(string))
	})

	t.Run("leadership_reads_only_the_incident_summary", func(t *testing.T) {
		res := w.get(t, "/api/v1/incidents/"+key, w.tok[leoName])
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var got rca.Incident
		res.json(t, &got)
		assert.Equal(t, "Refund scam wave", got.Title)
		assert.Empty(t, got.RCA.RootCauses)
		assert.Empty(t, got.RCA.ProblemStatement)
		assert.Empty(t, got.RCA.ContributingFactors)
		assert.Empty(t, got.RCA.MitigationGaps)
		assert.Empty(t, got.ActionItems)
		assert.Empty(t, got.LinkedCases)
		assert.NotContains(t, string(res.body), c.Key)
		assert.NotContains(t, string(res.body), "velocity")
		require.NotNil(t, got.PostmortemStatus)
		assert.Equal(t, rca.Published, *got.PostmortemStatus)

		res = w.get(t, "/api/v1/incidents", w.tok[leoName])
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var page incidentList
		res.json(t, &page)
		require.Len(t, page.Items, 1)
		assert.Equal(t, key, page.Items[0].Key)
		assert.Empty(t, page.Items[0].LinkedCases)
		assert.NotContains(t, string(res.body), c.Key)
		assert.NotContains(t, string(res.body), "velocity")

		// Nor can leadership probe the RCA through the list's text filter.
		for q, want := range map[string]int64{"refund": 1, "stayed": 0} {
			res = w.get(t, "/api/v1/incidents?q="+q, w.tok[leoName])
			require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
			res.json(t, &page)
			assert.Equal(t, want, page.Total, "q=%s", q)
		}

		// The investigator's read of the same incident has them all.
		full := w.getIncident(t, investigatorName, key)
		assert.Len(t, full.RCA.RootCauses, 1)
		assert.Len(t, full.ActionItems, 1)
		assert.Equal(t, []string{c.Key}, full.LinkedCases)
	})

	t.Run("leadership_may_not_read_or_write_the_working_postmortem", func(t *testing.T) {
		before := working(t)
		requireProblem(t, w.get(t, pmPath, w.tok[leoName]), http.StatusNotFound, "not-found")
		requireProblem(t, w.putPostmortem(t, leoName, key, 0, redacted), http.StatusForbidden, "forbidden")
		requireProblem(t, w.putPostmortem(t, leoName, key, before.Version, redacted), http.StatusForbidden, "forbidden")
		for _, step := range []string{"submit", "approve", "publish"} {
			requireProblem(t, w.pmStep(t, leoName, key, step, nil), http.StatusNotFound, "not-found")
		}
		after := working(t)
		assert.Equal(t, before.Version, after.Version)
		assert.Equal(t, before.Content, after.Content)
		assert.Equal(t, rca.Published, after.Status)
	})

	t.Run("editing_the_published_postmortem_starts_revision_2", func(t *testing.T) {
		res := w.putPostmortem(t, investigatorName, key, working(t).Version, redacted)
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var p rca.Postmortem
		res.json(t, &p)
		assert.Equal(t, 2, p.Revision)
		assert.Equal(t, rca.Draft, p.Status)
		assert.Equal(t, 1, p.PublishedRevision)
		assert.Equal(t, []string{investigatorName}, p.Authors, "revision 2 has its own authors")

		res = w.get(t, "/api/v1/postmortems/"+key, w.tok[leoName])
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var rev rca.Revision
		res.json(t, &rev)
		assert.Equal(t, 1, rev.Revision, "leadership still reads revision 1")
		assert.Equal(t, withPII["summary"], rev.Content.Summary)
	})

	t.Run("publishing_revision_2", func(t *testing.T) {
		w.requirePMStep(t, investigatorName, key, "submit", nil)
		w.requirePMStep(t, leadName, key, "approve", nil) // lee wrote revision 1, not 2
		r := w.requirePMStep(t, leadName, key, "publish", nil)
		assert.Empty(t, r.Findings)
		assert.Equal(t, 2, r.Postmortem.PublishedRevision)
		assert.Empty(t, r.Postmortem.PIIAcknowledgedBy)

		read := func(t *testing.T, query string) rca.Revision {
			t.Helper()
			res := w.get(t, "/api/v1/postmortems/"+key+query, w.tok[leoName])
			require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
			var rev rca.Revision
			res.json(t, &rev)
			return rev
		}
		latest := read(t, "")
		assert.Equal(t, 2, latest.Revision)
		assert.Equal(t, redacted["summary"], latest.Content.Summary)
		assert.Contains(t, latest.BodyHTML, "Revised after review.")
		first := read(t, "?revision=1")
		assert.Equal(t, 1, first.Revision)
		assert.Equal(t, withPII["summary"], first.Content.Summary)
		requireProblem(t, w.get(t, "/api/v1/postmortems/"+key+"?revision=3", w.tok[leoName]), http.StatusNotFound, "not-found")
		p := requireProblem(t, w.get(t, "/api/v1/postmortems/"+key+"?revision=0", w.tok[leoName]), http.StatusBadRequest, "validation")
		assert.Equal(t, []string{"revision"}, p.fields())
		assert.EqualValues(t, 1, publishedTotal(t), "one postmortem, listed at its latest revision")
	})
}

func TestPostmortemMarkdownIsSanitised(t *testing.T) {
	w := newWorld(t, 0)
	in := w.createIncident(t, investigatorName, newIncident("Markdown test", "sev2", w.clock.Now().Add(-time.Hour)))
	body := strings.Join([]string{
		"Intro with **bold** text.",
		"",
		"- first item",
		"- second item",
		"",
		"See [the report](https://example.com/report).",
		"",
		"<script>alert(1)</script>",
		"",
		"A [trap](javascript:alert(1)) link and an image <img src=x onerror=alert(1)> inline.",
		"",
		`<iframe src="https://evil.example"></iframe>`,
		"",
		`<a href="javascript:alert(1)" onclick="alert(1)">raw link</a>`,
	}, "\n")

	check := func(t *testing.T, html string) {
		t.Helper()
		lower := strings.ToLower(html)
		for _, bad := range []string{"<script", "javascript:", "onerror", "onclick", "<iframe"} {
			assert.NotContains(t, lower, bad)
		}
		assert.Contains(t, html, "<strong>bold</strong>")
		assert.Contains(t, html, "<li>first item</li>")
		assert.Contains(t, html, "<li>second item</li>")
		assert.Contains(t, html, `href="https://example.com/report"`)
		assert.Contains(t, html, ">the report</a>")
	}

	res := w.putPostmortem(t, investigatorName, in.Key, 0, map[string]any{"summary": "Testing rendering.", "body": body})
	require.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", res.body)
	var p rca.Postmortem
	res.json(t, &p)
	assert.Equal(t, body, p.Content.Body, "the Markdown source is kept as written")

	t.Run("working_revision", func(t *testing.T) { check(t, p.BodyHTML) })

	t.Run("published_revision", func(t *testing.T) {
		w.requirePMStep(t, investigatorName, in.Key, "submit", nil)
		w.requirePMStep(t, leadName, in.Key, "approve", nil)
		w.requirePMStep(t, leadName, in.Key, "publish", nil)
		res := w.get(t, "/api/v1/postmortems/"+in.Key, w.tok[leoName])
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var rev rca.Revision
		res.json(t, &rev)
		check(t, rev.BodyHTML)
	})
}

func TestRootCauseReport(t *testing.T) {
	w := newWorld(t, 0)
	jan := w.createIncident(t, investigatorName, newIncident("January outage", "sev2", time.Date(2026, 1, 10, 10, 0, 0, 0, time.UTC)))
	feb := w.createIncident(t, investigatorName, newIncident("February backlog", "sev3", time.Date(2026, 2, 5, 10, 0, 0, 0, time.UTC)))
	for _, seed := range []struct {
		key    string
		causes []map[string]string
	}{
		{jan.Key, []map[string]string{
			rootCause("A deploy broke the report button", "product", "bug"),
			rootCause("An agent closed reports without reading them", "process", "human_error"),
		}},
		{feb.Key, []map[string]string{
			rootCause("An agent closed reports in bulk without reading them", "process", "human_error"),
			rootCause("New agents had no training on scams", "process", "training_gap"),
			rootCause("The policy on refund scams was ambiguous", "policy", "ambiguous_policy"),
		}},
	} {
		res := w.putRCA(t, investigatorName, seed.key, rcaBody(seed.causes...))
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
	}

	report := func(t *testing.T, query string) rca.RootCauseReport {
		t.Helper()
		res := w.get(t, "/api/v1/reports/root-causes"+query, w.tok[leoName])
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var r rca.RootCauseReport
		res.json(t, &r)
		return r
	}

	t.Run("leadership_reads_totals_by_category", func(t *testing.T) {
		r := report(t, "")
		assert.Equal(t, "month", r.Interval)
		assert.Equal(t, 2, r.Incidents)
		assert.Equal(t, map[rca.Category]int{rca.Product: 1, rca.Process: 3, rca.Policy: 1}, r.Totals)
		require.Len(t, r.Buckets, 2)
		assert.True(t, r.Buckets[0].Start.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
		assert.Equal(t, map[rca.Category]int{rca.Product: 1, rca.Process: 1}, r.Buckets[0].Categories)
		assert.True(t, r.Buckets[1].Start.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)))
		assert.Equal(t, map[rca.Category]int{rca.Process: 2, rca.Policy: 1}, r.Buckets[1].Categories)
		assert.Equal(t, map[string]int{"process/human_error": 1, "process/training_gap": 1, "policy/ambiguous_policy": 1}, r.Buckets[1].Subcategories)
		require.Len(t, r.TopRecurring, 1)
		assert.Equal(t, rca.Recurring{Category: rca.Process, Subcategory: "human_error", Count: 2, Incidents: []string{jan.Key, feb.Key}}, r.TopRecurring[0])
		assert.Len(t, r.MitigationGaps, 2)
	})

	t.Run("by_quarter_and_from", func(t *testing.T) {
		r := report(t, "?interval=quarter")
		require.Len(t, r.Buckets, 1)
		assert.Equal(t, map[rca.Category]int{rca.Product: 1, rca.Process: 3, rca.Policy: 1}, r.Buckets[0].Categories)
		r = report(t, "?from=2026-02-01T00:00:00Z")
		assert.Equal(t, 1, r.Incidents)
		assert.Equal(t, map[rca.Category]int{rca.Product: 0, rca.Process: 2, rca.Policy: 1}, r.Totals)
	})

	t.Run("investigator_may_not_read_reports", func(t *testing.T) {
		requireProblem(t, w.get(t, "/api/v1/reports/root-causes", w.tok[investigatorName]), http.StatusForbidden, "forbidden")
	})

	t.Run("bad_parameters_are_400", func(t *testing.T) {
		for query, field := range map[string]string{"?interval=day": "interval", "?from=yesterday": "from", "?to=2026-13-01": "to"} {
			p := requireProblem(t, w.get(t, "/api/v1/reports/root-causes"+query, w.tok[leoName]), http.StatusBadRequest, "validation")
			assert.Equal(t, []string{field}, p.fields(), query)
		}
	})
}
