package rca

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
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

// RootCauses reports on incidents that started in [from, to).
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
	// Recurrence looks back before from, so read everything before to.
	all, err := s.store.FindIncidents(ctx, time.Time{}, to)
	if err != nil {
		return RootCauseReport{}, err
	}
	slices.SortStableFunc(all, func(a, b Incident) int { return a.StartedAt.Compare(b.StartedAt) })
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
	now := s.now()
	buckets := map[time.Time]*ReportBucket{}
	recurring := map[[2]string]*Recurring{}
	for i, in := range all {
		if !from.IsZero() && in.StartedAt.Before(from) {
			continue
		}
		rep.Incidents++
		start := bucketStart(in.StartedAt, interval)
		b := buckets[start]
		if b == nil {
			b = &ReportBucket{Start: start, Categories: map[Category]int{}, Subcategories: map[string]int{}}
			buckets[start] = b
		}
		for _, rc := range in.RCA.RootCauses {
			rep.Totals[rc.Category]++
			b.Categories[rc.Category]++
			b.Subcategories[string(rc.Category)+"/"+rc.Subcategory]++
			k := [2]string{string(rc.Category), rc.Subcategory}
			r := recurring[k]
			if r == nil {
				r = &Recurring{Category: rc.Category, Subcategory: rc.Subcategory}
				recurring[k] = r
			}
			r.Count++
			if !slices.Contains(r.Incidents, in.Key) {
				r.Incidents = append(r.Incidents, in.Key)
			}
			if earlier, ok := recurredAfterFix(all[:i], in, rc); ok {
				rep.RecurredAfterFix = append(rep.RecurredAfterFix, Recurrence{Incident: in.Key, Earlier: earlier, Category: rc.Category, Subcategory: rc.Subcategory})
			}
		}
		for _, a := range in.ActionItems {
			if !a.Closed() {
				rep.OpenActionItems++
			}
			if a.IsOverdue(now) {
				rep.OverdueActionItems++
			}
		}
		for _, g := range in.RCA.MitigationGaps {
			rep.MitigationGaps = append(rep.MitigationGaps, GapEntry{Incident: in.Key, Mitigation: g.Mitigation, Why: g.Why})
		}
	}
	for _, b := range buckets {
		rep.Buckets = append(rep.Buckets, *b)
	}
	slices.SortFunc(rep.Buckets, func(a, b ReportBucket) int { return a.Start.Compare(b.Start) })
	for _, r := range recurring {
		if len(r.Incidents) > 1 {
			rep.TopRecurring = append(rep.TopRecurring, *r)
		}
	}
	slices.SortFunc(rep.TopRecurring, func(a, b Recurring) int {
		if c := cmp.Compare(len(b.Incidents), len(a.Incidents)); c != 0 {
			return c
		}
		return cmp.Compare(string(a.Category)+a.Subcategory, string(b.Category)+b.Subcategory)
	})
	if len(rep.TopRecurring) > 10 {
		rep.TopRecurring = rep.TopRecurring[:10]
	}
	return rep, nil
}

// recurredAfterFix finds, among incidents that started before in, one with
// a matching root cause whose action items were all closed before in began.
func recurredAfterFix(earlier []Incident, in Incident, rc RootCause) (string, bool) {
	words := tokenSet(rc.Description)
	for j := len(earlier) - 1; j >= 0; j-- {
		prev := earlier[j]
		if !prev.StartedAt.Before(in.StartedAt) || !allClosedBefore(prev.ActionItems, in.StartedAt) {
			continue
		}
		for _, p := range prev.RCA.RootCauses {
			if p.Category == rc.Category && p.Subcategory == rc.Subcategory && jaccard(words, tokenSet(p.Description)) >= recurrenceSimilarity {
				return prev.Key, true
			}
		}
	}
	return "", false
}

func allClosedBefore(items []ActionItem, t time.Time) bool {
	if len(items) == 0 {
		return false
	}
	for _, a := range items {
		if !a.Closed() || a.DoneAt != nil && a.DoneAt.After(t) {
			return false
		}
	}
	return true
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
