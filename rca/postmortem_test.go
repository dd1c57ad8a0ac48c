package rca

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

// grave opens a resolved sev1 incident as lena.
func (h *harness) grave() Incident {
	h.t.Helper()
	return h.createIncident(h.lena, func(n *NewIncident) {
		n.Severity, n.Status, n.ResolvedAt = "sev1", Resolved, ptr(t0)
	})
}

func TestPostmortemStepsByRole(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name   string
		author func() *auth.User
		at     PostmortemStatus
		by     func() *auth.User
		step   PostmortemStep
		code   errs.Code        // expected error, "" for success
		want   PostmortemStatus // status after a successful step
	}{
		{"investigator_submits_own_draft", func() *auth.User { return h.ivy }, Draft, func() *auth.User { return h.ivy }, Submit, "", InReview},
		{"lead_submits_draft", func() *auth.User { return h.ivy }, Draft, func() *auth.User { return h.lena }, Submit, "", InReview},
		{"investigator_cannot_approve", func() *auth.User { return h.lena }, InReview, func() *auth.User { return h.ivy }, Approve, errs.Forbidden, ""},
		{"investigator_cannot_publish", func() *auth.User { return h.ivy }, Approved, func() *auth.User { return h.ian }, Publish, errs.Forbidden, ""},
		{"lead_cannot_approve_what_she_wrote", func() *auth.User { return h.lena }, InReview, func() *auth.User { return h.lena }, Approve, errs.Forbidden, ""},
		{"admin_cannot_approve_what_he_wrote", func() *auth.User { return h.admin }, InReview, func() *auth.User { return h.admin }, Approve, errs.Forbidden, ""},
		{"another_lead_approves", func() *auth.User { return h.lena }, InReview, func() *auth.User { return h.luke }, Approve, "", Approved},
		{"admin_approves", func() *auth.User { return h.ivy }, InReview, func() *auth.User { return h.admin }, Approve, "", Approved},
		{"lead_publishes", func() *auth.User { return h.ivy }, Approved, func() *auth.User { return h.lena }, Publish, "", Published},
		{"author_lead_may_publish_what_another_approved", func() *auth.User { return h.lena }, Approved, func() *auth.User { return h.lena }, Publish, "", Published},
		{"admin_publishes", func() *auth.User { return h.ivy }, Approved, func() *auth.User { return h.admin }, Publish, "", Published},
		{"leadership_cannot_submit", func() *auth.User { return h.ivy }, Draft, func() *auth.User { return h.leo }, Submit, errs.NotFound, ""},
		{"leadership_cannot_approve", func() *auth.User { return h.ivy }, InReview, func() *auth.User { return h.leo }, Approve, errs.NotFound, ""},
		{"vendor_agent_cannot_publish", func() *auth.User { return h.ivy }, Approved, func() *auth.User { return h.vic }, Publish, errs.NotFound, ""},
		{"publish_a_draft", func() *auth.User { return h.ivy }, Draft, func() *auth.User { return h.lena }, Publish, errs.Conflict, ""},
		{"publish_in_review", func() *auth.User { return h.ivy }, InReview, func() *auth.User { return h.lena }, Publish, errs.Conflict, ""},
		{"approve_a_draft", func() *auth.User { return h.ivy }, Draft, func() *auth.User { return h.lena }, Approve, errs.Conflict, ""},
		{"approve_twice", func() *auth.User { return h.ivy }, Approved, func() *auth.User { return h.lena }, Approve, errs.Conflict, ""},
		{"submit_twice", func() *auth.User { return h.ivy }, InReview, func() *auth.User { return h.ivy }, Submit, errs.Conflict, ""},
		{"submit_approved", func() *auth.User { return h.ivy }, Approved, func() *auth.User { return h.ivy }, Submit, errs.Conflict, ""},
		{"publish_twice", func() *auth.User { return h.ivy }, Published, func() *auth.User { return h.lena }, Publish, errs.Conflict, ""},
		{"unknown_step", func() *auth.User { return h.ivy }, Draft, func() *auth.User { return h.lena }, "reject", errs.NotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := h.grave()
			before := h.postmortemAt(in.Key, tt.author(), tt.at, validContent("The queue stalled."))
			res, err := h.svc.Step(h.ctx, tt.by(), in.Key, tt.step, false, auth.Meta{})
			stored := h.storedPostmortem(in.Key)
			if tt.code != "" {
				errstest.Require(t, err, tt.code)
				assert.Equal(t, tt.at, stored.Status, "a refused step changes nothing")
				assert.Equal(t, before.Version, stored.Version)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, res.Postmortem.Status)
			assert.Equal(t, tt.want, stored.Status)
			assert.Equal(t, before.Version+1, stored.Version)
			switch tt.want {
			case Approved:
				assert.Equal(t, tt.by().Username, stored.ApprovedBy)
				require.NotNil(t, stored.ApprovedAt)
			case Published:
				assert.Equal(t, tt.by().Username, stored.PublishedBy)
				assert.Equal(t, 1, stored.PublishedRevision)
				assert.Empty(t, res.Findings)
			}
		})
	}

	t.Run("denials_are_audited", func(t *testing.T) {
		var users []string
		for _, e := range h.events("postmortem.approve") {
			if e.Outcome == auth.OutcomeDenied {
				users = append(users, e.User)
			}
		}
		assert.Contains(t, users, "ivy")
	})
}

