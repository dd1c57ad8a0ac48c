package cases

import (
	"context"
	"slices"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// Profile is GET /actors/{actor_id}.
type Profile struct {
	Actor              Actor              `json:"actor"`
	Strikes            int                `json:"strikes"`
	ActiveRestrictions []ActorEnforcement `json:"active_restrictions"`
	RiskScore          int                `json:"risk_score"`
	CaseCount          int                `json:"case_count"`
	Cases              []CaseSummary      `json:"cases"`
	Enforcements       []ActorEnforcement `json:"enforcements"`
}

// CaseSummary is a case as an actor profile lists it.
type CaseSummary struct {
	ID       string   `json:"id"`
	Key      string   `json:"key"`
	Title    string   `json:"title"`
	Status   Status   `json:"status"`
	Severity Severity `json:"severity"`
}

// ActorProfile reads an actor with derived fields, the cases the caller may
// see and the enforcement history. Enforcements from cases the caller may
// not see are listed without their case. Every read is audited.
//
// Vendor agents may read an actor only through one of their cases;
// leadership may not read actors.
func (s *Service) ActorProfile(ctx context.Context, u *auth.User, actorID string, m Meta) (Profile, error) {
	a, err := s.store.Actor(ctx, actorID)
	if errs.Is(err, errs.NotFound) {
		return Profile{}, errs.E(errs.NotFound, "actor not found")
	}
	if err != nil {
		return Profile{}, err
	}
	cases, err := s.store.CasesOfActor(ctx, actorID)
	if err != nil {
		return Profile{}, err
	}
	visible := map[string]bool{}
	p := Profile{Cases: []CaseSummary{}}
	// case_count and the open cases in risk_score count only cases the
	// caller may see, so that the profile does not reveal that a restricted
	// case exists. Enforcement history is shown whole (without the case of
	// an entry from a hidden case), as the strike count depends on it.
	var open []Severity
	for i := range cases {
		c := &cases[i]
		if auth.Can(u, auth.ReadCase, c.Resource()) {
			visible[c.ID] = true
			p.Cases = append(p.Cases, CaseSummary{ID: c.ID, Key: c.Key, Title: c.Title, Status: c.Status, Severity: c.Severity})
			if c.Status != StatusClosed {
				open = append(open, c.Severity)
			}
		}
		// Repair history an interrupted write left behind (see Decide).
		for _, e := range c.Enforcements {
			if e.Status != Applied && e.Status != Reversed {
				continue
			}
			i := slices.IndexFunc(a.History, func(h ActorEnforcement) bool { return h.EnforcementID == e.ID })
			if i < 0 || a.History[i].Status != e.Status {
				if err := s.syncActorEntry(ctx, c, e); err != nil {
					return Profile{}, err
				}
				if a, err = s.store.Actor(ctx, actorID); err != nil {
					return Profile{}, err
				}
			}
		}
	}
	p.CaseCount = len(p.Cases)
	readsActors := auth.Can(u, auth.ReadActorContact, auth.Resource{})
	if !readsActors && len(visible) == 0 {
		return Profile{}, errs.E(errs.NotFound, "actor not found")
	}
	tax, _, err := s.store.Taxonomy(ctx)
	if err != nil {
		return Profile{}, err
	}
	now := s.now()
	ttl := tax.Ladder.StrikeTTL.D()
	p.Actor = a
	p.Strikes = a.ActiveStrikes(ttl, now)
	p.ActiveRestrictions = a.ActiveRestrictions(now)
	p.RiskScore = a.RiskScore(ttl, open, now)
	p.Enforcements = make([]ActorEnforcement, len(a.History))
	for i, h := range a.History {
		if h.Status == Applied && h.ExpiresAt != nil && !now.Before(*h.ExpiresAt) {
			h.Status = Expired
		}
		if !visible[h.CaseID] {
			h.CaseID, h.CaseKey = "", ""
		}
		p.Enforcements[i] = h
	}
	for i := range p.ActiveRestrictions {
		if !visible[p.ActiveRestrictions[i].CaseID] {
			p.ActiveRestrictions[i].CaseID, p.ActiveRestrictions[i].CaseKey = "", ""
		}
	}
	return p, s.audit.Record(ctx, auth.AuditEvent{User: u.Username, Role: u.Role, Action: "actor.read", Entity: auth.Entity{Type: "actor", ID: actorID},
		IP: m.IP, RequestID: m.RequestID, Outcome: auth.OutcomeSuccess})
}
