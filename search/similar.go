package search

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	index "github.com/blevesearch/bleve_index_api"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
)

// similarTerms is how many distinctive terms make the "more like this" query.
const similarTerms = 20

type weightedTerm struct {
	field, term string
	weight      float64
}

// Similar finds the documents most like document (typ, id): its most
// distinctive terms (TF-IDF against the index) as a weighted query,
// excluding itself, with the caller's permissions. A document the caller
// may not open is NotFound.
func (s *Searcher) Similar(ctx context.Context, u *auth.User, typ, id string, size int) (Result, error) {
	if size < 1 || size > 50 {
		size = 10
	}
	self := docID(typ, id)
	var terms []weightedTerm
	err := s.idx.useShards(func(shards []bleve.Index) error {
		req := bleve.NewSearchRequest(bleve.NewConjunctionQuery(bleve.NewDocIDQuery([]string{self}), visibility(u)))
		req.Fields = textFields
		res, err := bleve.NewIndexAlias(shards...).SearchInContext(ctx, req)
		if err != nil {
			return err
		}
		if len(res.Hits) == 0 {
			return errs.E(errs.NotFound, "%s not found", typ)
		}
		terms, err = distinctiveTerms(ctx, shards, res.Hits[0].Fields)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	if len(terms) == 0 {
		return Result{Hits: []Hit{}, Facets: map[string][]FacetTerm{}}, nil
	}
	like := bleve.NewDisjunctionQuery()
	for _, t := range terms {
		q := bleve.NewTermQuery(t.term)
		q.SetField(t.field)
		q.SetBoost(t.weight)
		like.AddQuery(q)
	}
	bq := bleve.NewBooleanQuery()
	bq.AddMust(like, visibility(u), anyTerm("type", []string{TypeCase, TypeIncident, TypePostmortem}))
	bq.AddMustNot(bleve.NewDocIDQuery([]string{self}))
	req := bleve.NewSearchRequestOptions(bq, size, 0, false)
	req.Fields = rowFields
	return s.run(ctx, req, false)
}

// distinctiveTerms weighs every analysed term of the stored text fields by
// tf × idf (document frequencies summed over the shards) and keeps the
// strongest.
func distinctiveTerms(ctx context.Context, shards []bleve.Index, fields map[string]any) ([]weightedTerm, error) {
	analyzer := shards[0].Mapping().AnalyzerNamed(en.AnalyzerName)
	if analyzer == nil {
		return nil, fmt.Errorf("search: no analyzer %q", en.AnalyzerName)
	}
	readers := make([]index.IndexReader, 0, len(shards))
	defer func() {
		for _, r := range readers {
			_ = r.Close()
		}
	}()
	var n uint64
	for _, sh := range shards {
		adv, err := sh.Advanced()
		if err != nil {
			return nil, err
		}
		r, err := adv.Reader()
		if err != nil {
			return nil, err
		}
		readers = append(readers, r)
		c, err := r.DocCount()
		if err != nil {
			return nil, err
		}
		n += c
	}
	docFreq := func(term, field string) (uint64, error) {
		var df uint64
		for _, r := range readers {
			tfr, err := r.TermFieldReader(ctx, []byte(term), field, false, false, false)
			if err != nil {
				return 0, err
			}
			df += tfr.Count()
			_ = tfr.Close()
		}
		return df, nil
	}
	var out []weightedTerm
	for _, field := range textFields {
		text := fieldText(fields[field])
		if text == "" {
			continue
		}
		tf := map[string]int{}
		for _, tok := range analyzer.Analyze([]byte(text)) {
			if len(tok.Term) > 2 {
				tf[string(tok.Term)]++
			}
		}
		for t, f := range tf {
			df, err := docFreq(t, field)
			if err != nil {
				return nil, err
			}
			if df <= 1 {
				continue // only in this document: nothing to be similar on
			}
			idf := math.Log(float64(n+1) / float64(df))
			out = append(out, weightedTerm{field: field, term: t, weight: (1 + math.Log(float64(f))) * idf})
		}
	}
	slices.SortFunc(out, func(a, b weightedTerm) int {
		if a.weight != b.weight {
			if a.weight > b.weight {
				return -1
			}
			return 1
		}
		return strings.Compare(a.field+a.term, b.field+b.term)
	})
	if len(out) > similarTerms {
		out = out[:similarTerms]
	}
	return out, nil
}

func fieldText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var parts []string
		for _, p := range x {
			if s, ok := p.(string); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "\n")
	}
	return ""
}
