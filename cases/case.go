// Package cases owns actor-level investigations: actors, cases, evidence,
// the case workflow, SLA clocks, and enforcement under a strike ladder.
//
// Data model. A case is one document holding everything that is bounded:
// its fields, evidence metadata (files live apart, content-addressed),
// behaviours and enforcements. Its timeline (notes and automatic events) is
// not bounded — a long investigation gathers thousands of notes of up to
// 8 KiB each, which would push one document past MongoDB's 16 MB limit — so
// it lives in bucket documents of 100 entries (_id "<case id>/<bucket>"),
// read by _id. The case keeps the count; a case read returns the newest
// entries and the rest pages in. Evidence is capped at 2,000 entries of at
// most ~6 KiB each (~12 MB in the very worst case, ~1 MB typically).
package cases

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// Status of a case in its workflow.
type Status string

const (
	StatusNew           Status = "new"
	StatusTriage        Status = "triage"
	StatusInvestigating Status = "investigating"
	StatusPendingReview Status = "pending_review"
	StatusActioned      Status = "actioned"
	StatusNoViolation   Status = "no_violation"
	StatusClosed        Status = "closed"
)

// Statuses lists every status in workflow order.
var Statuses = []Status{StatusNew, StatusTriage, StatusInvestigating, StatusPendingReview, StatusActioned, StatusNoViolation, StatusClosed}

// Verdict of an investigation.
type Verdict string

const (
	VerdictViolation            Verdict = "violation"
	VerdictNoViolation          Verdict = "no_violation"
	VerdictInsufficientEvidence Verdict = "insufficient_evidence"
)

var verdicts = []Verdict{VerdictViolation, VerdictNoViolation, VerdictInsufficientEvidence}

// ActorKind is what kind of platform account an actor is.
type ActorKind string

var actorKinds = []ActorKind{"user", "creator", "merchant"}

// ActorRef is the actor as a case carries it.
type ActorRef struct {
	ActorID     string    `bson:"actor_id" json:"actor_id"`
	Handle      string    `bson:"handle,omitempty" json:"handle,omitempty"`
	DisplayName string    `bson:"display_name,omitempty" json:"display_name,omitempty"`
	Kind        ActorKind `bson:"kind,omitempty" json:"kind,omitempty"`
	Region      string    `bson:"region,omitempty" json:"region,omitempty"`
}

// Evidence is one append-only evidence entry.
type Evidence struct {
	N             int         `bson:"n" json:"n"`
	Kind          string      `bson:"kind" json:"kind"`
	Ref           string      `bson:"ref,omitempty" json:"ref,omitempty"`
	Description   string      `bson:"description" json:"description"`
	FlaggedReason string      `bson:"flagged_reason,omitempty" json:"flagged_reason,omitempty"`
	CapturedAt    *time.Time  `bson:"captured_at,omitempty" json:"captured_at,omitempty"`
	SHA256        string      `bson:"sha256,omitempty" json:"sha256,omitempty"`
	Attachment    *Attachment `bson:"attachment,omitempty" json:"attachment,omitempty"`
	// Retracts is the number of the entry this one withdraws.
	Retracts  int       `bson:"retracts,omitempty" json:"retracts,omitempty"`
	AddedBy   string    `bson:"added_by" json:"added_by"`
	AddedAt   time.Time `bson:"added_at" json:"added_at"`
	Retracted bool      `bson:"-" json:"retracted"`
}

// Attachment describes an evidence file; the body is stored once per SHA-256.
type Attachment struct {
	Size        int64  `bson:"size" json:"size"`
	ContentType string `bson:"content_type" json:"content_type"`
	FileName    string `bson:"file_name" json:"file_name"`
}

var evidenceKinds = []string{"video", "live", "comment", "profile", "listing", "review", "message", "other"}

// Behavior is an observed pattern of behaviour.
type Behavior struct {
	Text string `bson:"text" json:"text"`
	Tag  string `bson:"tag,omitempty" json:"tag,omitempty"`
}

