package rca

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

// piiFixture is a case about actor u-88231 (handle scamking) with related
// actor u-4410 (handle mulekid, known from another case).
type piiFixture struct {
	*harness
	caseKey string
}

func newPIIFixture(t *testing.T) piiFixture {
	h := newHarness(t)
	h.newCase("fraud", cases.ActorRef{ActorID: "u-4410", Handle: "mulekid"})
	c := h.newCase("fraud", cases.ActorRef{ActorID: "u-88231", Handle: "scamking"}, "u-4410")
	return piiFixture{harness: h, caseKey: c.Key}
}

// approved opens an incident linked to the fixture's case and drives its
// postmortem, written by ivy with content c, to approved.
func (f piiFixture) approved(c Content) Incident {
	f.t.Helper()
	in := f.createIncident(f.lena, func(n *NewIncident) {
		n.Severity, n.Status, n.ResolvedAt = "sev1", Resolved, ptr(t0)
		n.LinkedCases = []string{f.caseKey}
	})
	f.postmortemAt(in.Key, f.ivy, Approved, c)
	return in
}

func TestPublishRefusesIdentifiers(t *testing.T) {
	f := newPIIFixture(t)
	tests := []struct {
		name string
		edit func(*Content)
		want errs.FieldError
	}{
		{"actor_id", func(c *Content) { c.Summary = "Account u-88231 sold fake gift cards." },
			errs.FieldError{Field: "summary", Message: "contains a actor_id: u-88231"}},
		{"actor_id_in_another_case", func(c *Content) { c.Summary = "Account U-88231 sold fake gift cards." },
			errs.FieldError{Field: "summary", Message: "contains a actor_id: u-88231"}},
		{"related_actor_id", func(c *Content) { c.WhatWentWrong = "u-4410 moved the money." },
			errs.FieldError{Field: "what_went_wrong", Message: "contains a actor_id: u-4410"}},
		{"handle_with_at", func(c *Content) { c.Timeline[0].Event = "@scamking posted the link" },
			errs.FieldError{Field: "timeline[0].event", Message: "contains a handle: scamking"}},
		{"bare_handle", func(c *Content) { c.Lessons = "Watch ScamKing's new accounts." },
			errs.FieldError{Field: "lessons", Message: "contains a handle: scamking"}},
		{"related_actor_handle", func(c *Content) { c.Body = "The mule, mulekid, helped." },
			errs.FieldError{Field: "body", Message: "contains a handle: mulekid"}},
		{"email", func(c *Content) { c.Response = "Escalated to ops.lead@example.com at once." },
			errs.FieldError{Field: "response", Message: "contains a email: ops.lead@example.com"}},
		{"phone", func(c *Content) { c.Detection = "A caller at +1 415 555 0100 reported it." },
			errs.FieldError{Field: "detection", Message: "contains a phone: +1 415 555 0100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validContent("The queue stalled.")
			tt.edit(&c)
			in := f.approved(c)
			_, err := f.svc.Step(f.ctx, f.lena, in.Key, Publish, false, auth.Meta{})
			e := errstest.Require(t, err, errs.Conflict)
			assert.Equal(t, []errs.FieldError{tt.want}, e.Fields)
			assert.Equal(t, Approved, f.storedPostmortem(in.Key).Status, "still approved, not published")
			_, err = f.svc.GetPublished(f.ctx, f.leo, in.Key, 0)
			errstest.Require(t, err, errs.NotFound)
		})
	}
}

