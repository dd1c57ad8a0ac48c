package rca

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/casestest"
	"casefile.dev/casefile/internal/fakeclock"
	"casefile.dev/casefile/internal/store"
)

// t0 is where the fake clock starts unless a test says otherwise: a Monday.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

const day = 24 * time.Hour

// harness is an RCA Service on its own database, wired to the real auth
// service and audit log, a real case service (for rca.Cases) and the
// shipped classifier, with one or two users of every role.
type harness struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	clock *fakeclock.Clock
	audit *auth.Audit
	auth  *auth.Service
	cases *cases.Service
	store *MongoStore
	svc   *Service

	admin *auth.User // admin
	lena  *auth.User // lead
	luke  *auth.User // lead (a second one, to approve what lena wrote)
	ivy   *auth.User // investigator, team fraud
	ian   *auth.User // investigator, team spam
	vic   *auth.User // vendor_agent, vendor acme
	leo   *auth.User // leadership
}

func newHarness(t *testing.T) *harness { return newHarnessAt(t, t0) }

// newHarnessAt starts the fake clock at start.
func newHarnessAt(t *testing.T, start time.Time) *harness {
	t.Helper()
	ctx := context.Background()
	clock := fakeclock.New(start)
	base := casestest.New(t, clock.Now)
	cl, err := NewClassifier()
	require.NoError(t, err)
	ms := NewMongoStore(base.DB)
	svc := NewService(ms, base.Audit, base.Cases, cl, clock.Now)
	require.NoError(t, svc.Init(ctx))
	h := &harness{t: t, ctx: ctx, db: base.DB, clock: clock, audit: base.Audit, auth: base.Auth, cases: base.Cases, store: ms, svc: svc}
	h.admin = h.addUser("admin", auth.RoleAdmin, "", "")
	h.lena = h.addUser("lena", auth.RoleLead, "fraud", "")
	h.luke = h.addUser("luke", auth.RoleLead, "fraud", "")
	h.ivy = h.addUser("ivy", auth.RoleInvestigator, "fraud", "")
	h.ian = h.addUser("ian", auth.RoleInvestigator, "spam", "")
	h.vic = h.addUser("vic", auth.RoleVendorAgent, "", "acme")
	h.leo = h.addUser("leo", auth.RoleLeadership, "", "")
	return h
}

func (h *harness) addUser(username string, role auth.Role, team, vendor string) *auth.User {
	h.t.Helper()
	return casestest.User(h.t, h.auth, username, role, team, vendor)
}

// newCase files a case of team about actor as lena.
func (h *harness) newCase(team string, actor cases.ActorRef, related ...string) cases.Case {
	h.t.Helper()
	c, created, err := h.cases.Create(h.ctx, h.lena, cases.NewCase{
		Title: "Gift card scam ring", Summary: "Accounts sell fake gift cards.", Actor: actor, RelatedActors: related,
		PolicyAreas: []string{"fraud_scam"}, Severity: cases.Sev2, SourceKind: "proactive", SourceChannel: "automated_detection", Team: team,
	}, "", auth.Meta{})
	require.NoError(h.t, err)
	require.True(h.t, created)
	return c
}

// getCase reads a case as the admin.
func (h *harness) getCase(key string) cases.Case {
	h.t.Helper()
	c, err := h.cases.Get(h.ctx, h.admin, key, auth.Meta{})
	require.NoError(h.t, err)
	return c
}

// validIncident is a valid sev2 incident that started an hour before t0.
func validIncident() NewIncident {
	return NewIncident{
		Kind: KindIncident, Title: "Fraud queue backlog", Severity: "sev2", Status: Investigating,
		StartedAt: t0.Add(-time.Hour), Detection: "queue-age alert",
		Impact: Impact{Text: "Reports waited for hours.", AffectedActors: 120, ExposureCount: 12000, Regions: []string{"DE", "US"}},
	}
}

// createIncident opens an incident as u with the default input changed by edit.
func (h *harness) createIncident(u *auth.User, edit func(*NewIncident)) Incident {
	h.t.Helper()
	in := validIncident()
	if edit != nil {
		edit(&in)
	}
	inc, err := h.svc.CreateIncident(h.ctx, u, in, auth.Meta{})
	require.NoError(h.t, err)
	return inc
}

// getIncident reads an incident as u.
func (h *harness) getIncident(u *auth.User, key string) Incident {
	h.t.Helper()
	in, err := h.svc.GetIncident(h.ctx, u, key)
	require.NoError(h.t, err)
	return in
}

