package cases

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// maxRetries bounds how often a write that the client did not pin to a
// version (a note, evidence) is retried after losing a race.
const maxRetries = 10

// change loads a case for editing, lets fn modify it and name timeline
// events, and saves it under optimistic concurrency. With ifMatch > 0 the
// client's version must be current (else 412); with 0 the change is
// re-applied to a fresh read when another write won the race.
func (s *Service) change(ctx context.Context, u *auth.User, idOrKey string, ifMatch int64, m Meta, action string,
	fn func(c *Case) ([]TimelineEntry, error)) (Case, error) {
	for range maxRetries {
		c, err := s.loadForEdit(ctx, u, idOrKey, m, action)
		if err != nil {
			return Case{}, err
		}
		if ifMatch > 0 && c.Version != ifMatch {
			return Case{}, errs.E(errs.PreconditionFailed, "the case was changed by someone else (now at version %d); reload and retry", c.Version)
		}
		expected := c.Version
		events, err := fn(&c)
		if err != nil {
			if errs.Is(err, errs.Forbidden) {
				// DOMAIN.md: every denied request is an audit event.
				_ = s.record(ctx, u, m, action, &c, auth.OutcomeDenied, nil)
			}
			return Case{}, err
		}
		err = s.save(ctx, u, &c, expected, events)
		if errs.Is(err, errs.PreconditionFailed) && ifMatch == 0 {
			continue
		}
		if err != nil {
			return Case{}, err
		}
		return s.present(ctx, &c), nil
	}
	return Case{}, errs.E(errs.Conflict, "the case is being changed by many requests at once; retry")
}

// save writes c (read at version expected) and its new timeline entries.
// The entries are numbered inside the versioned write, so their numbers are
// unique; they are appended to the timeline after it succeeds.
func (s *Service) save(ctx context.Context, u *auth.User, c *Case, expected int64, events []TimelineEntry) error {
	now := s.clock()
	seq, err := s.store.NextSeq(ctx)
	if err != nil {
		return err
	}
	for i := range events {
		events[i].N = c.TimelineCount
		events[i].At = now
		events[i].Author = u.Username
		c.TimelineCount++
	}
	c.Version, c.Seq, c.UpdatedAt = expected+1, seq, now
	if err := s.store.ReplaceCase(ctx, c, expected); err != nil {
		return err
	}
	for _, e := range events {
		if err := s.store.AppendTimeline(ctx, c.ID, e); err != nil {
			return err
		}
	}
	s.notify(ctx, c)
	return nil
}

// Patch is a partial update of a case; nil fields stay as they are.
type Patch struct {
	Title            *string
	Summary          *string
	PolicyAreas      *[]string
	Severity         *Severity
	SourceKind       *string
	SourceChannel    *string
	Team             *string
	Vendor           *string
	Assignee         *string
	Restricted       *bool
	Findings         *string
	Verdict          *Verdict
	ProposedResponse *string
	MitigationPlan   *string
	Behaviors        *[]Behavior
	RelatedActors    *[]string
	Tags             *[]string
	LinkedCases      *[]string
	LinkedIncidents  *[]string
}

// Update applies p to a case at version ifMatch.
func (s *Service) Update(ctx context.Context, u *auth.User, idOrKey string, ifMatch int64, p Patch, m Meta) (Case, error) {
	tax, _, err := s.store.Taxonomy(ctx)
	if err != nil {
		return Case{}, err
	}
	c, err := s.change(ctx, u, idOrKey, ifMatch, m, "case.update", func(c *Case) ([]TimelineEntry, error) {
		before := *c
		var changed []string
		str := func(name string, dst *string, v *string) {
			if v != nil && *dst != *v {
				*dst = *v
				changed = append(changed, name)
			}
		}
		list := func(name string, dst *[]string, v *[]string) {
			if v != nil && !slices.Equal(*dst, *v) {
				*dst = nonNil(*v)
				changed = append(changed, name)
			}
		}
		str("title", &c.Title, p.Title)
		str("summary", &c.Summary, p.Summary)
		list("policy_areas", &c.PolicyAreas, p.PolicyAreas)
		if p.Severity != nil && c.Severity != *p.Severity {
			c.Severity = *p.Severity
			changed = append(changed, "severity")
		}
		str("source_kind", &c.SourceKind, p.SourceKind)
		str("source_channel", &c.SourceChannel, p.SourceChannel)
		str("team", &c.Team, p.Team)
		str("vendor", &c.Vendor, p.Vendor)
		str("assignee", &c.Assignee, p.Assignee)
		if p.Restricted != nil && c.Restricted != *p.Restricted {
			c.Restricted = *p.Restricted
			changed = append(changed, "restricted")
		}
		str("findings", &c.Findings, p.Findings)
		if p.Verdict != nil && c.Verdict != *p.Verdict {
			c.Verdict = *p.Verdict
			changed = append(changed, "verdict")
		}
		str("proposed_response", &c.ProposedResponse, p.ProposedResponse)
		str("mitigation_plan", &c.MitigationPlan, p.MitigationPlan)
		if p.Behaviors != nil && !slices.Equal(c.Behaviors, *p.Behaviors) {
			c.Behaviors = nonNil(*p.Behaviors)
			changed = append(changed, "behaviors")
		}
		list("related_actors", &c.RelatedActors, p.RelatedActors)
		list("tags", &c.Tags, p.Tags)
		list("linked_cases", &c.LinkedCases, p.LinkedCases)
		list("linked_incidents", &c.LinkedIncidents, p.LinkedIncidents)
		if len(changed) == 0 {
			return nil, errs.E(errs.Invalid, "the patch changes nothing")
		}
		if err := c.validate(tax); err != nil {
			return nil, err
		}
		if err := s.checkReassignment(ctx, u, &before, c); err != nil {
			return nil, err
		}
		if before.Restricted && !c.Restricted && slices.Contains(c.PolicyAreas, "child_safety") {
			return nil, &errs.Error{Code: errs.Invalid, Message: "child_safety cases are always restricted",
				Fields: []errs.FieldError{{Field: "restricted", Message: "cannot be lifted while child_safety is a policy area"}}}
		}
		c.forcedRestriction()
		events := []TimelineEntry{{Kind: EventEdit, Text: "changed " + strings.Join(changed, ", ")}}
		if before.Assignee != c.Assignee {
			events = append(events, TimelineEntry{Kind: EventAssignment, Detail: map[string]string{"from": before.Assignee, "to": c.Assignee}})
		}
		return events, nil
	})
	if err != nil {
		return Case{}, err
	}
	return c, s.record(ctx, u, m, "case.update", &c, auth.OutcomeSuccess, nil)
}

