package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/rca/risk"
)

// newRisk is a valid POST /risks body.
func newRisk(title string) map[string]any {
	return map[string]any{
		"title":        title,
		"description":  "Sellers show counterfeit goods on live streams and delete the stream.",
		"policy_areas": []string{"regulated_goods"},
		"discovery":    "proactive",
	}
}

// createRisk files a risk as username and requires 201.
func (w *world) createRisk(t *testing.T, username string, body map[string]any) risk.Risk {
	t.Helper()
	res := w.as(t, username, req{method: http.MethodPost, path: "/api/v1/risks", body: body})
	require.Equal(t, http.StatusCreated, res.StatusCode, "create risk: %s", res.body)
	var r risk.Risk
	res.json(t, &r)
	return r
}

// getRisk reads a risk as username and requires 200.
func (w *world) getRisk(t *testing.T, username, key string) (risk.Risk, response) {
	t.Helper()
	res := w.get(t, "/api/v1/risks/"+key, w.tok[username])
	require.Equal(t, http.StatusOK, res.StatusCode, "get risk %s: %s", key, res.body)
	var r risk.Risk
	res.json(t, &r)
	return r, res
}

// caseWithActor is a POST /cases body whose actor has a kind and region.
func caseWithActor(actorID, kind, region, team string) map[string]any {
	body := newCase(actorID, "", team, "")
	body["actor"] = map[string]any{"actor_id": actorID, "kind": kind, "region": region}
	return body
}

func linkCase(key, caseRef string) req {
	return req{method: http.MethodPost, path: "/api/v1/risks/" + key + "/links", body: map[string]string{"case_id": caseRef}}
}

