package cases

import (
	"fmt"
	"slices"
	"time"

	"casefile.dev/casefile/internal/errs"
)

// Action is a penalty on an actor.
type Action string

const (
	Warning             Action = "warning"
	ContentRemoval      Action = "content_removal"
	FeatureRestriction  Action = "feature_restriction"
	TemporarySuspension Action = "temporary_suspension"
	PermanentBan        Action = "permanent_ban"
)

// Actions lists every action, mildest first.
var Actions = []Action{Warning, ContentRemoval, FeatureRestriction, TemporarySuspension, PermanentBan}

// Valid reports whether a is a known action.
func (a Action) Valid() bool { return slices.Contains(Actions, a) }

// needsLeadApproval: actions no one may apply on their own say.
func (a Action) needsLeadApproval() bool { return a == TemporarySuspension || a == PermanentBan }

// timed: actions that run for a duration and then expire.
func (a Action) timed() bool { return a == FeatureRestriction || a == TemporarySuspension }

// EnforcementStatus is where an enforcement is in its lifecycle.
type EnforcementStatus string

const (
	Proposed EnforcementStatus = "proposed"
	Approved EnforcementStatus = "approved"
	Rejected EnforcementStatus = "rejected"
	Applied  EnforcementStatus = "applied"
	Reversed EnforcementStatus = "reversed"
	Expired  EnforcementStatus = "expired"
)

// Enforcement is a penalty proposed on a case.
type Enforcement struct {
	ID            string            `bson:"id" json:"id"`
	Action        Action            `bson:"action" json:"action"`
	Duration      Duration          `bson:"duration,omitempty" json:"duration,omitempty"`
	Features      []string          `bson:"features,omitempty" json:"features,omitempty"`
	PolicyArea    string            `bson:"policy_area" json:"policy_area"`
	Reason        string            `bson:"reason" json:"reason"`
	Justification string            `bson:"justification,omitempty" json:"justification,omitempty"`
	Recommended   Recommendation    `bson:"recommended" json:"recommended"`
	Status        EnforcementStatus `bson:"status" json:"status"`
	ProposedBy    string            `bson:"proposed_by" json:"proposed_by"`
	ProposedAt    time.Time         `bson:"proposed_at" json:"proposed_at"`
	DecidedBy     string            `bson:"decided_by,omitempty" json:"decided_by,omitempty"`
	DecidedAt     *time.Time        `bson:"decided_at,omitempty" json:"decided_at,omitempty"`
	DecisionNote  string            `bson:"decision_note,omitempty" json:"decision_note,omitempty"`
	AppliedBy     string            `bson:"applied_by,omitempty" json:"applied_by,omitempty"`
	AppliedAt     *time.Time        `bson:"applied_at,omitempty" json:"applied_at,omitempty"`
	ExpiresAt     *time.Time        `bson:"expires_at,omitempty" json:"expires_at,omitempty"`
	// Strike is whether applying it added a strike to the actor.
	Strike         bool       `bson:"strike" json:"strike"`
	ReversedBy     string     `bson:"reversed_by,omitempty" json:"reversed_by,omitempty"`
	ReversedAt     *time.Time `bson:"reversed_at,omitempty" json:"reversed_at,omitempty"`
	ReversalReason string     `bson:"reversal_reason,omitempty" json:"reversal_reason,omitempty"`
}

// EffectiveStatus is Status with time applied: an applied timed action past
// its expiry reads as expired, without anyone having to write that down.
func (e Enforcement) EffectiveStatus(now time.Time) EnforcementStatus {
	if e.Status == Applied && e.ExpiresAt != nil && !now.Before(*e.ExpiresAt) {
		return Expired
	}
	return e.Status
}

// LadderStep is the action recommended at a number of active strikes.
type LadderStep struct {
	Strikes  int      `bson:"strikes" json:"strikes"`
	Action   Action   `bson:"action" json:"action"`
	Duration Duration `bson:"duration,omitempty" json:"duration,omitempty"`
}