// Case is an actor-level investigation.
type Case struct {
	ID               string        `bson:"_id" json:"id"`
	Key              string        `bson:"key" json:"key"`
	Title            string        `bson:"title" json:"title"`
	Summary          string        `bson:"summary" json:"summary"`
	Actor            ActorRef      `bson:"actor" json:"actor"`
	RelatedActors    []string      `bson:"related_actors" json:"related_actors"`
	PolicyAreas      []string      `bson:"policy_areas" json:"policy_areas"`
	Severity         Severity      `bson:"severity" json:"severity"`
	SourceKind       string        `bson:"source_kind" json:"source_kind"`
	SourceChannel    string        `bson:"source_channel" json:"source_channel"`
	Status           Status        `bson:"status" json:"status"`
	Assignee         string        `bson:"assignee,omitempty" json:"assignee,omitempty"`
	Team             string        `bson:"team,omitempty" json:"team,omitempty"`
	Vendor           string        `bson:"vendor,omitempty" json:"vendor,omitempty"`
	Restricted       bool          `bson:"restricted" json:"restricted"`
	Evidence         []Evidence    `bson:"evidence" json:"evidence"`
	Behaviors        []Behavior    `bson:"behaviors" json:"behaviors"`
	Findings         string        `bson:"findings,omitempty" json:"findings,omitempty"`
	Verdict          Verdict       `bson:"verdict,omitempty" json:"verdict,omitempty"`
	ProposedResponse string        `bson:"proposed_response,omitempty" json:"proposed_response,omitempty"`
	MitigationPlan   string        `bson:"mitigation_plan,omitempty" json:"mitigation_plan,omitempty"`
	Enforcements     []Enforcement `bson:"enforcements" json:"enforcements"`
	LinkedCases      []string      `bson:"linked_cases" json:"linked_cases"`
	LinkedIncidents  []string      `bson:"linked_incidents" json:"linked_incidents"`
	Tags             []string      `bson:"tags" json:"tags"`
	CreatedAt        time.Time     `bson:"created_at" json:"created_at"`
	TriagedAt        *time.Time    `bson:"triaged_at,omitempty" json:"triaged_at,omitempty"`
	ResolvedAt       *time.Time    `bson:"resolved_at,omitempty" json:"resolved_at,omitempty"`
	UpdatedAt        time.Time     `bson:"updated_at" json:"updated_at"`
	CreatedBy        string        `bson:"created_by" json:"created_by"`
	Version          int64         `bson:"version" json:"version"`
	// Seq orders writes for the search index feed.
	Seq int64 `bson:"seq" json:"-"`
	// TimelineCount is how many entries the timeline has. Entry 0 is
	// always the creation (EventCreated), so a count of 1 means nothing
	// but the creation: the search index relies on it to skip the read.
	TimelineCount int `bson:"timeline_count" json:"timeline_count"`

	// Filled at read time, never stored.
	SLA      *SLA            `bson:"-" json:"sla,omitempty"`
	Timeline []TimelineEntry `bson:"-" json:"timeline"`
}

// Resource is what auth.Can needs to know about the case.
func (c *Case) Resource() auth.Resource {
	return auth.Resource{Team: c.Team, Vendor: c.Vendor, Assignee: c.Assignee, Restricted: c.Restricted}
}

// Limits that keep one case document bounded.
const (
	MaxEvidence     = 2000
	MaxEnforcements = 200
	MaxNoteLen      = 8 << 10
	maxTextLen      = 20 << 10
	maxShortLen     = 300
	maxListLen      = 50
)

