package webhook_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/internal/webhook"
	"casefile.dev/casefile/rca"
)

// TestEveryEventKindFiresFromServiceCalls: each audited domain write and
// each SLA breach reaches a subscriber of every event as one delivery,
// with the payload the README documents.
func TestEveryEventKindFiresFromServiceCalls(t *testing.T) {
	s := newSystem(t)
	r := newReceiver(t, nil)
	s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.Events...)

	var c cases.Case
	var eid string
	var incKey string
	steps := []struct {
		name string
		do   func(t *testing.T)
		want func(t *testing.T, ev webhook.Event)
		// also are the other events the step causes.
		also []string
	}{
		{webhook.CaseCreated, func(t *testing.T) { c = s.newCase(cases.Sev2) }, func(t *testing.T, ev webhook.Event) {
			assert.Equal(t, webhook.Entity{Type: "case", ID: c.ID, Key: c.Key, URL: publicURL + "/cases/" + c.Key}, ev.Entity)
			assert.Equal(t, webhook.Data{Severity: "sev2", Status: "new", PolicyAreas: []string{"fraud_scam"}, Team: "t1"}, ev.Data)
			assert.Equal(t, start, ev.OccurredAt)
		}, nil},
		{webhook.CaseTransitioned, func(t *testing.T) { c = s.transition(c, cases.StatusTriage) }, func(t *testing.T, ev webhook.Event) {
			assert.Equal(t, c.Key, ev.Entity.Key)
			assert.Equal(t, "new", ev.Data.From)
			assert.Equal(t, "triage", ev.Data.To)
			assert.Equal(t, "triage", ev.Data.Status)
			assert.Equal(t, "sev2", ev.Data.Severity)
		}, nil},
		{webhook.EnforcementApplied, func(t *testing.T) {
			e, err := s.Cases.Propose(s.ctx, s.lena, c.Key, cases.Proposal{Action: cases.Warning, PolicyArea: "fraud_scam", Reason: "Sold fake cards"}, auth.Meta{})
			require.NoError(t, err)
			require.Equal(t, cases.Approved, e.Status, "a warning within the ladder is approved on proposal")
			eid = e.ID
			_, err = s.Cases.Decide(s.ctx, s.lena, c.Key, eid, cases.Apply, "", auth.Meta{})
			require.NoError(t, err)
		}, func(t *testing.T, ev webhook.Event) {
			assert.Equal(t, c.Key, ev.Entity.Key)
			assert.Equal(t, webhook.Data{Severity: "sev2", Restricted: false, PolicyAreas: []string{"fraud_scam"}, Team: "t1",
				EnforcementID: eid, Action: "warning", PolicyArea: "fraud_scam"}, ev.Data)
		}, nil},
		{webhook.EnforcementReversed, func(t *testing.T) {
			_, err := s.Cases.Decide(s.ctx, s.luke, c.Key, eid, cases.Reverse, "Appeal granted", auth.Meta{})
			require.NoError(t, err)
		}, func(t *testing.T, ev webhook.Event) {
			assert.Equal(t, eid, ev.Data.EnforcementID)
			assert.Equal(t, "warning", ev.Data.Action)
		}, nil},
		{webhook.PostmortemPublished, func(t *testing.T) {
			in, err := s.RCA.CreateIncident(s.ctx, s.lena, rca.NewIncident{Kind: rca.KindIncident, Title: "Fraud queue backlog", Severity: "sev2",
				Status: rca.Investigating, StartedAt: start.Add(-time.Hour), Detection: "queue-age alert",
				Impact: rca.Impact{Text: "Reports waited for hours.", AffectedActors: 120, ExposureCount: 12000, Regions: []string{"DE"}}}, auth.Meta{})
			require.NoError(t, err)
			incKey = in.Key
			_, _, err = s.RCA.PutPostmortem(s.ctx, s.lena, in.Key, 0, rca.Content{Summary: "The queue backed up.", Impact: "Slow reviews.",
				Detection: "Alert.", Response: "Drained it.", Lessons: "Own every job.", Body: "We will add an owner."}, auth.Meta{})
			require.NoError(t, err)
			for _, st := range []struct {
				u    *auth.User
				step rca.PostmortemStep
			}{{s.lena, rca.Submit}, {s.luke, rca.Approve}, {s.luke, rca.Publish}} {
				_, err := s.RCA.Step(s.ctx, st.u, in.Key, st.step, false, auth.Meta{})
				require.NoError(t, err, "%s", st.step)
			}
		}, func(t *testing.T, ev webhook.Event) {
			assert.Equal(t, "postmortem", ev.Entity.Type)
			assert.Equal(t, incKey, ev.Entity.Key)
			assert.NotEmpty(t, ev.Entity.ID)
			assert.Equal(t, publicURL+"/postmortems/"+incKey, ev.Entity.URL)
			assert.Equal(t, webhook.Data{Severity: "sev2", Status: "published", Revision: 1}, ev.Data)
		}, nil},
		{webhook.SLABreached, func(t *testing.T) {
			c = s.newCase(cases.Sev1) // triage within the hour
			s.clock.Advance(61 * time.Minute)
			n, err := s.Webhooks.CheckSLA(s.ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n)
		}, func(t *testing.T, ev webhook.Event) {
			due := start.Add(time.Hour)
			assert.Equal(t, c.Key, ev.Entity.Key)
			assert.Equal(t, due, ev.OccurredAt)
			assert.Equal(t, webhook.Data{Severity: "sev1", Status: "new", PolicyAreas: []string{"fraud_scam"}, Team: "t1", Clock: "triage", DueAt: &due}, ev.Data)
		}, []string{webhook.CaseCreated}},
	}
	seen := 0
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do(t)
			s.deliverAll()
			evs := r.events(t)[seen:]
			seen += len(evs)
			// Deliveries run in parallel: their order is not the events'.
			require.ElementsMatch(t, append([]string{st.name}, st.also...), names(evs), "one delivery per event")
			for _, ev := range evs {
				if ev.Name == st.name {
					st.want(t, ev)
				}
			}
		})
	}
}

