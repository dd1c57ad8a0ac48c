// Package risk is the risk register: emerging risks, the cases and
// incidents that evidence them, the changes they call for, and seeding an
// RCA from a risk.
//
// Data model. A risk is one document of the collection "risks" whose _id is
// its key (RISK-2026-4): the embedded store pushes down only lookups by _id,
// and a separate key collection would be a second write per create. A
// linked case is kept on the risk as a small snapshot — its key, the
// attributes that decide who may read it, and the month, region and actor
// kind it counts under — so a read decides visibility and shows the
// aggregates without reading any case, and an unlink can take back exactly
// what the link added. No actor identifier is ever stored on a risk.
package risk

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/rca"
)

// Status is where a risk stands.
type Status string

const (
	Emerging   Status = "emerging"
	Monitoring Status = "monitoring"
	Mitigated  Status = "mitigated"
	Closed     Status = "closed"
)

// Statuses lists every status in the order a risk moves through them.
var Statuses = []Status{Emerging, Monitoring, Mitigated, Closed}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// moves are the legal status changes: any step forward along Statuses, and
// back to monitoring for a risk that was mitigated or closed and returns.
var moves = map[Status][]Status{
	Emerging:   {Monitoring, Mitigated, Closed},
	Monitoring: {Mitigated, Closed},
	Mitigated:  {Closed, Monitoring},
	Closed:     {Monitoring},
}

// AllowedMoves lists where a risk may go from s.
func AllowedMoves(s Status) []Status { return slices.Clone(moves[s]) }

// checkMove is a Conflict unless from → to is one of moves.
func checkMove(from, to Status) error {
	allowed := moves[from]
	if slices.Contains(allowed, to) {
		return nil
	}
	names := make([]string, len(allowed))
	for i, s := range allowed {
		names[i] = string(s)
	}
	return errs.E(errs.Conflict, "a %s risk cannot move to %s; allowed: %s", from, to, strings.Join(names, ", "))
}

// Discovery says how a risk was found.
type Discovery string

const (
	Proactive Discovery = "proactive"
	Reactive  Discovery = "reactive"
)

// Valid reports whether d is proactive or reactive.
func (d Discovery) Valid() bool { return d == Proactive || d == Reactive }

// Unknown is what a case without an actor region or kind counts under.
const Unknown = "unknown"

// MonthLayout is how a case's month is written in the aggregates.
const MonthLayout = "2006-01"

// CaseLink is what a risk keeps of a linked case. Team, Vendor, Assignee
// and Restricted are the case's access attributes when it was last linked:
// a read shows the key only to callers auth.Can lets read such a case.
type CaseLink struct {
	CaseID     string    `bson:"case_id"`
	Key        string    `bson:"key"`
	Team       string    `bson:"team,omitempty"`
	Vendor     string    `bson:"vendor,omitempty"`
	Assignee   string    `bson:"assignee,omitempty"`
	Restricted bool      `bson:"restricted"`
	Month      string    `bson:"month"`
	Region     string    `bson:"region"`
	ActorKind  string    `bson:"actor_kind"`
	LinkedAt   time.Time `bson:"linked_at"`
	LinkedBy   string    `bson:"linked_by"`
}

// Resource is what auth.Can needs to decide whether a caller may read the case.
func (l CaseLink) Resource() auth.Resource {
	return auth.Resource{Team: l.Team, Vendor: l.Vendor, Assignee: l.Assignee, Restricted: l.Restricted}
}

// sameAs reports whether l and o count and show the same way.
func (l CaseLink) sameAs(o CaseLink) bool {
	return l.Key == o.Key && l.Team == o.Team && l.Vendor == o.Vendor && l.Assignee == o.Assignee &&
		l.Restricted == o.Restricted && l.Month == o.Month && l.Region == o.Region && l.ActorKind == o.ActorKind
}

