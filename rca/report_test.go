package rca_test

// The reports count from the search index, so their tests run the whole
// system as the binary wires it (internal/wire), from outside the package.

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
	"casefile.dev/casefile/internal/fakeclock"
	"casefile.dev/casefile/internal/wire/wiretest"
	"casefile.dev/casefile/rca"
)

const day = 24 * time.Hour

func date(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, time.UTC)
}

func ptr[T any](v T) *T { return &v }

// system is the RCA service with its search index, wired as the binary
// runs it, and one user per role that reports care about.
type system struct {
	t     *testing.T
	ctx   context.Context
	clock *fakeclock.Clock
	svc   *rca.Service

	lena *auth.User // lead
	ivy  *auth.User // investigator
	vic  *auth.User // vendor agent
	leo  *auth.User // leadership
}

func newSystem(t *testing.T, start time.Time) *system {
	t.Helper()
	ctx := context.Background()
	clock := fakeclock.New(start)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	all, _ := wiretest.New(t, clock.Now, log)
	s := &system{t: t, ctx: ctx, clock: clock, svc: all.RCA}
	user := func(name string, role auth.Role, team, vendor string) *auth.User {
		return wiretest.User(t, all, name, role, team, vendor)
	}
	s.lena = user("lena", auth.RoleLead, "fraud", "")
	s.ivy = user("ivy", auth.RoleInvestigator, "fraud", "")
	s.vic = user("vic", auth.RoleVendorAgent, "", "acme")
	s.leo = user("leo", auth.RoleLeadership, "", "")
	return s
}

// createIncident opens a sev2 incident as u with the input changed by edit.
func (s *system) createIncident(u *auth.User, edit func(*rca.NewIncident)) rca.Incident {
	s.t.Helper()
	in := rca.NewIncident{Kind: rca.KindIncident, Title: "Fraud queue backlog", Severity: "sev2", Status: rca.Investigating,
		StartedAt: s.clock.Now().Add(-time.Hour), Detection: "queue-age alert", Impact: rca.Impact{Text: "Reports waited for hours."}}
	if edit != nil {
		edit(&in)
	}
	inc, err := s.svc.CreateIncident(s.ctx, u, in, auth.Meta{})
	require.NoError(s.t, err)
	return inc
}

func rootCause(cat rca.Category, sub, desc string) rca.RootCause {
	return rca.RootCause{Category: cat, Subcategory: sub, Description: desc}
}

// putRCA replaces an incident's RCA as lena.
func (s *system) putRCA(key string, rcs ...rca.RootCause) {
	s.t.Helper()
	_, err := s.svc.PutRCA(s.ctx, s.lena, key, 0, rca.RCA{ProblemStatement: "Reports were lost.", RootCauses: rcs}, auth.Meta{})
	require.NoError(s.t, err)
}

// addItem adds an action item owned by lena.
func (s *system) addItem(key string, in rca.NewActionItem) {
	s.t.Helper()
	in.Owner = "lena"
	if in.Kind == "" {
		in.Kind = "prevent"
	}
	_, err := s.svc.AddActionItem(s.ctx, s.lena, key, in, auth.Meta{})
	require.NoError(s.t, err)
}

// setItemStatus moves action item n as lena.
func (s *system) setItemStatus(key string, n int, st rca.ActionItemStatus) rca.ActionItem {
	s.t.Helper()
	a, err := s.svc.UpdateActionItem(s.ctx, s.lena, key, n, 0, rca.ActionItemPatch{Status: &st}, auth.Meta{})
	require.NoError(s.t, err)
	return a
}

// Root-cause texts of the report dataset. dedup and dedupAgain are the same
// cause in other words; typo shares their subcategory but not their words.
const (
	dedup       = "The deduplication job dropped user reports after the schema migration"
	dedupAgain  = "The deduplication job dropped user reports after the queue schema migration"
	typo        = "A typo in the rate limiter configuration blocked appeal submissions"
	filter      = "A reviewer applied the wrong queue filter and skipped escalations"
	filterAgain = "A reviewer applied the wrong queue filter again and skipped escalations"
)

// reportData is six incidents over January to March 2026 (keys a–f):
//
//	a 2026-01-05 (Mon)  product/bug dedup                 item done 2026-01-15   gap
//	b 2026-01-20        process/human_error filter        item open, due 2026-02-01 (overdue)
//	c 2026-02-10        product/bug dedupAgain            no items               → recurred after a's fix
//	d 2026-02-17        process/human_error filterAgain,  item open, due 2026-04-15   gap
//	                    process/training_gap                                      (b still open: no recurrence)
//	e 2026-03-03        policy/ambiguous_policy,          items in_progress (due 2026-04-30) and wont_do
//	                    product/detection_gap
//	f 2026-03-29 (Sun)  product/bug typo                  no items               (same class as a, other words)
//
// The clock ends at 2026-03-31 12:00.
type reportData struct {
	*system
	a, b, c, d, e, f string
}

