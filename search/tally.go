package search

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/blevesearch/bleve/v2"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// Tally is a counting query for reports: totals, facets and date-bucketed
// counts over the documents a report may cover, with the rows themselves
// only when a report needs their stored fields. Domain code builds it;
// users never write one.
type Tally struct {
	Types []string
	// Terms are exact keyword matches; values of one field are ORed,
	// fields ANDed.
	Terms map[string][]string
	// Bools are exact matches on boolean fields.
	Bools map[string]bool
	// Ranges limit date fields, each to [From, To); a zero bound is open,
	// and a Range with both bounds zero only requires the field to be set.
	Ranges []Range
	Facets map[string]Facet
	// Rows asks for every matching document's stored Fields, oldest
	// created_at first (up to MaxTallyRows).
	Rows   bool
	Fields []string
	// Span asks for the earliest and latest created_at of the matches.
	Span bool
	// SLAState keeps cases whose SLA state at Now is ok, at_risk or
	// breached (as in Search).
	SLAState string
	Now      time.Time
}

// Range is [From, To) on a date field.
type Range struct {
	Field    string
	From, To time.Time
}

// Facet counts a field's values (Size of them, most frequent first) or,
// with Buckets, how many dates of the field fall in each [Buckets[i],
// Buckets[i+1]).
type Facet struct {
	Field   string
	Size    int
	Buckets []time.Time
}

// Tallied is the answer to a Tally.
type Tallied struct {
	Total  uint64
	Facets map[string][]FacetTerm
	// Buckets has, per bucketed facet, one count per interval.
	Buckets map[string][]int
	Rows    []Row
	// Earliest and Latest created_at, with Span.
	Earliest, Latest time.Time
}

// Row is one document's stored fields.
type Row map[string]any

// String is a keyword or text field's value ("" when absent; the first
// value of a multi-valued field).
func (r Row) String(field string) string {
	switch v := r[field].(type) {
	case string:
		return v
	case []any:
		if len(v) > 0 {
			s, _ := v[0].(string)
			return s
		}
	}
	return ""
}

// Time is a date field's value (zero when absent).
func (r Row) Time(field string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, r.String(field))
	return t
}

// MaxTallyRows bounds the rows one Tally may return.
const MaxTallyRows = 100_000

// tallyPage is how many rows one index request reads.
const tallyPage = 1000

