package rca

import (
	"context"
	"slices"
	"strconv"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// loadPostmortem reads the working postmortem of an incident the caller
// may edit incidents of (leadership reads only published revisions).
func (s *Service) loadPostmortem(ctx context.Context, u *auth.User, idOrKey string) (Incident, Postmortem, error) {
	in, err := s.load(ctx, u, idOrKey)
	if err != nil {
		return Incident{}, Postmortem{}, err
	}
	if !auth.Can(u, auth.DraftPostmortem, auth.Resource{}) {
		return Incident{}, Postmortem{}, errs.E(errs.NotFound, "postmortem not found")
	}
	p, err := s.store.Postmortem(ctx, in.ID)
	if errs.Is(err, errs.NotFound) {
		return in, Postmortem{}, errs.E(errs.NotFound, "this incident has no postmortem yet")
	}
	return in, p, err
}

// GetPostmortem reads the working revision of an incident's postmortem.
func (s *Service) GetPostmortem(ctx context.Context, u *auth.User, idOrKey string) (Postmortem, error) {
	in, p, err := s.loadPostmortem(ctx, u, idOrKey)
	if err != nil {
		return Postmortem{}, err
	}
	return s.presentPostmortem(&in, p), nil
}

func (s *Service) presentPostmortem(in *Incident, p Postmortem) Postmortem {
	p.BodyHTML = s.markdown.Render(p.Content.Body)
	p.Due = postmortemDue(in)
	p.Overdue = p.Due != nil && p.PublishedRevision == 0 && s.now().After(*p.Due)
	return p
}

// PutPostmortem writes the postmortem's content. The first write creates
// it (ifMatch 0); later writes need the current version. Editing an
// approved postmortem sends it back to draft; editing a published one
// starts a new revision while readers keep the published one.
func (s *Service) PutPostmortem(ctx context.Context, u *auth.User, idOrKey string, ifMatch int64, c Content, m auth.Meta) (Postmortem, bool, error) {
	in, err := s.load(ctx, u, idOrKey)
	if err != nil {
		return Postmortem{}, false, err
	}
	if !auth.Can(u, auth.DraftPostmortem, auth.Resource{}) {
		return Postmortem{}, false, s.deny(ctx, u, m, "postmortem.update", in.Key)
	}
	if in.Kind != KindIncident {
		return Postmortem{}, false, errs.E(errs.Conflict, "issues have RCAs but no postmortem")
	}
	c.Timeline = nonNil(c.Timeline)
	if err := c.validate(); err != nil {
		return Postmortem{}, false, err
	}
	now := s.clock()
	seq, err := s.store.NextSeq(ctx)
	if err != nil {
		return Postmortem{}, false, err
	}
	p, err := s.store.Postmortem(ctx, in.ID)
	created := errs.Is(err, errs.NotFound)
	switch {
	case created:
		if ifMatch != 0 {
			return Postmortem{}, false, errs.E(errs.PreconditionFailed, "there is no postmortem at that version yet")
		}
		p = Postmortem{ID: in.ID, IncidentKey: in.Key, Title: in.Title, Severity: in.Severity, Content: c, Status: Draft, Revision: 1,
			Authors: []string{u.Username}, Comments: []Comment{}, CreatedAt: now, CreatedBy: u.Username, UpdatedAt: now, Version: 1, Seq: seq}
		if err := s.store.InsertPostmortem(ctx, &p); err != nil {
			if errs.Is(err, errs.Conflict) {
				return Postmortem{}, false, errs.E(errs.PreconditionFailed, "someone else created the postmortem meanwhile; reload and retry")
			}
			return Postmortem{}, false, err
		}
	case err != nil:
		return Postmortem{}, false, err
	default:
		if ifMatch == 0 {
			return Postmortem{}, false, errs.E(errs.PreconditionNeeded, "the postmortem exists: send If-Match with the ETag you read")
		}
		if p.Version != ifMatch {
			return Postmortem{}, false, errs.E(errs.PreconditionFailed, "the postmortem was changed by someone else (now at version %d); reload and retry", p.Version)
		}
		expected := p.Version
		switch p.Status {
		case Published:
			p.Revision++
			p.Status, p.Authors = Draft, []string{}
			p.ApprovedBy, p.ApprovedAt, p.PIIAcknowledgedBy = "", nil, ""
		case Approved:
			p.Status, p.ApprovedBy, p.ApprovedAt = Draft, "", nil
		}
		if !slices.Contains(p.Authors, u.Username) {
			p.Authors = append(p.Authors, u.Username)
		}
		p.Content, p.Title, p.Severity = c, in.Title, in.Severity
		p.Version, p.Seq, p.UpdatedAt = expected+1, seq, now
		if err := s.store.ReplacePostmortem(ctx, &p, expected); err != nil {
			return Postmortem{}, false, err
		}
	}
	s.notify(ctx, "postmortem", p.ID)
	if err := s.record(ctx, u, m, "postmortem.update", "postmortem", in.Key, auth.OutcomeSuccess, map[string]string{"revision": strconv.Itoa(p.Revision)}); err != nil {
		return Postmortem{}, false, err
	}
	return s.presentPostmortem(&in, p), created, nil
}

// PublishResult is the answer to a publish attempt.
type PublishResult struct {
	Postmortem Postmortem   `json:"postmortem"`
	Findings   []PIIFinding `json:"pii_findings"`
}

// PostmortemStep is a review step.
type PostmortemStep string

const (
	Submit  PostmortemStep = "submit"
	Approve PostmortemStep = "approve"
	Publish PostmortemStep = "publish"
)

// Step moves the postmortem through review. Publishing scans the text for
// identifiers (actor ids and handles of the linked cases, e-mail addresses,
// phone numbers); with findings it refuses unless acknowledgePII is set.
func (s *Service) Step(ctx context.Context, u *auth.User, idOrKey string, step PostmortemStep, acknowledgePII bool, m auth.Meta) (PublishResult, error) {
	in, p, err := s.loadPostmortem(ctx, u, idOrKey)
	if err != nil {
		return PublishResult{}, err
	}
	now := s.clock()
	expected := p.Version
	res := PublishResult{Findings: []PIIFinding{}}
	switch step {
	case Submit:
		if p.Status != Draft {
			return PublishResult{}, errs.E(errs.Conflict, "only a draft can be submitted for review; this one is %s", p.Status)
		}
		p.Status = InReview
	case Approve:
		if !auth.Can(u, auth.ApprovePostmortem, auth.Resource{}) {
			return PublishResult{}, s.deny(ctx, u, m, "postmortem.approve", in.Key)
		}
		if slices.Contains(p.Authors, u.Username) {
			return PublishResult{}, errs.E(errs.Forbidden, "nobody approves a postmortem they wrote")
		}
		if p.Status != InReview {
			return PublishResult{}, errs.E(errs.Conflict, "only a postmortem in review can be approved; this one is %s", p.Status)
		}
		p.Status, p.ApprovedBy, p.ApprovedAt = Approved, u.Username, &now
	case Publish:
		if !auth.Can(u, auth.PublishPostmortem, auth.Resource{}) {
			return PublishResult{}, s.deny(ctx, u, m, "postmortem.publish", in.Key)
		}
		if p.Status != Approved {
			return PublishResult{}, errs.E(errs.Conflict, "only an approved postmortem can be published; this one is %s", p.Status)
		}
		ids, handles, err := s.cases.ActorIdentifiers(ctx, in.LinkedCases)
		if err != nil {
			return PublishResult{}, err
		}
		if res.Findings = scanPII(p.Content, ActorIdentifiers{IDs: ids, Handles: handles}); len(res.Findings) > 0 {
			if !acknowledgePII {
				return PublishResult{}, &errs.Error{Code: errs.Conflict,
					Message: "the postmortem may identify people; redact it, or publish with acknowledge_pii: true",
					Fields:  piiFields(res.Findings)}
			}
			p.PIIAcknowledgedBy = u.Username
		} else {
			res.Findings = []PIIFinding{}
		}
		rev := Revision{Postmortem: p.ID, Revision: p.Revision, IncidentKey: p.IncidentKey, Title: in.Title, Severity: in.Severity,
			Content: p.Content, PublishedBy: u.Username, PublishedAt: now}
		if err := s.store.PutRevision(ctx, &rev); err != nil {
			return PublishResult{}, err
		}
		p.Status, p.PublishedBy, p.PublishedAt, p.PublishedRevision = Published, u.Username, &now, p.Revision
	default:
		return PublishResult{}, errs.E(errs.NotFound, "no such step")
	}
	seq, err := s.store.NextSeq(ctx)
	if err != nil {
		return PublishResult{}, err
	}
	p.Version, p.Seq, p.UpdatedAt = expected+1, seq, now
	if err := s.store.ReplacePostmortem(ctx, &p, expected); err != nil {
		return PublishResult{}, err
	}
	s.notify(ctx, "postmortem", p.ID)
	if err := s.record(ctx, u, m, "postmortem."+string(step), "postmortem", in.Key, auth.OutcomeSuccess, map[string]string{"revision": strconv.Itoa(p.Revision)}); err != nil {
		return PublishResult{}, err
	}
	res.Postmortem = s.presentPostmortem(&in, p)
	return res, nil
}

func piiFields(fs []PIIFinding) []errs.FieldError {
	out := make([]errs.FieldError, len(fs))
	for i, f := range fs {
		out[i] = errs.FieldError{Field: f.Field, Message: "contains a " + f.Kind + ": " + f.Match}
	}
	return out
}

// Comment adds a review comment to the working revision.
func (s *Service) Comment(ctx context.Context, u *auth.User, idOrKey, text string, m auth.Meta) (Comment, error) {
	var f errs.Fields
	f.Text("text", text, 8000, true)
	if err := f.Err(); err != nil {
		return Comment{}, err
	}
	for range 10 {
		in, p, err := s.loadPostmortem(ctx, u, idOrKey)
		if err != nil {
			return Comment{}, err
		}
		if len(p.Comments) >= maxComments {
			return Comment{}, errs.E(errs.Conflict, "a postmortem holds at most %d comments", maxComments)
		}
		now := s.clock()
		c := Comment{Author: u.Username, At: now, Text: text, Revision: p.Revision}
		expected := p.Version
		p.Comments = append(p.Comments, c)
		p.Version, p.UpdatedAt = expected+1, now
		err = s.store.ReplacePostmortem(ctx, &p, expected)
		if errs.Is(err, errs.PreconditionFailed) {
			continue
		}
		if err != nil {
			return Comment{}, err
		}
		return c, s.record(ctx, u, m, "postmortem.comment", "postmortem", in.Key, auth.OutcomeSuccess, nil)
	}
	return Comment{}, errs.E(errs.Conflict, "the postmortem is being changed by many requests at once; retry")
}

// PublishedPostmortem is a published postmortem as readers see it.
type PublishedPostmortem = Revision

// GetPublished reads the latest published revision (or revision rev > 0).
func (s *Service) GetPublished(ctx context.Context, u *auth.User, idOrKey string, rev int) (PublishedPostmortem, error) {
	if !auth.Can(u, auth.ReadPostmortem, auth.Resource{Published: true}) {
		return PublishedPostmortem{}, errs.E(errs.NotFound, "postmortem not found")
	}
	id := idOrKey
	if IsKey(idOrKey) {
		var err error
		if id, err = s.store.IncidentIDByKey(ctx, idOrKey); err != nil {
			return PublishedPostmortem{}, errs.E(errs.NotFound, "postmortem not found")
		}
	}
	p, err := s.store.Postmortem(ctx, id)
	if errs.Is(err, errs.NotFound) || (err == nil && p.PublishedRevision == 0) {
		return PublishedPostmortem{}, errs.E(errs.NotFound, "postmortem not found")
	}
	if err != nil {
		return PublishedPostmortem{}, err
	}
	if rev == 0 {
		rev = p.PublishedRevision
	}
	if rev < 1 || rev > p.PublishedRevision {
		return PublishedPostmortem{}, errs.E(errs.NotFound, "revision not found")
	}
	r, err := s.store.Revision(ctx, id, rev)
	if errs.Is(err, errs.NotFound) {
		return PublishedPostmortem{}, errs.E(errs.NotFound, "revision not found")
	}
	if err != nil {
		return PublishedPostmortem{}, err
	}
	r.BodyHTML = s.markdown.Render(r.Content.Body)
	return r, nil
}

// ExportMarkdown is the latest published revision as Markdown, as its
// readers see it (ReadingMarkdown); ExportReading is the same, audited.
func (s *Service) ExportMarkdown(ctx context.Context, u *auth.User, idOrKey string) (string, error) {
	r, err := s.Reading(ctx, u, idOrKey)
	if err != nil {
		return "", err
	}
	return ReadingMarkdown(r), nil
}