// incidentCount counts stored incidents, bypassing access checks.
func (h *harness) incidentCount() int {
	h.t.Helper()
	all, err := h.store.FindIncidents(h.ctx, time.Time{}, time.Time{})
	require.NoError(h.t, err)
	return len(all)
}

func rootCause(cat Category, sub, desc string) RootCause {
	return RootCause{Category: cat, Subcategory: sub, Description: desc}
}

// putRCA replaces an incident's RCA as lena.
func (h *harness) putRCA(key string, rcs ...RootCause) Incident {
	h.t.Helper()
	in, err := h.svc.PutRCA(h.ctx, h.lena, key, 0, RCA{ProblemStatement: "Reports were lost.", RootCauses: rcs}, auth.Meta{})
	require.NoError(h.t, err)
	return in
}

// addItem adds an action item as lena.
func (h *harness) addItem(key string, in NewActionItem) ActionItem {
	h.t.Helper()
	if in.Owner == "" {
		in.Owner = "lena"
	}
	if in.Kind == "" {
		in.Kind = "prevent"
	}
	a, err := h.svc.AddActionItem(h.ctx, h.lena, key, in, auth.Meta{})
	require.NoError(h.t, err)
	return a
}

// setItemStatus moves action item n as lena.
func (h *harness) setItemStatus(key string, n int, st ActionItemStatus) ActionItem {
	h.t.Helper()
	a, err := h.svc.UpdateActionItem(h.ctx, h.lena, key, n, 0, ActionItemPatch{Status: &st}, auth.Meta{})
	require.NoError(h.t, err)
	return a
}

// validContent is a postmortem with every section filled in.
func validContent(summary string) Content {
	return Content{
		Summary: summary, Impact: "Reports waited up to six hours.",
		Timeline: []TimelineItem{
			{At: t0.Add(-time.Hour), Event: "Queue age started to grow"},
			{At: t0.Add(-30 * time.Minute), Event: "Alert fired"},
		},
		Detection: "Queue-age alert.", Response: "Drained the queue by hand.", WhatWentWell: "The alert fired.",
		WhatWentWrong: "Nobody owned the job.", WhereWeGotLucky: "It was a quiet day.", Lessons: "Own every job.",
		Body: "We **will** add an owner to every job.",
	}
}

// writePostmortem writes a postmortem as u at version ifMatch.
func (h *harness) writePostmortem(u *auth.User, key string, ifMatch int64, c Content) Postmortem {
	h.t.Helper()
	p, _, err := h.svc.PutPostmortem(h.ctx, u, key, ifMatch, c, auth.Meta{})
	require.NoError(h.t, err)
	return p
}

// step takes a review step as u, failing the test on error.
func (h *harness) step(u *auth.User, key string, s PostmortemStep) Postmortem {
	h.t.Helper()
	res, err := h.svc.Step(h.ctx, u, key, s, false, auth.Meta{})
	require.NoError(h.t, err, "step %s as %s", s, u.Username)
	return res.Postmortem
}

// postmortemAt drives a new postmortem of incident key, written by author,
// to status st; approvals and publishing are done by luke.
func (h *harness) postmortemAt(key string, author *auth.User, st PostmortemStatus, c Content) Postmortem {
	h.t.Helper()
	p := h.writePostmortem(author, key, 0, c)
	for _, s := range []struct {
		to   PostmortemStatus
		step PostmortemStep
		by   *auth.User
	}{{InReview, Submit, author}, {Approved, Approve, h.luke}, {Published, Publish, h.luke}} {
		if p.Status == st {
			break
		}
		p = h.step(s.by, key, s.step)
		require.Equal(h.t, s.to, p.Status)
	}
	require.Equal(h.t, st, p.Status)
	return p
}

// storedPostmortem reads the working postmortem, bypassing access checks.
func (h *harness) storedPostmortem(key string) Postmortem {
	h.t.Helper()
	id, err := h.store.IncidentIDByKey(h.ctx, key)
	require.NoError(h.t, err)
	p, err := h.store.Postmortem(h.ctx, id)
	require.NoError(h.t, err)
	return p
}

// events lists the audit events with action, oldest first.
func (h *harness) events(action string) []auth.AuditEvent {
	h.t.Helper()
	items, next, _, err := h.audit.List(h.ctx, auth.AuditFilter{Action: action}, 1000, "")
	require.NoError(h.t, err)
	require.Empty(h.t, next)
	for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
		items[i], items[j] = items[j], items[i]
	}
	return items
}

func ptr[T any](v T) *T { return &v }
