package quality_test

// These tests run QA as the binary wires it (internal/wire): decisions
// come from the case service's hooks, scorecards count in the real search
// index.

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/internal/fakeclock"
	"casefile.dev/casefile/internal/wire"
	"casefile.dev/casefile/internal/wire/wiretest"
)

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // a Monday

// system is every service over one store and index, and its people.
type system struct {
	t     *testing.T
	ctx   context.Context
	clock *fakeclock.Clock
	*wire.Services

	lena  *auth.User // lead
	luke  *auth.User // lead
	ivy   *auth.User // investigator, team t1
	ian   *auth.User // investigator, team t2
	vic   *auth.User // vendor agent, acme
	vera  *auth.User // vendor agent, bpo2
	leo   *auth.User // leadership
	alert []quality.Alert
}

func newSystem(t *testing.T) *system {
	t.Helper()
	ctx := context.Background()
	clock := fakeclock.New(start)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	all, _ := wiretest.New(t, clock.Now, log)
	s := &system{t: t, ctx: ctx, clock: clock, Services: all}
	all.Quality.OnAlert(func(_ context.Context, a quality.Alert) { s.alert = append(s.alert, a) })
	user := func(name string, role auth.Role, team, vendor string) *auth.User {
		return wiretest.User(t, all, name, role, team, vendor)
	}
	s.lena = user("lena", auth.RoleLead, "t1", "")
	s.luke = user("luke", auth.RoleLead, "t1", "")
	s.ivy = user("ivy", auth.RoleInvestigator, "t1", "")
	s.ian = user("ian", auth.RoleInvestigator, "t2", "")
	s.vic = user("vic", auth.RoleVendorAgent, "", "acme")
	s.vera = user("vera", auth.RoleVendorAgent, "", "bpo2")
	s.leo = user("leo", auth.RoleLeadership, "", "")
	// Users older than the new-decider window unless a test says otherwise.
	s.clock.Advance(60 * 24 * time.Hour)
	return s
}

// setRules replaces the sampling rules as lena.
func (s *system) setRules(rules ...quality.Rule) {
	s.t.Helper()
	cur, err := s.Quality.Rules(s.ctx, s.lena)
	require.NoError(s.t, err)
	cur.Rules = rules
	_, err = s.Quality.PutRules(s.ctx, s.lena, cur.Version, cur, auth.Meta{})
	require.NoError(s.t, err)
}

var actorN int

// newCase files a case of team/vendor as lena.
func (s *system) newCase(team, vendor string) cases.Case {
	s.t.Helper()
	actorN++
	c, _, err := s.Cases.Create(s.ctx, s.lena, cases.NewCase{Title: "Gift card scam", Summary: "Fake gift cards.",
		Actor:       cases.ActorRef{ActorID: "actor-" + time.Now().Format("150405.000000") + "-" + string(rune('a'+actorN%26))},
		PolicyAreas: []string{"fraud_scam"}, Severity: cases.Sev3, SourceKind: "reactive", SourceChannel: "user_report",
		Team: team, Vendor: vendor}, "", auth.Meta{})
	require.NoError(s.t, err)
	return c
}

// enforce has u propose and apply a warning on c (a lead approves when
// needed) and returns the decision's id.
func (s *system) enforce(u *auth.User, c cases.Case) string {
	s.t.Helper()
	e, err := s.Cases.Propose(s.ctx, u, c.ID, cases.Proposal{Action: cases.Warning, Reason: "Sold fake cards", Justification: "clear case"}, auth.Meta{})
	require.NoError(s.t, err)
	if e.Status == cases.Proposed {
		approver := s.lena
		if u.Username == "lena" {
			approver = s.luke
		}
		_, err = s.Cases.Decide(s.ctx, approver, c.ID, e.ID, cases.Approve, "", auth.Meta{})
		require.NoError(s.t, err)
	}
	_, err = s.Cases.Decide(s.ctx, u, c.ID, e.ID, cases.Apply, "", auth.Meta{})
	require.NoError(s.t, err)
	return c.ID + ":enforcement:" + e.ID
}

func (s *system) review(u *auth.User, id, verdict, errorType string) quality.Item {
	s.t.Helper()
	in := quality.NewReview{DecisionID: id, Verdict: verdict}
	if verdict == quality.Disagree {
		in.ErrorType, in.Severity, in.Feedback = errorType, "major", "The evidence does not show a sale."
	}
	it, err := s.Quality.Review(s.ctx, u, in, auth.Meta{})
	require.NoError(s.t, err)
	return it
}
