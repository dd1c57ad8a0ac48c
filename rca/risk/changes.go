package risk

import (
	"context"
	"slices"
	"strconv"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/rca"
)

// NewChange is the input of AddChange. A new change is open.
type NewChange struct {
	Title    string
	Owner    string
	Due      *time.Time
	Category rca.Category
}

// ChangePatch changes a requested change; nil fields stay.
type ChangePatch struct {
	Status *rca.ActionItemStatus
	Owner  *string
	Due    *time.Time
}

// AddChange adds a requested change to risk id. It answers the change and
// the risk's new version.
func (s *Service) AddChange(ctx context.Context, u *auth.User, id string, in NewChange, ifMatch int64, m auth.Meta) (Change, int64, error) {
	if err := s.authorize(ctx, u, m, auth.EditRisk, "risk.change.create", refKey(id)); err != nil {
		return Change{}, 0, err
	}
	draft := Change{Title: in.Title, Owner: in.Owner, Due: utc(in.Due), Category: in.Category, Status: rca.ItemOpen}
	if err := draft.validate(); err != nil {
		return Change{}, 0, err
	}
	if err := s.checkUser(ctx, "owner", draft.Owner); err != nil {
		return Change{}, 0, err
	}
	var out Change
	r, err := s.mutate(ctx, u, id, ifMatch, m, "risk.change.create", func(r *Risk, now time.Time) (bool, map[string]string, error) {
		if len(r.Changes) >= maxChanges {
			return false, nil, bound("changes", "a risk holds at most %d requested changes", maxChanges)
		}
		c := draft
		// Changes are never removed, so the count numbers them.
		c.N, c.CreatedAt, c.CreatedBy = len(r.Changes)+1, now, u.Username
		r.Changes = append(r.Changes, c)
		out = c
		return true, map[string]string{"change": strconv.Itoa(c.N), "category": string(c.Category)}, nil
	})
	if err != nil {
		return Change{}, 0, err
	}
	out.Overdue = out.IsOverdue(s.now())
	return out, r.Version, nil
}

// UpdateChange changes requested change n at risk version ifMatch, which is
// required. Moving it to done stamps done_at; moving it back clears it.
func (s *Service) UpdateChange(ctx context.Context, u *auth.User, id string, n int, ifMatch int64, p ChangePatch, m auth.Meta) (Change, int64, error) {
	if err := s.authorize(ctx, u, m, auth.EditRisk, "risk.change.update", refKey(id)); err != nil {
		return Change{}, 0, err
	}
	if ifMatch <= 0 {
		return Change{}, 0, errs.E(errs.PreconditionNeeded, "send If-Match with the ETag you read, so concurrent edits are not lost")
	}
	var out Change
	r, err := s.mutate(ctx, u, id, ifMatch, m, "risk.change.update", func(r *Risk, now time.Time) (bool, map[string]string, error) {
		i := slices.IndexFunc(r.Changes, func(c Change) bool { return c.N == n })
		if i < 0 {
			return false, nil, errs.E(errs.NotFound, "requested change %d not found", n)
		}
		c := r.Changes[i]
		owner := c.Owner
		if p.Owner != nil {
			c.Owner = *p.Owner
		}
		if p.Due != nil {
			c.Due = utc(p.Due)
		}
		if p.Status != nil && *p.Status != c.Status {
			c.Status = *p.Status
			if c.Status == rca.ItemDone {
				c.DoneAt = &now
			} else {
				c.DoneAt = nil
			}
		}
		if err := c.validate(); err != nil {
			return false, nil, err
		}
		if c.Owner != owner {
			if err := s.checkUser(ctx, "owner", c.Owner); err != nil {
				return false, nil, err
			}
		}
		r.Changes[i] = c
		out = c
		return true, map[string]string{"change": strconv.Itoa(n), "status": string(c.Status)}, nil
	})
	if err != nil {
		return Change{}, 0, err
	}
	out.Overdue = out.IsOverdue(s.now())
	return out, r.Version, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Millisecond)
	return &v
}
