package quality

import (
	"crypto/sha256"
	"encoding/binary"
	"regexp"
	"slices"
	"strconv"
	"time"

	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
)

// Rules is the sampling configuration: one document, edited whole (PUT
// /qa/rules with If-Match) like the taxonomy.
type Rules struct {
	// Seed keys the sampling hash. It is generated once and kept, so that
	// a decision's fate can be recomputed at any time; changing it
	// re-draws every future sample.
	Seed  string `bson:"seed" json:"seed"`
	Rules []Rule `bson:"rules" json:"rules"`
	// AlertDrop is the fall in weekly agreement rate (0–1, e.g. 0.15 for 15
	// points) that raises a quality alert.
	AlertDrop float64 `bson:"alert_drop" json:"alert_drop"`
	// AlertMinReviews is how many reviews each of the two weeks needs
	// before a drop counts (a small sample says little).
	AlertMinReviews int   `bson:"alert_min_reviews" json:"alert_min_reviews"`
	Version         int64 `bson:"version" json:"version"`
}

// Rule samples the decisions in its scope. An empty scope field matches
// everything.
type Rule struct {
	ID         string `bson:"id" json:"id"`
	Vendor     string `bson:"vendor,omitempty" json:"vendor,omitempty"`
	Team       string `bson:"team,omitempty" json:"team,omitempty"`
	PolicyArea string `bson:"policy_area,omitempty" json:"policy_area,omitempty"`
	// Rate is the share of decisions sampled, 0–1.
	Rate float64 `bson:"rate" json:"rate"`
	// AlwaysActions are enforcement actions always sampled (e.g.
	// permanent_ban).
	AlwaysActions []cases.Action `bson:"always_actions" json:"always_actions"`
	// NewDeciderDays: every decision by a user whose account is younger
	// than this many days is sampled (0: off).
	NewDeciderDays int `bson:"new_decider_days" json:"new_decider_days"`
	// Blind hides the decider from reviewers.
	Blind bool `bson:"blind" json:"blind"`
}

// DefaultRules sample 5% of everything, every permanent ban and every
// decision of a user's first 30 days, blind.
func DefaultRules(seed string) Rules {
	return Rules{Seed: seed, AlertDrop: 0.15, AlertMinReviews: 5, Rules: []Rule{{
		ID: "default", Rate: 0.05, AlwaysActions: []cases.Action{cases.PermanentBan}, NewDeciderDays: 30, Blind: true,
	}}}
}

const maxRules = 200

var (
	tokenPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	seedPattern  = regexp.MustCompile(`^[0-9a-f]{16,128}$`)
)

func (r *Rules) validate() error {
	var f errs.Fields
	if !seedPattern.MatchString(r.Seed) {
		f.Add("seed", "must be 16 to 128 lowercase hex digits")
	}
	if r.AlertDrop <= 0 || r.AlertDrop > 1 {
		f.Add("alert_drop", "must be more than 0 and at most 1")
	}
	if r.AlertMinReviews < 1 || r.AlertMinReviews > 10_000 {
		f.Add("alert_min_reviews", "must be from 1 to 10000")
	}
	if len(r.Rules) > maxRules {
		f.Add("rules", "at most %d rules", maxRules)
	}
	ids := map[string]bool{}
	for i, rule := range r.Rules {
		at := func(name string) string { return "rules[" + strconv.Itoa(i) + "]." + name }
		if !tokenPattern.MatchString(rule.ID) || ids[rule.ID] {
			f.Add(at("id"), "must be a unique lowercase token")
		}
		ids[rule.ID] = true
		for name, v := range map[string]string{"vendor": rule.Vendor, "team": rule.Team, "policy_area": rule.PolicyArea} {
			if v != "" && !tokenPattern.MatchString(v) {
				f.Add(at(name), "must be a lowercase token")
			}
		}
		if !(rule.Rate >= 0 && rule.Rate <= 1) { // NaN fails both
			f.Add(at("rate"), "must be from 0 to 1")
		}
		for _, a := range rule.AlwaysActions {
			if !a.Valid() {
				f.Add(at("always_actions"), "%q is not an enforcement action", a)
			}
		}
		if rule.NewDeciderDays < 0 || rule.NewDeciderDays > 3650 {
			f.Add(at("new_decider_days"), "must be from 0 to 3650")
		}
	}
	return f.Err()
}

// Sample reasons.
const (
	ReasonRate       = "rate"
	ReasonAction     = "always_action"
	ReasonNewDecider = "new_decider"
)

// Draw is the sampling outcome of one decision.
type Draw struct {
	Sampled bool   `bson:"sampled" json:"sampled"`
	Reason  string `bson:"reason,omitempty" json:"reason,omitempty"`
	Rule    string `bson:"rule,omitempty" json:"rule,omitempty"`
	Blind   bool   `bson:"blind" json:"blind"`
}

// Sample decides whether d enters the QA queue: a pure function of the
// rules, the decision and the decider's account age, so a replay gives the
// same answer. Every rule whose scope matches is asked; the decision is
// sampled when one of them always samples it, or when its hash point
// falls under a matching rule's rate. One hash point per decision (not per
// rule) means overlapping rules sample at the highest of their rates, not
// more. It is blind when any matching rule is.
func (r *Rules) Sample(d cases.Decided, deciderSince time.Time) Draw {
	var out Draw
	point := hashPoint(r.Seed, d.ID)
	for _, rule := range r.Rules {
		if !rule.matches(d) {
			continue
		}
		out.Blind = out.Blind || rule.Blind
		if out.Sampled {
			continue
		}
		switch {
		case d.Action != "" && slices.Contains(rule.AlwaysActions, d.Action):
			out.Sampled, out.Reason, out.Rule = true, ReasonAction, rule.ID
		case rule.NewDeciderDays > 0 && !deciderSince.IsZero() && d.At.Sub(deciderSince) < time.Duration(rule.NewDeciderDays)*24*time.Hour:
			out.Sampled, out.Reason, out.Rule = true, ReasonNewDecider, rule.ID
		case point < rule.Rate:
			out.Sampled, out.Reason, out.Rule = true, ReasonRate, rule.ID
		}
	}
	return out
}

func (rule Rule) matches(d cases.Decided) bool {
	return (rule.Vendor == "" || rule.Vendor == d.Vendor) &&
		(rule.Team == "" || rule.Team == d.Team) &&
		(rule.PolicyArea == "" || slices.Contains(d.PolicyAreas, rule.PolicyArea))
}

// hashPoint maps (seed, id) to [0, 1) uniformly: the first 53 bits of
// SHA-256(seed NUL id).
func hashPoint(seed, id string) float64 {
	sum := sha256.Sum256([]byte(seed + "\x00" + id))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}