func TestPublishAllowsLookalikes(t *testing.T) {
	f := newPIIFixture(t)
	tests := []struct {
		name string
		edit func(*Content)
	}{
		{"iso_date", func(c *Content) { c.Summary = "On 2026-11-21 the queue stalled." }},
		{"date_and_time", func(c *Content) { c.Timeline[0].Event = "2026-11-21 14:05 UTC: queue age alert" }},
		{"counts", func(c *Content) { c.Impact = "12,000 accounts saw 3,400,000 scam listings." }},
		{"actor_id_inside_a_word", func(c *Content) { c.Summary = "Accounts u-882310 and bu-88231 are unrelated." }},
		{"handle_inside_a_word", func(c *Content) { c.Lessons = "The scamkingdom forum and scamking_fans are not the actor." }},
		{"keys", func(c *Content) { c.Body = "See INC-2026-12 and CF-2026-4." }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validContent("The queue stalled.")
			tt.edit(&c)
			in := f.approved(c)
			res, err := f.svc.Step(f.ctx, f.lena, in.Key, Publish, false, auth.Meta{})
			require.NoError(t, err)
			assert.Equal(t, Published, res.Postmortem.Status)
			assert.Empty(t, res.Findings)
			assert.NotNil(t, res.Findings)
			assert.Empty(t, res.Postmortem.PIIAcknowledgedBy)
		})
	}
}

func TestPublishWithAcknowledgedPII(t *testing.T) {
	f := newPIIFixture(t)
	c := validContent("Account u-88231 sold fake gift cards; mail ops.lead@example.com.")
	in := f.approved(c)

	res, err := f.svc.Step(f.ctx, f.lena, in.Key, Publish, true, auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, Published, res.Postmortem.Status)
	assert.Equal(t, "lena", res.Postmortem.PIIAcknowledgedBy)
	assert.ElementsMatch(t, []PIIFinding{
		{Kind: "actor_id", Field: "summary", Match: "u-88231"},
		{Kind: "email", Field: "summary", Match: "ops.lead@example.com"},
	}, res.Findings)
	assert.Equal(t, "lena", f.storedPostmortem(in.Key).PIIAcknowledgedBy)

	r, err := f.svc.GetPublished(f.ctx, f.leo, in.Key, 0)
	require.NoError(t, err)
	assert.Equal(t, c.Summary, r.Content.Summary)

	// The acknowledgement belongs to the revision it was given for.
	p := f.writePostmortem(f.ivy, in.Key, res.Postmortem.Version, c)
	assert.Equal(t, 2, p.Revision)
	assert.Empty(t, p.PIIAcknowledgedBy)
	f.step(f.ivy, in.Key, Submit)
	f.step(f.lena, in.Key, Approve)
	_, err = f.svc.Step(f.ctx, f.lena, in.Key, Publish, false, auth.Meta{})
	errstest.Require(t, err, errs.Conflict)
}

func TestPublishAfterRedaction(t *testing.T) {
	f := newPIIFixture(t)
	c := validContent("Account u-88231 sold fake gift cards.")
	in := f.approved(c)
	_, err := f.svc.Step(f.ctx, f.lena, in.Key, Publish, false, auth.Meta{})
	errstest.Require(t, err, errs.Conflict)

	c.Summary = "One account sold fake gift cards."
	p := f.writePostmortem(f.lena, in.Key, f.storedPostmortem(in.Key).Version, c)
	assert.Equal(t, Draft, p.Status, "a redacting edit needs another review")
	_, err = f.svc.Step(f.ctx, f.lena, in.Key, Publish, false, auth.Meta{})
	errstest.Require(t, err, errs.Conflict)

	f.step(f.ivy, in.Key, Submit)
	f.step(f.luke, in.Key, Approve) // lena edited it, so luke approves
	res, err := f.svc.Step(f.ctx, f.lena, in.Key, Publish, false, auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, Published, res.Postmortem.Status)
	assert.Empty(t, res.Findings)
	assert.Empty(t, res.Postmortem.PIIAcknowledgedBy)
	r, err := f.svc.GetPublished(f.ctx, f.leo, in.Key, 0)
	require.NoError(t, err)
	assert.Equal(t, "One account sold fake gift cards.", r.Content.Summary)
}

