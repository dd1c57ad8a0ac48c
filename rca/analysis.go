package rca

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"casefile.dev/casefile/internal/errs"
)

// RCA is the root-cause analysis of an incident or issue.
type RCA struct {
	ProblemStatement    string          `bson:"problem_statement" json:"problem_statement"`
	RootCauses          []RootCause     `bson:"root_causes" json:"root_causes"`
	ContributingFactors []string        `bson:"contributing_factors" json:"contributing_factors"`
	MitigationGaps      []MitigationGap `bson:"mitigation_gaps" json:"mitigation_gaps"`
	UpdatedBy           string          `bson:"updated_by,omitempty" json:"updated_by,omitempty"`
	UpdatedAt           *time.Time      `bson:"updated_at,omitempty" json:"updated_at,omitempty"`
}

// RootCause is one cause, filed under a category by a human. The
// classifier's suggestion is kept beside the human choice so that their
// agreement can be measured.
type RootCause struct {
	Description          string   `bson:"description" json:"description"`
	Category             Category `bson:"category" json:"category"`
	Subcategory          string   `bson:"subcategory" json:"subcategory"`
	Vendor               string   `bson:"vendor,omitempty" json:"vendor,omitempty"`
	FiveWhys             []string `bson:"five_whys,omitempty" json:"five_whys,omitempty"`
	SuggestedCategory    Category `bson:"suggested_category" json:"suggested_category"`
	SuggestionConfidence float64  `bson:"suggestion_confidence" json:"suggestion_confidence"`
}

// MitigationGap is where a mitigation plan or strategy was not enough to
// contain the risk, and why.
type MitigationGap struct {
	Mitigation string `bson:"mitigation" json:"mitigation"`
	Why        string `bson:"why" json:"why"`
}

// Limits that keep an incident document bounded.
const (
	maxRootCauses  = 30
	maxActionItems = 200
)

// validate checks the RCA against the subcategories of the taxonomy.
func (r *RCA) validate(subcategories map[string][]string) error {
	var f errs.Fields
	f.Text("problem_statement", r.ProblemStatement, maxText, true)
	if len(r.RootCauses) > maxRootCauses {
		f.Add("root_causes", "must have at most %d entries", maxRootCauses)
	}
	for i, rc := range r.RootCauses {
		p := fmt.Sprintf("root_causes[%d]", i)
		f.Text(p+".description", rc.Description, 4000, true)
		if !rc.Category.Valid() {
			f.Add(p+".category", "is required: product, process or policy")
		} else if subs := subcategories[string(rc.Category)]; !slices.Contains(subs, rc.Subcategory) {
			f.Add(p+".subcategory", "must be one of %s for %s", strings.Join(subs, ", "), rc.Category)
		}
		if rc.Vendor != "" && !tokenPattern.MatchString(rc.Vendor) {
			f.Add(p+".vendor", "is not a vendor name")
		}
		if len(rc.FiveWhys) > 5 {
			f.Add(p+".five_whys", "has at most five whys")
		}
		for j, w := range rc.FiveWhys {
			f.Text(fmt.Sprintf("%s.five_whys[%d]", p, j), w, 2000, true)
		}
	}
	if len(r.ContributingFactors) > maxList {
		f.Add("contributing_factors", "must have at most %d entries", maxList)
	}
	for i, c := range r.ContributingFactors {
		f.Text(fmt.Sprintf("contributing_factors[%d]", i), c, 4000, true)
	}
	if len(r.MitigationGaps) > maxList {
		f.Add("mitigation_gaps", "must have at most %d entries", maxList)
	}
	for i, g := range r.MitigationGaps {
		f.Text(fmt.Sprintf("mitigation_gaps[%d].mitigation", i), g.Mitigation, 4000, true)
		f.Text(fmt.Sprintf("mitigation_gaps[%d].why", i), g.Why, 4000, true)
	}
	return f.Err()
}

// ActionItemStatus is where a corrective action stands.
type ActionItemStatus string

const (
	ItemOpen       ActionItemStatus = "open"
	ItemInProgress ActionItemStatus = "in_progress"
	ItemDone       ActionItemStatus = "done"
	ItemWontDo     ActionItemStatus = "wont_do"
)

var itemStatuses = []ActionItemStatus{ItemOpen, ItemInProgress, ItemDone, ItemWontDo}

var itemKinds = []string{"prevent", "detect", "mitigate", "process", "policy"}

// ActionItem is a corrective action. RootCause is the index of the root
// cause it addresses, or nil.
type ActionItem struct {
	N         int              `bson:"n" json:"n"`
	Title     string           `bson:"title" json:"title"`
	Owner     string           `bson:"owner" json:"owner"`
	Due       *time.Time       `bson:"due,omitempty" json:"due,omitempty"`
	Status    ActionItemStatus `bson:"status" json:"status"`
	Kind      string           `bson:"kind" json:"kind"`
	RootCause *int             `bson:"root_cause,omitempty" json:"root_cause,omitempty"`
	DoneAt    *time.Time       `bson:"done_at,omitempty" json:"done_at,omitempty"`
	CreatedAt time.Time        `bson:"created_at" json:"created_at"`
	CreatedBy string           `bson:"created_by" json:"created_by"`
	Overdue   bool             `bson:"-" json:"overdue"`
}

// IsOverdue: still open (or in progress) past its due time.
func (a ActionItem) IsOverdue(now time.Time) bool {
	return (a.Status == ItemOpen || a.Status == ItemInProgress) && a.Due != nil && now.After(*a.Due)
}

// Closed reports whether the item needs no more work.
func (a ActionItem) Closed() bool { return a.Status == ItemDone || a.Status == ItemWontDo }

func (a *ActionItem) validate(rootCauses int) error {
	var f errs.Fields
	f.Text("title", a.Title, maxShort, true)
	if a.Owner == "" || len(a.Owner) > 64 {
		f.Add("owner", "is required")
	}
	if !slices.Contains(itemStatuses, a.Status) {
		f.Add("status", "must be open, in_progress, done or wont_do")
	}
	if !slices.Contains(itemKinds, a.Kind) {
		f.Add("kind", "must be one of %s", strings.Join(itemKinds, ", "))
	}
	if a.RootCause != nil && (*a.RootCause < 0 || *a.RootCause >= rootCauses) {
		f.Add("root_cause", "must be the index of one of the RCA's %d root causes", rootCauses)
	}
	return f.Err()
}
