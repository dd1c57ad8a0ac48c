package quality

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/search"
)

// Interval is a proportion's 95% confidence interval.
type Interval struct {
	Rate float64 `json:"rate"`
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Wilson is the Wilson score interval at 95% for k successes in n trials:
// unlike the normal approximation it stays inside [0, 1] and is honest
// for the small samples QA works with. n = 0 gives nil (no estimate).
func Wilson(k, n int) *Interval {
	if n <= 0 {
		return nil
	}
	const z = 1.959963984540054
	p, nf := float64(k)/float64(n), float64(n)
	denom := 1 + z*z/nf
	center := (p + z*z/(2*nf)) / denom
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / denom
	return &Interval{Rate: p, Low: max(0, center-half), High: min(1, center+half)}
}

// Groupings of a scorecard, and the index field of each.
var groupFields = map[string]string{"vendor": "vendor", "team": "team", "agent": "assignee", "policy_area": "policy_area"}

// Scorecard is one group's quality.
type Scorecard struct {
	Group      string         `json:"group"`
	Decisions  int            `json:"decisions"`
	Sampled    int            `json:"sampled"`
	Reviewed   int            `json:"reviewed"`
	Agreed     int            `json:"agreed"`
	Agreement  *Interval      `json:"agreement"`
	ErrorTypes map[string]int `json:"error_types"`
	// Cases and SLA adherence: the group's cases created in the period,
	// and the share of them whose SLA is not breached now.
	Cases        int      `json:"cases"`
	SLABreached  int      `json:"sla_breached"`
	SLAAdherence *float64 `json:"sla_adherence"`
	// Calibration is the mean score of the group's submitted calibration
	// assignments in the period.
	Calibration *CalibrationScore `json:"calibration,omitempty"`
	// RootCauses attributed to the vendor (vendor_execution, human_error);
	// only vendors are named on root causes.
	RootCauses map[string]int `json:"root_causes,omitempty"`
	Trend      []Week         `json:"trend"`
}

// Week is one week of a trend: reviews of decisions made that week.
type Week struct {
	Start     time.Time `json:"start"`
	Reviewed  int       `json:"reviewed"`
	Agreed    int       `json:"agreed"`
	Agreement *Interval `json:"agreement"`
}

// ScorecardQuery selects scorecards.
type ScorecardQuery struct {
	By       string // vendor, team, agent, policy_area
	Group    string // one group only ("" = all)
	From, To time.Time
}

// attributedSubcategories are the root-cause classes that name a vendor's
// execution.
var attributedSubcategories = []string{"process/vendor_execution", "process/human_error"}

// maxGroups bounds the groups of one scorecard report.
const maxGroups = 500

// Scorecards computes scorecards from the search index: decisions per
// group and outcome are facets over the index's decision documents, SLA
// adherence facets over cases, attributed root causes facets over root
// causes, the trend date-range facets per group. Readers of reports see
// every group; a vendor agent only their own vendor's card, and another
// vendor's is NotFound.
func (s *Service) Scorecards(ctx context.Context, u *auth.User, q ScorecardQuery) ([]Scorecard, error) {
	field, ok := groupFields[q.By]
	if !ok {
		return nil, &errs.Error{Code: errs.Invalid, Message: "unknown grouping", Fields: []errs.FieldError{{Field: "by", Message: "must be vendor, team, agent or policy_area"}}}
	}
	if !auth.Can(u, auth.ReadReports, auth.Resource{}) {
		if q.By == "vendor" && q.Group == "" && u.Role == auth.RoleVendorAgent {
			q.Group = u.Vendor // a vendor agent's vendor report is their own card
		}
		if u.Role != auth.RoleVendorAgent {
			return nil, errs.E(errs.Forbidden, "your role may not read scorecards")
		}
		// Another vendor's card does not exist, as far as a vendor agent
		// can tell.
		if u.Vendor == "" || q.By != "vendor" || q.Group != u.Vendor {
			return nil, errs.E(errs.NotFound, "scorecard not found")
		}
	}
	if s.tally == nil {
		return nil, errNoTally
	}
	// The permission decision is made above; the counts are the whole
	// group's, whoever asks.
	sys := &auth.System
	period := search.Range{Field: "created_at", From: q.From, To: q.To}
	terms := func(extra map[string][]string) map[string][]string {
		t := map[string][]string{}
		if q.Group != "" {
			t[field] = []string{q.Group}
		}
		for k, v := range extra {
			t[k] = v
		}
		return t
	}
	count := func(types []string, extra map[string][]string, sla string) (map[string]int, error) {
		res, err := s.tally.Tally(ctx, sys, search.Tally{Types: types, Terms: terms(extra), Ranges: []search.Range{period},
			SLAState: sla, Now: s.now(), Facets: map[string]search.Facet{"g": {Field: field, Size: maxGroups}}})
		if err != nil {
			return nil, err
		}
		out := map[string]int{}
		for _, f := range res.Facets["g"] {
			out[f.Term] = f.Count
		}
		return out, nil
	}
	decision := []string{search.TypeDecision}
	decisions, err := count(decision, nil, "")
	if err != nil {
		return nil, err
	}
	sampled, err := count(decision, map[string][]string{"status": {"pending", Agree, Disagree}}, "")
	if err != nil {
		return nil, err
	}
	reviewed, err := count(decision, map[string][]string{"status": {Agree, Disagree}}, "")
	if err != nil {
		return nil, err
	}
	agreed, err := count(decision, map[string][]string{"status": {Agree}}, "")
	if err != nil {
		return nil, err
	}
	byError := map[string]map[string]int{}
	for _, et := range ErrorTypes {
		if byError[et], err = count(decision, map[string][]string{"error_type": {et}}, ""); err != nil {
			return nil, err
		}
	}
	casesOf, err := count([]string{search.TypeCase}, nil, "")
	if err != nil {
		return nil, err
	}
	breached, err := count([]string{search.TypeCase}, nil, "breached")
	if err != nil {
		return nil, err
	}
	rootCauses := map[string]map[string]int{}
	if q.By == "vendor" {
		for _, sub := range attributedSubcategories {
			if rootCauses[sub], err = count([]string{search.TypeRootCause}, map[string][]string{"subcategory": {sub}}, ""); err != nil {
				return nil, err
			}
		}
	}
	var calibration map[string]CalibrationScore
	if q.By != "policy_area" {
		if calibration, err = s.CalibrationScores(ctx, q.By, q.From, q.To); err != nil {
			return nil, err
		}
	}

	groups := map[string]bool{}
	for _, m := range []map[string]int{decisions, casesOf} {
		for g := range m {
			groups[g] = true
		}
	}
	if q.Group != "" {
		groups = map[string]bool{q.Group: true}
	}
	out := []Scorecard{}
	for g := range groups {
		if g == "" {
			continue
		}
		sc := Scorecard{Group: g, Decisions: decisions[g], Sampled: sampled[g], Reviewed: reviewed[g], Agreed: agreed[g],
			Agreement: Wilson(agreed[g], reviewed[g]), ErrorTypes: map[string]int{}, Cases: casesOf[g], SLABreached: breached[g]}
		for et, m := range byError {
			if m[g] > 0 {
				sc.ErrorTypes[et] = m[g]
			}
		}
		if sc.Cases > 0 {
			v := 1 - float64(sc.SLABreached)/float64(sc.Cases)
			sc.SLAAdherence = &v
		}
		if q.By == "vendor" {
			sc.RootCauses = map[string]int{}
			for sub, m := range rootCauses {
				sc.RootCauses[sub[len("process/"):]] = m[g]
			}
		}
		if c, ok := calibration[g]; ok {
			sc.Calibration = &c
		}
		if sc.Trend, err = s.trend(ctx, sys, field, g, q.From, q.To); err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	slices.SortFunc(out, func(a, b Scorecard) int {
		if c := cmp.Compare(b.Decisions, a.Decisions); c != 0 {
			return c
		}
		return cmp.Compare(a.Group, b.Group)
	})
	return out, nil
}

// maxTrendWeeks bounds a trend (two years).
const maxTrendWeeks = 104

// trend is the group's weekly agreement: reviewed and agreed decisions per
// week of decision, from the first reviewed decision (or from) to the last
// (or to), at most maxTrendWeeks ending with the last.
func (s *Service) trend(ctx context.Context, sys *auth.User, field, group string, from, to time.Time) ([]Week, error) {
	base := search.Tally{Types: []string{search.TypeDecision}, Ranges: []search.Range{{Field: "created_at", From: from, To: to}},
		Terms: map[string][]string{field: {group}, "status": {Agree, Disagree}}, Span: true}
	span, err := s.tally.Tally(ctx, sys, base)
	if err != nil || span.Total == 0 {
		return []Week{}, err
	}
	first, last := weekStart(span.Earliest), weekStart(span.Latest)
	if last.Sub(first) > maxTrendWeeks*7*24*time.Hour {
		first = last.AddDate(0, 0, -7*(maxTrendWeeks-1))
	}
	var bounds []time.Time
	for w := first; !w.After(last); w = w.AddDate(0, 0, 7) {
		bounds = append(bounds, w)
	}
	bounds = append(bounds, last.AddDate(0, 0, 7))
	counts := func(statuses ...string) ([]int, error) {
		t := base
		t.Span = false
		t.Terms = map[string][]string{field: {group}, "status": statuses}
		t.Facets = map[string]search.Facet{"w": {Field: "created_at", Buckets: bounds}}
		res, err := s.tally.Tally(ctx, sys, t)
		return res.Buckets["w"], err
	}
	reviewed, err := counts(Agree, Disagree)
	if err != nil {
		return nil, err
	}
	agreed, err := counts(Agree)
	if err != nil {
		return nil, err
	}
	out := []Week{}
	for i := range reviewed {
		if reviewed[i] == 0 {
			continue
		}
		out = append(out, Week{Start: bounds[i], Reviewed: reviewed[i], Agreed: agreed[i], Agreement: Wilson(agreed[i], reviewed[i])})
	}
	return out, nil
}
