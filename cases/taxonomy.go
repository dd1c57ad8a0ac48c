package cases

import (
	"fmt"
	"slices"
	"time"

	"casefile.dev/casefile/internal/errs"
)

// Severity of a case: sev1 is critical, sev4 low.
type Severity string

const (
	Sev1 Severity = "sev1"
	Sev2 Severity = "sev2"
	Sev3 Severity = "sev3"
	Sev4 Severity = "sev4"
)

// Severities lists every severity, gravest first.
var Severities = []Severity{Sev1, Sev2, Sev3, Sev4}

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool { return slices.Contains(Severities, s) }

// Rank is 1 for sev1 … 4 for sev4 (for sorting and ranges).
func (s Severity) Rank() int { return slices.Index(Severities, s) + 1 }

// Source channels by kind.
var sourceChannels = map[string][]string{
	"proactive": {"automated_detection", "proactive_sweep", "risk_discovery"},
	"reactive":  {"user_report", "internal_escalation", "regulator", "press", "partner"},
}

// DefaultPolicyAreas ship with Casefile; admins may change the list.
var DefaultPolicyAreas = []string{
	"fraud_scam", "spam", "fake_engagement", "impersonation", "harassment", "hate_speech",
	"violent_extremism", "child_safety", "self_harm", "regulated_goods", "misinformation",
	"ip_infringement", "privacy", "fake_reviews", "fraudulent_merchant",
}

// SLATarget is how long each clock of a case may run.
type SLATarget struct {
	Triage  Duration `bson:"triage" json:"triage"`
	Resolve Duration `bson:"resolve" json:"resolve"`
}

// Taxonomy is the run-time configurable vocabulary of cases.
type Taxonomy struct {
	PolicyAreas []string               `bson:"policy_areas" json:"policy_areas"`
	SLA         map[Severity]SLATarget `bson:"sla" json:"sla"`
	// Ladder is the default strike ladder; LadderByArea overrides it for
	// some policy areas.
	Ladder       Ladder            `bson:"ladder" json:"ladder"`
	LadderByArea map[string]Ladder `bson:"ladder_by_area,omitempty" json:"ladder_by_area,omitempty"`
	// Subcategories of root causes per category (product, process,
	// policy). Package rca reads them; they live here so that the whole
	// taxonomy is one document with one version.
	Subcategories map[string][]string `bson:"subcategories" json:"subcategories"`
}

// rootCauseCategories are the fixed categories every root cause is filed under.
var rootCauseCategories = []string{"product", "process", "policy"}

// DefaultTaxonomy is what a new installation starts with (DOMAIN.md).
func DefaultTaxonomy() Taxonomy {
	h := func(n int) Duration { return Duration(time.Duration(n) * time.Hour) }
	return Taxonomy{
		PolicyAreas: slices.Clone(DefaultPolicyAreas),
		SLA: map[Severity]SLATarget{
			Sev1: {Triage: h(1), Resolve: h(24)},
			Sev2: {Triage: h(4), Resolve: h(72)},
			Sev3: {Triage: h(24), Resolve: h(7 * 24)},
			Sev4: {Triage: h(72), Resolve: h(14 * 24)},
		},
		Ladder: DefaultLadder(),
		Subcategories: map[string][]string{
			"product": {"bug", "tooling_gap", "detection_gap", "model_quality", "infrastructure"},
			"process": {"sop_gap", "training_gap", "human_error", "handoff", "capacity", "vendor_execution"},
			"policy":  {"policy_gap", "ambiguous_policy", "outdated_policy", "conflicting_guidance"},
		},
	}
}

// LadderFor is the ladder that applies to a policy area.
func (t Taxonomy) LadderFor(area string) Ladder {
	if l, ok := t.LadderByArea[area]; ok {
		return l
	}
	return t.Ladder
}

// Validate checks a taxonomy an admin wants to store.
func (t Taxonomy) Validate() error {
	var f errs.Fields
	if len(t.PolicyAreas) == 0 {
		f.Add("policy_areas", "must list at least one policy area")
	}
	seen := map[string]bool{}
	for i, a := range t.PolicyAreas {
		if !tokenPattern.MatchString(a) || seen[a] {
			f.Add(fmt.Sprintf("policy_areas[%d]", i), "must be a unique lower_snake_case name")
		}
		seen[a] = true
	}
	for _, s := range Severities {
		target, ok := t.SLA[s]
		if !ok || target.Triage <= 0 || target.Resolve < target.Triage {
			f.Add("sla."+string(s), "needs a positive triage time no longer than the resolve time")
		}
	}
	for s := range t.SLA { // other keys would be stored as field names ("$ne", "a.b")
		if !s.Valid() {
			f.Add("sla."+string(s), "is not a severity")
		}
	}
	for _, cat := range rootCauseCategories {
		subs := t.Subcategories[cat]
		if len(subs) == 0 {
			f.Add("subcategories."+cat, "must list at least one subcategory")
		}
		for i, sub := range subs {
			if !tokenPattern.MatchString(sub) {
				f.Add(fmt.Sprintf("subcategories.%s[%d]", cat, i), "must be lower_snake_case")
			}
		}
	}
	for cat := range t.Subcategories {
		if !slices.Contains(rootCauseCategories, cat) {
			f.Add("subcategories."+cat, "categories are product, process and policy")
		}
	}
	// A ladder's immediate-ban list names policy areas: anything else
	// would be stored and shown verbatim yet could never match a case.
	checkBans := func(field string, l Ladder) {
		for i, area := range l.ImmediateBan {
			if !seen[area] {
				f.Add(fmt.Sprintf("%s.immediate_ban[%d]", field, i), "is not a policy area")
			}
		}
	}
	t.Ladder.validate("ladder", &f)
	checkBans("ladder", t.Ladder)
	for area, l := range t.LadderByArea {
		if !seen[area] {
			f.Add("ladder_by_area."+area, "is not a policy area")
		}
		l.validate("ladder_by_area."+area, &f)
		checkBans("ladder_by_area."+area, l)
	}
	return f.Err()
}

// Duration is a time.Duration that reads and writes as "72h" in JSON.
type Duration time.Duration

// D converts to time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalText() ([]byte, error) { return []byte(formatDuration(time.Duration(d))), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// parseDuration accepts Go durations plus whole days ("30d").
func parseDuration(s string) (time.Duration, error) {
	if n := len(s); n > 1 && s[n-1] == 'd' {
		var days int
		if _, err := fmt.Sscanf(s[:n-1], "%d", &days); err == nil && fmt.Sprint(days) == s[:n-1] && days > 0 && days <= 36500 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration like 72h or 30d", s)
	}
	return d, nil
}
