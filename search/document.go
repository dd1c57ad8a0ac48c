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
	// TypeReview is a QA review of a decision, with its feedback.
	TypeReview = "qa_review"
	// TypeRisk is an entry of the risk register. It carries no actor
	// identifier and no linked case key, so everyone who reads risks may
	// find every risk.
	TypeRisk = "risk"
)

// searchableTypes are what Search and list views may return.
var searchableTypes = []string{TypeCase, TypeIncident, TypePostmortem, TypeReview, TypeRisk}

// Report document types: facts derived from an incident (one document per
// root cause, action item and mitigation gap) so that reports can count
// them with facets and ranges. They are children of their incident (see
// Change.Children) and only Tally reads them; Search never returns them.
const (
	TypeRootCause     = "root_cause"
	TypeActionItem    = "action_item"
	TypeMitigationGap = "mitigation_gap"
	// TypeDecision is a decision QA knows of (an applied enforcement or a
	// closed case), sampled or not, with its review's outcome.
	TypeDecision = "decision"
)

// TagReversed tags the decision document of an enforcement that was
// reversed after it was applied.
const TagReversed = "reversed"

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

	// Report documents. Their CreatedAt is their incident's start, so that
	// reports slice by when incidents happened.
	//
	// Parent is the id of the document they derive from (a QA review's is
	// its decision).
	Parent string `json:"parent,omitempty"`
	// FixedAt, on a root cause, is when its incident's last action item
	// closed; absent while one is open or there are none.
	FixedAt *time.Time `json:"fixed_at,omitempty"`
	// First marks the first root cause of its subcategory in its incident,
	// so that a facet over first root causes counts incidents.
	First bool `json:"first"`
	// ErrorType is a disagreeing QA review's error type (on decisions and
	// reviews).
	ErrorType string `json:"error_type,omitempty"`
	// Decider made a decision; on a review it decides who may read it (the
	// decider), even when a blind review leaves Assignee empty.
	Decider string `json:"decider,omitempty"`
	// Approval is "pending" on a case with an enforcement proposed and
	// awaiting a lead's decision (the approval inbox filters on it).
	Approval string `json:"approval,omitempty"`
}

// ApprovalPending is Doc.Approval of a case awaiting an approval.
const ApprovalPending = "pending"

// docID is the index key of a document.
func docID(typ, id string) string { return typ + ":" + id }