// Ladder is a strike ladder: which action to recommend for the next
// violation given the actor's active strikes.
type Ladder struct {
	// Steps sorted by Strikes; the last step applies to every count above it.
	Steps []LadderStep `bson:"steps" json:"steps"`
	// StrikeTTL is how long a strike stays active.
	StrikeTTL Duration `bson:"strike_ttl" json:"strike_ttl"`
	// ImmediateBan lists policy areas where a violation recommends
	// permanent_ban at once, whatever the strikes.
	ImmediateBan []string `bson:"immediate_ban" json:"immediate_ban"`
}

// DefaultLadder is DOMAIN.md's ladder.
func DefaultLadder() Ladder {
	day := 24 * time.Hour
	return Ladder{
		Steps: []LadderStep{
			{Strikes: 0, Action: Warning},
			{Strikes: 1, Action: FeatureRestriction, Duration: Duration(7 * day)},
			{Strikes: 2, Action: TemporarySuspension, Duration: Duration(30 * day)},
			{Strikes: 3, Action: PermanentBan},
		},
		StrikeTTL:    Duration(90 * day),
		ImmediateBan: []string{"child_safety", "violent_extremism"},
	}
}

func (l Ladder) validate(field string, f *errs.Fields) {
	if len(l.Steps) == 0 || l.Steps[0].Strikes != 0 {
		f.Add(field+".steps", "must start with a step at 0 strikes")
	}
	for i, s := range l.Steps {
		if i > 0 && s.Strikes <= l.Steps[i-1].Strikes {
			f.Add(fmt.Sprintf("%s.steps[%d]", field, i), "strikes must increase")
		}
		if !s.Action.Valid() {
			f.Add(fmt.Sprintf("%s.steps[%d].action", field, i), "is not an action")
		}
		if s.Action.timed() && s.Duration <= 0 {
			f.Add(fmt.Sprintf("%s.steps[%d].duration", field, i), "is required for %s", s.Action)
		}
	}
	if l.StrikeTTL <= 0 {
		f.Add(field+".strike_ttl", "must be positive")
	}
}

// Recommendation is the action the ladder recommends, and why.
type Recommendation struct {
	Action        Action   `bson:"action" json:"action"`
	Duration      Duration `bson:"duration,omitempty" json:"duration,omitempty"`
	ActiveStrikes int      `bson:"active_strikes" json:"active_strikes"`
	PolicyArea    string   `bson:"policy_area" json:"policy_area"`
	Rule          string   `bson:"rule" json:"rule"`
}

// Recommend applies the ladder for a violation in area by an actor with
// activeStrikes. immediate is whether the case's verdict is "violation" in
// one of the ladder's immediate-ban areas.
func (l Ladder) Recommend(area string, activeStrikes int, verdict Verdict) Recommendation {
	r := Recommendation{ActiveStrikes: activeStrikes, PolicyArea: area}
	if verdict == VerdictViolation && slices.Contains(l.ImmediateBan, area) {
		r.Action = PermanentBan
		r.Rule = fmt.Sprintf("%s with verdict violation: permanent_ban at once", area)
		return r
	}
	step := l.Steps[0]
	for _, s := range l.Steps {
		if activeStrikes >= s.Strikes {
			step = s
		}
	}
	r.Action, r.Duration = step.Action, step.Duration
	more := ""
	if step == l.Steps[len(l.Steps)-1] && len(l.Steps) > 1 {
		more = " or more"
	}
	r.Rule = fmt.Sprintf("%d active strike(s): the ladder's step at %d%s recommends %s", activeStrikes, step.Strikes, more, step.Action)
	if step.Duration > 0 {
		r.Rule += " for " + formatDuration(step.Duration.D())
	}
	return r
}

// departsFrom reports whether a proposal differs from the recommendation,
// and so needs a justification. A milder action or shorter duration departs
// as much as a harsher one.
func (e Enforcement) departsFrom(r Recommendation) bool {
	if e.Action != r.Action {
		return true
	}
	return e.Action.timed() && e.Duration != r.Duration
}

// addsStrike: every applied action adds one strike, except a warning on a
// first offence. priorOffences counts the actor's enforcements applied (and
// not reversed) within the strike window: a second warning is no first
// offence, so repeated warnings escalate instead of repeating forever.
func addsStrike(a Action, priorOffences int) bool {
	return !(a == Warning && priorOffences == 0)
}

// formatDuration writes whole days as "30d", anything else as Go does.
func formatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