func seedReport(t *testing.T) reportData {
	h := newSystem(t, date(2026, 1, 5, 8, 0))
	open := func(title string, started time.Time, gaps []rca.MitigationGap, rcs ...rca.RootCause) string {
		in := h.createIncident(h.lena, func(n *rca.NewIncident) { n.Title, n.StartedAt = title, started })
		_, err := h.svc.PutRCA(h.ctx, h.lena, in.Key, 0, rca.RCA{ProblemStatement: title, RootCauses: rcs, MitigationGaps: gaps}, auth.Meta{})
		require.NoError(t, err)
		return in.Key
	}
	d := reportData{system: h}
	d.a = open("Reports lost in dedup", date(2026, 1, 5, 0, 30),
		[]rca.MitigationGap{{Mitigation: "Manual dedup audit", Why: "It ran weekly; the loss lasted days"}},
		rootCause(rca.Product, "bug", dedup))
	d.b = open("Escalations skipped", date(2026, 1, 20, 10, 0), nil, rootCause(rca.Process, "human_error", filter))
	d.c = open("Reports lost in dedup again", date(2026, 2, 10, 10, 0), nil, rootCause(rca.Product, "bug", dedupAgain))
	d.d = open("Escalations skipped again", date(2026, 2, 17, 10, 0),
		[]rca.MitigationGap{{Mitigation: "Second-reviewer check", Why: "Skipped under load"}},
		rootCause(rca.Process, "human_error", filterAgain), rootCause(rca.Process, "training_gap", "New vendor reviewers were never trained on escalation filters"))
	d.e = open("Refund abuse wave", date(2026, 3, 3, 10, 0), nil,
		rootCause(rca.Policy, "ambiguous_policy", "Guidance on refund abuse was ambiguous for marketplace sellers"),
		rootCause(rca.Product, "detection_gap", "No alert fired on the sudden drop of reports in the fraud queue"))
	d.f = open("Appeals blocked", date(2026, 3, 29, 23, 0), nil, rootCause(rca.Product, "bug", typo))

	h.addItem(d.a, rca.NewActionItem{Title: "Add a row-count check to the dedup job", Due: ptr(date(2026, 1, 20, 0, 0)), RootCause: ptr(0)})
	h.addItem(d.b, rca.NewActionItem{Title: "Lock the queue filter presets", Due: ptr(date(2026, 2, 1, 0, 0))})
	h.addItem(d.d, rca.NewActionItem{Title: "Retrain vendor reviewers", Kind: "process", Due: ptr(date(2026, 4, 15, 0, 0))})
	h.addItem(d.e, rca.NewActionItem{Title: "Clarify the refund guidance", Kind: "policy", Due: ptr(date(2026, 4, 30, 0, 0))})
	h.addItem(d.e, rca.NewActionItem{Title: "Alert on report drops", Kind: "detect"})
	h.setItemStatus(d.e, 1, rca.ItemInProgress)
	h.setItemStatus(d.e, 2, rca.ItemWontDo)

	h.clock.Advance(10 * day) // 2026-01-15: a's only item is done before c starts
	done := h.setItemStatus(d.a, 1, rca.ItemDone)
	require.Equal(t, date(2026, 1, 15, 8, 0), *done.DoneAt)

	h.clock.Advance(date(2026, 3, 31, 12, 0).Sub(h.clock.Now()))
	return d
}