// checkReassignment: moving a case between teams or vendors, assigning it
// to someone else, or lifting a restriction is a lead's call. Anyone who
// may edit may take an unassigned case, hand back their own, or restrict.
func (s *Service) checkReassignment(ctx context.Context, u *auth.User, before, after *Case) error {
	lead := auth.Can(u, auth.ReassignCase, before.Resource())
	selfService := after.Assignee == u.Username && before.Assignee == "" ||
		after.Assignee == "" && before.Assignee == u.Username
	switch {
	case (before.Team != after.Team || before.Vendor != after.Vendor) && !lead:
		return errs.E(errs.Forbidden, "only a lead may move a case to another team or vendor")
	case before.Assignee != after.Assignee && !lead && !selfService:
		return errs.E(errs.Forbidden, "only a lead may assign a case to someone else")
	case before.Restricted && !after.Restricted && !lead:
		return errs.E(errs.Forbidden, "only a lead may lift a restriction")
	}
	if before.Assignee != after.Assignee {
		return s.checkAssignee(ctx, after.Assignee)
	}
	return nil
}

// Transition moves a case along the workflow.
func (s *Service) Transition(ctx context.Context, u *auth.User, idOrKey string, ifMatch int64, to Status, reason string, m Meta) (Case, error) {
	var f errs.Fields
	if !slices.Contains(Statuses, to) {
		f.Add("to", "must be one of %s", joinStatuses(Statuses))
	}
	f.Text("reason", reason, 2000, false)
	if err := f.Err(); err != nil {
		return Case{}, err
	}
	var from Status
	c, err := s.change(ctx, u, idOrKey, ifMatch, m, "case.transition", func(c *Case) ([]TimelineEntry, error) {
		if err := c.checkTransition(u, to); err != nil {
			return nil, err
		}
		from = c.Status
		c.stampClocks(c.Status, to, s.clock())
		c.Status = to
		return []TimelineEntry{{Kind: EventStatus, Text: reason, Detail: map[string]string{"from": string(from), "to": string(to)}}}, nil
	})
	if err != nil {
		return Case{}, err
	}
	if err := s.record(ctx, u, m, "case.transition", &c, auth.OutcomeSuccess, map[string]string{"from": string(from), "to": string(to)}); err != nil {
		return Case{}, err
	}
	if to == StatusClosed {
		// The closing is the last entry save wrote, stamped with the case's time.
		s.decision(ctx, closureDecision(&c, TimelineEntry{N: c.TimelineCount - 1, At: c.UpdatedAt, Author: u.Username}))
	}
	return c, nil
}

// AddNote appends a note to the timeline.
func (s *Service) AddNote(ctx context.Context, u *auth.User, idOrKey, text string, m Meta) (TimelineEntry, error) {
	var f errs.Fields
	f.Text("text", text, MaxNoteLen, true)
	if err := f.Err(); err != nil {
		return TimelineEntry{}, err
	}
	var note TimelineEntry
	c, err := s.change(ctx, u, idOrKey, 0, m, "case.note", func(c *Case) ([]TimelineEntry, error) {
		return []TimelineEntry{{Kind: EventNote, Text: text}}, nil
	})
	if err != nil {
		return TimelineEntry{}, err
	}
	tl, err := s.store.Timeline(ctx, c.ID, c.TimelineCount-1, c.TimelineCount)
	if err != nil || len(tl) == 0 {
		return TimelineEntry{}, fmt.Errorf("cases: note not found after write: %v", err)
	}
	note = tl[0]
	return note, s.record(ctx, u, m, "case.note", &c, auth.OutcomeSuccess, nil)
}

func joinStatuses(ss []Status) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
