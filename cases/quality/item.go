// Package quality measures decision quality: QA sampling of decisions
// (applied enforcements and closed cases), blind review with feedback to
// the decider, corrections through the enforcement lifecycle, calibration
// sets, scorecards per vendor, team, agent and policy area, and alerts
// when agreement drops.
package quality

import (
	"slices"
	"time"

	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
)

// Item is one decision as QA knows it: every decision is recorded (so
// scorecards can count decisions), and the sampled ones form the queue.
type Item struct {
	// ID is the decision's id (cases.Decided.ID).
	ID            string        `bson:"_id" json:"decision_id"`
	Kind          string        `bson:"kind" json:"kind"`
	CaseID        string        `bson:"case_id" json:"case_id"`
	CaseKey       string        `bson:"case_key" json:"case_key"`
	Decider       string        `bson:"decider" json:"decider,omitempty"`
	Team          string        `bson:"team,omitempty" json:"team,omitempty"`
	Vendor        string        `bson:"vendor,omitempty" json:"vendor,omitempty"`
	Restricted    bool          `bson:"restricted" json:"restricted"`
	PolicyAreas   []string      `bson:"policy_areas" json:"policy_areas"`
	Action        cases.Action  `bson:"action,omitempty" json:"action,omitempty"`
	EnforcementID string        `bson:"enforcement_id,omitempty" json:"enforcement_id,omitempty"`
	Verdict       cases.Verdict `bson:"verdict,omitempty" json:"verdict,omitempty"`
	DecidedAt     time.Time     `bson:"decided_at" json:"decided_at"`
	Draw          `bson:",inline"`
	Review        *Review     `bson:"review,omitempty" json:"review,omitempty"`
	Correction    *Correction `bson:"correction,omitempty" json:"correction,omitempty"`
	// ReversedAt is when the enforcement decided was reversed (by anyone,
	// for any reason): the dashboard's reversal rate counts it.
	ReversedAt *time.Time `bson:"reversed_at,omitempty" json:"reversed_at,omitempty"`
	Version    int64      `bson:"version" json:"version"`
	// Seq orders writes for the search index feed.
	Seq int64 `bson:"seq" json:"-"`
}

// Status is where an item stands: unsampled, pending review, or the
// review's verdict.
func (it *Item) Status() string {
	switch {
	case !it.Sampled:
		return "unsampled"
	case it.Review == nil:
		return "pending"
	}
	return it.Review.Verdict
}

// Verdicts, error types and severities of a review.
const (
	Agree    = "agree"
	Disagree = "disagree"
)

var (
	Verdicts   = []string{Agree, Disagree}
	ErrorTypes = []string{"missed_violation", "over_enforcement", "wrong_policy", "wrong_action", "process_deviation", "evidence_gap"}
	Severities = []string{"minor", "major", "critical"}
)

// Review is a QA reviewer's judgement of a sampled decision.
type Review struct {
	Reviewer  string    `bson:"reviewer" json:"reviewer"`
	Verdict   string    `bson:"verdict" json:"verdict"`
	ErrorType string    `bson:"error_type,omitempty" json:"error_type,omitempty"`
	Severity  string    `bson:"severity,omitempty" json:"severity,omitempty"`
	Feedback  string    `bson:"feedback,omitempty" json:"feedback,omitempty"`
	At        time.Time `bson:"at" json:"at"`
}

// NewReview is the input of a review.
type NewReview struct {
	DecisionID string
	Verdict    string
	ErrorType  string
	Severity   string
	Feedback   string
}

func (r *NewReview) validate() error {
	var f errs.Fields
	f.Text("decision_id", r.DecisionID, 200, true)
	if !slices.Contains(Verdicts, r.Verdict) {
		f.Add("verdict", "must be agree or disagree")
	}
	f.Text("feedback", r.Feedback, 8000, r.Verdict == Disagree)
	if r.Verdict == Disagree {
		if !slices.Contains(ErrorTypes, r.ErrorType) {
			f.Add("error_type", "must be one of missed_violation, over_enforcement, wrong_policy, wrong_action, process_deviation, evidence_gap")
		}
		if !slices.Contains(Severities, r.Severity) {
			f.Add("severity", "must be minor, major or critical")
		}
	} else {
		if r.ErrorType != "" {
			f.Add("error_type", "only a disagreement has an error type")
		}
		if r.Severity != "" {
			f.Add("severity", "only a disagreement has a severity")
		}
	}
	return f.Err()
}

// Correction kinds: reverse the enforcement reviewed, or propose another
// (which then needs approval and application like any proposal).
const (
	CorrectReverse = "reverse"
	CorrectPropose = "propose"
)

// Correction records the enforcement-flow step a disagreement opened.
type Correction struct {
	Kind          string    `bson:"kind" json:"kind"`
	EnforcementID string    `bson:"enforcement_id" json:"enforcement_id"`
	By            string    `bson:"by" json:"by"`
	At            time.Time `bson:"at" json:"at"`
}
