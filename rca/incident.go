package rca

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"casefile.dev/casefile/internal/errs"
)

// Severity of an incident: sev0 is the gravest.
type Severity string

// Severities, gravest first.
var Severities = []Severity{"sev0", "sev1", "sev2", "sev3"}

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool { return slices.Contains(Severities, s) }

// Grave incidents (sev0, sev1) require a postmortem.
func (s Severity) Grave() bool { return s == "sev0" || s == "sev1" }

// Status of an incident.
type Status string

const (
	Investigating Status = "investigating"
	Mitigated     Status = "mitigated"
	Resolved      Status = "resolved"
)

var statuses = []Status{Investigating, Mitigated, Resolved}

// Kind separates incidents from issues: an issue (say, an error spike in a
// vendor queue) gets the same RCA but no incident clock or postmortem duty.
type Kind string

const (
	KindIncident Kind = "incident"
	KindIssue    Kind = "issue"
)

// Impact of an incident. AffectedActors is a count: identifiers of actors
// belong on cases, never in an incident that leadership reads.
type Impact struct {
	Text           string   `bson:"text" json:"text"`
	AffectedActors int64    `bson:"affected_actors" json:"affected_actors"`
	ExposureCount  int64    `bson:"exposure_count" json:"exposure_count"`
	Regions        []string `bson:"regions" json:"regions"`
}

// Incident is an incident or issue under root-cause analysis.
type Incident struct {
	ID          string       `bson:"_id" json:"id"`
	Key         string       `bson:"key" json:"key"`
	Kind        Kind         `bson:"kind" json:"kind"`
	Title       string       `bson:"title" json:"title"`
	Severity    Severity     `bson:"severity" json:"severity"`
	Status      Status       `bson:"status" json:"status"`
	StartedAt   time.Time    `bson:"started_at" json:"started_at"`
	DetectedAt  *time.Time   `bson:"detected_at,omitempty" json:"detected_at,omitempty"`
	MitigatedAt *time.Time   `bson:"mitigated_at,omitempty" json:"mitigated_at,omitempty"`
	ResolvedAt  *time.Time   `bson:"resolved_at,omitempty" json:"resolved_at,omitempty"`
	Detection   string       `bson:"detection" json:"detection"`
	Impact      Impact       `bson:"impact" json:"impact"`
	Owner       string       `bson:"owner" json:"owner"`
	LinkedCases []string     `bson:"linked_cases" json:"linked_cases"`
	RCA         RCA          `bson:"rca" json:"rca"`
	ActionItems []ActionItem `bson:"action_items" json:"action_items"`
	CreatedAt   time.Time    `bson:"created_at" json:"created_at"`
	CreatedBy   string       `bson:"created_by" json:"created_by"`
	UpdatedAt   time.Time    `bson:"updated_at" json:"updated_at"`
	Version     int64        `bson:"version" json:"version"`
	Seq         int64        `bson:"seq" json:"-"`

	// Derived at read time.
	TimeToDetect     *Seconds          `bson:"-" json:"time_to_detect,omitempty"`
	TimeToMitigate   *Seconds          `bson:"-" json:"time_to_mitigate,omitempty"`
	TimeToResolve    *Seconds          `bson:"-" json:"time_to_resolve,omitempty"`
	PostmortemStatus *PostmortemStatus `bson:"-" json:"postmortem_status,omitempty"`
	PostmortemDue    *time.Time        `bson:"-" json:"postmortem_due,omitempty"`
	PostmortemLate   bool              `bson:"-" json:"postmortem_overdue"`
}

// Seconds is a duration reported in whole seconds.
type Seconds int64

func since(from time.Time, to *time.Time) *Seconds {
	if to == nil {
		return nil
	}
	s := Seconds(to.Sub(from) / time.Second)
	return &s
}

// derive fills the incident's computed fields.
func (in *Incident) derive() {
	in.TimeToDetect = since(in.StartedAt, in.DetectedAt)
	in.TimeToMitigate = since(in.StartedAt, in.MitigatedAt)
	in.TimeToResolve = since(in.StartedAt, in.ResolvedAt)
}

var (
	incidentKeyPattern = regexp.MustCompile(`^INC-[0-9]{4}-[0-9]{1,9}$`)
	caseKeyPattern     = regexp.MustCompile(`^CF-[0-9]{4}-[0-9]{1,9}$`)
	tokenPattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	regionPattern      = regexp.MustCompile(`^[A-Z]{2}$`)
)

// IsKey reports whether s looks like an incident key (INC-2026-4).
func IsKey(s string) bool { return incidentKeyPattern.MatchString(s) }

const (
	maxShort = 300
	maxText  = 20 << 10
	maxList  = 50
)

// validate checks the fields a client sets.
func (in *Incident) validate() error {
	var f errs.Fields
	if in.Kind != KindIncident && in.Kind != KindIssue {
		f.Add("kind", "must be incident or issue")
	}
	f.Text("title", in.Title, maxShort, true)
	if !in.Severity.Valid() {
		f.Add("severity", "must be one of sev0, sev1, sev2, sev3")
	}
	if !slices.Contains(statuses, in.Status) {
		f.Add("status", "must be investigating, mitigated or resolved")
	}
	if in.StartedAt.IsZero() {
		f.Add("started_at", "is required")
	}
	order := []struct {
		name string
		t    *time.Time
	}{{"detected_at", in.DetectedAt}, {"mitigated_at", in.MitigatedAt}, {"resolved_at", in.ResolvedAt}}
	for _, o := range order {
		if o.t != nil && o.t.Before(in.StartedAt) {
			f.Add(o.name, "must not be before started_at")
		}
	}
	if in.MitigatedAt != nil && in.ResolvedAt != nil && in.ResolvedAt.Before(*in.MitigatedAt) {
		f.Add("resolved_at", "must not be before mitigated_at")
	}
	switch in.Status {
	case Mitigated:
		if in.MitigatedAt == nil {
			f.Add("mitigated_at", "is required once the incident is mitigated")
		}
	case Resolved:
		if in.ResolvedAt == nil {
			f.Add("resolved_at", "is required once the incident is resolved")
		}
	}
	f.Text("detection", in.Detection, maxText, false)
	f.Text("impact.text", in.Impact.Text, maxText, false)
	if in.Impact.AffectedActors < 0 {
		f.Add("impact.affected_actors", "must not be negative")
	}
	if in.Impact.ExposureCount < 0 {
		f.Add("impact.exposure_count", "must not be negative")
	}
	if len(in.Impact.Regions) > maxList {
		f.Add("impact.regions", "must have at most %d entries", maxList)
	}
	for i, r := range in.Impact.Regions {
		if !regionPattern.MatchString(r) {
			f.Add(fmt.Sprintf("impact.regions[%d]", i), "must be an ISO 3166-1 alpha-2 code such as DE")
		}
	}
	if in.Owner != "" && len(in.Owner) > 64 {
		f.Add("owner", "is not a username")
	}
	if len(in.LinkedCases) > maxList {
		f.Add("linked_cases", "must have at most %d entries", maxList)
	}
	for i, k := range in.LinkedCases {
		if !caseKeyPattern.MatchString(k) {
			f.Add(fmt.Sprintf("linked_cases[%d]", i), "must be a case key such as CF-2026-1")
		}
	}
	return f.Err()
}