func TestScanPII(t *testing.T) {
	actors := ActorIdentifiers{IDs: []string{"u-88231", "acct:7"}, Handles: []string{"@ScamKing", "mule.kid"}}
	tests := []struct {
		name string
		c    Content
		want []PIIFinding
	}{
		{"nothing", Content{Summary: "Reports waited for hours on 2026-11-21."}, nil},
		{"id_at_start_and_end", Content{Summary: "u-88231", Body: "see acct:7"}, []PIIFinding{
			{Kind: "actor_id", Field: "summary", Match: "u-88231"}, {Kind: "actor_id", Field: "body", Match: "acct:7"}}},
		{"handle_written_with_or_without_at", Content{Impact: "@scamking", Lessons: "mule.kid."}, []PIIFinding{
			{Kind: "handle", Field: "impact", Match: "@ScamKing"}, {Kind: "handle", Field: "lessons", Match: "mule.kid"}}},
		{"repeated_match_reported_once", Content{Summary: "u-88231 then u-88231 again"}, []PIIFinding{
			{Kind: "actor_id", Field: "summary", Match: "u-88231"}}},
		{"substrings_are_not_words", Content{Summary: "xu-88231 u-882310 acct:70 scamkings"}, nil},
		{"phone_formats", Content{Summary: "Call (415) 555-0100 or +44 20 7946 0958.", Impact: "+1 (415) 555-0199, 415.555.0123"}, []PIIFinding{
			{Kind: "phone", Field: "summary", Match: "(415) 555-0100"}, {Kind: "phone", Field: "summary", Match: "+44 20 7946 0958"},
			{Kind: "phone", Field: "impact", Match: "+1 (415) 555-0199"}, {Kind: "phone", Field: "impact", Match: "415.555.0123"}}},
		{"short_numbers_and_counts", Content{Summary: "12,000 accounts, 1,250,000 views, 404 errors, 99.5% of 3 queues"}, nil},
		{"timeline_events", Content{Timeline: []TimelineItem{{At: t0, Event: "ok"}, {At: t0, Event: "mail a.b@example.org"}}}, []PIIFinding{
			{Kind: "email", Field: "timeline[1].event", Match: "a.b@example.org"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, scanPII(tt.c, actors))
		})
	}
}

// TestReadingRedactsLiveText: the reading view shows root causes and
// action items as they are now, which the publish-time check never saw;
// identifiers in them are redacted for the reader.
func TestReadingRedactsLiveText(t *testing.T) {
	f := newPIIFixture(t)
	in := f.approved(validContent("Gift card fraud ring."))
	_, err := f.svc.Step(f.ctx, f.lena, in.Key, Publish, false, auth.Meta{})
	require.NoError(t, err)
	in, err = f.svc.GetIncident(f.ctx, f.lena, in.Key)
	require.NoError(t, err)
	_, err = f.svc.PutRCA(f.ctx, f.lena, in.Key, 0, RCA{ProblemStatement: "Fraud ring went unseen.", RootCauses: []RootCause{
		{Description: "ScamKing (U-88231) mailed victims from ring@example.com", Category: Process, Subcategory: "sop_gap"},
	}}, auth.Meta{})
	require.NoError(t, err)
	_, err = f.svc.AddActionItem(f.ctx, f.lena, in.Key, NewActionItem{Title: "Block @scamking everywhere", Kind: "prevent", Owner: "lena"}, auth.Meta{})
	require.NoError(t, err)

	r, err := f.svc.Reading(f.ctx, &auth.User{Username: "leo", Role: auth.RoleLeadership}, in.Key)
	require.NoError(t, err)
	require.Len(t, r.RootCauses, 1)
	assert.Equal(t, "[redacted] ([redacted]) mailed victims from [redacted]", r.RootCauses[0].Description)
	require.Len(t, r.ActionItems, 1)
	assert.Equal(t, "Block [redacted] everywhere", r.ActionItems[0].Title)
}
