package search

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	blevesearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/highlight/highlighter/html"
	"github.com/blevesearch/bleve/v2/search/query"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// Deadline bounds every search.
const Deadline = 5 * time.Second

// Facets a request may ask for, and their index fields.
var facetFields = map[string]string{
	"type": "type", "status": "status", "severity": "severity", "policy_area": "policy_area",
	"root_cause_category": "root_cause_category", "team": "team", "vendor": "vendor", "month": "month",
}

// Sorts a request may ask for ("-" for descending); relevance is the default.
var sortFields = map[string]string{
	"relevance": "", "created_at": "created_at", "updated_at": "updated_at", "severity": "gravity", "due": "due", "key": "key",
}

// rowFields are returned with every hit: what a list row shows.
var rowFields = []string{"type", "id", "key", "title", "status", "severity", "policy_area", "root_cause_category", "team",
	"vendor", "assignee", "actor_id", "created_at", "updated_at", "due", "restricted", "published", "month",
	// The SLA marks, from which a row's SLA state is read at request time.
	"at_risk", "breached"}

// highlighted are the fields hits are highlighted in.
var highlighted = []string{"title", "summary", "body", "notes", "evidence", "root_causes"}

// Request is a search.
type Request struct {
	// Query is the user's query string.
	Query string
	// Types limits the document types ("" or empty: all).
	Types []string
	// Filters are exact keyword matches, e.g. {"status": ["new","triage"]};
	// values of one field are ORed, fields ANDed.
	Filters map[string][]string
	// Created limits created_at to [From, To).
	CreatedFrom, CreatedTo time.Time
	// SLAState keeps cases whose SLA state at Now is ok, at_risk or breached.
	SLAState   string
	Now        time.Time
	Sort       string
	From, Size int
	Facets     []string
	Highlight  bool
}

// Hit is one result.
type Hit struct {
	ID         string              `json:"id"`
	Type       string              `json:"type"`
	Key        string              `json:"key"`
	Title      string              `json:"title"`
	Score      float64             `json:"score"`
	Highlights map[string][]string `json:"highlights,omitempty"`
	Fields     map[string]any      `json:"-"`
}

// FacetTerm is one value of a facet with its count.
type FacetTerm struct {
	Term  string `json:"term"`
	Count int    `json:"count"`
}

// Result is the answer to a Request.
type Result struct {
	Total  uint64                 `json:"total"`
	TookMS int64                  `json:"took_ms"`
	Hits   []Hit                  `json:"hits"`
	Facets map[string][]FacetTerm `json:"facets"`
}

// Searcher answers searches over an Index with the caller's permissions.
type Searcher struct {
	idx *Index
}

// NewSearcher returns a Searcher over idx.
func NewSearcher(idx *Index) *Searcher { return &Searcher{idx: idx} }

// Limits of a request.
const (
	MaxSize = 200
	MaxFrom = 10_000
)

