package rca

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/search"
)

// IncidentQuery is the input of ListIncidents.
type IncidentQuery struct {
	Statuses          []Status
	Severities        []Severity
	RootCauseCategory Category
	From, To          time.Time
	Text              string
	Limit, Offset     int
}

// ListIncidents lists incidents newest first. Until the search index serves
// lists, it scans the store and filters here.
func (s *Service) ListIncidents(ctx context.Context, u *auth.User, q IncidentQuery) ([]Incident, int, error) {
	if !auth.Can(u, auth.ReadIncident, auth.Resource{}) {
		return nil, 0, errs.E(errs.Forbidden, "your role may not list incidents")
	}
	all, err := s.store.FindIncidents(ctx, q.From, q.To)
	if err != nil {
		return nil, 0, err
	}
	text := strings.ToLower(q.Text)
	var out []Incident
	for _, in := range all {
		if len(q.Statuses) > 0 && !slices.Contains(q.Statuses, in.Status) ||
			len(q.Severities) > 0 && !slices.Contains(q.Severities, in.Severity) {
			continue
		}
		if q.RootCauseCategory != "" && !slices.ContainsFunc(in.RCA.RootCauses, func(rc RootCause) bool { return rc.Category == q.RootCauseCategory }) {
			continue
		}
		if text != "" && !strings.Contains(strings.ToLower(searchable(u, &in)), text) {
			continue
		}
		out = append(out, s.present(ctx, u, in))
	}
	slices.SortStableFunc(out, func(a, b Incident) int {
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	total := len(out)
	off := min(q.Offset, total)
	return out[off:min(total, off+q.Limit)], total, nil
}

// searchable is the text of an incident a text filter may look at: only
// what the caller can read (leadership reads summaries, not the RCA).
func searchable(u *auth.User, in *Incident) string {
	t := in.Key + "\n" + in.Title + "\n" + in.Impact.Text
	if auth.Can(u, auth.EditIncident, auth.Resource{}) {
		t += "\n" + in.RCA.ProblemStatement
	}
	return t
}

// Intervals a report can group by.
var Intervals = []string{"week", "month", "quarter"}

// ReportBucket counts root causes of incidents that started in one interval.
type ReportBucket struct {
	Start         time.Time        `json:"start"`
	Categories    map[Category]int `json:"categories"`
	Subcategories map[string]int   `json:"subcategories"` // "category/subcategory"
}

// Recurring is a root-cause class seen in several incidents.
type Recurring struct {
	Category    Category `json:"category"`
	Subcategory string   `json:"subcategory"`
	Count       int      `json:"count"`
	Incidents   []string `json:"incidents"`
}

// Recurrence flags an incident whose root cause matches one of an earlier
// incident whose action items were all closed before it started.
type Recurrence struct {
	Incident    string   `json:"incident"`
	Earlier     string   `json:"earlier_incident"`
	Category    Category `json:"category"`
	Subcategory string   `json:"subcategory"`
}

// GapEntry is one mitigation gap with its incident.
type GapEntry struct {
	Incident   string `json:"incident"`
	Mitigation string `json:"mitigation"`
	Why        string `json:"why"`
}

// RootCauseReport is GET /reports/root-causes.
type RootCauseReport struct {
	From               *time.Time       `json:"from,omitempty"`
	To                 *time.Time       `json:"to,omitempty"`
	Interval           string           `json:"interval"`
	Incidents          int              `json:"incidents"`
	Totals             map[Category]int `json:"totals"`
	Buckets            []ReportBucket   `json:"buckets"`
	TopRecurring       []Recurring      `json:"top_recurring"`
	OpenActionItems    int              `json:"open_action_items"`
	OverdueActionItems int              `json:"overdue_action_items"`
	MitigationGaps     []GapEntry       `json:"mitigation_gaps"`
	RecurredAfterFix   []Recurrence     `json:"recurred_after_fix"`
}

// recurrenceSimilarity is the share of shared terms (Jaccard over the
// classifier's stemmed tokens) above which two root causes of the same
// subcategory count as the same cause.
const recurrenceSimilarity = 0.5

// Tallier counts the search index's report documents (search.Searcher):
// reports count with its facets and date ranges instead of scanning the
// store.
type Tallier interface {
	Tally(ctx context.Context, u *auth.User, t search.Tally) (search.Tallied, error)
}

// ReportFrom makes reports read from t.
func (s *Service) ReportFrom(t Tallier) { s.tally = t }

// RootCauses reports on incidents that started in [from, to): root causes
// per category and subcategory per interval, the most recurring classes,
// open and overdue action items, mitigation gaps and causes that came back
// after their fix. Every number is a facet or a count in the search index
// (its root_cause, action_item and mitigation_gap documents).
func (s *Service) RootCauses(ctx context.Context, u *auth.User, from, to time.Time, interval string) (RootCauseReport, error) {
	if !auth.Can(u, auth.ReadReports, auth.Resource{}) {
		return RootCauseReport{}, errs.E(errs.Forbidden, "your role may not read reports")
	}
	if interval == "" {
		interval = "month"
	}
	if !slices.Contains(Intervals, interval) {
		return RootCauseReport{}, &errs.Error{Code: errs.Invalid, Message: "unknown interval", Fields: []errs.FieldError{{Field: "interval", Message: "must be week, month or quarter"}}}
	}
	if s.tally == nil {
		return RootCauseReport{}, errors.New("rca: reports need the search index (ReportFrom)")
	}
	rep := RootCauseReport{Interval: interval, Totals: map[Category]int{}, Buckets: []ReportBucket{}, TopRecurring: []Recurring{},
		MitigationGaps: []GapEntry{}, RecurredAfterFix: []Recurrence{}}
	if !from.IsZero() {
		rep.From = &from
	}
	if !to.IsZero() {
		rep.To = &to
	}
	for _, c := range Categories {
		rep.Totals[c] = 0
	}
	started := search.Range{Field: "created_at", From: from, To: to}
	tally := func(t search.Tally) (search.Tallied, error) {
		t.Ranges = append(t.Ranges, started)
		return s.tally.Tally(ctx, u, t)
	}

	incidents, err := tally(search.Tally{Types: []string{search.TypeIncident}})
	if err != nil {
		return RootCauseReport{}, err
	}
	rep.Incidents = int(incidents.Total)

	causes, err := tally(search.Tally{Types: []string{search.TypeRootCause}, Span: true, Facets: map[string]search.Facet{
		"category": {Field: "root_cause_category", Size: len(Categories)}, "subcategory": {Field: "subcategory", Size: maxSubcategories}}})
	if err != nil {
		return RootCauseReport{}, err
	}
	for _, f := range causes.Facets["category"] {
		rep.Totals[Category(f.Term)] = f.Count
	}
	causesOf := map[string]int{}
	for _, f := range causes.Facets["subcategory"] {
		causesOf[f.Term] = f.Count
	}
	if rep.Buckets, err = s.buckets(tally, causes, interval); err != nil {
		return RootCauseReport{}, err
	}
	if rep.TopRecurring, err = topRecurring(tally, causesOf); err != nil {
		return RootCauseReport{}, err
	}

	open := map[string][]string{"status": {string(ItemOpen), string(ItemInProgress)}}
	items, err := tally(search.Tally{Types: []string{search.TypeActionItem}, Terms: open})
	if err != nil {
		return RootCauseReport{}, err
	}
	rep.OpenActionItems = int(items.Total)
	overdue, err := tally(search.Tally{Types: []string{search.TypeActionItem}, Terms: open,
		Ranges: []search.Range{{Field: "due", To: s.now()}}})
	if err != nil {
		return RootCauseReport{}, err
	}
	rep.OverdueActionItems = int(overdue.Total)

	gaps, err := tally(search.Tally{Types: []string{search.TypeMitigationGap}, Rows: true, Fields: []string{"key", "title", "summary"}})
	if err != nil {
		return RootCauseReport{}, err
	}
	for _, g := range gaps.Rows {
		rep.MitigationGaps = append(rep.MitigationGaps, GapEntry{Incident: g.String("key"), Mitigation: g.String("title"), Why: g.String("summary")})
	}

	if rep.RecurredAfterFix, err = s.recurrences(ctx, u, from, to); err != nil {
		return RootCauseReport{}, err
	}
	return rep, nil
}

// maxSubcategories bounds the subcategories a report lists; the taxonomy
// holds a few dozen.
const maxSubcategories = 1000

type tallyFunc func(search.Tally) (search.Tallied, error)

// buckets counts root causes per interval and subcategory: one date-range
// facet per subcategory, over the intervals from the earliest root cause
// to the latest. Intervals without root causes are left out.
func (s *Service) buckets(tally tallyFunc, causes search.Tallied, interval string) ([]ReportBucket, error) {
	out := []ReportBucket{}
	if causes.Total == 0 {
		return out, nil
	}
	var bounds []time.Time
	for b := bucketStart(causes.Earliest, interval); !b.After(causes.Latest); b = nextBucket(b, interval) {
		bounds = append(bounds, b)
	}
	bounds = append(bounds, nextBucket(bounds[len(bounds)-1], interval))
	byStart := make([]ReportBucket, len(bounds)-1)
	for _, f := range causes.Facets["subcategory"] {
		per, err := tally(search.Tally{Types: []string{search.TypeRootCause}, Terms: map[string][]string{"subcategory": {f.Term}},
			Facets: map[string]search.Facet{"bucket": {Field: "created_at", Buckets: bounds}}})
		if err != nil {
			return nil, err
		}
		cat, _, _ := strings.Cut(f.Term, "/")
		for i, n := range per.Buckets["bucket"] {
			if n == 0 {
				continue
			}
			b := &byStart[i]
			if b.Categories == nil {
				*b = ReportBucket{Start: bounds[i], Categories: map[Category]int{}, Subcategories: map[string]int{}}
			}
			b.Categories[Category(cat)] += n
			b.Subcategories[f.Term] += n
		}
	}
	for _, b := range byStart {
		if b.Categories != nil {
			out = append(out, b)
		}
	}
	return out, nil
}

// topRecurring is the ten root-cause classes seen in most incidents (two
// at least): a facet over each incident's first root cause of a class
// counts incidents, and those incidents are listed oldest first.
func topRecurring(tally tallyFunc, causesOf map[string]int) ([]Recurring, error) {
	first := map[string]bool{"first": true}
	perIncident, err := tally(search.Tally{Types: []string{search.TypeRootCause}, Bools: first,
		Facets: map[string]search.Facet{"subcategory": {Field: "subcategory", Size: maxSubcategories}}})
	if err != nil {
		return nil, err
	}
	classes := slices.DeleteFunc(perIncident.Facets["subcategory"], func(f search.FacetTerm) bool { return f.Count < 2 })
	slices.SortFunc(classes, func(a, b search.FacetTerm) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Term, b.Term)
	})
	out := []Recurring{}
	for _, f := range classes[:min(len(classes), 10)] {
		rows, err := tally(search.Tally{Types: []string{search.TypeRootCause}, Bools: first,
			Terms: map[string][]string{"subcategory": {f.Term}}, Rows: true, Fields: []string{"key"}})
		if err != nil {
			return nil, err
		}
		cat, sub, _ := strings.Cut(f.Term, "/")
		r := Recurring{Category: Category(cat), Subcategory: sub, Count: causesOf[f.Term]}
		for _, row := range rows.Rows {
			r.Incidents = append(r.Incidents, row.String("key"))
		}
		out = append(out, r)
	}
	return out, nil
}