func TestLeadEditorCannotApprove(t *testing.T) {
	h := newHarness(t)
	in := h.grave()
	p := h.writePostmortem(h.ivy, in.Key, 0, validContent("Draft by ivy"))
	p = h.writePostmortem(h.lena, in.Key, p.Version, validContent("Edited by lena"))
	assert.Equal(t, []string{"ivy", "lena"}, p.Authors)
	h.step(h.ivy, in.Key, Submit)

	_, err := h.svc.Step(h.ctx, h.lena, in.Key, Approve, false, auth.Meta{})
	errstest.Require(t, err, errs.Forbidden)
	p = h.step(h.luke, in.Key, Approve)
	assert.Equal(t, "luke", p.ApprovedBy)
}

func TestEditingApprovedPostmortemReturnsToDraft(t *testing.T) {
	h := newHarness(t)
	in := h.grave()
	p := h.postmortemAt(in.Key, h.ivy, Approved, validContent("First"))
	require.Equal(t, "luke", p.ApprovedBy)

	p = h.writePostmortem(h.lena, in.Key, p.Version, validContent("Second"))
	assert.Equal(t, Draft, p.Status)
	assert.Empty(t, p.ApprovedBy)
	assert.Nil(t, p.ApprovedAt)
	assert.Equal(t, 1, p.Revision, "still the first revision: it was never published")
	assert.Equal(t, []string{"ivy", "lena"}, p.Authors)

	_, err := h.svc.Step(h.ctx, h.luke, in.Key, Publish, false, auth.Meta{})
	errstest.Require(t, err, errs.Conflict)
	h.step(h.ivy, in.Key, Submit)
	_, err = h.svc.Step(h.ctx, h.lena, in.Key, Approve, false, auth.Meta{})
	errstest.Require(t, err, errs.Forbidden)
	h.step(h.luke, in.Key, Approve)
	p = h.step(h.luke, in.Key, Publish)
	assert.Equal(t, Published, p.Status)

	r, err := h.svc.GetPublished(h.ctx, h.leo, in.Key, 0)
	require.NoError(t, err)
	assert.Equal(t, "Second", r.Content.Summary)
}