func TestRootCauseReport(t *testing.T) {
	d := seedReport(t)
	require.GreaterOrEqual(t, rca.Similarity(dedup, dedupAgain), rca.RecurrenceSimilarity, "c repeats a's cause")
	require.GreaterOrEqual(t, rca.Similarity(filter, filterAgain), rca.RecurrenceSimilarity, "d repeats b's cause")
	require.Less(t, rca.Similarity(dedup, typo), rca.RecurrenceSimilarity, "f does not repeat a's cause")

	t.Run("month", func(t *testing.T) {
		rep, err := d.svc.RootCauses(d.ctx, d.leo, date(2026, 1, 1, 0, 0), date(2026, 4, 1, 0, 0), "month")
		require.NoError(t, err)
		assert.Equal(t, "month", rep.Interval)
		assert.Equal(t, 6, rep.Incidents)
		assert.Equal(t, map[rca.Category]int{rca.Product: 4, rca.Process: 3, rca.Policy: 1}, rep.Totals)
		assert.Equal(t, []rca.ReportBucket{
			{Start: date(2026, 1, 1, 0, 0), Categories: map[rca.Category]int{rca.Product: 1, rca.Process: 1},
				Subcategories: map[string]int{"product/bug": 1, "process/human_error": 1}},
			{Start: date(2026, 2, 1, 0, 0), Categories: map[rca.Category]int{rca.Product: 1, rca.Process: 2},
				Subcategories: map[string]int{"product/bug": 1, "process/human_error": 1, "process/training_gap": 1}},
			{Start: date(2026, 3, 1, 0, 0), Categories: map[rca.Category]int{rca.Product: 2, rca.Policy: 1},
				Subcategories: map[string]int{"product/bug": 1, "product/detection_gap": 1, "policy/ambiguous_policy": 1}},
		}, rep.Buckets)
		assert.Equal(t, []rca.Recurring{
			{Category: rca.Product, Subcategory: "bug", Count: 3, Incidents: []string{d.a, d.c, d.f}},
			{Category: rca.Process, Subcategory: "human_error", Count: 2, Incidents: []string{d.b, d.d}},
		}, rep.TopRecurring)
		assert.Equal(t, 3, rep.OpenActionItems, "b's and d's open items and e's item in progress")
		assert.Equal(t, 1, rep.OverdueActionItems, "b's item, due 2026-02-01")
		assert.Equal(t, []rca.GapEntry{
			{Incident: d.a, Mitigation: "Manual dedup audit", Why: "It ran weekly; the loss lasted days"},
			{Incident: d.d, Mitigation: "Second-reviewer check", Why: "Skipped under load"},
		}, rep.MitigationGaps)
		assert.Equal(t, []rca.Recurrence{{Incident: d.c, Earlier: d.a, Category: rca.Product, Subcategory: "bug"}}, rep.RecurredAfterFix,
			"c recurred after a's fix; d's earlier incident b still has an open item; f's cause is another one")
	})

	t.Run("default_interval_is_month", func(t *testing.T) {
		rep, err := d.svc.RootCauses(d.ctx, d.lena, time.Time{}, time.Time{}, "")
		require.NoError(t, err)
		assert.Equal(t, "month", rep.Interval)
		assert.Len(t, rep.Buckets, 3)
		assert.Equal(t, 6, rep.Incidents)
		assert.Nil(t, rep.From)
		assert.Nil(t, rep.To)
	})

	t.Run("week_buckets_start_on_monday", func(t *testing.T) {
		rep, err := d.svc.RootCauses(d.ctx, d.lena, time.Time{}, time.Time{}, "week")
		require.NoError(t, err)
		var starts []time.Time
		for _, b := range rep.Buckets {
			starts = append(starts, b.Start)
			assert.Equal(t, time.Monday, b.Start.Weekday())
		}
		assert.Equal(t, []time.Time{
			date(2026, 1, 5, 0, 0), date(2026, 1, 19, 0, 0), date(2026, 2, 9, 0, 0),
			date(2026, 2, 16, 0, 0), date(2026, 3, 2, 0, 0), date(2026, 3, 23, 0, 0), // f started on Sunday the 29th
		}, starts)
	})

	t.Run("quarter_from_february", func(t *testing.T) {
		rep, err := d.svc.RootCauses(d.ctx, d.leo, date(2026, 2, 1, 0, 0), date(2026, 4, 1, 0, 0), "quarter")
		require.NoError(t, err)
		assert.Equal(t, 4, rep.Incidents)
		require.NotNil(t, rep.From)
		assert.Equal(t, date(2026, 2, 1, 0, 0), *rep.From)
		assert.Equal(t, []rca.ReportBucket{{Start: date(2026, 1, 1, 0, 0),
			Categories:    map[rca.Category]int{rca.Product: 3, rca.Process: 2, rca.Policy: 1},
			Subcategories: map[string]int{"product/bug": 2, "process/human_error": 1, "process/training_gap": 1, "product/detection_gap": 1, "policy/ambiguous_policy": 1}},
		}, rep.Buckets)
		assert.Equal(t, []rca.Recurring{{Category: rca.Product, Subcategory: "bug", Count: 2, Incidents: []string{d.c, d.f}}}, rep.TopRecurring)
		assert.Equal(t, 2, rep.OpenActionItems)
		assert.Zero(t, rep.OverdueActionItems)
		assert.Equal(t, []rca.GapEntry{{Incident: d.d, Mitigation: "Second-reviewer check", Why: "Skipped under load"}}, rep.MitigationGaps)
		assert.Equal(t, []rca.Recurrence{{Incident: d.c, Earlier: d.a, Category: rca.Product, Subcategory: "bug"}}, rep.RecurredAfterFix,
			"recurrence looks back before from")
	})

	t.Run("to_is_exclusive", func(t *testing.T) {
		rep, err := d.svc.RootCauses(d.ctx, d.leo, time.Time{}, date(2026, 2, 17, 10, 0), "month")
		require.NoError(t, err)
		assert.Equal(t, 3, rep.Incidents, "a, b and c; d starts at to")
		assert.Equal(t, map[rca.Category]int{rca.Product: 2, rca.Process: 1, rca.Policy: 0}, rep.Totals)
		assert.Equal(t, 1, rep.OpenActionItems)
	})

	t.Run("empty_range", func(t *testing.T) {
		rep, err := d.svc.RootCauses(d.ctx, d.leo, date(2025, 1, 1, 0, 0), date(2025, 6, 1, 0, 0), "month")
		require.NoError(t, err)
		assert.Zero(t, rep.Incidents)
		assert.Equal(t, map[rca.Category]int{rca.Product: 0, rca.Process: 0, rca.Policy: 0}, rep.Totals)
		assert.NotNil(t, rep.Buckets)
		assert.NotNil(t, rep.TopRecurring)
		assert.NotNil(t, rep.MitigationGaps)
		assert.NotNil(t, rep.RecurredAfterFix)
	})

	t.Run("bad_interval", func(t *testing.T) {
		_, err := d.svc.RootCauses(d.ctx, d.leo, time.Time{}, time.Time{}, "day")
		assert.Equal(t, []string{"interval"}, errstest.Fields(t, err))
	})

	t.Run("roles_without_reports", func(t *testing.T) {
		for _, u := range []*auth.User{d.ivy, d.vic} {
			_, err := d.svc.RootCauses(d.ctx, u, time.Time{}, time.Time{}, "month")
			errstest.Require(t, err, errs.Forbidden)
		}
	})
}

