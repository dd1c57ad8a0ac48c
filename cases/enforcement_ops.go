package cases

import (
	"context"
	"slices"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// Recommend explains what the ladder recommends for a violation in area
// (the case's first policy area when empty) by the case's actor.
func (s *Service) Recommend(ctx context.Context, u *auth.User, idOrKey, area string) (Recommendation, error) {
	c, err := s.load(ctx, u, idOrKey)
	if err != nil {
		return Recommendation{}, err
	}
	return s.recommend(ctx, &c, area)
}

func (s *Service) recommend(ctx context.Context, c *Case, area string) (Recommendation, error) {
	if area == "" {
		area = c.PolicyAreas[0]
	}
	if !slices.Contains(c.PolicyAreas, area) {
		return Recommendation{}, &errs.Error{Code: errs.Invalid, Message: "not a policy area of this case", Fields: []errs.FieldError{{Field: "policy_area", Message: "must be one of the case's policy areas"}}}
	}
	tax, _, err := s.store.Taxonomy(ctx)
	if err != nil {
		return Recommendation{}, err
	}
	ladder := tax.LadderFor(area)
	strikes := 0
	a, err := s.store.Actor(ctx, c.Actor.ActorID)
	switch {
	case err == nil:
		strikes = a.ActiveStrikes(ladder.StrikeTTL.D(), s.now())
	case !errs.Is(err, errs.NotFound):
		return Recommendation{}, err
	}
	return ladder.Recommend(area, strikes, c.Verdict), nil
}

// Proposal is the input of Propose.
type Proposal struct {
	Action        Action
	Duration      Duration
	Features      []string
	PolicyArea    string
	Reason        string
	Justification string
}

// Propose proposes an enforcement. Mild actions that follow the ladder are
// approved at once; anything else waits for a lead.
func (s *Service) Propose(ctx context.Context, u *auth.User, idOrKey string, p Proposal, m Meta) (Enforcement, error) {
	var f errs.Fields
	if !p.Action.Valid() {
		f.Add("action", "must be one of warning, content_removal, feature_restriction, temporary_suspension, permanent_ban")
	}
	switch {
	case p.Action.timed() && p.Duration <= 0:
		f.Add("duration", "is required for %s", p.Action)
	case !p.Action.timed() && p.Duration != 0:
		f.Add("duration", "is only for feature_restriction and temporary_suspension")
	case p.Duration > Duration(5*365*24*time.Hour):
		f.Add("duration", "must be at most 5 years; use permanent_ban")
	}
	if p.Action == FeatureRestriction && len(p.Features) == 0 {
		f.Add("features", "name the restricted features")
	}
	if p.Action != FeatureRestriction && len(p.Features) > 0 {
		f.Add("features", "is only for feature_restriction")
	}
	checkTokens(&f, "features", p.Features, nil)
	f.Text("reason", p.Reason, 4000, true)
	f.Text("justification", p.Justification, 4000, false)
	if err := f.Err(); err != nil {
		return Enforcement{}, err
	}
	var out Enforcement
	c, err := s.change(ctx, u, idOrKey, 0, m, "enforcement.propose", func(c *Case) ([]TimelineEntry, error) {
		if !auth.Can(u, auth.ProposeEnforcement, auth.Resource{Team: c.Team, Vendor: c.Vendor, Assignee: c.Assignee, Restricted: c.Restricted, Enforcement: string(p.Action)}) {
			return nil, errs.E(errs.Forbidden, "your role may not propose %s", p.Action)
		}
		if len(c.Enforcements) >= MaxEnforcements {
			return nil, errs.E(errs.Conflict, "a case holds at most %d enforcements", MaxEnforcements)
		}
		if p.PolicyArea == "" {
			p.PolicyArea = c.PolicyAreas[0]
		}
		rec, err := s.recommend(ctx, c, p.PolicyArea)
		if err != nil {
			return nil, err
		}
		now := s.clock()
		e := Enforcement{ID: newID()[:12], Action: p.Action, Duration: p.Duration, Features: nonNil(p.Features), PolicyArea: p.PolicyArea,
			Reason: p.Reason, Justification: p.Justification, Recommended: rec, Status: Proposed, ProposedBy: u.Username, ProposedAt: now}
		departs := e.departsFrom(rec)
		if departs && p.Justification == "" {
			return nil, &errs.Error{Code: errs.Invalid, Message: "the proposal departs from the recommendation (" + rec.Rule + ")",
				Fields: []errs.FieldError{{Field: "justification", Message: "is required when the proposal departs from the recommendation"}}}
		}
		if !departs && !e.Action.needsLeadApproval() {
			e.Status, e.DecidedBy, e.DecidedAt = Approved, "auto:within_recommendation", &now
		}
		c.Enforcements = append(c.Enforcements, e)
		out = e
		return []TimelineEntry{{Kind: EventEnforcement, Text: string(e.Action) + " proposed: " + e.Reason,
			Detail: map[string]string{"enforcement": e.ID, "status": string(e.Status)}}}, nil
	})
	if err != nil {
		return Enforcement{}, err
	}
	s.proposedSteps(ctx, &c, out)
	return out, s.record(ctx, u, m, "enforcement.propose", &c, auth.OutcomeSuccess, map[string]string{"enforcement": out.ID, "action": string(out.Action), "status": string(out.Status)})
}

// Decision is an approve, reject, apply or reverse step.
type Decision string

const (
	Approve Decision = "approve"
	Reject  Decision = "reject"
	Apply   Decision = "apply"
	Reverse Decision = "reverse"
)

// Decide moves enforcement eid of a case one step along its lifecycle.
func (s *Service) Decide(ctx context.Context, u *auth.User, idOrKey, eid string, d Decision, reason string, m Meta) (Enforcement, error) {
	var f errs.Fields
	f.Text("reason", reason, 4000, d == Reverse || d == Reject)
	if err := f.Err(); err != nil {
		return Enforcement{}, err
	}
	var (
		out      Enforcement
		applied  bool
		reversed bool
	)
	c, err := s.change(ctx, u, idOrKey, 0, m, "enforcement."+string(d), func(c *Case) ([]TimelineEntry, error) {
		i := slices.IndexFunc(c.Enforcements, func(e Enforcement) bool { return e.ID == eid })
		if i < 0 {
			return nil, errs.E(errs.NotFound, "enforcement not found")
		}
		e := &c.Enforcements[i]
		now := s.clock()
		lead := auth.Can(u, auth.ApproveEnforcement, auth.Resource{Team: c.Team, Vendor: c.Vendor, Restricted: c.Restricted})
		status := e.EffectiveStatus(now)
		switch d {
		case Approve, Reject:
			if !auth.Can(u, auth.ApproveEnforcement, auth.Resource{Team: c.Team, Vendor: c.Vendor, Restricted: c.Restricted, Author: e.ProposedBy}) {
				if lead {
					return nil, errs.E(errs.Forbidden, "nobody approves or rejects their own proposal")
				}
				return nil, errs.E(errs.Forbidden, "only a lead may approve or reject enforcement")
			}
			if status != Proposed {
				return nil, errs.E(errs.Conflict, "only a proposed enforcement can be decided; this one is %s", status)
			}
			e.Status = Approved
			if d == Reject {
				e.Status = Rejected
			}
			e.DecidedBy, e.DecidedAt, e.DecisionNote = u.Username, &now, reason
		case Apply:
			if e.ProposedBy != u.Username && !lead {
				return nil, errs.E(errs.Forbidden, "only the proposer or a lead may apply an enforcement")
			}
			if status != Approved {
				return nil, errs.E(errs.Conflict, "only an approved enforcement can be applied; this one is %s", status)
			}
			prior, err := s.priorOffences(ctx, c, e.PolicyArea)
			if err != nil {
				return nil, err
			}
			e.Status, e.AppliedBy, e.AppliedAt = Applied, u.Username, &now
			e.Strike = addsStrike(e.Action, prior)
			if e.Action.timed() {
				exp := now.Add(e.Duration.D())
				e.ExpiresAt = &exp
			}
			applied = true
		case Reverse:
			if !lead {
				return nil, errs.E(errs.Forbidden, "only a lead may reverse an enforcement")
			}
			if status != Applied && status != Expired {
				return nil, errs.E(errs.Conflict, "only an applied enforcement can be reversed; this one is %s", status)
			}
			e.Status, e.ReversedBy, e.ReversedAt, e.ReversalReason = Reversed, u.Username, &now, reason
			reversed = true
		}
		out = *e
		return []TimelineEntry{{Kind: EventEnforcement, Text: string(e.Action) + " " + string(e.Status) + textIf(reason),
			Detail: map[string]string{"enforcement": e.ID, "status": string(e.Status)}}}, nil
	})
	if err != nil {
		return Enforcement{}, err
	}
	s.decidedStep(ctx, &c, out)
	// The actor's history follows the case. Both writes cannot be one
	// transaction on the embedded store; the case is written first, so a
	// crash in between leaves a case that says "applied" and an actor
	// without the entry, which SyncActor (run on the next profile read)
	// repairs from the cases.
	if applied || reversed {
		if err := s.syncActorEntry(ctx, &c, out); err != nil {
			return Enforcement{}, err
		}
	}
	if err := s.record(ctx, u, m, "enforcement."+string(d), &c, auth.OutcomeSuccess, map[string]string{"enforcement": out.ID, "action": string(out.Action), "status": string(out.Status)}); err != nil {
		return Enforcement{}, err
	}
	if applied || reversed {
		s.decision(ctx, enforcementDecision(&c, &out))
	}
	return out, nil
}

// DecisionsFor lists the steps Decide would let u take on enforcement e
// of c at now (approve, reject, apply, reverse), by the same rules, so
// that pages offer only those.
func (c *Case) DecisionsFor(u *auth.User, e Enforcement, now time.Time) []Decision {
	if !auth.Can(u, auth.EditCase, c.Resource()) {
		return nil
	}
	lead := auth.Can(u, auth.ApproveEnforcement, auth.Resource{Team: c.Team, Vendor: c.Vendor, Restricted: c.Restricted})
	var out []Decision
	switch e.EffectiveStatus(now) {
	case Proposed:
		if auth.Can(u, auth.ApproveEnforcement, auth.Resource{Team: c.Team, Vendor: c.Vendor, Restricted: c.Restricted, Author: e.ProposedBy}) {
			out = append(out, Approve, Reject)
		}
	case Approved:
		if e.ProposedBy == u.Username || lead {
			out = append(out, Apply)
		}
	case Applied, Expired:
		if lead {
			out = append(out, Reverse)
		}
	}
	return out
}

func textIf(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// priorOffences counts the case actor's enforcements within area's strike window.
func (s *Service) priorOffences(ctx context.Context, c *Case, area string) (int, error) {
	tax, _, err := s.store.Taxonomy(ctx)
	if err != nil {
		return 0, err
	}
	a, err := s.store.Actor(ctx, c.Actor.ActorID)
	if errs.Is(err, errs.NotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return a.PriorOffences(tax.LadderFor(area).StrikeTTL.D(), s.now()), nil
}

// syncActorEntry writes enforcement e of case c into the actor's history.
func (s *Service) syncActorEntry(ctx context.Context, c *Case, e Enforcement) error {
	for range maxRetries {
		a, err := s.store.Actor(ctx, c.Actor.ActorID)
		if err != nil {
			return err
		}
		entry := ActorEnforcement{CaseID: c.ID, CaseKey: c.Key, EnforcementID: e.ID, Action: e.Action, PolicyArea: e.PolicyArea,
			Status: e.Status, Strike: e.Strike, ExpiresAt: e.ExpiresAt, ReversedAt: e.ReversedAt}
		if e.AppliedAt != nil {
			entry.AppliedAt = *e.AppliedAt
		}
		if i := slices.IndexFunc(a.History, func(h ActorEnforcement) bool { return h.EnforcementID == e.ID }); i >= 0 {
			a.History[i] = entry
		} else {
			a.History = append(a.History, entry)
		}
		err = s.replaceActor(ctx, &a, s.clock())
		if errs.Is(err, errs.PreconditionFailed) {
			continue
		}
		return err
	}
	return errs.E(errs.Conflict, "the actor is being changed by many requests at once; retry")
}
