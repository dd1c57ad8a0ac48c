// Package search is Casefile's Bleve index: the mapping, the feed that keeps
// it in step with MongoDB, permission-aware queries with facets and
// highlights, list views and similar items.
//
// MongoDB is the system of record; the index is derived and can always be
// rebuilt from it. The package sees domain objects only as Doc values,
// produced by a Source the wiring supplies.
package search

import "time"

// Document types.
const (
	TypeCase       = "case"
	TypeIncident   = "incident"
	TypePostmortem = "postmortem"
)

// Doc is one searchable document. The json names are the index's fields.
type Doc struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Key  string `json:"key"`
	// Seq is the store's write stamp of the version indexed.
	Seq int64 `json:"seq"`

	Title      string `json:"title"`
	Summary    string `json:"summary"`
	Body       string `json:"body"`
	Notes      string `json:"notes"`
	Evidence   string `json:"evidence"`
	RootCauses string `json:"root_causes"`

	Status   string `json:"status"`
	Severity string `json:"severity"`
	// Gravity orders severities: higher is graver (case sev1 = 4 … sev4 =
	// 1; incident sev0 = 5 … sev3 = 2).
	Gravity             float64  `json:"gravity"`
	PolicyAreas         []string `json:"policy_area"`
	RootCauseCategories []string `json:"root_cause_category"`
	Subcategories       []string `json:"subcategory"`
	Tags                []string `json:"tag"`
	Team                string   `json:"team"`
	Vendor              string   `json:"vendor"`
	Assignee            string   `json:"assignee"`
	ActorID             string   `json:"actor_id"`
	SourceKind          string   `json:"source_kind"`

	// Visibility.
	Restricted bool `json:"restricted"`
	Published  bool `json:"published"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Month is created_at as "2006-01", for the month facet.
	Month string `json:"month"`
	// SLA marks of a case (see cases.SLAMarks): the running clock's due and
	// at-risk instants, and whether a stopped clock breached.
	Due      *time.Time `json:"due,omitempty"`
	AtRisk   *time.Time `json:"at_risk,omitempty"`
	Breached bool       `json:"breached"`
}

// docID is the index key of a document.
func docID(typ, id string) string { return typ + ":" + id }