func TestPutPostmortem(t *testing.T) {
	h := newHarness(t)
	in := h.grave()

	p, created, err := h.svc.PutPostmortem(h.ctx, h.ivy, in.Key, 0, validContent("First"), auth.Meta{})
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, Draft, p.Status)
	assert.Equal(t, 1, p.Revision)
	assert.Equal(t, int64(1), p.Version)
	assert.Equal(t, in.Key, p.IncidentKey)
	assert.Equal(t, in.ID, p.ID)
	assert.Equal(t, "Fraud queue backlog", p.Title)
	assert.Equal(t, []string{"ivy"}, p.Authors)
	assert.Contains(t, p.BodyHTML, "<strong>will</strong>")

	t.Run("existing_without_if_match_is_precondition_needed", func(t *testing.T) {
		_, _, err := h.svc.PutPostmortem(h.ctx, h.ivy, in.Key, 0, validContent("Overwrite"), auth.Meta{})
		errstest.Require(t, err, errs.PreconditionNeeded)
	})
	t.Run("stale_if_match_is_precondition_failed", func(t *testing.T) {
		_, _, err := h.svc.PutPostmortem(h.ctx, h.ivy, in.Key, p.Version+1, validContent("Overwrite"), auth.Meta{})
		errstest.Require(t, err, errs.PreconditionFailed)
	})
	t.Run("if_match_on_a_missing_postmortem", func(t *testing.T) {
		other := h.grave()
		_, _, err := h.svc.PutPostmortem(h.ctx, h.ivy, other.Key, 3, validContent("x"), auth.Meta{})
		errstest.Require(t, err, errs.PreconditionFailed)
		_, err = h.svc.GetPostmortem(h.ctx, h.ivy, other.Key)
		errstest.Require(t, err, errs.NotFound)
	})
	t.Run("validation_names_fields", func(t *testing.T) {
		c := validContent("")
		c.Timeline = append(c.Timeline, TimelineItem{Event: "no time"}, TimelineItem{At: t0})
		_, _, err := h.svc.PutPostmortem(h.ctx, h.ivy, in.Key, p.Version, c, auth.Meta{})
		assert.ElementsMatch(t, []string{"summary", "timeline[2].at", "timeline[3].event"}, errstest.Fields(t, err))
	})
	t.Run("roles", func(t *testing.T) {
		_, _, err := h.svc.PutPostmortem(h.ctx, h.leo, in.Key, p.Version, validContent("x"), auth.Meta{})
		errstest.Require(t, err, errs.Forbidden)
		_, _, err = h.svc.PutPostmortem(h.ctx, h.vic, in.Key, p.Version, validContent("x"), auth.Meta{})
		errstest.Require(t, err, errs.NotFound)
	})

	got, err := h.svc.GetPostmortem(h.ctx, h.lena, in.Key)
	require.NoError(t, err)
	assert.Equal(t, "First", got.Content.Summary, "refused writes change nothing")
	assert.Equal(t, p.Version, got.Version)

	p, created, err = h.svc.PutPostmortem(h.ctx, h.luke, in.Key, p.Version, validContent("Second"), auth.Meta{})
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, int64(2), p.Version)
	assert.Equal(t, []string{"ivy", "luke"}, p.Authors)
}

func TestLeadershipSeesOnlyPublishedPostmortems(t *testing.T) {
	h := newHarness(t)
	in := h.grave()
	draft := h.grave()
	h.writePostmortem(h.ivy, draft.Key, 0, validContent("Never published"))
	p := h.postmortemAt(in.Key, h.ivy, Approved, validContent("Revision one"))

	requireNothingPublished := func(t *testing.T) {
		for _, key := range []string{in.Key, draft.Key} {
			_, err := h.svc.GetPostmortem(h.ctx, h.leo, key)
			errstest.Require(t, err, errs.NotFound)
			_, err = h.svc.GetPublished(h.ctx, h.leo, key, 0)
			errstest.Require(t, err, errs.NotFound)
		}
	}
	t.Run("before_publishing", requireNothingPublished)

	p = h.step(h.lena, in.Key, Publish)
	require.Equal(t, Published, p.Status)

	t.Run("after_publishing", func(t *testing.T) {
		_, err := h.svc.GetPostmortem(h.ctx, h.leo, in.Key)
		errstest.Require(t, err, errs.NotFound) // leadership never reads the working revision
		r, err := h.svc.GetPublished(h.ctx, h.leo, in.Key, 0)
		require.NoError(t, err)
		assert.Equal(t, "Revision one", r.Content.Summary)
		assert.Equal(t, 1, r.Revision)
		assert.Equal(t, "lena", r.PublishedBy)
		assert.Contains(t, r.BodyHTML, "<strong>will</strong>")
		byID, err := h.svc.GetPublished(h.ctx, h.leo, in.ID, 0)
		require.NoError(t, err)
		assert.Equal(t, r.Content, byID.Content)

		_, err = h.svc.GetPublished(h.ctx, h.leo, draft.Key, 0)
		errstest.Require(t, err, errs.NotFound)
	})

	t.Run("a_new_working_revision_stays_hidden", func(t *testing.T) {
		h.writePostmortem(h.ivy, in.Key, p.Version, validContent("Revision two, unreviewed"))
		_, err := h.svc.GetPostmortem(h.ctx, h.leo, in.Key)
		errstest.Require(t, err, errs.NotFound)
		r, err := h.svc.GetPublished(h.ctx, h.leo, in.Key, 0)
		require.NoError(t, err)
		assert.Equal(t, "Revision one", r.Content.Summary)
	})

	t.Run("vendor_agent_reads_no_postmortem", func(t *testing.T) {
		_, err := h.svc.GetPublished(h.ctx, h.vic, in.Key, 0)
		errstest.Require(t, err, errs.NotFound)
		_, err = h.svc.ExportMarkdown(h.ctx, h.vic, in.Key)
		errstest.Require(t, err, errs.NotFound)
	})
}

