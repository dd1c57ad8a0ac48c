package risk

import (
	"context"
	"slices"
	"time"
	"unicode/utf8"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
)

// LinkTarget names what to link: exactly one of a case or an incident, by
// id or key.
type LinkTarget struct {
	CaseID     string
	IncidentID string
}

func (t LinkTarget) validate() error {
	var f errs.Fields
	switch {
	case t.CaseID == "" && t.IncidentID == "":
		f.Add("case_id", "name a case_id or an incident_id")
	case t.CaseID != "" && t.IncidentID != "":
		f.Add("incident_id", "name a case_id or an incident_id, not both")
	}
	checkRef(&f, "case_id", t.CaseID)
	checkRef(&f, "incident_id", t.IncidentID)
	return f.Err()
}

func checkRef(f *errs.Fields, field, v string) {
	if len(v) > maxRef || !utf8.ValidString(v) {
		f.Add(field, "is not an id or key")
	}
}

// Link links a case or an incident to risk id. The caller needs the edit
// right on risks and must be able to read what they link: a case or
// incident they may not read is not found, and the risk is unchanged.
// Linking what is already linked changes nothing — unless a linked case's
// access attributes or actor changed since, in which case its snapshot and
// the aggregates are brought up to date.
func (s *Service) Link(ctx context.Context, u *auth.User, id string, t LinkTarget, ifMatch int64, m auth.Meta) (Risk, error) {
	if err := s.authorize(ctx, u, m, auth.EditRisk, "risk.link", refKey(id)); err != nil {
		return Risk{}, err
	}
	if err := t.validate(); err != nil {
		return Risk{}, err
	}
	// An unknown risk is not found before anything else is read.
	if _, err := s.load(ctx, id); err != nil {
		return Risk{}, err
	}
	var (
		r   Risk
		err error
	)
	if t.CaseID != "" {
		r, err = s.linkCase(ctx, u, id, t.CaseID, ifMatch, m)
	} else {
		r, err = s.linkIncident(ctx, u, id, t.IncidentID, ifMatch, m)
	}
	if err != nil {
		return Risk{}, err
	}
	return s.present(u, r), nil
}

func (s *Service) linkCase(ctx context.Context, u *auth.User, id, ref string, ifMatch int64, m auth.Meta) (Risk, error) {
	c, err := s.readCase(ctx, u, id, ref, "risk.link", m)
	if err != nil {
		return Risk{}, err
	}
	return s.mutate(ctx, u, id, ifMatch, m, "risk.link", func(r *Risk, now time.Time) (bool, map[string]string, error) {
		link := snapshot(&c, now, u.Username)
		detail := map[string]string{"case": link.Key}
		i := slices.IndexFunc(r.Links, func(l CaseLink) bool { return l.CaseID == link.CaseID })
		if i >= 0 {
			old := r.Links[i]
			if old.sameAs(link) {
				return false, nil, nil
			}
			link.LinkedAt, link.LinkedBy = old.LinkedAt, old.LinkedBy
			r.Evidence.count(old, -1)
			r.Links[i] = link
			r.Evidence.count(link, 1)
			detail["refreshed"] = "true"
			return true, detail, nil
		}
		if len(r.Links) >= s.maxLinks {
			return false, nil, bound("case_id", "a risk links at most %d cases; unlink some first", s.maxLinks)
		}
		r.Links = append(r.Links, link)
		r.Evidence.count(link, 1)
		return true, detail, nil
	})
}

func (s *Service) linkIncident(ctx context.Context, u *auth.User, id, ref string, ifMatch int64, m auth.Meta) (Risk, error) {
	key, err := s.incidentKey(ctx, u, id, ref, "risk.link", m)
	if err != nil {
		return Risk{}, err
	}
	return s.mutate(ctx, u, id, ifMatch, m, "risk.link", func(r *Risk, _ time.Time) (bool, map[string]string, error) {
		if slices.Contains(r.LinkedIncidents, key) {
			return false, nil, nil
		}
		if len(r.LinkedIncidents) >= s.maxLinks {
			return false, nil, bound("incident_id", "a risk links at most %d incidents; unlink some first", s.maxLinks)
		}
		r.LinkedIncidents = append(r.LinkedIncidents, key)
		return true, map[string]string{"incident": key}, nil
	})
}

// MaxCaseRisks bounds the risks ForCase lists.
const MaxCaseRisks = 200

// ForCase lists, newest first, the risks that link case ref (id or key): the
// case page's view of the register. The caller must read risks and the
// case; a case they may not read is not found.
func (s *Service) ForCase(ctx context.Context, u *auth.User, ref string, m auth.Meta) ([]Summary, error) {
	if err := s.authorize(ctx, u, m, auth.ReadRisk, "risk.list", ""); err != nil {
		return nil, err
	}
	c, err := s.cases.Get(ctx, u, ref, m)
	if err != nil {
		return nil, err
	}
	rs, _, err := s.store.FindRisks(ctx, Filter{CaseID: c.ID}, MaxCaseRisks, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, len(rs))
	for i, r := range rs {
		out[i] = summarize(r)
	}
	return out, nil
}

