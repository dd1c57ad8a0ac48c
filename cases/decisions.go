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
	// ReversedAt is set once an applied enforcement has been reversed:
	// OnDecision is told again then, with the same ID.
	ReversedAt *time.Time
}

// OnDecision registers fn to be told of every decision after it is
// stored, and again when an applied enforcement is reversed. fn runs in
// the request that made the decision.
func (s *Service) OnDecision(fn func(ctx context.Context, d Decided)) { s.decided = fn }

func (s *Service) decision(ctx context.Context, d Decided) {
	if s.decided != nil {
		s.decided(ctx, d)
	}
}

func enforcementDecision(c *Case, e *Enforcement) Decided {
	return Decided{ID: fmt.Sprintf("%s:enforcement:%s", c.ID, e.ID), Kind: DecisionEnforcement, CaseID: c.ID, CaseKey: c.Key,
		Decider: e.ProposedBy, Team: c.Team, Vendor: c.Vendor, Restricted: c.Restricted, PolicyAreas: []string{e.PolicyArea},
		Action: e.Action, EnforcementID: e.ID, Verdict: c.Verdict, At: *e.AppliedAt, ReversedAt: e.ReversedAt}
}

// closureDecision is the closing of c that timeline entry e records.
func closureDecision(c *Case, e TimelineEntry) Decided {
	return Decided{ID: fmt.Sprintf("%s:closure:%d", c.ID, e.N), Kind: DecisionClosure, CaseID: c.ID, CaseKey: c.Key,
		Decider: e.Author, Team: c.Team, Vendor: c.Vendor, Restricted: c.Restricted, PolicyAreas: c.PolicyAreas,
		Verdict: c.Verdict, At: e.At}
}

// isClosing reports whether e is a move to closed.
func isClosing(e TimelineEntry) bool {
	return e.Kind == EventStatus && e.Detail["to"] == string(StatusClosed)
}

// DecisionsSince lists the decisions of the cases written with seq >
// after, reading at most limit cases, and the highest seq it read (after
// when there was none). Decisions are derived from what the case stores —
// its applied enforcements and the closings in its timeline — so a
// decision whose OnDecision hook failed can be replayed. A case's later
// writes re-stamp its seq, so a case decided after a checkpoint is always
// found past it. The decision's attributes (team, vendor, verdict) are the
// case's current ones.
func (s *Service) DecisionsSince(ctx context.Context, after int64, limit int) ([]Decided, int64, error) {
	cs, err := s.store.CasesSince(ctx, after, limit)
	if err != nil {
		return nil, after, err
	}
	var out []Decided
	last := after
	for i := range cs {
		c := &cs[i]
		last = max(last, c.Seq)
		for j := range c.Enforcements {
			if e := &c.Enforcements[j]; e.AppliedAt != nil {
				out = append(out, enforcementDecision(c, e))
			}
		}
		tl, err := s.store.Timeline(ctx, c.ID, 0, c.TimelineCount)
		if err != nil {
			return nil, after, err
		}
		for _, e := range tl {
			if isClosing(e) {
				out = append(out, closureDecision(c, e))
			}
		}
	}
	return out, last, nil
}