// Evidence aggregates the linked cases. It is kept up to date as cases are
// linked and unlinked, so reading it reads no case.
type Evidence struct {
	CaseCount int `bson:"case_count" json:"case_count"`
	// ByMonth counts cases by the month they were filed ("2026-03").
	ByMonth map[string]int `bson:"by_month" json:"cases_by_month"`
	// Regions counts cases by their actor's region ("DE", or "unknown").
	Regions map[string]int `bson:"regions" json:"regions"`
	// ActorKinds counts cases by their actor's kind ("merchant", …).
	ActorKinds map[string]int `bson:"actor_kinds" json:"actor_kinds"`
}

func newEvidence() Evidence {
	return Evidence{ByMonth: map[string]int{}, Regions: map[string]int{}, ActorKinds: map[string]int{}}
}

// count adds (delta 1) or takes back (delta -1) what link l contributes.
func (e *Evidence) count(l CaseLink, delta int) {
	e.ByMonth, e.Regions, e.ActorKinds = nonNilMap(e.ByMonth), nonNilMap(e.Regions), nonNilMap(e.ActorKinds)
	e.CaseCount += delta
	bump(e.ByMonth, l.Month, delta)
	bump(e.Regions, l.Region, delta)
	bump(e.ActorKinds, l.ActorKind, delta)
}

// bump moves m[k] by delta; a count that reaches zero goes away.
func bump(m map[string]int, k string, delta int) {
	m[k] += delta
	if m[k] <= 0 {
		delete(m, k)
	}
}

// clone is a copy with non-nil maps, for presenting.
func (e Evidence) clone() Evidence {
	return Evidence{CaseCount: e.CaseCount, ByMonth: nonNilMap(maps.Clone(e.ByMonth)),
		Regions: nonNilMap(maps.Clone(e.Regions)), ActorKinds: nonNilMap(maps.Clone(e.ActorKinds))}
}