// TestQualityAlertFiresFromReviews: a drop in agreement raises three
// alerts (vendor, team, agent) through the quality service's hook; the
// agent's is sent without naming the agent.
func TestQualityAlertFiresFromReviews(t *testing.T) {
	s := newSystem(t)
	s.clock.Advance(60 * 24 * time.Hour) // the deciders are past the new-decider window
	rules, err := s.Quality.Rules(s.ctx, s.lena)
	require.NoError(t, err)
	rules.Rules = []quality.Rule{{ID: "all", Rate: 1}}
	rules.AlertDrop, rules.AlertMinReviews = 0.3, 2
	_, err = s.Quality.PutRules(s.ctx, s.lena, rules.Version, rules, auth.Meta{})
	require.NoError(t, err)
	r := newReceiver(t, nil)
	slack := newReceiver(t, nil)
	s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.QualityAlert)
	s.subscribe(slack.srv.URL, webhook.FormatSlack, webhook.QualityAlert)

	review := func(verdict, errorType string) {
		c := s.newCase(cases.Sev3, func(n *cases.NewCase) { n.Vendor = "acme" })
		e, err := s.Cases.Propose(s.ctx, s.vic, c.ID, cases.Proposal{Action: cases.Warning, Reason: "Sold fake cards"}, auth.Meta{})
		require.NoError(t, err)
		_, err = s.Cases.Decide(s.ctx, s.vic, c.ID, e.ID, cases.Apply, "", auth.Meta{})
		require.NoError(t, err)
		in := quality.NewReview{DecisionID: c.ID + ":enforcement:" + e.ID, Verdict: verdict}
		if verdict == quality.Disagree {
			in.ErrorType, in.Severity, in.Feedback = errorType, "major", "The evidence does not show a sale."
		}
		_, err = s.Quality.Review(s.ctx, s.lena, in, auth.Meta{})
		require.NoError(t, err)
	}
	review(quality.Agree, "")
	review(quality.Agree, "")
	s.clock.Advance(7 * 24 * time.Hour)
	review(quality.Agree, "")
	review(quality.Disagree, "wrong_action")
	_, err = s.Webhooks.RunDue(s.ctx) // not audited: enqueued by the hook, no tail needed
	require.NoError(t, err)

	evs := r.events(t)
	require.Len(t, evs, 3, "vendor acme, team t1 and agent vic each dropped")
	byScope := map[string]webhook.Event{}
	for _, ev := range evs {
		assert.Equal(t, webhook.QualityAlert, ev.Name)
		assert.InDelta(t, 1.0, *ev.Data.PreviousRate, 1e-9)
		assert.InDelta(t, 0.5, *ev.Data.CurrentRate, 1e-9)
		byScope[ev.Data.Scope] = ev
	}
	assert.Equal(t, "acme", byScope["vendor"].Data.Group)
	assert.Equal(t, "t1", byScope["team"].Data.Group)
	agent := byScope["agent"]
	assert.Empty(t, agent.Data.Group, "an agent's alert does not name the agent")
	for _, g := range r.requests() {
		if strings.Contains(string(g.body), `"agent"`) {
			assert.NotContains(t, string(g.body), "vic", "%s", g.body)
		}
	}
	var texts []string
	for _, g := range slack.requests() {
		var m struct {
			Text string `json:"text"`
		}
		require.NoError(t, json.Unmarshal(g.body, &m))
		texts = append(texts, m.Text)
	}
	assert.Contains(t, texts, "Quality alert: vendor acme agreement fell from 100% to 50% (week of 2026-05-04)")
	assert.Contains(t, texts, "Quality alert: agent agreement fell from 100% to 50% (week of 2026-05-04)")
}