func TestRiskCreateAndEdit(t *testing.T) {
	w := newWorld(t, 0)

	res := w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/risks", body: newRisk("Counterfeits on live streams")})
	require.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", res.body)
	assert.Equal(t, "/api/v1/risks/RISK-2026-1", res.Header.Get("Location"))
	assert.Equal(t, etag(1), res.Header.Get("ETag"))
	var shape map[string]any
	res.json(t, &shape)
	for _, field := range []string{"id", "key", "title", "description", "policy_areas", "status", "owner", "discovery",
		"linked_cases", "linked_incidents", "evidence", "changes", "created_at", "created_by", "updated_at", "version"} {
		assert.Contains(t, shape, field)
	}
	assert.NotContains(t, shape, "links", "case snapshots stay inside")
	assert.NotContains(t, shape, "seq")
	assert.Equal(t, "emerging", shape["status"])
	assert.Equal(t, investigatorName, shape["owner"])
	key := shape["key"].(string)

	t.Run("invalid_risk_names_fields", func(t *testing.T) {
		bad := map[string]any{"title": "", "policy_areas": []string{"weather"}, "discovery": "luck"}
		p := requireProblem(t, w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/risks", body: bad}), http.StatusBadRequest, "validation")
		assert.ElementsMatch(t, []string{"title", "policy_areas[0]", "discovery"}, p.fields())

		withStatus := newRisk("Set my own status")
		withStatus["status"] = "closed"
		p = requireProblem(t, w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/risks", body: withStatus}), http.StatusBadRequest, "validation")
		assert.Equal(t, []string{"status"}, p.fields(), "a new risk is emerging; status is not a create field")
	})

	patch := func(version int, body any) response {
		r := req{method: http.MethodPatch, path: "/api/v1/risks/" + key, body: body}
		if version > 0 {
			r.header = map[string]string{"If-Match": etag(version)}
		}
		return w.as(t, leadName, r)
	}
	t.Run("patch_without_if_match_is_428", func(t *testing.T) {
		requireProblem(t, patch(0, map[string]string{"title": "Blind"}), http.StatusPreconditionRequired, "precondition-required")
	})
	t.Run("patch_moves_status", func(t *testing.T) {
		res := patch(1, map[string]string{"status": "monitoring", "owner": leadName})
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		assert.Equal(t, etag(2), res.Header.Get("ETag"))
		var r risk.Risk
		res.json(t, &r)
		assert.Equal(t, risk.Monitoring, r.Status)
		assert.Equal(t, leadName, r.Owner)
	})
	t.Run("stale_if_match_is_412", func(t *testing.T) {
		requireProblem(t, patch(1, map[string]string{"title": "Lost"}), http.StatusPreconditionFailed, "precondition-failed")
	})
	t.Run("backward_move_is_409", func(t *testing.T) {
		requireProblem(t, patch(2, map[string]string{"status": "emerging"}), http.StatusConflict, "conflict")
		r, _ := w.getRisk(t, leadName, key)
		assert.Equal(t, risk.Monitoring, r.Status)
		assert.EqualValues(t, 2, r.Version)
	})
	t.Run("unknown_risk_is_404", func(t *testing.T) {
		requireProblem(t, w.get(t, "/api/v1/risks/RISK-2026-99", w.tok[leadName]), http.StatusNotFound, "not-found")
	})

	t.Run("list_filters", func(t *testing.T) {
		w.createRisk(t, investigatorName, newRisk("Second risk"))
		type page struct {
			Items []risk.Summary `json:"items"`
			Total int64          `json:"total"`
		}
		for _, tt := range []struct {
			query string
			keys  []string
		}{
			{"", []string{"RISK-2026-2", "RISK-2026-1"}},
			{"?status=monitoring", []string{"RISK-2026-1"}},
			{"?owner=" + investigatorName, []string{"RISK-2026-2"}},
			{"?policy_area=regulated_goods&limit=1", []string{"RISK-2026-2"}},
		} {
			res := w.get(t, "/api/v1/risks"+tt.query, w.tok[leoName])
			require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
			var p page
			res.json(t, &p)
			var keys []string
			for _, it := range p.Items {
				keys = append(keys, it.Key)
			}
			assert.Equal(t, tt.keys, keys, "query %q", tt.query)
		}
		p := requireProblem(t, w.get(t, "/api/v1/risks?status=archived", w.tok[leadName]), http.StatusBadRequest, "validation")
		assert.Equal(t, []string{"status"}, p.fields())
	})

	t.Run("requested_changes", func(t *testing.T) {
		res := w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/risks/" + key + "/changes",
			body: map[string]any{"title": "Detect fakes in live streams", "owner": investigatorName, "category": "product", "due": "2026-04-01T00:00:00Z"}})
		require.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", res.body)
		version := res.Header.Get("ETag")
		var c risk.Change
		res.json(t, &c)
		assert.Equal(t, 1, c.N)
		assert.Equal(t, rca.ItemOpen, c.Status)

		path := "/api/v1/risks/" + key + "/changes/1"
		requireProblem(t, w.as(t, investigatorName, req{method: http.MethodPatch, path: path, body: map[string]string{"status": "done"}}),
			http.StatusPreconditionRequired, "precondition-required")
		res = w.as(t, investigatorName, req{method: http.MethodPatch, path: path, body: map[string]string{"status": "done"}, header: map[string]string{"If-Match": version}})
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		res.json(t, &c)
		assert.Equal(t, rca.ItemDone, c.Status)
		assert.NotNil(t, c.DoneAt)

		p := requireProblem(t, w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/risks/" + key + "/changes",
			body: map[string]any{"title": "x", "owner": investigatorName, "category": "legal"}}), http.StatusBadRequest, "validation")
		assert.Equal(t, []string{"category"}, p.fields())
		requireProblem(t, w.as(t, investigatorName, req{method: http.MethodPatch, path: "/api/v1/risks/" + key + "/changes/x",
			body: map[string]string{"status": "done"}, header: map[string]string{"If-Match": etag(9)}}), http.StatusNotFound, "not-found")
	})
}

