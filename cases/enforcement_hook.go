package cases

import (
	"context"
	"time"
)

// EnforcementStep is one move of an enforcement along its lifecycle, told
// after the case holding it is stored.
type EnforcementStep struct {
	CaseID        string
	CaseKey       string
	EnforcementID string
	Action        Action
	PolicyArea    string
	// Status is where the step took the enforcement: proposed, approved,
	// rejected, applied or reversed. Expiry is not a step: it happens by
	// time passing, not by anyone's write.
	Status EnforcementStatus
	// By took the step ("auto:within_recommendation" for an approval the
	// ladder granted at proposal).
	By string
	At time.Time
}

// OnEnforcement adds fn to the listeners told of every enforcement step.
// A proposal the ladder approves at once is two steps, proposed then
// approved. Listeners run in the request that took the step, in the order
// they were added; add them before serving.
func (s *Service) OnEnforcement(fn func(ctx context.Context, st EnforcementStep)) {
	s.enforced = append(s.enforced, fn)
}

// proposedSteps tells the listeners of the proposal of e (stored in c).
func (s *Service) proposedSteps(ctx context.Context, c *Case, e Enforcement) {
	s.step(ctx, c, e, Proposed, e.ProposedBy, e.ProposedAt)
	if e.Status == Approved && e.DecidedAt != nil {
		s.step(ctx, c, e, Approved, e.DecidedBy, *e.DecidedAt)
	}
}

// decidedStep tells the listeners of the step Decide just stored.
func (s *Service) decidedStep(ctx context.Context, c *Case, e Enforcement) {
	switch e.Status {
	case Approved, Rejected:
		s.step(ctx, c, e, e.Status, e.DecidedBy, *e.DecidedAt)
	case Applied:
		s.step(ctx, c, e, e.Status, e.AppliedBy, *e.AppliedAt)
	case Reversed:
		s.step(ctx, c, e, e.Status, e.ReversedBy, *e.ReversedAt)
	}
}

func (s *Service) step(ctx context.Context, c *Case, e Enforcement, to EnforcementStatus, by string, at time.Time) {
	st := EnforcementStep{CaseID: c.ID, CaseKey: c.Key, EnforcementID: e.ID, Action: e.Action, PolicyArea: e.PolicyArea,
		Status: to, By: by, At: at}
	for _, fn := range s.enforced {
		fn(ctx, st)
	}
}