// TestSubscriptionsGetOnlyTheirEvents: each subscriber is sent the events
// it named and no others; one that names both gets both.
func TestSubscriptionsGetOnlyTheirEvents(t *testing.T) {
	s := newSystem(t)
	created, moved, both := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	s.subscribe(created.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
	s.subscribe(moved.srv.URL, webhook.FormatJSON, webhook.CaseTransitioned, webhook.PostmortemPublished)
	s.subscribe(both.srv.URL, webhook.FormatJSON, webhook.CaseTransitioned, webhook.CaseCreated)
	c := s.newCase(cases.Sev3)
	s.transition(c, cases.StatusTriage)
	_, err := s.Cases.AddNote(s.ctx, s.lena, c.Key, "a note is no event", auth.Meta{})
	require.NoError(t, err)
	s.deliverAll()

	assert.Equal(t, []string{webhook.CaseCreated}, names(created.events(t)))
	assert.Equal(t, []string{webhook.CaseTransitioned}, names(moved.events(t)))
	assert.ElementsMatch(t, []string{webhook.CaseCreated, webhook.CaseTransitioned}, names(both.events(t)))
}

// TestNewSubscriptionIsNotSentTheBacklog: events that happened before a
// subscription existed are not sent to it, even if the dispatcher reads
// them after.
func TestNewSubscriptionIsNotSentTheBacklog(t *testing.T) {
	s := newSystem(t)
	s.newCase(cases.Sev3)
	s.clock.Advance(time.Second)
	r := newReceiver(t, nil)
	s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
	s.deliverAll()
	assert.Empty(t, r.requests())
	c := s.newCase(cases.Sev3)
	s.deliverAll()
	evs := r.events(t)
	require.Len(t, evs, 1)
	assert.Equal(t, c.Key, evs[0].Entity.Key)
}

// TestSlackFormat: a slack subscription is sent Slack's {"text","blocks"}
// with a readable line that links the key.
func TestSlackFormat(t *testing.T) {
	s := newSystem(t)
	r := newReceiver(t, nil)
	s.subscribe(r.srv.URL, webhook.FormatSlack, webhook.CaseTransitioned)
	c := s.newCase(cases.Sev2)
	s.transition(c, cases.StatusTriage)
	s.deliverAll()

	got := r.requests()
	require.Len(t, got, 1)
	var m map[string]any
	require.NoError(t, json.Unmarshal(got[0].body, &m))
	line := c.Key + " transitioned new → triage (sev2)"
	want := map[string]any{
		"text": line,
		"blocks": []any{
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn",
				"text": "<" + publicURL + "/cases/" + c.Key + "|" + c.Key + "> transitioned new → triage (sev2)"}},
			map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": "case.transitioned · 2026-03-02 09:00 UTC"}}},
		},
	}
	assert.Equal(t, want, m)
	assert.Equal(t, "application/json", got[0].header.Get("Content-Type"))
}

