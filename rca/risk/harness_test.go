package risk

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/casestest"
	"casefile.dev/casefile/internal/fakeclock"
	"casefile.dev/casefile/internal/storetest"
	"casefile.dev/casefile/rca"
)

// TestMain starts one embedded store for the package; every test that needs
// a database gets its own with storetest.New.
func TestMain(m *testing.M) { storetest.Main(m) }

// t0 is where the fake clock starts: a Monday in March 2026.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

const day = 24 * time.Hour

// harness is a risk Service on its own database, wired to the real auth
// service and audit log, case service and RCA service, with users of
// every role.
type harness struct {
	t     *testing.T
	ctx   context.Context
	clock *fakeclock.Clock
	audit *auth.Audit
	auth  *auth.Service
	cases *cases.Service
	rca   *rca.Service
	store *MongoStore
	svc   *Service
	// changes are the OnChange calls, in order.
	changes []string

	admin *auth.User // admin
	lena  *auth.User // lead, team fraud
	ivy   *auth.User // investigator, team fraud
	ian   *auth.User // investigator, team spam
	vic   *auth.User // vendor_agent, vendor acme
	leo   *auth.User // leadership
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	clock := fakeclock.New(t0)
	base := casestest.New(t, clock.Now)
	cl, err := rca.NewClassifier()
	require.NoError(t, err)
	rcaSvc := rca.NewService(rca.NewMongoStore(base.DB), base.Audit, base.Cases, cl, clock.Now)
	require.NoError(t, rcaSvc.Init(ctx))
	ms := NewMongoStore(base.DB)
	svc := NewService(ms, base.Audit, base.Cases, rcaSvc, base.Auth, clock.Now)
	require.NoError(t, svc.Init(ctx))
	h := &harness{t: t, ctx: ctx, clock: clock, audit: base.Audit, auth: base.Auth, cases: base.Cases, rca: rcaSvc, store: ms, svc: svc}
	svc.OnChange(func(_ context.Context, kind, id string) { h.changes = append(h.changes, kind+" "+id) })
	h.admin = h.addUser("admin", auth.RoleAdmin, "", "")
	h.lena = h.addUser("lena", auth.RoleLead, "fraud", "")
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

// newCase files a case of team about actor as lena, at the clock's time.
func (h *harness) newCase(team string, actor cases.ActorRef) cases.Case {
	h.t.Helper()
	c, _, err := h.cases.Create(h.ctx, h.lena, cases.NewCase{
		Title: "Counterfeit listings", Summary: "Listings of fake goods.", Actor: actor,
		PolicyAreas: []string{"regulated_goods"}, Severity: cases.Sev3, SourceKind: "proactive", SourceChannel: "risk_discovery", Team: team,
	}, "", auth.Meta{})
	require.NoError(h.t, err)
	return c
}

// validRisk is a valid new risk.
func validRisk() NewRisk {
	return NewRisk{Title: "Counterfeit sellers move to live streams", Description: "Sellers show fakes live and delete the stream.",
		PolicyAreas: []string{"regulated_goods", "fraud_scam"}, Discovery: Proactive}
}

// create files a risk as u with the default input changed by edit.
func (h *harness) create(u *auth.User, edit func(*NewRisk)) Risk {
	h.t.Helper()
	in := validRisk()
	if edit != nil {
		edit(&in)
	}
	r, err := h.svc.Create(h.ctx, u, in, auth.Meta{})
	require.NoError(h.t, err)
	return r
}

// get reads a risk as u.
func (h *harness) get(u *auth.User, key string) Risk {
	h.t.Helper()
	r, err := h.svc.Get(h.ctx, u, key, auth.Meta{})
	require.NoError(h.t, err)
	return r
}

// stored reads a risk from the store, bypassing presentation.
func (h *harness) stored(key string) Risk {
	h.t.Helper()
	r, err := h.store.Risk(h.ctx, key)
	require.NoError(h.t, err)
	return r
}

// linkCase links case ref to risk key as u, failing the test on error.
func (h *harness) linkCase(u *auth.User, key, ref string) Risk {
	h.t.Helper()
	r, err := h.svc.Link(h.ctx, u, key, LinkTarget{CaseID: ref}, 0, auth.Meta{})
	require.NoError(h.t, err)
	return r
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

// lastEvent is the newest audit event with action.
func (h *harness) lastEvent(action string) auth.AuditEvent {
	h.t.Helper()
	ev := h.events(action)
	require.NotEmpty(h.t, ev, "no %s event", action)
	return ev[len(ev)-1]
}

func ptr[T any](v T) *T { return &v }
