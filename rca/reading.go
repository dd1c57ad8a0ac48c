package rca

import (
	"context"
	"regexp"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// Reading is a published postmortem as its readers (leadership) see it:
// the published revision, with the root causes and action items of its
// incident as they stand now, reduced to what a reader needs.
type Reading struct {
	Revision
	RootCauses  []ReadingCause `json:"root_causes"`
	ActionItems []ReadingItem  `json:"action_items"`
}

// ReadingCause is a root cause in a reading: its text and its class.
type ReadingCause struct {
	Description string   `json:"description"`
	Category    Category `json:"category"`
	Subcategory string   `json:"subcategory"`
}

// ReadingItem is an action item in a reading.
type ReadingItem struct {
	Title   string           `json:"title"`
	Kind    string           `json:"kind"`
	Owner   string           `json:"owner"`
	Status  ActionItemStatus `json:"status"`
	Due     *time.Time       `json:"due,omitempty"`
	DoneAt  *time.Time       `json:"done_at,omitempty"`
	Overdue bool             `json:"overdue"`
}

// Reading reads the latest published revision of a postmortem with its
// incident's root causes and action items. Whoever may read the published
// postmortem may read these; an unpublished postmortem is not found.
//
// The root causes and action items are read live, not from the revision
// the PII check passed, so their text goes through the same scanner here
// and whatever it finds (emails, phone numbers, the linked actors' ids and
// handles) is shown as [redacted].
func (s *Service) Reading(ctx context.Context, u *auth.User, idOrKey string) (Reading, error) {
	r, err := s.GetPublished(ctx, u, idOrKey, 0)
	if err != nil {
		return Reading{}, err
	}
	out := Reading{Revision: r, RootCauses: []ReadingCause{}, ActionItems: []ReadingItem{}}
	in, err := s.store.Incident(ctx, r.Postmortem)
	if errs.Is(err, errs.NotFound) {
		return out, nil
	}
	if err != nil {
		return Reading{}, err
	}
	ids, handles, err := s.cases.ActorIdentifiers(ctx, in.LinkedCases)
	if err != nil {
		return Reading{}, err
	}
	actors := ActorIdentifiers{IDs: ids, Handles: handles}
	for _, rc := range in.RCA.RootCauses {
		out.RootCauses = append(out.RootCauses, ReadingCause{Description: redactPII(rc.Description, actors), Category: rc.Category, Subcategory: rc.Subcategory})
	}
	now := s.now()
	for _, a := range in.ActionItems {
		out.ActionItems = append(out.ActionItems, ReadingItem{Title: redactPII(a.Title, actors), Kind: a.Kind, Owner: a.Owner, Status: a.Status,
			Due: a.Due, DoneAt: a.DoneAt, Overdue: a.IsOverdue(now)})
	}
	return out, nil
}

// redactPII replaces what scanPII finds in text with [redacted]; actor ids
// and handles case-insensitively, as scanPII matches them.
func redactPII(text string, actors ActorIdentifiers) string {
	for _, f := range scanPII(Content{Summary: text}, actors) {
		text = regexp.MustCompile(`(?i)@?`+regexp.QuoteMeta(f.Match)).ReplaceAllString(text, "[redacted]")
	}
	return text
}
