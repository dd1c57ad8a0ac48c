package rca

import (
	"context"
	"slices"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// NewActionItem is the input of AddActionItem.
type NewActionItem struct {
	Title     string
	Owner     string
	Due       *time.Time
	Kind      string
	RootCause *int
}

// ActionItemPatch changes an action item; nil fields stay.
type ActionItemPatch struct {
	Title     *string
	Owner     *string
	Due       *time.Time
	Status    *ActionItemStatus
	Kind      *string
	RootCause *int
}

// AddActionItem adds a corrective action to an incident's RCA.
func (s *Service) AddActionItem(ctx context.Context, u *auth.User, idOrKey string, in NewActionItem, m auth.Meta) (ActionItem, error) {
	var out ActionItem
	_, err := s.changeItems(ctx, u, idOrKey, 0, m, "action_item.create", func(inc *Incident, now time.Time) error {
		if len(inc.ActionItems) >= maxActionItems {
			return errs.E(errs.Conflict, "an incident holds at most %d action items", maxActionItems)
		}
		a := ActionItem{N: len(inc.ActionItems) + 1, Title: in.Title, Owner: in.Owner, Due: in.Due, Status: ItemOpen, Kind: in.Kind,
			RootCause: in.RootCause, CreatedAt: now, CreatedBy: u.Username}
		if err := a.validate(len(inc.RCA.RootCauses)); err != nil {
			return err
		}
		inc.ActionItems = append(inc.ActionItems, a)
		out = a
		return nil
	})
	out.Overdue = out.IsOverdue(s.now())
	return out, err
}

// UpdateActionItem changes action item n. Moving it to done stamps done_at;
// moving it back clears it.
func (s *Service) UpdateActionItem(ctx context.Context, u *auth.User, idOrKey string, n int, ifMatch int64, p ActionItemPatch, m auth.Meta) (ActionItem, error) {
	var out ActionItem
	_, err := s.changeItems(ctx, u, idOrKey, ifMatch, m, "action_item.update", func(inc *Incident, now time.Time) error {
		i := slices.IndexFunc(inc.ActionItems, func(a ActionItem) bool { return a.N == n })
		if i < 0 {
			return errs.E(errs.NotFound, "action item %d not found", n)
		}
		a := inc.ActionItems[i]
		if p.Title != nil {
			a.Title = *p.Title
		}
		if p.Owner != nil {
			a.Owner = *p.Owner
		}
		if p.Due != nil {
			a.Due = p.Due
		}
		if p.Kind != nil {
			a.Kind = *p.Kind
		}
		if p.RootCause != nil {
			a.RootCause = p.RootCause
		}
		if p.Status != nil && *p.Status != a.Status {
			a.Status = *p.Status
			if a.Status == ItemDone {
				a.DoneAt = &now
			} else {
				a.DoneAt = nil
			}
		}
		if err := a.validate(len(inc.RCA.RootCauses)); err != nil {
			return err
		}
		inc.ActionItems[i] = a
		out = a
		return nil
	})
	out.Overdue = out.IsOverdue(s.now())
	return out, err
}

func (s *Service) changeItems(ctx context.Context, u *auth.User, idOrKey string, ifMatch int64, m auth.Meta, action string, fn func(*Incident, time.Time) error) (Incident, error) {
	for range 10 {
		in, err := s.load(ctx, u, idOrKey)
		if err != nil {
			return Incident{}, err
		}
		if !auth.Can(u, auth.EditIncident, auth.Resource{}) {
			return Incident{}, s.deny(ctx, u, m, action, in.Key)
		}
		if ifMatch > 0 && in.Version != ifMatch {
			return Incident{}, errs.E(errs.PreconditionFailed, "the incident was changed by someone else (now at version %d); reload and retry", in.Version)
		}
		expected := in.Version
		if err := fn(&in, s.clock()); err != nil {
			return Incident{}, err
		}
		err = s.save(ctx, &in, expected)
		if errs.Is(err, errs.PreconditionFailed) && ifMatch == 0 {
			continue
		}
		if err != nil {
			return Incident{}, err
		}
		return in, s.record(ctx, u, m, action, "incident", in.Key, auth.OutcomeSuccess, nil)
	}
	return Incident{}, errs.E(errs.Conflict, "the incident is being changed by many requests at once; retry")
}