// TestSlackWithoutPublicURLHasNoLink: with no public URL configured the
// key is plain text and payloads carry no url.
func TestSlackWithoutPublicURLHasNoLink(t *testing.T) {
	s := newSystem(t, webhook.Options{AllowInsecure: true, Rand: maxJitter})
	slack, plain := newReceiver(t, nil), newReceiver(t, nil)
	s.subscribe(slack.srv.URL, webhook.FormatSlack, webhook.CaseCreated)
	s.subscribe(plain.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
	c := s.newCase(cases.Sev4, func(n *cases.NewCase) { n.PolicyAreas = []string{"spam", "fake_engagement"} })
	s.deliverAll()
	require.Len(t, slack.requests(), 1)
	assert.Contains(t, string(slack.requests()[0].body), `"text":"New case `+c.Key+` (sev4, spam, fake_engagement)"`)
	assert.NotContains(t, string(slack.requests()[0].body), "<")
	evs := plain.events(t)
	require.Len(t, evs, 1)
	assert.Empty(t, evs[0].Entity.URL)
}

// TestRestrictedCasePayloadCarriesNothingSensitive: a restricted case's
// events name its key, severity and status and that it is restricted;
// not its title, summary, actor, people, team, vendor or policy areas.
// Unrestricted cases' payloads carry routing fields but still no title,
// actor or people.
func TestRestrictedCasePayloadCarriesNothingSensitive(t *testing.T) {
	s := newSystem(t)
	plain, slack := newReceiver(t, nil), newReceiver(t, nil)
	s.subscribe(plain.srv.URL, webhook.FormatJSON, webhook.CaseCreated, webhook.CaseTransitioned, webhook.EnforcementApplied)
	s.subscribe(slack.srv.URL, webhook.FormatSlack, webhook.CaseCreated, webhook.CaseTransitioned, webhook.EnforcementApplied)
	secret := func(n *cases.NewCase) {
		n.Title, n.Summary = "Grooming ring on live streams", "Adults contacting minors."
		n.Actor = cases.ActorRef{ActorID: "actor-7781", Handle: "sunny.streams", DisplayName: "Sunny"}
		n.PolicyAreas, n.Team, n.Vendor, n.Assignee = []string{"child_safety"}, "t1", "acme", "ivy"
	}
	c := s.newCase(cases.Sev1, secret)
	require.True(t, c.Restricted, "child safety cases are always restricted")
	c = s.transition(c, cases.StatusTriage)
	e, err := s.Cases.Propose(s.ctx, s.lena, c.Key, cases.Proposal{Action: cases.PermanentBan, PolicyArea: "child_safety", Reason: "Solicited minors",
		Justification: "Child safety"}, auth.Meta{})
	require.NoError(t, err)
	if e.Status == cases.Proposed {
		_, err = s.Cases.Decide(s.ctx, s.luke, c.Key, e.ID, cases.Approve, "", auth.Meta{})
		require.NoError(t, err)
	}
	_, err = s.Cases.Decide(s.ctx, s.lena, c.Key, e.ID, cases.Apply, "", auth.Meta{})
	require.NoError(t, err)
	unrestricted := s.newCase(cases.Sev3, func(n *cases.NewCase) {
		n.Title, n.Actor = "Refund fraud by a merchant", cases.ActorRef{ActorID: "actor-5512", Handle: "deals.galore"}
	})
	s.deliverAll()

	all := append(plain.requests(), slack.requests()...)
	require.Len(t, all, 8)
	for _, g := range all {
		body := string(g.body)
		leaks := []string{"Grooming", "minors", "actor-7781", "sunny", "Sunny", "ivy", "lena", "luke", "Solicited", "Refund fraud", "actor-5512", "deals.galore"}
		if !strings.Contains(body, unrestricted.Key+`"`) && !strings.Contains(body, unrestricted.Key+">") {
			leaks = append(leaks, "child_safety", "acme", "t1")
		}
		for _, leak := range leaks {
			assert.NotContains(t, body, leak, "%s", body)
		}
	}
	for _, ev := range plain.events(t) {
		if ev.Entity.Key != c.Key {
			assert.Equal(t, unrestricted.Key, ev.Entity.Key)
			assert.Equal(t, []string{"fraud_scam"}, ev.Data.PolicyAreas, "routing fields of an unrestricted case")
			continue
		}
		assert.True(t, ev.Data.Restricted)
		assert.Equal(t, "sev1", ev.Data.Severity)
		assert.Empty(t, ev.Data.PolicyAreas)
		assert.Empty(t, ev.Data.Team)
		assert.Empty(t, ev.Data.Vendor)
		assert.Empty(t, ev.Data.PolicyArea)
	}
}
