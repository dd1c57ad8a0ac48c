package quality

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/casestest"
	"casefile.dev/casefile/internal/fakeclock"
)

// calStart is where the calibration harness clock starts.
var calStart = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// calHarness is a QA Service on its own database, wired to the real auth
// service, audit log, blob store and case service, with users of every
// role and a few cases.
type calHarness struct {
	t     *testing.T
	ctx   context.Context
	clock *fakeclock.Clock
	audit *auth.Audit
	auth  *auth.Service
	cases *cases.Service
	svc   *Service

	admin *auth.User // admin
	lena  *auth.User // lead, team fraud
	ivy   *auth.User // investigator, team fraud
	otto  *auth.User // investigator, team spam
	vic   *auth.User // vendor_agent, acme, team fraud
	val   *auth.User // vendor_agent, acme
	vince *auth.User // vendor_agent, acme, disabled
	vera  *auth.User // vendor_agent, other
	leo   *auth.User // leadership

	acme     []cases.Case // four unrestricted cases of vendor acme, team fraud
	other    cases.Case   // a case of vendor other
	hidden   cases.Case   // a restricted case of vendor acme
	actorSeq int
}

func newCalHarness(t *testing.T) *calHarness {
	t.Helper()
	ctx := context.Background()
	clock := fakeclock.New(calStart)
	base := casestest.New(t, clock.Now)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := NewService(NewStore(base.DB), base.Audit, base.Cases, base.Auth, nil, clock.Now, quiet)
	require.NoError(t, svc.Init(ctx))
	authSvc := base.Auth

	h := &calHarness{t: t, ctx: ctx, clock: clock, audit: base.Audit, auth: authSvc, cases: base.Cases, svc: svc}
	h.admin = h.addUser("admin", auth.RoleAdmin, "", "")
	h.lena = h.addUser("lena", auth.RoleLead, "fraud", "")
	h.ivy = h.addUser("ivy", auth.RoleInvestigator, "fraud", "")
	h.otto = h.addUser("otto", auth.RoleInvestigator, "spam", "")
	h.vic = h.addUser("vic", auth.RoleVendorAgent, "fraud", "acme")
	h.val = h.addUser("val", auth.RoleVendorAgent, "", "acme")
	h.vince = h.addUser("vince", auth.RoleVendorAgent, "", "acme")
	disabled := true
	u, err := authSvc.UpdateUser(ctx, h.admin, "vince", h.vince.Version, auth.UserPatch{Disabled: &disabled}, auth.Meta{})
	require.NoError(t, err)
	h.vince = &u
	h.vera = h.addUser("vera", auth.RoleVendorAgent, "", "other")
	h.leo = h.addUser("leo", auth.RoleLeadership, "", "")

	for range 4 {
		h.acme = append(h.acme, h.newCase(func(in *cases.NewCase) { in.Vendor = "acme" }))
	}
	h.other = h.newCase(func(in *cases.NewCase) { in.Vendor = "other" })
	h.hidden = h.newCase(func(in *cases.NewCase) { in.Vendor = "acme"; in.Restricted = true })
	return h
}

func (h *calHarness) addUser(username string, role auth.Role, team, vendor string) *auth.User {
	h.t.Helper()
	return casestest.User(h.t, h.auth, username, role, team, vendor)
}

// newCase files a case of team fraud as the lead, changed by edit.
func (h *calHarness) newCase(edit func(*cases.NewCase)) cases.Case {
	h.t.Helper()
	h.actorSeq++
	in := cases.NewCase{Title: "Gift card scam ring", Summary: "Accounts sell fake gift cards.",
		Actor: cases.ActorRef{ActorID: fmt.Sprintf("cal-actor-%d", h.actorSeq)}, PolicyAreas: []string{"fraud_scam"},
		Severity: cases.Sev2, SourceKind: "proactive", SourceChannel: "automated_detection", Team: "fraud"}
	if edit != nil {
		edit(&in)
	}
	c, created, err := h.cases.Create(h.ctx, h.lena, in, "", auth.Meta{})
	require.NoError(h.t, err)
	require.True(h.t, created)
	return c
}

// audited lists the audit events of action on calibration sets, newest first.
func (h *calHarness) audited(action string) []auth.AuditEvent {
	h.t.Helper()
	evs, _, _, err := h.audit.List(h.ctx, auth.AuditFilter{EntityType: calibrationEntity, Action: action}, 100, "")
	require.NoError(h.t, err)
	return evs
}