func TestRiskVendorAgentIsRefusedEveryRoute(t *testing.T) {
	w := newWorld(t, 0)
	r := w.createRisk(t, leadName, newRisk("Vendor-proof"))
	base := "/api/v1/risks/" + r.Key
	ifMatch := map[string]string{"If-Match": etag(1)}
	routes := []req{
		{method: http.MethodPost, path: "/api/v1/risks", body: newRisk("By a vendor")},
		{method: http.MethodPost, path: "/api/v1/risks", body: "{not json"},
		{method: http.MethodGet, path: "/api/v1/risks"},
		{method: http.MethodGet, path: base},
		{method: http.MethodPatch, path: base, body: map[string]string{"title": "x"}, header: ifMatch},
		{method: http.MethodPatch, path: base, body: map[string]string{"title": "x"}},
		{method: http.MethodPost, path: base + "/links", body: map[string]string{"case_id": "CF-2026-1"}},
		{method: http.MethodDelete, path: base + "/links/cases/CF-2026-1"},
		{method: http.MethodDelete, path: base + "/links/incidents/INC-2026-1"},
		{method: http.MethodPost, path: base + "/changes", body: map[string]string{"title": "x", "owner": vicName, "category": "policy"}},
		{method: http.MethodPatch, path: base + "/changes/1", body: map[string]string{"status": "done"}, header: ifMatch},
		{method: http.MethodPost, path: base + "/rca"},
		{method: http.MethodGet, path: "/api/v1/risks/RISK-2026-99"},
	}
	for _, rt := range routes {
		t.Run(rt.method+"_"+strings.TrimPrefix(rt.path, "/api/v1/"), func(t *testing.T) {
			requireProblem(t, w.as(t, vicName, rt), http.StatusForbidden, "forbidden")
		})
	}
	page := w.auditEvents(t, w.tok[adminName], url.Values{"user": {vicName}, "action": {string(auth.ReadRisk)}})
	assert.EqualValues(t, len(routes), page.Total, "every refusal is audited")
	for _, e := range page.Items {
		assert.Equal(t, auth.OutcomeDenied, e.Outcome)
		assert.Equal(t, "risk", e.Entity.Type)
	}
	got, _ := w.getRisk(t, leadName, r.Key)
	assert.EqualValues(t, 1, got.Version, "nothing was written")
}

