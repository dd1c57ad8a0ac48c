package cases

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/blob"
	"casefile.dev/casefile/internal/fakeclock"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/internal/storetest"
)

// t0 is where every fake clock starts.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// testPassword passes the password policy.
const testPassword = "correct horse battery"

// harness is a case Service on its own database, wired to the real auth
// service, audit log and blob store, with one user of every role.
type harness struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	clock *fakeclock.Clock
	audit *auth.Audit
	auth  *auth.Service
	blobs *blob.Store
	store *MongoStore
	svc   *Service

	admin *auth.User // admin, no team
	lena  *auth.User // lead, team fraud
	lars  *auth.User // lead, team fraud (a second lead, to approve lena's proposals)
	ivy   *auth.User // investigator, team fraud
	otto  *auth.User // investigator, team spam
	asa   *auth.User // investigator, team safety (assigned to cases of other teams)
	vic   *auth.User // vendor_agent, vendor acme
	vera  *auth.User // vendor_agent, vendor other
	leo   *auth.User // leadership
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	db := storetest.New(t)
	clock := fakeclock.New(t0)
	audit := auth.NewAudit(db, clock.Now)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	authSvc, err := auth.NewService(auth.Config{DB: db, Keys: auth.NewKeySet(priv), Now: clock.Now,
		Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1}, Audit: audit})
	require.NoError(t, err)
	require.NoError(t, authSvc.Init(ctx))
	blobs := blob.New(db)
	require.NoError(t, blobs.Init(ctx))
	ms := NewMongoStore(db)
	svc := NewService(ms, audit, authSvc, blobs, clock.Now)
	require.NoError(t, svc.Init(ctx))
	h := &harness{t: t, ctx: ctx, db: db, clock: clock, audit: audit, auth: authSvc, blobs: blobs, store: ms, svc: svc}
	h.admin = h.addUser("admin", auth.RoleAdmin, "", "")
	h.lena = h.addUser("lena", auth.RoleLead, "fraud", "")
	h.lars = h.addUser("lars", auth.RoleLead, "fraud", "")
	h.ivy = h.addUser("ivy", auth.RoleInvestigator, "fraud", "")
	h.otto = h.addUser("otto", auth.RoleInvestigator, "spam", "")
	h.asa = h.addUser("asa", auth.RoleInvestigator, "safety", "")
	h.vic = h.addUser("vic", auth.RoleVendorAgent, "", "acme")
	h.vera = h.addUser("vera", auth.RoleVendorAgent, "", "other")
	h.leo = h.addUser("leo", auth.RoleLeadership, "", "")
	return h
}