func TestPostmortemRevisionHistory(t *testing.T) {
	h := newHarness(t)
	in := h.grave()
	p := h.postmortemAt(in.Key, h.lena, Published, validContent("Revision one"))
	require.Equal(t, 1, p.PublishedRevision)

	h.clock.Advance(time.Hour)
	p = h.writePostmortem(h.ivy, in.Key, p.Version, validContent("Revision two"))
	assert.Equal(t, 2, p.Revision)
	assert.Equal(t, Draft, p.Status)
	assert.Equal(t, 1, p.PublishedRevision)
	assert.Equal(t, []string{"ivy"}, p.Authors, "authors of the new revision only")
	assert.Empty(t, p.ApprovedBy)

	published := func(rev int) (Revision, error) { return h.svc.GetPublished(h.ctx, h.leo, in.Key, rev) }
	r, err := published(0)
	require.NoError(t, err)
	assert.Equal(t, 1, r.Revision)
	assert.Equal(t, "Revision one", r.Content.Summary)
	_, err = published(2)
	errstest.Require(t, err, errs.NotFound)

	h.step(h.ivy, in.Key, Submit)
	p = h.step(h.lena, in.Key, Approve) // lena wrote revision one, not revision two
	assert.Equal(t, "lena", p.ApprovedBy)
	p = h.step(h.lena, in.Key, Publish)
	assert.Equal(t, 2, p.PublishedRevision)

	r, err = published(0)
	require.NoError(t, err)
	assert.Equal(t, 2, r.Revision)
	assert.Equal(t, "Revision two", r.Content.Summary)
	assert.Equal(t, t0.Add(time.Hour), r.PublishedAt.UTC())

	old, err := published(1)
	require.NoError(t, err)
	assert.Equal(t, 1, old.Revision)
	assert.Equal(t, "Revision one", old.Content.Summary, "history is kept")
	assert.Equal(t, t0, old.PublishedAt.UTC())

	for _, rev := range []int{3, -1} {
		_, err = published(rev)
		errstest.Require(t, err, errs.NotFound)
	}

	md, err := h.svc.ExportMarkdown(h.ctx, h.leo, in.Key)
	require.NoError(t, err)
	assert.Contains(t, md, "Revision two")
	assert.Contains(t, md, "- Revision: 2")
	assert.NotContains(t, md, "Revision one")
}

func TestPostmortemComments(t *testing.T) {
	h := newHarness(t)
	in := h.grave()
	h.writePostmortem(h.ivy, in.Key, 0, validContent("x"))
	c, err := h.svc.Comment(h.ctx, h.lena, in.Key, "Add the queue graph.", auth.Meta{})
	require.NoError(t, err)
	assert.Equal(t, Comment{Author: "lena", At: t0, Text: "Add the queue graph.", Revision: 1}, c)
	_, err = h.svc.Comment(h.ctx, h.lena, in.Key, " ", auth.Meta{})
	assert.Equal(t, []string{"text"}, errstest.Fields(t, err))
	_, err = h.svc.Comment(h.ctx, h.leo, in.Key, "hi", auth.Meta{})
	errstest.Require(t, err, errs.NotFound)
	p, err := h.svc.GetPostmortem(h.ctx, h.ivy, in.Key)
	require.NoError(t, err)
	require.Len(t, p.Comments, 1)
	assert.Equal(t, "Add the queue graph.", p.Comments[0].Text)
}

// Fridays and the business days after them, in March 2026.
var (
	friday     = time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC)
	nextFriday = time.Date(2026, 3, 13, 15, 0, 0, 0, time.UTC)
)

func TestBusinessDaysAfter(t *testing.T) {
	tests := []struct {
		name string
		from time.Time
		want time.Time
	}{
		{"friday_to_next_friday", friday, nextFriday},
		{"monday_to_next_monday", time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC)},
		{"wednesday_to_next_wednesday", time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 11, 8, 0, 0, 0, time.UTC)},
		{"saturday_to_friday", time.Date(2026, 3, 7, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 13, 8, 0, 0, 0, time.UTC)},
		{"sunday_to_friday", time.Date(2026, 3, 8, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 13, 8, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, businessDaysAfter(tt.from, PostmortemDueDays))
		})
	}
}

