package cases

import (
	"context"
	"fmt"
	"time"
)

// Decision kinds.
const (
	DecisionEnforcement = "enforcement"
	DecisionClosure     = "closure"
)

// Decided is a decision quality assurance may sample: an enforcement
// applied to an actor, or a case closed.
type Decided struct {
	// ID is stable and unique: "<case id>:enforcement:<enforcement id>" or
	// "<case id>:closure:<timeline entry>" (a case can be closed again
	// after it is reopened; each closing is its own decision).
	ID      string
	Kind    string
	CaseID  string
	CaseKey string
	// Decider made the decision: whoever proposed the enforcement (the
	// one who chose the action), or whoever closed the case.
	Decider     string
	Team        string
	Vendor      string
	Restricted  bool
	PolicyAreas []string
	// Action and EnforcementID are set for an enforcement.
	Action        Action
	EnforcementID string
	Verdict       Verdict
	At            time.Time
}

// OnDecision registers fn to be told of every decision after it is
// stored. fn runs in the request that made the decision.
func (s *Service) OnDecision(fn func(ctx context.Context, d Decided)) { s.decided = fn }

func (s *Service) decision(ctx context.Context, d Decided) {
	if s.decided != nil {
		s.decided(ctx, d)
	}
}

func enforcementDecision(c *Case, e *Enforcement) Decided {
	return Decided{ID: fmt.Sprintf("%s:enforcement:%s", c.ID, e.ID), Kind: DecisionEnforcement, CaseID: c.ID, CaseKey: c.Key,
		Decider: e.ProposedBy, Team: c.Team, Vendor: c.Vendor, Restricted: c.Restricted, PolicyAreas: []string{e.PolicyArea},
		Action: e.Action, EnforcementID: e.ID, Verdict: c.Verdict, At: *e.AppliedAt}
}

func closureDecision(c *Case, decider string, entry int) Decided {
	return Decided{ID: fmt.Sprintf("%s:closure:%d", c.ID, entry), Kind: DecisionClosure, CaseID: c.ID, CaseKey: c.Key,
		Decider: decider, Team: c.Team, Vendor: c.Vendor, Restricted: c.Restricted, PolicyAreas: c.PolicyAreas,
		Verdict: c.Verdict, At: c.UpdatedAt}
}
