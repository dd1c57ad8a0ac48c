package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/rca/risk"
)

// The payloads every free-text field of the lead pages must render inert.
const (
	leadXSSScript = `<script>alert(1)</script>`
	leadXSSImg    = `<img src=x onerror=alert(1)>`
)

// leadAssertEscaped checks that body shows payload as text, never as markup.
func leadAssertEscaped(t *testing.T, body []byte, payload string) {
	t.Helper()
	s := string(body)
	assert.NotContains(t, s, payload)
	esc := strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(payload)
	assert.Contains(t, s, esc)
}

// leadAssertNoInline checks the CSP-relevant rules: no inline script,
// style attribute or event handler.
func leadAssertNoInline(t *testing.T, body []byte) {
	t.Helper()
	s := string(body)
	assert.NotRegexp(t, `<script(?:\s[^>]*)?>[^<]`, s, "no inline script")
	assert.NotRegexp(t, `<[^>]*\sstyle=`, s, "no style attribute")
	assert.NotRegexp(t, `<[^>]*\son[a-z]+=`, s, "no inline event handler")
}

func TestUILeadApprovals(t *testing.T) {
	w := newWorld(t, 0)
	suspension := map[string]any{"action": "temporary_suspension", "duration": "30d", "reason": "ran a refund scam",
		"justification": "organised fraud across many victims"}
	theirs := w.createCase(t, investigatorName, newCase("appr-actor-1", "", "fraud", ""))
	e1 := w.propose(t, investigatorName, theirs.Key, suspension)
	require.Equal(t, cases.Proposed, e1.Status)
	own := w.createCase(t, leadName, newCase("appr-actor-2", "", "fraud", ""))
	e2 := w.propose(t, leadName, own.Key, suspension)
	require.Equal(t, cases.Proposed, e2.Status)
	settled := w.createCase(t, investigatorName, newCase("appr-actor-3", "", "fraud", ""))
	w.propose(t, investigatorName, settled.Key, map[string]any{"action": "warning", "reason": "first offence"})

	inReview := w.createIncident(t, investigatorName, newIncident("Refund scam wave", "sev2", w.clock.Now().Add(-time.Hour)))
	res := w.putPostmortem(t, investigatorName, inReview.Key, 0, map[string]any{"summary": "A scam wave.", "body": "Details."})
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)
	w.requirePMStep(t, investigatorName, inReview.Key, "submit", nil)
	drafted := w.createIncident(t, investigatorName, newIncident("Still drafting", "sev3", w.clock.Now().Add(-time.Hour)))
	res = w.putPostmortem(t, investigatorName, drafted.Key, 0, map[string]any{"summary": "Not yet.", "body": "Draft."})
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", res.body)

	lee := w.uiLogin(t, leadName)
	page := lee.get(t, "/approvals")
	require.Equal(t, http.StatusOK, page.StatusCode, "%s", page.body)
	body := string(page.body)
	assert.Contains(t, body, theirs.Key)
	assert.Contains(t, body, own.Key)
	assert.NotContains(t, body, settled.Key, "an auto-approved warning awaits nobody")
	assert.Contains(t, body, "/approvals/"+theirs.Key+"/"+e1.ID+"/approve")
	assert.Contains(t, body, "Your own proposal")
	assert.Contains(t, body, `href="/incidents/`+inReview.Key+`/postmortem"`, "a postmortem in review")
	assert.NotContains(t, body, `href="/incidents/`+drafted.Key+`/postmortem"`, "a draft is not in review")
	leadAssertNoInline(t, page.body)

	t.Run("the_proposer_lead_cannot_approve_their_own", func(t *testing.T) {
		res := lee.post(t, "/approvals/"+own.Key+"/"+e2.ID+"/approve", url.Values{})
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		assert.Contains(t, string(res.body), "nobody approves or rejects their own proposal")
		assert.Contains(t, string(res.body), own.Key, "the inbox is shown again")
		got := w.getCase(t, leadName, own.Key)
		require.Len(t, got.Enforcements, 1)
		assert.Equal(t, cases.Proposed, got.Enforcements[0].Status)
		assert.Empty(t, got.Enforcements[0].DecidedBy)
	})

	t.Run("a_lead_approves", func(t *testing.T) {
		lee.get(t, "/approvals")
		res := lee.post(t, "/approvals/"+theirs.Key+"/"+e1.ID+"/approve", url.Values{"reason": {"agreed"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s", res.body)
		assert.Equal(t, "/approvals", res.Header.Get("Location"))
		got := w.getCase(t, leadName, theirs.Key)
		assert.Equal(t, cases.Approved, got.Enforcements[0].Status)
		assert.Equal(t, leadName, got.Enforcements[0].DecidedBy)
		after := lee.get(t, "/approvals")
		require.Equal(t, http.StatusOK, after.StatusCode)
		assert.NotContains(t, string(after.body), `href="/cases/`+theirs.Key+`"`, "a decided case leaves the inbox")
		assert.Contains(t, string(after.body), `href="/cases/`+own.Key+`"`)
	})

	t.Run("another_lead_may_reject_with_a_reason", func(t *testing.T) {
		lena := w.uiLogin(t, lenaName)
		lena.get(t, "/approvals")
		res := lena.post(t, "/approvals/"+own.Key+"/"+e2.ID+"/reject", url.Values{})
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "a rejection needs a reason")
		res = lena.post(t, "/approvals/"+own.Key+"/"+e2.ID+"/reject", url.Values{"reason": {"too harsh"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s", res.body)
		assert.Equal(t, cases.Rejected, w.getCase(t, leadName, own.Key).Enforcements[0].Status)
	})

	t.Run("others_are_refused_the_inbox", func(t *testing.T) {
		for _, who := range []string{investigatorName, vicName, leoName} {
			b := w.uiLogin(t, who)
			res := b.get(t, "/approvals")
			assert.Equal(t, http.StatusForbidden, res.StatusCode, who)
			assert.Contains(t, res.Header.Get("Content-Type"), "text/html", who)
			// A case they may not read is not there (404); one they may
			// read is not theirs to decide (403).
			res = b.post(t, "/approvals/"+own.Key+"/"+e2.ID+"/approve", url.Values{})
			assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, res.StatusCode, who)
		}
		assert.Equal(t, cases.Rejected, w.getCase(t, leadName, own.Key).Enforcements[0].Status)
	})
}

// leadSampleAllBlind sets the QA rules to sample every decision, blind.
func (w *world) leadSampleAllBlind(t *testing.T) {
	t.Helper()
	res := w.get(t, "/api/v1/qa/rules", w.tok[leadName])
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	var r quality.Rules
	res.json(t, &r)
	body := map[string]any{"seed": r.Seed, "alert_drop": 0.2, "alert_min_reviews": 5,
		"rules": []map[string]any{{"id": "all", "rate": 1, "always_actions": []string{}, "blind": true}}}
	res = w.as(t, leadName, req{method: http.MethodPut, path: "/api/v1/qa/rules", body: body, header: map[string]string{"If-Match": res.Header.Get("ETag")}})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
}

// leadVendorDecision has vic apply a warning on a new acme case: a decision.
func (w *world) leadVendorDecision(t *testing.T, actorID string) cases.Case {
	t.Helper()
	c := w.createCase(t, leadName, newCase(actorID, "", "fraud", "acme"))
	e := w.propose(t, vicName, c.Key, map[string]any{"action": "warning", "reason": "Sold fake cards"})
	require.Equal(t, cases.Approved, e.Status)
	res := w.as(t, vicName, req{method: http.MethodPost, path: "/api/v1/cases/" + c.Key + "/enforcements/" + e.ID + "/apply", body: map[string]any{}})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	return c
}

var leadVicWord = regexp.MustCompile(`\b` + vicName + `\b`)

func TestUILeadQA(t *testing.T) {
	w := newWorld(t, 0)
	w.leadSampleAllBlind(t)
	c := w.leadVendorDecision(t, "qa-ui-actor-1")

	res := w.get(t, "/api/v1/qa/queue", w.tok[leadName])
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", res.body)
	var queue struct {
		Items []quality.Item `json:"items"`
	}
	res.json(t, &queue)
	require.Len(t, queue.Items, 1)
	id := queue.Items[0].ID
	require.True(t, queue.Items[0].Blind)
	require.Contains(t, id, ":", "decision ids hold colons")

	lee := w.uiLogin(t, leadName)
	t.Run("the_queue_of_a_blind_item_names_nobody", func(t *testing.T) {
		page := lee.get(t, "/qa")
		require.Equal(t, http.StatusOK, page.StatusCode, "%s", page.body)
		assert.Contains(t, string(page.body), c.Key)
		assert.Contains(t, string(page.body), `href="/qa/`+url.PathEscape(id)+`"`)
		assert.NotRegexp(t, leadVicWord, string(page.body), "the decider is not named")
		leadAssertNoInline(t, page.body)

		packet := lee.get(t, "/qa/"+url.PathEscape(id))
		require.Equal(t, http.StatusOK, packet.StatusCode, "%s", packet.body)
		assert.Contains(t, string(packet.body), "Sold fake cards")
		assert.NotRegexp(t, leadVicWord, string(packet.body), "the packet names nobody either")
		for _, key := range []string{`data-key="a"`, `data-key="d"`, `data-key="1"`, `data-key="6"`, `data-key="s"`} {
			assert.Contains(t, string(packet.body), key)
		}
		leadAssertNoInline(t, packet.body)
	})

	t.Run("a_vendor_agent_is_refused_the_queue", func(t *testing.T) {
		vic := w.uiLogin(t, vicName)
		assert.Equal(t, http.StatusForbidden, vic.get(t, "/qa").StatusCode)
		assert.Equal(t, http.StatusForbidden, vic.get(t, "/qa/"+url.PathEscape(id)).StatusCode)
		vic.get(t, "/settings")
		res := vic.post(t, "/qa/"+url.PathEscape(id), url.Values{"verdict": {"agree"}})
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
	})

	t.Run("review_through_the_form", func(t *testing.T) {
		lee.get(t, "/qa/"+url.PathEscape(id))
		res := lee.post(t, "/qa/"+url.PathEscape(id), url.Values{"verdict": {"disagree"}, "feedback": {"half done"}})
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "a disagreement names its error type")
		assert.Contains(t, string(res.body), `id="err-error_type"`)
		assert.Contains(t, string(res.body), "half done", "the form keeps what was typed")

		feedback := "Spam, not fraud. " + leadXSSScript + " " + leadXSSImg
		res = lee.post(t, "/qa/"+url.PathEscape(id), url.Values{"verdict": {"disagree"}, "error_type": {"wrong_policy"},
			"severity": {"minor"}, "feedback": {feedback}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s", res.body)
		assert.Equal(t, "/qa/"+url.PathEscape(id), res.Header.Get("Location"))

		api := w.get(t, "/api/v1/qa/queue?status=reviewed", w.tok[leadName])
		var reviewed struct {
			Items []quality.Item `json:"items"`
		}
		api.json(t, &reviewed)
		require.Len(t, reviewed.Items, 1)
		require.NotNil(t, reviewed.Items[0].Review)
		assert.Equal(t, "disagree", reviewed.Items[0].Review.Verdict)
		assert.Equal(t, "wrong_policy", reviewed.Items[0].Review.ErrorType)
		assert.Equal(t, feedback, reviewed.Items[0].Review.Feedback)

		page := lee.get(t, "/qa/"+url.PathEscape(id))
		require.Equal(t, http.StatusOK, page.StatusCode)
		leadAssertEscaped(t, page.body, leadXSSScript)
		leadAssertEscaped(t, page.body, leadXSSImg)
		assert.Contains(t, string(page.body), "Open a correction")

		res = lee.post(t, "/qa/"+url.PathEscape(id), url.Values{"verdict": {"agree"}})
		assert.Equal(t, http.StatusConflict, res.StatusCode, "a decision is reviewed once")
	})

	t.Run("scorecards", func(t *testing.T) {
		vic := w.uiLogin(t, vicName)
		own := vic.get(t, "/scorecards")
		require.Equal(t, http.StatusOK, own.StatusCode, "%s", own.body)
		assert.Contains(t, string(own.body), "acme")
		assert.Contains(t, string(own.body), "95% CI")
		assert.Contains(t, string(own.body), "Wrong policy")
		leadAssertNoInline(t, own.body)
		assert.Equal(t, http.StatusNotFound, vic.get(t, "/scorecards?by=vendor&group=other").StatusCode)
		assert.Equal(t, http.StatusNotFound, vic.get(t, "/scorecards?by=agent").StatusCode)
		vera := w.uiLogin(t, veraName)
		assert.Equal(t, http.StatusNotFound, vera.get(t, "/scorecards?group=acme").StatusCode)

		leo := w.uiLogin(t, leoName)
		all := leo.get(t, "/scorecards?by=vendor")
		require.Equal(t, http.StatusOK, all.StatusCode, "%s", all.body)
		assert.Contains(t, string(all.body), "acme")
		assert.Contains(t, string(all.body), "<svg")
		assert.Equal(t, http.StatusForbidden, w.uiLogin(t, investigatorName).get(t, "/scorecards").StatusCode)
	})

	t.Run("calibration", func(t *testing.T) {
		lee.get(t, "/qa/calibration/new")
		name := "Round 1 " + leadXSSScript + leadXSSImg
		form := url.Values{"name": {name}, "items[0].case": {c.Key}, "items[0].verdict": {"violation"},
			"items[0].action": {"warning"}, "items[0].policy_area": {"fraud_scam"}}
		res := lee.post(t, "/qa/calibration/new", form)
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s", res.body)
		setPath := res.Header.Get("Location")
		require.True(t, strings.HasPrefix(setPath, "/qa/calibration/"), setPath)

		page := lee.get(t, setPath)
		require.Equal(t, http.StatusOK, page.StatusCode, "%s", page.body)
		leadAssertEscaped(t, page.body, leadXSSScript)
		leadAssertEscaped(t, page.body, leadXSSImg)
		list := lee.get(t, "/qa/calibration")
		require.Equal(t, http.StatusOK, list.StatusCode)
		leadAssertEscaped(t, list.body, leadXSSScript)

		res = lee.post(t, setPath+"/assign", url.Values{"users": {vicName}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s", res.body)

		vic := w.uiLogin(t, vicName)
		mine := vic.get(t, "/qa/calibration")
		require.Equal(t, http.StatusOK, mine.StatusCode)
		leadAssertEscaped(t, mine.body, leadXSSScript)
		blind := vic.get(t, setPath)
		require.Equal(t, http.StatusOK, blind.StatusCode, "%s", blind.body)
		assert.NotContains(t, string(blind.body), "Reference answers")
		res = vic.post(t, setPath+"/answers", url.Values{"answers[0].verdict": {"violation"}, "answers[0].action": {"warning"},
			"answers[0].policy_area": {"fraud_scam"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s", res.body)
		done := vic.get(t, setPath)
		assert.Contains(t, string(done.body), "1 of 1 correct")

		results := lee.get(t, setPath)
		assert.Contains(t, string(results.body), "100.0%")
		assert.Equal(t, http.StatusNotFound, w.uiLogin(t, veraName).get(t, setPath).StatusCode, "not assigned: not there")
	})
}

func TestUILeadRisks(t *testing.T) {
	w := newWorld(t, 0)
	ivy := w.uiLogin(t, investigatorName)
	form := ivy.get(t, "/risks/new")
	require.Equal(t, http.StatusOK, form.StatusCode, "%s", form.body)
	leadAssertNoInline(t, form.body)

	res := ivy.post(t, "/risks/new", url.Values{"title": {""}, "discovery": {"proactive"}})
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, string(res.body), `id="err-title"`)

	title := "Counterfeits " + leadXSSScript
	desc := "Streams " + leadXSSImg
	res = ivy.post(t, "/risks/new", url.Values{"title": {title}, "description": {desc}, "policy_areas": {"regulated_goods"},
		"discovery": {"proactive"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s", res.body)
	require.Equal(t, "/risks/RISK-2026-1", res.Header.Get("Location"))
	key := "RISK-2026-1"
	r, _ := w.getRisk(t, investigatorName, key)
	assert.Equal(t, title, r.Title)
	assert.Equal(t, desc, r.Description)

	c := w.createCase(t, investigatorName, caseWithActor("risk-ui-actor-7", "merchant", "DE", "fraud"))
	link := w.as(t, investigatorName, linkCase(key, c.Key))
	require.Equal(t, http.StatusOK, link.StatusCode, "%s", link.body)

	lee := w.uiLogin(t, leadName)
	t.Run("the_risk_page", func(t *testing.T) {
		page := lee.get(t, "/risks/"+key)
		require.Equal(t, http.StatusOK, page.StatusCode, "%s", page.body)
		body := string(page.body)
		leadAssertEscaped(t, page.body, leadXSSScript)
		leadAssertEscaped(t, page.body, leadXSSImg)
		assert.Contains(t, body, c.Key, "a lead may open the linked case")
		assert.Contains(t, body, "<svg")
		assert.Regexp(t, `<rect x="\d+" y="\d+" width="\d+" height="\d+" fill="#[0-9a-f]+"`, body)
		assert.Contains(t, body, "merchant")
		assert.Contains(t, body, "DE")
		assert.Contains(t, body, c.CreatedAt.UTC().Format("2006-01"))
		leadAssertNoInline(t, page.body)

		list := lee.get(t, "/risks?status=emerging")
		require.Equal(t, http.StatusOK, list.StatusCode, "%s", list.body)
		assert.Contains(t, string(list.body), key)
		leadAssertEscaped(t, list.body, leadXSSScript)
		none := lee.get(t, "/risks?status=closed")
		assert.NotContains(t, string(none.body), `href="/risks/`+key+`"`)
	})

	t.Run("leadership_reads_without_case_keys_or_actor_ids", func(t *testing.T) {
		leo := w.uiLogin(t, leoName)
		page := leo.get(t, "/risks/"+key)
		require.Equal(t, http.StatusOK, page.StatusCode, "%s", page.body)
		body := string(page.body)
		assert.Contains(t, body, "merchant")
		assert.NotContains(t, body, c.Key)
		assert.NotContains(t, body, "risk-ui-actor-7")
		assert.NotContains(t, body, `action="/risks/`+key+`/edit"`, "leadership does not edit")
		list := leo.get(t, "/risks")
		require.Equal(t, http.StatusOK, list.StatusCode)
		assert.NotContains(t, string(list.body), c.Key)
		assert.NotContains(t, string(list.body), "risk-ui-actor-7")
	})

	t.Run("a_vendor_agent_is_refused", func(t *testing.T) {
		vic := w.uiLogin(t, vicName)
		assert.Equal(t, http.StatusForbidden, vic.get(t, "/risks").StatusCode)
		assert.Equal(t, http.StatusForbidden, vic.get(t, "/risks/"+key).StatusCode)
	})

	t.Run("edit_with_the_version_and_a_stale_one_is_412", func(t *testing.T) {
		cur, _ := w.getRisk(t, leadName, key)
		page := lee.get(t, "/risks/"+key)
		assert.Contains(t, string(page.body), `name="version" value="`+strconv.FormatInt(cur.Version, 10)+`"`)
		res := lee.post(t, "/risks/"+key+"/edit", url.Values{"version": {strconv.FormatInt(cur.Version, 10)}, "status": {"monitoring"}, "owner": {leadName}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s", res.body)
		got, _ := w.getRisk(t, leadName, key)
		assert.Equal(t, risk.Monitoring, got.Status)
		assert.Equal(t, leadName, got.Owner)

		res = lee.post(t, "/risks/"+key+"/edit", url.Values{"version": {strconv.FormatInt(cur.Version, 10)}, "status": {"closed"}})
		assert.Equal(t, http.StatusPreconditionFailed, res.StatusCode)
		assert.Contains(t, string(res.body), "Someone else changed this")
		after, _ := w.getRisk(t, leadName, key)
		assert.Equal(t, risk.Monitoring, after.Status, "nothing changed")
		assert.Equal(t, got.Version, after.Version)
	})

	t.Run("requested_changes", func(t *testing.T) {
		lee.get(t, "/risks/"+key)
		res := lee.post(t, "/risks/"+key+"/changes", url.Values{"title": {"Block " + leadXSSScript}, "owner": {investigatorName},
			"due": {"2026-04-01"}, "category": {"product"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s", res.body)
		page := lee.get(t, "/risks/"+key)
		leadAssertEscaped(t, page.body, leadXSSScript)
		assert.Contains(t, string(page.body), "2026-04-01")
		cur, _ := w.getRisk(t, leadName, key)
		res = lee.post(t, "/risks/"+key+"/changes/1", url.Values{"version": {strconv.FormatInt(cur.Version, 10)}, "status": {"done"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s", res.body)
		got, _ := w.getRisk(t, leadName, key)
		require.Len(t, got.Changes, 1)
		assert.Equal(t, "done", string(got.Changes[0].Status))
	})
}