// Search runs r for u. The caller's visibility filter is ANDed into the
// query, so hits, total, facet counts and highlights only ever come from
// documents u may open.
func (s *Searcher) Search(ctx context.Context, u *auth.User, r Request) (Result, error) {
	if !auth.Can(u, auth.Search, auth.Resource{}) {
		return Result{}, errs.E(errs.Forbidden, "your role may not search")
	}
	var f errs.Fields
	if r.Size == 0 {
		r.Size = 20
	}
	if r.Size < 1 || r.Size > MaxSize {
		f.Add("size", "must be from 1 to %d", MaxSize)
	}
	if r.From < 0 || r.From > MaxFrom {
		f.Add("from", "must be from 0 to %d", MaxFrom)
	}
	for _, t := range r.Types {
		if !slices.Contains(searchableTypes, t) {
			f.Add("type", "must be case, incident, postmortem, qa_review or risk")
		}
	}
	sortField, desc := strings.TrimPrefix(r.Sort, "-"), strings.HasPrefix(r.Sort, "-")
	if _, ok := sortFields[sortField]; r.Sort != "" && !ok {
		f.Add("sort", "must be relevance or one of created_at, updated_at, severity, due, key, with - for descending")
	}
	for _, name := range r.Facets {
		if _, ok := facetFields[name]; !ok {
			f.Add("facet", "%q is not a facet; use type, status, severity, policy_area, root_cause_category, team, vendor, month", name)
		}
	}
	if len(r.Facets) > len(facetFields) {
		f.Add("facet", "too many facets")
	}
	if err := f.Err(); err != nil {
		return Result{}, err
	}
	userQ, err := parseQuery(r.Query)
	if err != nil {
		return Result{}, err
	}

	// Everything but the user's words filters without scoring: the
	// visibility rule, types, keyword filters and ranges only decide which
	// documents qualify (a non-scoring filter is also much cheaper than a
	// scored conjunction when it matches most of the index).
	// With r.Types, the visibility query matches only those types.
	visible := newCachedFilter(s.idx.filters, visibility(u, r.Types...))
	filters := []query.Query{visible}
	for field, vals := range r.Filters {
		if !slices.Contains(keywordFields, field) {
			return Result{}, fmt.Errorf("search: filter on unknown field %q", field)
		}
		if len(vals) > 0 {
			filters = append(filters, anyTerm(field, vals))
		}
	}
	if r.SLAState != "" {
		q, err := slaQuery(r.SLAState, r.Now)
		if err != nil {
			return Result{}, err
		}
		filters = append(filters, q)
	}
	if !r.CreatedFrom.IsZero() || !r.CreatedTo.IsZero() {
		filters = append(filters, dateBetween("created_at", r.CreatedFrom, r.CreatedTo))
	}
	q := bleve.NewBooleanQuery()
	if userQ != nil {
		q.AddMust(userQ)
	}
	if len(filters) == 1 {
		q.AddFilter(filters[0])
	} else {
		q.AddFilter(bleve.NewConjunctionQuery(filters...))
	}

	req := bleve.NewSearchRequestOptions(q, r.Size, r.From, false)
	if sortField != "" && sortField != "relevance" {
		key := sortFields[sortField]
		if desc {
			key = "-" + key
		}
		req.SortBy([]string{key, "-_score", "_id"})
		if userQ == nil {
			// A list view: nothing to rank, so nothing to score.
			req.Score = bleve.ScoreNone
		}
	}
	for _, name := range r.Facets {
		req.AddFacet(name, bleve.NewFacetRequest(facetFields[name], 20))
	}
	// With highlights, the hits' fields come from the highlighting pass,
	// which loads each hit's stored document anyway: loading it in both
	// passes was a third of a selective search's time (measured).
	withHighlights := r.Highlight && userQ != nil
	if !withHighlights {
		req.Fields = rowFields
	}
	res, err := s.run(ctx, req, true)
	if err != nil || !withHighlights || len(res.Hits) == 0 {
		return res, err
	}
	if res.Hits, err = s.highlight(ctx, visible, res.Hits, userQ); err != nil {
		return Result{}, err
	}
	return res, nil
}