// with is h reporting to t: subtests sharing a harness fail themselves,
// not their parent.
func (h *harness) with(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

func (h *harness) addUser(username string, role auth.Role, team, vendor string) *auth.User {
	h.t.Helper()
	u, err := h.auth.CreateUser(h.ctx, &auth.System, auth.NewUser{Username: username, Role: role, Team: team, Vendor: vendor, Password: testPassword}, auth.Meta{})
	require.NoError(h.t, err)
	return &u
}

// actorSeq makes actor ids unique within a harness.
var actorSeq struct {
	sync.Mutex
	n int
}

func nextActorID() string {
	actorSeq.Lock()
	defer actorSeq.Unlock()
	actorSeq.n++
	return fmt.Sprintf("actor-%d", actorSeq.n)
}

// newCaseInput is a valid case for team fraud about a fresh actor.
func newCaseInput() NewCase {
	return NewCase{
		Title:         "Gift card scam ring",
		Summary:       "Accounts sell fake gift cards.",
		Actor:         ActorRef{ActorID: nextActorID()},
		PolicyAreas:   []string{"fraud_scam"},
		Severity:      Sev2,
		SourceKind:    "proactive",
		SourceChannel: "automated_detection",
		Team:          "fraud",
	}
}

// create files a case as u with the default input changed by edit.
func (h *harness) create(u *auth.User, edit func(*NewCase)) Case {
	h.t.Helper()
	in := newCaseInput()
	if edit != nil {
		edit(&in)
	}
	c, created, err := h.svc.Create(h.ctx, u, in, "", Meta{})
	require.NoError(h.t, err)
	require.True(h.t, created)
	return c
}

// get reads a case as u, failing the test on error.
func (h *harness) get(u *auth.User, key string) Case {
	h.t.Helper()
	c, err := h.svc.Get(h.ctx, u, key, Meta{})
	require.NoError(h.t, err)
	return c
}

// raw reads the stored case, bypassing access checks.
func (h *harness) raw(id string) Case {
	h.t.Helper()
	c, err := h.store.Case(h.ctx, id)
	require.NoError(h.t, err)
	return c
}

// move transitions a case as u through each status in turn.
func (h *harness) move(u *auth.User, key string, to ...Status) Case {
	h.t.Helper()
	var c Case
	for _, s := range to {
		var err error
		c, err = h.svc.Transition(h.ctx, u, key, 0, s, "", Meta{})
		require.NoError(h.t, err, "move to %s", s)
	}
	return c
}

// setVerdict records a verdict as the lead.
func (h *harness) setVerdict(key string, v Verdict) {
	h.t.Helper()
	_, err := h.svc.Update(h.ctx, h.lena, key, 0, Patch{Verdict: &v}, Meta{})
	require.NoError(h.t, err)
}

// applyWarning proposes a first-offence warning as the lead and applies it.
func (h *harness) applyWarning(key string) Enforcement {
	h.t.Helper()
	e, err := h.svc.Propose(h.ctx, h.lena, key, Proposal{Action: Warning, Reason: "first offence"}, Meta{})
	require.NoError(h.t, err)
	require.Equal(h.t, Approved, e.Status)
	e, err = h.svc.Decide(h.ctx, h.lena, key, e.ID, Apply, "", Meta{})
	require.NoError(h.t, err)
	return e
}

// caseAt files a case and drives it to status s by the shortest legal path.
func (h *harness) caseAt(s Status) Case {
	h.t.Helper()
	c := h.create(h.lena, nil)
	switch s {
	case StatusNew:
		return h.get(h.lena, c.Key)
	case StatusTriage:
		h.move(h.lena, c.Key, StatusTriage)
	case StatusInvestigating:
		h.move(h.lena, c.Key, StatusTriage, StatusInvestigating)
	case StatusPendingReview:
		h.move(h.lena, c.Key, StatusTriage, StatusInvestigating, StatusPendingReview)
	case StatusActioned:
		h.move(h.lena, c.Key, StatusTriage, StatusInvestigating)
		h.applyWarning(c.Key)
		h.move(h.lena, c.Key, StatusPendingReview, StatusActioned)
	case StatusNoViolation:
		h.move(h.lena, c.Key, StatusTriage, StatusInvestigating)
		h.setVerdict(c.Key, VerdictNoViolation)
		h.move(h.lena, c.Key, StatusNoViolation)
	case StatusClosed:
		h.move(h.lena, c.Key, StatusTriage, StatusInvestigating)
		h.setVerdict(c.Key, VerdictNoViolation)
		h.move(h.lena, c.Key, StatusNoViolation, StatusClosed)
	default:
		h.t.Fatalf("no path to %s", s)
	}
	out := h.get(h.lena, c.Key)
	require.Equal(h.t, s, out.Status)
	return out
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

// deniedAudited reports whether the audit log holds a denied action by u
// on the case with key.
func (h *harness) deniedAudited(action string, u *auth.User, key string) bool {
	h.t.Helper()
	for _, e := range h.events(action) {
		if e.User == u.Username && e.Outcome == auth.OutcomeDenied && e.Entity == (auth.Entity{Type: "case", ID: key}) {
			return true
		}
	}
	return false
}

// count counts the documents of a collection.
func (h *harness) count(coll string) int64 {
	h.t.Helper()
	n, err := h.db.Collection(coll).CountDocuments(h.ctx, map[string]any{})
	require.NoError(h.t, err)
	return n
}

func ptr[T any](v T) *T { return &v }

const day = 24 * time.Hour