// UnlinkCase removes the link to case ref (id or key), taking back what it
// added to the aggregates. The caller must still be able to read the case.
// Unlinking a case that is not linked changes nothing.
func (s *Service) UnlinkCase(ctx context.Context, u *auth.User, id, ref string, ifMatch int64, m auth.Meta) (Risk, error) {
	if err := s.authorize(ctx, u, m, auth.EditRisk, "risk.unlink", refKey(id)); err != nil {
		return Risk{}, err
	}
	if _, err := s.load(ctx, id); err != nil {
		return Risk{}, err
	}
	c, err := s.readCase(ctx, u, id, ref, "risk.unlink", m)
	if err != nil {
		return Risk{}, err
	}
	r, err := s.mutate(ctx, u, id, ifMatch, m, "risk.unlink", func(r *Risk, _ time.Time) (bool, map[string]string, error) {
		i := slices.IndexFunc(r.Links, func(l CaseLink) bool { return l.CaseID == c.ID })
		if i < 0 {
			return false, nil, nil
		}
		r.Evidence.count(r.Links[i], -1)
		r.Links = slices.Delete(r.Links, i, i+1)
		return true, map[string]string{"case": c.Key}, nil
	})
	if err != nil {
		return Risk{}, err
	}
	return s.present(u, r), nil
}

// UnlinkIncident removes the link to incident ref (id or key). The
// incident the risk seeded its RCA in stays linked: it is the risk's
// analysis, and SeedRCA relies on finding it there.
func (s *Service) UnlinkIncident(ctx context.Context, u *auth.User, id, ref string, ifMatch int64, m auth.Meta) (Risk, error) {
	if err := s.authorize(ctx, u, m, auth.EditRisk, "risk.unlink", refKey(id)); err != nil {
		return Risk{}, err
	}
	if _, err := s.load(ctx, id); err != nil {
		return Risk{}, err
	}
	key, err := s.incidentKey(ctx, u, id, ref, "risk.unlink", m)
	if err != nil {
		return Risk{}, err
	}
	r, err := s.mutate(ctx, u, id, ifMatch, m, "risk.unlink", func(r *Risk, _ time.Time) (bool, map[string]string, error) {
		if key == r.RCAIncident {
			return false, nil, errs.E(errs.Conflict, "%s is the RCA seeded from this risk; it stays linked", key)
		}
		i := slices.Index(r.LinkedIncidents, key)
		if i < 0 {
			return false, nil, nil
		}
		r.LinkedIncidents = slices.Delete(r.LinkedIncidents, i, i+1)
		return true, map[string]string{"incident": key}, nil
	})
	if err != nil {
		return Risk{}, err
	}
	return s.present(u, r), nil
}

// readCase reads case ref as u. A case u may not read answers as one that
// does not exist, and the attempt is audited as a denial on the risk.
func (s *Service) readCase(ctx context.Context, u *auth.User, id, ref, action string, m auth.Meta) (cases.Case, error) {
	c, err := s.cases.Get(ctx, u, ref, m)
	if errs.Is(err, errs.NotFound) {
		if err := s.record(ctx, u, m, action, refKey(id), auth.OutcomeDenied, map[string]string{"case": ref}); err != nil {
			return cases.Case{}, err
		}
		return cases.Case{}, errs.E(errs.NotFound, "case not found")
	}
	return c, err
}

// incidentKey resolves incident ref (id or key) as u, like readCase.
func (s *Service) incidentKey(ctx context.Context, u *auth.User, id, ref, action string, m auth.Meta) (string, error) {
	in, err := s.incidents.GetIncident(ctx, u, ref)
	if errs.Is(err, errs.NotFound) {
		if err := s.record(ctx, u, m, action, refKey(id), auth.OutcomeDenied, map[string]string{"incident": ref}); err != nil {
			return "", err
		}
		return "", errs.E(errs.NotFound, "incident not found")
	}
	return in.Key, err
}

// snapshot is what a risk keeps of case c, linked at now by username.
func snapshot(c *cases.Case, now time.Time, username string) CaseLink {
	l := CaseLink{CaseID: c.ID, Key: c.Key, Team: c.Team, Vendor: c.Vendor, Assignee: c.Assignee, Restricted: c.Restricted,
		Month: c.CreatedAt.UTC().Format(MonthLayout), Region: c.Actor.Region, ActorKind: string(c.Actor.Kind),
		LinkedAt: now, LinkedBy: username}
	if l.Region == "" {
		l.Region = Unknown
	}
	if l.ActorKind == "" {
		l.ActorKind = Unknown
	}
	return l
}

// bound is the error for a list that is full: the request asks for more
// than the risk may hold, so it is invalid as sent.
func bound(field, format string, limit int) error {
	var f errs.Fields
	f.Add(field, format, limit)
	return f.Err()
}
