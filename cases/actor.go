package cases

import (
	"slices"
	"time"
)

// Actor is a platform account under investigation. Identity fields come
// from cases; the enforcement history is written as enforcements are
// applied and reversed; everything else is derived at read time.
type Actor struct {
	ActorID     string     `bson:"_id" json:"actor_id"`
	Handle      string     `bson:"handle,omitempty" json:"handle,omitempty"`
	DisplayName string     `bson:"display_name,omitempty" json:"display_name,omitempty"`
	Kind        ActorKind  `bson:"kind,omitempty" json:"kind,omitempty"`
	Region      string     `bson:"region,omitempty" json:"region,omitempty"`
	CreatedAt   *time.Time `bson:"created_at,omitempty" json:"created_at,omitempty"`
	Labels      []string   `bson:"labels" json:"labels"`
	// History is every enforcement applied to the actor, from any case.
	History   []ActorEnforcement `bson:"history" json:"-"`
	FirstSeen time.Time          `bson:"first_seen" json:"first_seen"`
	UpdatedAt time.Time          `bson:"updated_at" json:"updated_at"`
	Version   int64              `bson:"version" json:"version"`
	Seq       int64              `bson:"seq" json:"-"`
}

// ActorEnforcement is one applied enforcement in an actor's history.
type ActorEnforcement struct {
	CaseID        string            `bson:"case_id" json:"case_id"`
	CaseKey       string            `bson:"case_key" json:"case_key"`
	EnforcementID string            `bson:"enforcement_id" json:"enforcement_id"`
	Action        Action            `bson:"action" json:"action"`
	PolicyArea    string            `bson:"policy_area" json:"policy_area"`
	Status        EnforcementStatus `bson:"status" json:"status"`
	AppliedAt     time.Time         `bson:"applied_at" json:"applied_at"`
	ExpiresAt     *time.Time        `bson:"expires_at,omitempty" json:"expires_at,omitempty"`
	Strike        bool              `bson:"strike" json:"strike"`
	ReversedAt    *time.Time        `bson:"reversed_at,omitempty" json:"reversed_at,omitempty"`
}

// restricting are the actions that limit what an actor can do while in force.
var restricting = []Action{FeatureRestriction, TemporarySuspension, PermanentBan}

// ActiveStrikes counts strikes not reversed and younger than the ladder's TTL.
func (a *Actor) ActiveStrikes(ttl time.Duration, now time.Time) int {
	n := 0
	for _, h := range a.History {
		if h.Strike && h.Status != Reversed && now.Before(h.AppliedAt.Add(ttl)) {
			n++
		}
	}
	return n
}

// PriorOffences counts enforcements applied to the actor (not reversed)
// within the strike window, with or without a strike.
func (a *Actor) PriorOffences(ttl time.Duration, now time.Time) int {
	n := 0
	for _, h := range a.History {
		if h.Status != Reversed && now.Before(h.AppliedAt.Add(ttl)) {
			n++
		}
	}
	return n
}

// ActiveRestrictions lists restricting actions in force at now.
func (a *Actor) ActiveRestrictions(now time.Time) []ActorEnforcement {
	out := []ActorEnforcement{}
	for _, h := range a.History {
		if h.Status != Applied || !slices.Contains(restricting, h.Action) {
			continue
		}
		if h.ExpiresAt != nil && !now.Before(*h.ExpiresAt) {
			continue
		}
		out = append(out, h)
	}
	return out
}

// Risk score weights; see RiskScore.
const (
	riskPerStrike        = 20
	riskPerRecentAction  = 5
	recentActionWindow   = 30 * 24 * time.Hour
	riskBannedFloor      = 100
	riskSuspendedFloor   = 60
	riskScoreCeiling     = 100
	riskRestrictedAction = 10
)

var riskPerOpenCase = map[Severity]int{Sev1: 25, Sev2: 15, Sev3: 8, Sev4: 3}

// RiskScore is a 0–100 indicator of how much attention an actor needs:
//
//	20 × active strikes
//	+ per open case by severity: sev1 25, sev2 15, sev3 8, sev4 3
//	+ 5 × enforcements applied in the last 30 days (not reversed)
//	+ 10 per restriction in force
//
// capped at 100; an actor under an active permanent ban scores 100 and one
// under an active suspension at least 60. openCases are the severities of
// the actor's cases that are not closed.
func (a *Actor) RiskScore(ttl time.Duration, openCases []Severity, now time.Time) int {
	score := riskPerStrike * a.ActiveStrikes(ttl, now)
	for _, s := range openCases {
		score += riskPerOpenCase[s]
	}
	for _, h := range a.History {
		if h.Status != Reversed && now.Sub(h.AppliedAt) < recentActionWindow {
			score += riskPerRecentAction
		}
	}
	floor := 0
	for _, r := range a.ActiveRestrictions(now) {
		score += riskRestrictedAction
		switch r.Action {
		case PermanentBan:
			floor = riskBannedFloor
		case TemporarySuspension:
			floor = max(floor, riskSuspendedFloor)
		}
	}
	return min(riskScoreCeiling, max(score, floor))
}

// TimelineEntry is a note or an automatic event on a case.
type TimelineEntry struct {
	N      int               `bson:"n" json:"n"`
	At     time.Time         `bson:"at" json:"at"`
	Author string            `bson:"author" json:"author"`
	Kind   string            `bson:"kind" json:"kind"`
	Text   string            `bson:"text,omitempty" json:"text,omitempty"`
	Detail map[string]string `bson:"detail,omitempty" json:"detail,omitempty"`
}

// Timeline entry kinds.
const (
	EventNote        = "note"
	EventCreated     = "created"
	EventStatus      = "status"
	EventAssignment  = "assignment"
	EventEvidence    = "evidence"
	EventEnforcement = "enforcement"
	EventEdit        = "edit"
)