func TestRecurrenceNeedsFixDoneBeforeTheNextIncident(t *testing.T) {
	h := newSystem(t, date(2026, 1, 5, 8, 0))
	first := h.createIncident(h.lena, func(n *rca.NewIncident) { n.StartedAt = date(2026, 1, 2, 0, 0) })
	h.putRCA(first.Key, rootCause(rca.Product, "bug", dedup))
	h.addItem(first.Key, rca.NewActionItem{Title: "Fix the job"})
	second := h.createIncident(h.lena, func(n *rca.NewIncident) { n.StartedAt = date(2026, 1, 10, 0, 0) })
	h.putRCA(second.Key, rootCause(rca.Product, "bug", dedupAgain))

	h.clock.Advance(10 * day) // 2026-01-15: fixed only after the second incident began
	h.setItemStatus(first.Key, 1, rca.ItemDone)
	rep, err := h.svc.RootCauses(h.ctx, h.lena, time.Time{}, time.Time{}, "month")
	require.NoError(t, err)
	assert.Empty(t, rep.RecurredAfterFix)
	assert.Equal(t, []rca.Recurring{{Category: rca.Product, Subcategory: "bug", Count: 2, Incidents: []string{first.Key, second.Key}}}, rep.TopRecurring)

	third := h.createIncident(h.lena, func(n *rca.NewIncident) { n.StartedAt = date(2026, 1, 20, 0, 0) })
	h.putRCA(third.Key, rootCause(rca.Product, "bug", dedup))
	rep, err = h.svc.RootCauses(h.ctx, h.lena, time.Time{}, time.Time{}, "month")
	require.NoError(t, err)
	assert.Equal(t, []rca.Recurrence{{Incident: third.Key, Earlier: first.Key, Category: rca.Product, Subcategory: "bug"}}, rep.RecurredAfterFix)
}

func TestListIncidentsFilters(t *testing.T) {
	d := seedReport(t)
	keys := func(q rca.IncidentQuery) []string {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 10
		}
		list, _, err := d.svc.ListIncidents(d.ctx, d.lena, q)
		require.NoError(t, err)
		var out []string
		for _, in := range list {
			out = append(out, in.Key)
		}
		return out
	}
	assert.Equal(t, []string{d.f, d.e, d.d, d.c, d.b, d.a}, keys(rca.IncidentQuery{}), "newest first")
	assert.Equal(t, []string{d.e}, keys(rca.IncidentQuery{RootCauseCategory: rca.Policy}))
	assert.Equal(t, []string{d.c, d.a}, keys(rca.IncidentQuery{Text: "DEDUP"}))
	assert.Equal(t, []string{d.c, d.b}, keys(rca.IncidentQuery{From: date(2026, 1, 20, 10, 0), To: date(2026, 2, 17, 10, 0)}))
	assert.Empty(t, keys(rca.IncidentQuery{Statuses: []rca.Status{rca.Resolved}}))
	assert.Empty(t, keys(rca.IncidentQuery{Severities: []rca.Severity{"sev0"}}))
	list, total, err := d.svc.ListIncidents(d.ctx, d.lena, rca.IncidentQuery{Limit: 2, Offset: 2})
	require.NoError(t, err)
	assert.Equal(t, 6, total)
	require.Len(t, list, 2)
	assert.Equal(t, []string{d.d, d.c}, []string{list[0].Key, list[1].Key})
}