// highlight fills in the fields of hits and marks the words of q in them.
// It is a second query, on just those documents: asking Bleve for
// highlights in the search itself makes it keep term locations for every
// match, not only for the hits returned (measured at 100,000 documents: 80
// of a broad query's 100 ms).
//
// The second query carries the search's visibility filter again, so a
// document that became hidden from the user between the two queries is left
// out rather than shown in its new state; one that stopped matching q is
// left out too. (It is the search's own filter, whose bitmaps the search
// has just read: see filter.go.)
func (s *Searcher) highlight(ctx context.Context, visible query.Query, hits []Hit, q query.Query) ([]Hit, error) {
	ctx, cancel := context.WithTimeout(ctx, Deadline)
	defer cancel()
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = docID(h.Type, h.ID)
	}
	bq := bleve.NewBooleanQuery()
	bq.AddMust(bleve.NewDocIDQuery(ids), q)
	bq.AddFilter(visible)
	req := bleve.NewSearchRequestOptions(bq, len(ids), 0, false)
	req.Score = bleve.ScoreNone
	// The hits' fields and fragments come from hitLoader, which needs
	// the matches' term locations.
	req.IncludeLocations = true
	h, err := bleve.Config.Cache.HighlighterNamed(html.Name)
	if err != nil {
		return nil, fmt.Errorf("search: highlight: %w", err)
	}
	loader := newHitLoader(h, rowFields, highlighted)
	// The request asks for no facets, so Index.search keeps this hook.
	ctx = context.WithValue(ctx, blevesearch.MakeDocumentMatchHandlerKey, blevesearch.MakeDocumentMatchHandler(loader.handlerMaker))
	res, err := s.idx.search(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: highlight: %w", err)
	}
	found := make(map[string]*blevesearch.DocumentMatch, len(res.Hits))
	for _, h := range res.Hits {
		found[h.ID] = h
	}
	out := hits[:0]
	for i, h := range hits {
		m, ok := found[ids[i]]
		if !ok {
			continue
		}
		filled := toHit(m)
		filled.Score = h.Score
		out = append(out, filled)
	}
	return out, nil
}

// run executes req within the deadline and converts the result.
func (s *Searcher) run(ctx context.Context, req *bleve.SearchRequest, userQuery bool) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, Deadline)
	defer cancel()
	start := time.Now()
	res, err := s.idx.search(ctx, req)
	if err != nil {
		if ctx.Err() != nil && userQuery {
			return Result{}, badQuery("took longer than %s; narrow it down", Deadline)
		}
		return Result{}, fmt.Errorf("search: %w", err)
	}
	out := Result{Total: res.Total, TookMS: time.Since(start).Milliseconds(), Hits: make([]Hit, 0, len(res.Hits)), Facets: map[string][]FacetTerm{}}
	for _, h := range res.Hits {
		out.Hits = append(out.Hits, toHit(h))
	}
	for name, fr := range res.Facets {
		terms := []FacetTerm{}
		if fr.Terms != nil {
			for _, t := range fr.Terms.Terms() {
				if t.Term == "" {
					continue // documents without the field (e.g. a case of no vendor)
				}
				terms = append(terms, FacetTerm{Term: t.Term, Count: t.Count})
			}
		}
		out.Facets[name] = terms
	}
	return out, nil
}

// toHit converts a Bleve hit. A hit loaded without fields still has its
// type and id, from the document's id.
func toHit(h *blevesearch.DocumentMatch) Hit {
	hit := Hit{Score: h.Score, Fields: h.Fields, Highlights: marked(h.Fragments)}
	hit.Type, hit.ID, _ = strings.Cut(h.ID, ":")
	hit.Key, _ = h.Fields["key"].(string)
	hit.Title, _ = h.Fields["title"].(string)
	return hit
}

// slaQuery selects cases by SLA state at now from the marks the index
// holds (see cases.SLAMarks).
func slaQuery(state string, now time.Time) (query.Query, error) {
	t := true
	dueBy := bleve.NewDateRangeInclusiveQuery(time.Time{}, now, &t, &t) // due <= now
	dueBy.SetField("due")
	riskBy := bleve.NewDateRangeInclusiveQuery(time.Time{}, now, &t, &t) // at_risk <= now
	riskBy.SetField("at_risk")
	frozen := bleve.NewBoolFieldQuery(true)
	frozen.SetField("breached")
	breached := bleve.NewDisjunctionQuery(frozen, dueBy)
	isCase := term("type", TypeCase)
	switch state {
	case "breached":
		return bleve.NewConjunctionQuery(isCase, breached), nil
	case "at_risk":
		q := bleve.NewBooleanQuery()
		q.AddMust(isCase, riskBy)
		q.AddMustNot(breached)
		return q, nil
	case "ok":
		q := bleve.NewBooleanQuery()
		q.AddMust(isCase)
		q.AddMustNot(breached, riskBy)
		return q, nil
	}
	return nil, &errs.Error{Code: errs.Invalid, Message: "unknown SLA state", Fields: []errs.FieldError{{Field: "sla_state", Message: "must be ok, at_risk or breached"}}}
}