// Tally counts for a report. Only roles that read reports may tally; the
// documents counted are those u may open (as in Search) plus, for them,
// incidents and their report documents.
func (s *Searcher) Tally(ctx context.Context, u *auth.User, t Tally) (Tallied, error) {
	if !auth.Can(u, auth.ReadReports, auth.Resource{}) {
		return Tallied{}, errs.E(errs.Forbidden, "your role may not read reports")
	}
	must := []query.Query{reportScope(u)}
	if len(t.Types) > 0 {
		must = append(must, anyTerm("type", t.Types))
	}
	for field, vals := range t.Terms {
		if !slices.Contains(keywordFields, field) {
			return Tallied{}, fmt.Errorf("search: tally on unknown keyword field %q", field)
		}
		must = append(must, anyTerm(field, vals))
	}
	for field, v := range t.Bools {
		q := bleve.NewBoolFieldQuery(v)
		q.SetField(field)
		must = append(must, q)
	}
	for _, r := range t.Ranges {
		if !slices.Contains(dateFields, r.Field) {
			return Tallied{}, fmt.Errorf("search: range on unknown date field %q", r.Field)
		}
		if r.From.IsZero() && r.To.IsZero() {
			r.From, r.To = query.MinRFC3339CompatibleTime, query.MaxRFC3339CompatibleTime
		}
		must = append(must, dateBetween(r.Field, r.From, r.To))
	}
	if t.SLAState != "" {
		q, err := slaQuery(t.SLAState, t.Now)
		if err != nil {
			return Tallied{}, err
		}
		must = append(must, q)
	}
	q := bleve.NewConjunctionQuery(must...)
	req := bleve.NewSearchRequestOptions(q, 0, 0, false)
	for name, f := range t.Facets {
		// Bleve keeps Size ranges of a range facet too.
		fr := bleve.NewFacetRequest(f.Field, max(f.Size, len(f.Buckets), 1))
		for i := 0; i+1 < len(f.Buckets); i++ {
			fr.AddDateTimeRange(bucketName(i), f.Buckets[i], f.Buckets[i+1])
		}
		req.AddFacet(name, fr)
	}
	if t.Rows {
		req.Size = tallyPage
		req.Fields = t.Fields
		req.SortBy([]string{"created_at", "_id"})
	}

	ctx, cancel := context.WithTimeout(ctx, Deadline)
	defer cancel()
	search := func(req *bleve.SearchRequest) (res *bleve.SearchResult, err error) {
		res, err = s.idx.search(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("search: tally: %w", err)
		}
		return res, nil
	}
	out := Tallied{Facets: map[string][]FacetTerm{}, Buckets: map[string][]int{}}
	if t.Span {
		for _, order := range []string{"created_at", "-created_at"} {
			req := bleve.NewSearchRequestOptions(q, 1, 0, false)
			req.Fields = []string{"created_at"}
			req.SortBy([]string{order, "_id"})
			res, err := search(req)
			if err != nil {
				return Tallied{}, err
			}
			if len(res.Hits) > 0 {
				at := Row(res.Hits[0].Fields).Time("created_at")
				if order == "created_at" {
					out.Earliest = at
				} else {
					out.Latest = at
				}
			}
		}
	}
	for {
		res, err := search(req)
		if err != nil {
			return Tallied{}, err
		}
		if req.SearchAfter == nil { // the first page carries totals and facets
			out.Total = res.Total
			if t.Rows && res.Total > MaxTallyRows {
				return Tallied{}, fmt.Errorf("search: tally of %d rows is over the limit of %d", res.Total, MaxTallyRows)
			}
			for name, fr := range res.Facets {
				if f := t.Facets[name]; len(f.Buckets) > 0 {
					out.Buckets[name] = bucketCounts(fr, len(f.Buckets)-1)
					continue
				}
				terms := []FacetTerm{}
				if fr.Terms != nil {
					for _, term := range fr.Terms.Terms() {
						terms = append(terms, FacetTerm{Term: term.Term, Count: term.Count})
					}
				}
				out.Facets[name] = terms
			}
			req.Facets = nil
		}
		for _, h := range res.Hits {
			out.Rows = append(out.Rows, Row(h.Fields))
		}
		if !t.Rows || len(res.Hits) < tallyPage {
			return out, nil
		}
		req.SetSearchAfter(res.Hits[len(res.Hits)-1].Sort)
	}
}

func bucketName(i int) string { return fmt.Sprintf("b%06d", i) }

func bucketCounts(fr *bsearch.FacetResult, n int) []int {
	counts := make([]int, n)
	for _, r := range fr.DateRanges {
		var i int
		if _, err := fmt.Sscanf(r.Name, "b%06d", &i); err == nil && i >= 0 && i < n {
			counts[i] = r.Count
		}
	}
	return counts
}

// dateBetween is [from, to) on field; a zero bound is open.
func dateBetween(field string, from, to time.Time) query.Query {
	t, f := true, false
	q := bleve.NewDateRangeInclusiveQuery(from, to, &t, &f)
	q.SetField(field)
	return q
}

// reportTypes are what a report reader may count beyond what they may open.
var reportTypes = []string{TypeIncident, TypeRootCause, TypeActionItem, TypeMitigationGap, TypeDecision}

// reportScope is what reports may count for u: what u may open, and
// incidents with their report documents.
func reportScope(u *auth.User) query.Query {
	return bleve.NewDisjunctionQuery(visibility(u), anyTerm("type", reportTypes))
}