func TestRiskLinksOverHTTP(t *testing.T) {
	w := newWorld(t, 0)
	fraud := w.createCase(t, investigatorName, caseWithActor("acct-risk-de-1", "merchant", "DE", "fraud"))
	spam := w.createCase(t, ottoName, caseWithActor("acct-risk-us-1", "user", "US", "spam"))
	r := w.createRisk(t, leadName, newRisk("Counterfeit wave"))
	key := r.Key

	for _, c := range []cases.Case{fraud, spam} {
		res := w.as(t, leadName, linkCase(key, c.Key))
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
	}
	linked, res := w.getRisk(t, leadName, key)
	assert.Equal(t, etag(3), res.Header.Get("ETag"))
	assert.Equal(t, []string{fraud.Key, spam.Key}, linked.LinkedCases)
	assert.Equal(t, 2, linked.Evidence.CaseCount)

	t.Run("linking_twice_is_idempotent", func(t *testing.T) {
		res := w.as(t, leadName, linkCase(key, fraud.ID))
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		assert.Equal(t, etag(3), res.Header.Get("ETag"))
	})

	t.Run("investigator_of_another_team_cannot_link", func(t *testing.T) {
		other := w.createCase(t, investigatorName, caseWithActor("acct-risk-de-2", "merchant", "DE", "fraud"))
		p := requireProblem(t, w.as(t, ottoName, linkCase(key, other.Key)), http.StatusNotFound, "not-found")
		assert.NotContains(t, p.Detail, other.Key)
		got, res := w.getRisk(t, leadName, key)
		assert.EqualValues(t, 3, got.Version, "the risk is unchanged")
		assert.Equal(t, etag(3), res.Header.Get("ETag"))
		assert.NotContains(t, got.LinkedCases, other.Key)
		page := w.auditEvents(t, w.tok[adminName], url.Values{"user": {ottoName}, "action": {"risk.link"}})
		require.EqualValues(t, 1, page.Total)
		assert.Equal(t, auth.OutcomeDenied, page.Items[0].Outcome)
	})

	t.Run("link_body_needs_exactly_one_target", func(t *testing.T) {
		for _, body := range []any{map[string]string{}, map[string]string{"case_id": fraud.Key, "incident_id": "INC-2026-1"}} {
			requireProblem(t, w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/risks/" + key + "/links", body: body}), http.StatusBadRequest, "validation")
		}
	})

	t.Run("investigators_see_the_keys_they_may_read", func(t *testing.T) {
		got, _ := w.getRisk(t, investigatorName, key)
		assert.Equal(t, []string{fraud.Key}, got.LinkedCases)
		got, _ = w.getRisk(t, ottoName, key)
		assert.Equal(t, []string{spam.Key}, got.LinkedCases)
		assert.Equal(t, 2, got.Evidence.CaseCount)
	})

	t.Run("leadership_sees_counts_but_no_case_keys_or_actor_ids", func(t *testing.T) {
		got, res := w.getRisk(t, leoName, key)
		body := string(res.body)
		for _, secret := range []string{fraud.Key, spam.Key, fraud.ID, spam.ID, "CF-2026-", "acct-risk"} {
			assert.NotContains(t, body, secret)
		}
		assert.Equal(t, []string{}, got.LinkedCases)
		assert.Equal(t, 2, got.Evidence.CaseCount)
		assert.Equal(t, map[string]int{"DE": 1, "US": 1}, got.Evidence.Regions)
		assert.Equal(t, map[string]int{"merchant": 1, "user": 1}, got.Evidence.ActorKinds)
		assert.Equal(t, map[string]int{"2026-03": 2}, got.Evidence.ByMonth)

		list := w.get(t, "/api/v1/risks", w.tok[leoName])
		require.Equal(t, http.StatusOK, list.StatusCode, "body: %s", list.body)
		assert.NotContains(t, string(list.body), "CF-2026-")
		assert.NotContains(t, string(list.body), "acct-risk")

		requireProblem(t, w.as(t, leoName, linkCase(key, fraud.Key)), http.StatusForbidden, "forbidden")
	})

	t.Run("unlink", func(t *testing.T) {
		res := w.as(t, leadName, req{method: http.MethodDelete, path: "/api/v1/risks/" + key + "/links/cases/" + spam.Key})
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var got risk.Risk
		res.json(t, &got)
		assert.Equal(t, []string{fraud.Key}, got.LinkedCases)
		assert.Equal(t, map[string]int{"DE": 1}, got.Evidence.Regions)
		requireProblem(t, w.as(t, ottoName, req{method: http.MethodDelete, path: "/api/v1/risks/" + key + "/links/cases/" + fraud.Key}),
			http.StatusNotFound, "not-found")
	})
}

func TestRiskSeedsAnRCA(t *testing.T) {
	w := newWorld(t, 0)
	r := w.createRisk(t, leadName, newRisk("Counterfeit wave"))
	for _, body := range []map[string]any{
		caseWithActor("acct-seed-1", "merchant", "DE", "fraud"),
		caseWithActor("acct-seed-2", "merchant", "FR", "fraud"),
	} {
		c := w.createCase(t, investigatorName, body)
		require.Equal(t, http.StatusOK, w.as(t, leadName, linkCase(r.Key, c.Key)).StatusCode)
	}

	requireProblem(t, w.as(t, leoName, req{method: http.MethodPost, path: "/api/v1/risks/" + r.Key + "/rca"}), http.StatusForbidden, "forbidden")
	p := requireProblem(t, w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/risks/" + r.Key + "/rca", body: map[string]string{"severity": "sev9"}}),
		http.StatusBadRequest, "validation")
	assert.Equal(t, []string{"severity"}, p.fields())

	res := w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/risks/" + r.Key + "/rca", body: map[string]string{"severity": "sev1"}})
	require.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", res.body)
	assert.Equal(t, "/api/v1/incidents/INC-2026-1", res.Header.Get("Location"))
	var s struct {
		IncidentKey string    `json:"incident_key"`
		Risk        risk.Risk `json:"risk"`
	}
	res.json(t, &s)
	assert.Equal(t, "INC-2026-1", s.IncidentKey)
	assert.Equal(t, []string{"INC-2026-1"}, s.Risk.LinkedIncidents)

	in := w.getIncident(t, leadName, s.IncidentKey)
	assert.Equal(t, rca.KindIssue, in.Kind)
	assert.Equal(t, rca.Severity("sev1"), in.Severity)
	assert.Equal(t, "risk register "+r.Key, in.Detection)
	assert.Contains(t, in.RCA.ProblemStatement, "Linked cases: 2")
	assert.Contains(t, in.RCA.ProblemStatement, "Regions: DE: 1, FR: 1")

	again := w.as(t, leadName, req{method: http.MethodPost, path: "/api/v1/risks/" + r.Key + "/rca"})
	require.Equal(t, http.StatusOK, again.StatusCode, "a seeded risk answers its incident: %s", again.body)
	assert.Equal(t, "/api/v1/incidents/INC-2026-1", again.Header.Get("Location"))

	requireProblem(t, w.as(t, leadName, req{method: http.MethodDelete, path: "/api/v1/risks/" + r.Key + "/links/incidents/INC-2026-1"}),
		http.StatusConflict, "conflict")
}

func TestRiskLinkedFromTheCase(t *testing.T) {
	w := newWorld(t, 0)
	fraud := w.createCase(t, investigatorName, caseWithActor("acct-case-side-1", "merchant", "DE", "fraud"))
	first := w.createRisk(t, leadName, newRisk("Counterfeit wave"))
	second := w.createRisk(t, leadName, newRisk("Refund abuse ring"))
	w.createRisk(t, leadName, newRisk("Unrelated"))
	caseRisks := "/api/v1/cases/" + fraud.Key + "/risks"
	linkFromCase := func(user, riskID string) response {
		return w.as(t, user, req{method: http.MethodPost, path: caseRisks, body: map[string]string{"risk_id": riskID}})
	}
	keys := func(t *testing.T, user, caseRef string) []string {
		t.Helper()
		res := w.get(t, "/api/v1/cases/"+caseRef+"/risks", w.tok[user])
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var page struct {
			Items []risk.Summary `json:"items"`
			Total int            `json:"total"`
		}
		res.json(t, &page)
		out := []string{}
		for _, it := range page.Items {
			out = append(out, it.Key)
		}
		assert.Equal(t, len(out), page.Total)
		return out
	}

	assert.Equal(t, []string{}, keys(t, investigatorName, fraud.Key), "no risk links the case yet")
	for _, r := range []risk.Risk{first, second} {
		res := linkFromCase(investigatorName, r.Key)
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var got risk.Risk
		res.json(t, &got)
		assert.Equal(t, []string{fraud.Key}, got.LinkedCases)
		assert.Equal(t, 1, got.Evidence.CaseCount)
		assert.Equal(t, map[string]int{"DE": 1}, got.Evidence.Regions)
	}
	assert.Equal(t, []string{second.Key, first.Key}, keys(t, investigatorName, fraud.Key), "newest first")
	assert.Equal(t, []string{second.Key, first.Key}, keys(t, leadName, fraud.ID), "the path takes the id too")
	got, _ := w.getRisk(t, leadName, first.Key)
	assert.Equal(t, []string{fraud.Key}, got.LinkedCases, "the risk's page shows the link made from the case")

	t.Run("who_may_not", func(t *testing.T) {
		// otto (another team) may read risks but not this case; leo
		// (leadership) reads risks but no case and edits no risk; vic
		// (vendor agent) may read no risk.
		for _, tc := range []struct {
			user                  string
			getStatus, linkStatus int
		}{
			{ottoName, http.StatusNotFound, http.StatusNotFound},
			{leoName, http.StatusNotFound, http.StatusForbidden},
			{vicName, http.StatusForbidden, http.StatusForbidden},
		} {
			t.Run(tc.user, func(t *testing.T) {
				slug := map[int]string{http.StatusNotFound: "not-found", http.StatusForbidden: "forbidden"}
				requireProblem(t, w.get(t, caseRisks, w.tok[tc.user]), tc.getStatus, slug[tc.getStatus])
				requireProblem(t, linkFromCase(tc.user, second.Key), tc.linkStatus, slug[tc.linkStatus])
			})
		}
		after, _ := w.getRisk(t, leadName, second.Key)
		assert.Equal(t, second.Version+1, after.Version, "the refusals wrote nothing")
	})

	t.Run("bad_bodies", func(t *testing.T) {
		requireProblem(t, linkFromCase(investigatorName, ""), http.StatusBadRequest, "validation")
		requireProblem(t, linkFromCase(investigatorName, "RISK-2026-99"), http.StatusNotFound, "not-found")
		requireProblem(t, linkFromCase(investigatorName, "not a key"), http.StatusNotFound, "not-found")
		requireProblem(t, w.as(t, investigatorName, req{method: http.MethodPost, path: "/api/v1/cases/CF-2026-999/risks",
			body: map[string]string{"risk_id": first.Key}}), http.StatusNotFound, "not-found")
	})
}

func TestRisksAreSearchable(t *testing.T) {
	w := newWorld(t, 0)
	c := w.createCase(t, investigatorName, caseWithActor("acct-search-risk-1", "merchant", "DE", "fraud"))
	r := w.createRisk(t, leadName, newRisk("Counterfeit sneakers on live streams"))
	require.Equal(t, http.StatusOK, w.as(t, leadName, linkCase(r.Key, c.Key)).StatusCode)

	type hit struct {
		Type string `json:"type"`
		Key  string `json:"key"`
	}
	find := func(t *testing.T, user, query string) ([]hit, string) {
		t.Helper()
		res := w.get(t, "/api/v1/search?type=risk&q="+url.QueryEscape(query), w.tok[user])
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		var page struct {
			Hits  []hit `json:"hits"`
			Total int   `json:"total"`
		}
		res.json(t, &page)
		require.Len(t, page.Hits, page.Total)
		return page.Hits, string(res.body)
	}
	for _, user := range []string{adminName, leadName, investigatorName, ottoName, leoName} {
		t.Run(user+"_finds_it", func(t *testing.T) {
			hits, body := find(t, user, "sneakers")
			assert.Equal(t, []hit{{Type: "risk", Key: r.Key}}, hits)
			assert.NotContains(t, body, "acct-search-risk", "no actor identifier")
			assert.NotContains(t, body, c.Key, "no linked case key")
		})
	}
	t.Run("vendor_agents_do_not", func(t *testing.T) {
		hits, _ := find(t, vicName, "sneakers")
		assert.Empty(t, hits)
	})
	t.Run("an_edit_is_found_at_once", func(t *testing.T) {
		res := w.as(t, leadName, req{method: http.MethodPatch, path: "/api/v1/risks/" + r.Key,
			body: map[string]string{"title": "Counterfeit handbags on live streams"}, header: map[string]string{"If-Match": etag(2)}})
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", res.body)
		hits, _ := find(t, leadName, "handbags")
		assert.Equal(t, []hit{{Type: "risk", Key: r.Key}}, hits)
		hits, _ = find(t, leadName, "sneakers")
		assert.Empty(t, hits)
	})
}