func nonNilMap(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

// Change is a requested change: an action item the risk calls for,
// filed under the root-cause category of what must change.
type Change struct {
	N         int                  `bson:"n" json:"n"`
	Title     string               `bson:"title" json:"title"`
	Owner     string               `bson:"owner" json:"owner"`
	Due       *time.Time           `bson:"due,omitempty" json:"due,omitempty"`
	Category  rca.Category         `bson:"category" json:"category"`
	Status    rca.ActionItemStatus `bson:"status" json:"status"`
	DoneAt    *time.Time           `bson:"done_at,omitempty" json:"done_at,omitempty"`
	CreatedAt time.Time            `bson:"created_at" json:"created_at"`
	CreatedBy string               `bson:"created_by" json:"created_by"`
	Overdue   bool                 `bson:"-" json:"overdue"`
}

// IsOverdue: still open (or in progress) past its due time.
func (c Change) IsOverdue(now time.Time) bool {
	return (c.Status == rca.ItemOpen || c.Status == rca.ItemInProgress) && c.Due != nil && now.After(*c.Due)
}

// Risk is an emerging risk.
type Risk struct {
	// ID is the key: risks are read by key, and the store by _id.
	ID          string    `bson:"_id" json:"id"`
	Key         string    `bson:"key" json:"key"`
	Title       string    `bson:"title" json:"title"`
	Description string    `bson:"description" json:"description"`
	PolicyAreas []string  `bson:"policy_areas" json:"policy_areas"`
	Status      Status    `bson:"status" json:"status"`
	Owner       string    `bson:"owner" json:"owner"`
	Discovery   Discovery `bson:"discovery" json:"discovery"`
	// Links are never shown: a read turns them into LinkedCases.
	Links           []CaseLink `bson:"links" json:"-"`
	LinkedIncidents []string   `bson:"linked_incidents" json:"linked_incidents"`
	Evidence        Evidence   `bson:"evidence" json:"evidence"`
	Changes         []Change   `bson:"changes" json:"changes"`
	// RCAIncident is the incident SeedRCA opened for this risk.
	RCAIncident string    `bson:"rca_incident,omitempty" json:"rca_incident,omitempty"`
	CreatedAt   time.Time `bson:"created_at" json:"created_at"`
	CreatedBy   string    `bson:"created_by" json:"created_by"`
	UpdatedAt   time.Time `bson:"updated_at" json:"updated_at"`
	Version     int64     `bson:"version" json:"version"`
	// Seq orders writes for the search index feed.
	Seq int64 `bson:"seq" json:"-"`

	// LinkedCases are the keys of the linked cases the reader may read;
	// filled at read time, never stored.
	LinkedCases []string `bson:"-" json:"linked_cases"`
}

// Summary is a risk as a list shows it: the evidence counts but no case
// keys (a row could otherwise carry thousands) and no changes.
type Summary struct {
	ID            string    `json:"id"`
	Key           string    `json:"key"`
	Title         string    `json:"title"`
	PolicyAreas   []string  `json:"policy_areas"`
	Status        Status    `json:"status"`
	Owner         string    `json:"owner"`
	Discovery     Discovery `json:"discovery"`
	Evidence      Evidence  `json:"evidence"`
	IncidentCount int       `json:"incident_count"`
	OpenChanges   int       `json:"open_changes"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	Version       int64     `json:"version"`
}

var keyPattern = regexp.MustCompile(`^RISK-[0-9]{4}-[0-9]{1,9}$`)

// IsKey reports whether s looks like a risk key (RISK-2026-4).
func IsKey(s string) bool { return keyPattern.MatchString(s) }

// Limits that keep a risk document bounded: 10,000 case snapshots of
// ~250 bytes are ~2.5 MB, well inside MongoDB's 16 MB.
const (
	DefaultMaxLinks = 10000
	maxChanges      = 200
	maxShort        = 300
	maxText         = 20 << 10
	maxList         = 50
	maxUsername     = 64
	maxRef          = 64
)

// validate checks the fields a client sets; areas are the taxonomy's
// policy areas.
func (r *Risk) validate(areas []string) error {
	var f errs.Fields
	f.Text("title", r.Title, maxShort, true)
	f.Text("description", r.Description, maxText, false)
	switch {
	case len(r.PolicyAreas) == 0:
		f.Add("policy_areas", "must name at least one policy area")
	case len(r.PolicyAreas) > maxList:
		f.Add("policy_areas", "must have at most %d entries", maxList)
	}
	for i, a := range r.PolicyAreas {
		if !slices.Contains(areas, a) {
			f.Add(fmt.Sprintf("policy_areas[%d]", i), "%q is not a policy area of the taxonomy", a)
		} else if slices.Index(r.PolicyAreas, a) < i {
			f.Add(fmt.Sprintf("policy_areas[%d]", i), "%q is listed twice", a)
		}
	}
	if !r.Status.Valid() {
		f.Add("status", "must be emerging, monitoring, mitigated or closed")
	}
	checkUsername(&f, "owner", r.Owner)
	if !r.Discovery.Valid() {
		f.Add("discovery", "must be proactive or reactive")
	}
	return f.Err()
}

func (c *Change) validate() error {
	var f errs.Fields
	f.Text("title", c.Title, maxShort, true)
	checkUsername(&f, "owner", c.Owner)
	if !c.Category.Valid() {
		f.Add("category", "must be product, process or policy")
	}
	if !slices.Contains([]rca.ActionItemStatus{rca.ItemOpen, rca.ItemInProgress, rca.ItemDone, rca.ItemWontDo}, c.Status) {
		f.Add("status", "must be open, in_progress, done or wont_do")
	}
	return f.Err()
}

// checkUsername checks the shape of a username; whether the user exists is
// the service's check.
func checkUsername(f *errs.Fields, field, v string) {
	if strings.TrimSpace(v) == "" {
		f.Add(field, "is required")
	} else if len(v) > maxUsername || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		f.Add(field, "is not a username")
	}
}