func TestPostmortemDueAndOverdue(t *testing.T) {
	monday := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	require.Equal(t, time.Friday, friday.Weekday())
	require.Equal(t, time.Friday, nextFriday.Weekday())

	resolvedFriday := func(sev Severity, kind Kind) func(*NewIncident) {
		return func(n *NewIncident) {
			n.Kind, n.Severity, n.Status = kind, sev, Resolved
			n.StartedAt, n.ResolvedAt = friday.Add(-5*time.Hour), ptr(friday)
		}
	}

	t.Run("sev1_due_five_business_days_after_resolution", func(t *testing.T) {
		h := newHarnessAt(t, monday)
		in := h.createIncident(h.lena, resolvedFriday("sev1", KindIncident))
		require.NotNil(t, in.PostmortemDue)
		assert.Equal(t, nextFriday, *in.PostmortemDue)
		assert.False(t, in.PostmortemLate)

		p := h.writePostmortem(h.ivy, in.Key, 0, validContent("x"))
		require.NotNil(t, p.Due)
		assert.Equal(t, nextFriday, *p.Due)
		assert.False(t, p.Overdue)

		h.clock.Advance(nextFriday.Sub(monday)) // exactly at the due time
		p, err := h.svc.GetPostmortem(h.ctx, h.ivy, in.Key)
		require.NoError(t, err)
		assert.False(t, p.Overdue, "not overdue at the due time itself")

		h.clock.Advance(time.Second)
		p, err = h.svc.GetPostmortem(h.ctx, h.ivy, in.Key)
		require.NoError(t, err)
		assert.True(t, p.Overdue)
		got := h.getIncident(h.lena, in.Key)
		assert.True(t, got.PostmortemLate)
		require.NotNil(t, got.PostmortemStatus)
		assert.Equal(t, Draft, *got.PostmortemStatus)

		h.step(h.ivy, in.Key, Submit)
		h.step(h.lena, in.Key, Approve)
		p = h.step(h.lena, in.Key, Publish)
		assert.False(t, p.Overdue, "published late, but published")
		assert.False(t, h.getIncident(h.lena, in.Key).PostmortemLate)
	})

	t.Run("sev1_without_any_postmortem_is_late", func(t *testing.T) {
		h := newHarnessAt(t, monday)
		in := h.createIncident(h.lena, resolvedFriday("sev0", KindIncident))
		assert.False(t, in.PostmortemLate)
		h.clock.Advance(5 * day)
		got := h.getIncident(h.lena, in.Key)
		assert.True(t, got.PostmortemLate)
		assert.Nil(t, got.PostmortemStatus)
	})

	t.Run("no_due", func(t *testing.T) {
		h := newHarnessAt(t, monday)
		for _, tt := range []struct {
			name string
			edit func(*NewIncident)
		}{
			{"sev2", resolvedFriday("sev2", KindIncident)},
			{"sev3", resolvedFriday("sev3", KindIncident)},
			{"issue", resolvedFriday("sev1", KindIssue)},
			{"unresolved_sev1", func(n *NewIncident) { n.Severity = "sev1" }},
		} {
			in := h.createIncident(h.lena, tt.edit)
			assert.Nil(t, in.PostmortemDue, tt.name)
			if tt.name == "sev2" {
				h.writePostmortem(h.ivy, in.Key, 0, validContent("optional"))
			}
		}
		h.clock.Advance(60 * day)
		list, _, err := h.svc.ListIncidents(h.ctx, h.lena, IncidentQuery{Limit: 10})
		require.NoError(t, err)
		require.Len(t, list, 4)
		for _, in := range list {
			assert.Nil(t, in.PostmortemDue, in.Key)
			assert.False(t, in.PostmortemLate, in.Key)
		}
		i := slices.IndexFunc(list, func(in Incident) bool { return in.Severity == "sev2" })
		require.GreaterOrEqual(t, i, 0)
		sev2 := list[i]
		p, err := h.svc.GetPostmortem(h.ctx, h.ivy, sev2.Key)
		require.NoError(t, err)
		assert.Nil(t, p.Due)
		assert.False(t, p.Overdue)
	})
}