// marked keeps the fragments that show a match: Bleve returns the start
// of every highlighted field, matched or not.
func marked(frags map[string][]string) map[string][]string {
	out := map[string][]string{}
	for field, fs := range frags {
		for _, f := range fs {
			if strings.Contains(f, "<mark>") {
				out[field] = append(out[field], f)
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// visibility is the query of every document u may open: cases by the
// scope auth.ReadableCases gives (the rule Can applies), incidents for
// those who may read them in full, published postmortems for those who may
// read postmortems, QA reviews for reviewers and deciders, risks for
// those who read the register. Leadership reads incident summaries, which are not
// what the index holds, so incidents are not searchable for them.
//
// Every part names its type, so with types only the parts for those types
// are built, and the query is also the filter on them: each part costs its
// searchers on every segment of every query, and a list of cases is the
// commonest search.
func visibility(u *auth.User, types ...string) query.Query {
	var parts []query.Query
	wants := func(typ string) bool { return len(types) == 0 || slices.Contains(types, typ) }
	scope := auth.ReadableCases(u)
	isCase := term("type", TypeCase)
	switch {
	case !wants(TypeCase):
	case scope.All:
		parts = append(parts, isCase)
	default:
		if scope.Assignee != "" {
			parts = append(parts, bleve.NewConjunctionQuery(isCase, term("assignee", scope.Assignee)))
		}
		unrestricted := bleve.NewBoolFieldQuery(false)
		unrestricted.SetField("restricted")
		if scope.Team != "" {
			parts = append(parts, bleve.NewConjunctionQuery(isCase, unrestricted, term("team", scope.Team)))
		}
		if scope.Vendor != "" {
			parts = append(parts, bleve.NewConjunctionQuery(isCase, unrestricted, term("vendor", scope.Vendor)))
		}
	}
	if wants(TypeIncident) && auth.Can(u, auth.ReadIncident, auth.Resource{}) && auth.Can(u, auth.EditIncident, auth.Resource{}) {
		parts = append(parts, term("type", TypeIncident))
	}
	// QA reviews: reviewers read them all; anyone else the reviews of
	// their own decisions.
	switch {
	case !wants(TypeReview):
	case auth.Can(u, auth.ReviewQuality, auth.Resource{}):
		parts = append(parts, term("type", TypeReview))
	case u != nil && u.Username != "":
		parts = append(parts, bleve.NewConjunctionQuery(term("type", TypeReview), term("decider", u.Username)))
	}
	if wants(TypeRisk) && auth.Can(u, auth.ReadRisk, auth.Resource{}) {
		parts = append(parts, term("type", TypeRisk))
	}
	if wants(TypePostmortem) && auth.Can(u, auth.ReadPostmortem, auth.Resource{Published: true}) {
		published := bleve.NewBoolFieldQuery(true)
		published.SetField("published")
		parts = append(parts, bleve.NewConjunctionQuery(term("type", TypePostmortem), published))
	}
	switch len(parts) {
	case 0:
		return bleve.NewMatchNoneQuery()
	case 1:
		return parts[0]
	}
	return bleve.NewDisjunctionQuery(parts...)
}

func term(field, value string) query.Query {
	q := bleve.NewTermQuery(value)
	q.SetField(field)
	return q
}

func anyTerm(field string, values []string) query.Query {
	qs := make([]query.Query, len(values))
	for i, v := range values {
		qs[i] = term(field, v)
	}
	return bleve.NewDisjunctionQuery(qs...)
}