// recurrences finds root causes of incidents started in [from, to) that
// match one of an earlier incident whose action items were all closed
// before the later one began (the most recent such incident is named).
// Only causes whose class has a fixed earlier cause are compared.
func (s *Service) recurrences(ctx context.Context, u *auth.User, from, to time.Time) ([]Recurrence, error) {
	fields := []string{"key", "subcategory", "created_at", "fixed_at", "root_causes"}
	fixed, err := s.tally.Tally(ctx, u, search.Tally{Types: []string{search.TypeRootCause}, Rows: true, Fields: fields,
		Ranges: []search.Range{{Field: "created_at", To: to}, {Field: "fixed_at", To: to}}})
	if err != nil || len(fixed.Rows) == 0 {
		return []Recurrence{}, err
	}
	earlier := map[string][]search.Row{}
	for _, r := range fixed.Rows {
		earlier[r.String("subcategory")] = append(earlier[r.String("subcategory")], r)
	}
	later, err := s.tally.Tally(ctx, u, search.Tally{Types: []string{search.TypeRootCause}, Rows: true, Fields: fields,
		Terms:  map[string][]string{"subcategory": slices.Collect(maps.Keys(earlier))},
		Ranges: []search.Range{{Field: "created_at", From: from, To: to}}})
	if err != nil {
		return nil, err
	}
	out := []Recurrence{}
	for _, r := range later.Rows {
		class, started := r.String("subcategory"), r.Time("created_at")
		words := tokenSet(r.String("root_causes"))
		prev := earlier[class]
		for j := len(prev) - 1; j >= 0; j-- { // newest first
			p := prev[j]
			if !p.Time("created_at").Before(started) || p.Time("fixed_at").After(started) {
				continue
			}
			if jaccard(words, tokenSet(p.String("root_causes"))) >= recurrenceSimilarity {
				cat, sub, _ := strings.Cut(class, "/")
				out = append(out, Recurrence{Incident: r.String("key"), Earlier: p.String("key"), Category: Category(cat), Subcategory: sub})
				break
			}
		}
	}
	return out, nil
}

func tokenSet(text string) map[string]bool {
	set := map[string]bool{}
	for _, t := range Tokens(text) {
		set[t] = true
	}
	return set
}

func jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 0
	}
	inter := 0
	for t := range a {
		if b[t] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// bucketStart is the start (UTC) of the interval containing t; weeks start
// on Monday.
func bucketStart(t time.Time, interval string) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch interval {
	case "week":
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	case "quarter":
		return time.Date(t.Year(), time.Month((int(t.Month())-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// nextBucket is the start of the interval after the one starting at b.
func nextBucket(b time.Time, interval string) time.Time {
	switch interval {
	case "week":
		return b.AddDate(0, 0, 7)
	case "quarter":
		return b.AddDate(0, 3, 0)
	}
	return b.AddDate(0, 1, 0)
}