var (
	tokenPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,62}$`)
	groupPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	actorIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	regionPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
	keyPattern     = regexp.MustCompile(`^CF-[0-9]{4}-[0-9]{1,9}$`)
)

// IsKey reports whether s looks like a case key (CF-2026-17).
func IsKey(s string) bool { return keyPattern.MatchString(s) }

// checkTokens validates a list of lower_snake_case names (or, with
// allowed, names from that list).
func checkTokens(f *errs.Fields, field string, vs []string, allowed []string) {
	if len(vs) > maxListLen {
		f.Add(field, "must have at most %d entries", maxListLen)
		return
	}
	for i, v := range vs {
		if allowed != nil && !slices.Contains(allowed, v) {
			f.Add(fmt.Sprintf("%s[%d]", field, i), "%q is not one of: %s", v, strings.Join(allowed, ", "))
		} else if allowed == nil && !tokenPattern.MatchString(v) {
			f.Add(fmt.Sprintf("%s[%d]", field, i), "must be lower_snake_case")
		}
	}
}

func (a ActorRef) validate(f *errs.Fields) {
	if !actorIDPattern.MatchString(a.ActorID) {
		f.Add("actor.actor_id", "is required: 1-128 letters, digits, '.', '_', ':' or '-'")
	}
	f.Text("actor.handle", a.Handle, maxShortLen, false)
	f.Text("actor.display_name", a.DisplayName, maxShortLen, false)
	if a.Kind != "" && !slices.Contains(actorKinds, a.Kind) {
		f.Add("actor.kind", "must be user, creator or merchant")
	}
	if a.Region != "" && !regionPattern.MatchString(a.Region) {
		f.Add("actor.region", "must be an ISO 3166-1 alpha-2 code such as US")
	}
}

// validate checks every client-settable field against the taxonomy.
func (c *Case) validate(t Taxonomy) error {
	var f errs.Fields
	f.Text("title", c.Title, maxShortLen, true)
	f.Text("summary", c.Summary, maxTextLen, false)
	c.Actor.validate(&f)
	if len(c.RelatedActors) > maxListLen {
		f.Add("related_actors", "must have at most %d entries", maxListLen)
	}
	for i, id := range c.RelatedActors {
		if !actorIDPattern.MatchString(id) {
			f.Add(fmt.Sprintf("related_actors[%d]", i), "is not an actor id")
		}
	}
	if len(c.PolicyAreas) == 0 {
		f.Add("policy_areas", "must name at least one policy area")
	}
	checkTokens(&f, "policy_areas", c.PolicyAreas, t.PolicyAreas)
	if !c.Severity.Valid() {
		f.Add("severity", "must be one of sev1, sev2, sev3, sev4")
	}
	if channels, ok := sourceChannels[c.SourceKind]; !ok {
		f.Add("source_kind", "must be proactive or reactive")
	} else if !slices.Contains(channels, c.SourceChannel) {
		f.Add("source_channel", "must be one of %s for %s sources", strings.Join(channels, ", "), c.SourceKind)
	}
	if c.Team != "" && !groupPattern.MatchString(c.Team) {
		f.Add("team", "is not a team name")
	}
	if c.Vendor != "" && !groupPattern.MatchString(c.Vendor) {
		f.Add("vendor", "is not a vendor name")
	}
	if c.Assignee != "" && len(c.Assignee) > 64 {
		f.Add("assignee", "is not a username")
	}
	f.Text("findings", c.Findings, maxTextLen, false)
	f.Text("proposed_response", c.ProposedResponse, maxTextLen, false)
	f.Text("mitigation_plan", c.MitigationPlan, maxTextLen, false)
	if c.Verdict != "" && !slices.Contains(verdicts, c.Verdict) {
		f.Add("verdict", "must be violation, no_violation or insufficient_evidence")
	}
	if len(c.Behaviors) > maxListLen {
		f.Add("behaviors", "must have at most %d entries", maxListLen)
	}
	for i, b := range c.Behaviors {
		f.Text(fmt.Sprintf("behaviors[%d].text", i), b.Text, 2000, true)
		if b.Tag != "" && !tokenPattern.MatchString(b.Tag) {
			f.Add(fmt.Sprintf("behaviors[%d].tag", i), "must be lower_snake_case")
		}
	}
	checkTokens(&f, "tags", c.Tags, nil)
	for i, k := range c.LinkedCases {
		if !IsKey(k) {
			f.Add(fmt.Sprintf("linked_cases[%d]", i), "must be a case key such as CF-2026-1")
		}
	}
	if len(c.LinkedCases) > maxListLen {
		f.Add("linked_cases", "must have at most %d entries", maxListLen)
	}
	for i, k := range c.LinkedIncidents {
		if len(k) > 64 || !utf8.ValidString(k) || k == "" {
			f.Add(fmt.Sprintf("linked_incidents[%d]", i), "must be an incident key")
		}
	}
	if len(c.LinkedIncidents) > maxListLen {
		f.Add("linked_incidents", "must have at most %d entries", maxListLen)
	}
	return f.Err()
}

// forcedRestriction: child safety cases are always restricted.
func (c *Case) forcedRestriction() {
	if slices.Contains(c.PolicyAreas, "child_safety") {
		c.Restricted = true
	}
}

// moves are the only legal status changes (DOMAIN.md).
var moves = map[Status][]Status{
	StatusNew:           {StatusTriage},
	StatusTriage:        {StatusInvestigating},
	StatusInvestigating: {StatusPendingReview, StatusNoViolation},
	StatusPendingReview: {StatusActioned, StatusInvestigating},
	StatusActioned:      {StatusClosed},
	StatusNoViolation:   {StatusClosed},
	StatusClosed:        {StatusInvestigating},
}

// AllowedMoves lists where a case may go from s.
func AllowedMoves(s Status) []Status { return slices.Clone(moves[s]) }

// checkTransition applies the workflow rules to a move of c by u to "to".
func (c *Case) checkTransition(u *auth.User, to Status) error {
	allowed := moves[c.Status]
	if !slices.Contains(allowed, to) {
		names := make([]string, len(allowed))
		for i, s := range allowed {
			names[i] = string(s)
		}
		return errs.E(errs.Conflict, "a %s case cannot move to %q; allowed: %s", c.Status, to, strings.Join(names, ", "))
	}
	switch {
	case c.Status == StatusClosed && !auth.Can(u, auth.ReopenCase, c.Resource()):
		return errs.E(errs.Forbidden, "only a lead may reopen a closed case")
	case to == StatusActioned && !slices.ContainsFunc(c.Enforcements, func(e Enforcement) bool {
		return e.Status == Applied || e.Status == Reversed || e.Status == Expired
	}):
		return errs.E(errs.Conflict, "a case is actioned only once an enforcement has been applied")
	case to == StatusNoViolation && c.Verdict != VerdictNoViolation && c.Verdict != VerdictInsufficientEvidence:
		return &errs.Error{Code: errs.Conflict, Message: "record a verdict of no_violation or insufficient_evidence first",
			Fields: []errs.FieldError{{Field: "verdict", Message: "must be no_violation or insufficient_evidence"}}}
	}
	return nil
}

// MovesFor lists the moves u may make on c now: the workflow's moves from
// c's status that checkTransition accepts, and none when u may not edit c
// (Transition loads the case for editing). Pages offer exactly these.
func (c *Case) MovesFor(u *auth.User) []Status {
	if !auth.Can(u, auth.EditCase, c.Resource()) {
		return nil
	}
	var out []Status
	for _, to := range moves[c.Status] {
		if c.checkTransition(u, to) == nil {
			out = append(out, to)
		}
	}
	return out
}

// stampClocks records SLA timestamps for a move made at now.
func (c *Case) stampClocks(from, to Status, now time.Time) {
	switch {
	case from == StatusTriage && to == StatusInvestigating && c.TriagedAt == nil:
		c.TriagedAt = &now
	case to == StatusActioned || to == StatusNoViolation:
		c.ResolvedAt = &now
	case from == StatusClosed && to == StatusInvestigating:
		c.ResolvedAt = nil // reopened: the resolve clock runs again
	}
}
