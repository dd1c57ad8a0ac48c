package cases

import (
	"context"
	"slices"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// LinkIncident records on case caseKey that it is (or no longer is) linked
// to incident incidentKey. The caller must be able to read the case; the
// link is metadata of the incident, so editing rights are not required.
func (s *Service) LinkIncident(ctx context.Context, u *auth.User, caseKey, incidentKey string, linked bool, m Meta) error {
	for range maxRetries {
		c, err := s.load(ctx, u, caseKey)
		if err != nil {
			return err
		}
		has := slices.Contains(c.LinkedIncidents, incidentKey)
		if has == linked {
			return nil
		}
		expected := c.Version
		text := "linked to incident " + incidentKey
		if linked {
			c.LinkedIncidents = append(c.LinkedIncidents, incidentKey)
		} else {
			c.LinkedIncidents = slices.DeleteFunc(c.LinkedIncidents, func(k string) bool { return k == incidentKey })
			text = "unlinked from incident " + incidentKey
		}
		err = s.save(ctx, u, &c, expected, []TimelineEntry{{Kind: EventEdit, Text: text}})
		if errs.Is(err, errs.PreconditionFailed) {
			continue
		}
		if err != nil {
			return err
		}
		return s.record(ctx, u, m, "case.link_incident", &c, auth.OutcomeSuccess, map[string]string{"incident": incidentKey, "linked": boolString(linked)})
	}
	return errs.E(errs.Conflict, "the case is being changed by many requests at once; retry")
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// ActorIdentifiers lists the actor ids and handles of the given cases
// (their actors and related actors), for checks that keep identifiers out
// of documents written for a wider audience. It applies no permission
// check and returns nothing to a client.
func (s *Service) ActorIdentifiers(ctx context.Context, caseKeys []string) (ids, handles []string, err error) {
	for _, k := range caseKeys {
		id, err := s.store.CaseIDByKey(ctx, k)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		c, err := s.store.Case(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		ids = append(ids, c.Actor.ActorID)
		ids = append(ids, c.RelatedActors...)
		if c.Actor.Handle != "" {
			handles = append(handles, c.Actor.Handle)
		}
		for _, rel := range append([]string{c.Actor.ActorID}, c.RelatedActors...) {
			if a, err := s.store.Actor(ctx, rel); err == nil && a.Handle != "" {
				handles = append(handles, a.Handle)
			}
		}
	}
	slices.Sort(ids)
	slices.Sort(handles)
	return slices.Compact(ids), slices.Compact(handles), nil
}

// RootCauseSubcategories are the taxonomy's subcategories per root-cause
// category.
func (s *Service) RootCauseSubcategories(ctx context.Context) (map[string][]string, error) {
	t, _, err := s.store.Taxonomy(ctx)
	if err != nil {
		return nil, err
	}
	if len(t.Subcategories) == 0 {
		return DefaultTaxonomy().Subcategories, nil
	}
	return t.Subcategories, nil
}
