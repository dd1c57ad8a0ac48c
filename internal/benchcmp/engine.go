// Package benchcmp holds the other full-text engines Casefile's search is
// compared against in a side-by-side benchmark: SQLite FTS5 (pure Go,
// through modernc.org/sqlite) and PostgreSQL full-text search (tsvector +
// GIN, on a private server the package starts itself). Each implements
// Engine over the synthetic documents of internal/corpus, so that the same
// runner can load the same corpus into every engine, Casefile's own
// included, and time the same queries against each.
package benchcmp

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/search"
)

// Query is one benchmark query: the AND of Terms over all text fields
// (title, summary, body, notes, evidence, root_causes), optionally restricted
// by exact keyword filters (field -> value, e.g. {"type":"case","status":"investigating"}),
// top Size by relevance, with a count per value of each of Facets (keyword
// fields, e.g. "status", "severity"), and highlighted snippets for the
// returned hits only.
type Query struct {
	Class   string            // "broad", "mid", "selective", "filter" (labels only)
	Terms   []string          // single lower-case words
	Filters map[string]string // keyword field -> value; fields: type, status, severity, team, vendor, month
	Facets  []string          // keyword fields, same set
	Size    int               // default 10
}

// Result is what an engine found for a Query.
type Result struct {
	Total    int                       // documents matching
	IDs      []string                  // top hits, best first (corpus ids like d0000042)
	Facets   map[string]map[string]int // facet -> value -> count over ALL matching documents
	Snippets int                       // how many returned hits got a non-empty highlighted snippet
}

// Engine is a full-text engine under benchmark.
type Engine interface {
	Name() string
	// Load indexes documents 0..n-1 of gen (bulk, as fast as the engine allows) and
	// returns when they are searchable.
	Load(ctx context.Context, gen *corpus.Gen, n int) error
	Search(ctx context.Context, q Query) (Result, error)
	Close() error
}

// DefaultSize is the number of hits a Query with no Size returns.
const DefaultSize = 10

// KeywordFields are the fields Filters and Facets may name. They are the
// column names of both engines' tables, so a name is checked against this
// list before it goes into SQL.
var KeywordFields = []string{"type", "status", "severity", "team", "vendor", "month"}

// TextFields are the fields Terms are looked for in, in column order.
var TextFields = []string{"title", "summary", "body", "notes", "evidence", "root_causes"}

// Both engines mark highlighted words as Casefile's search does.
const (
	markOpen  = "<mark>"
	markClose = "</mark>"
)

func isKeyword(f string) bool { return slices.Contains(KeywordFields, f) }

// normalized checks q's field names and terms and fills in defaults. Filters
// come back as sorted field names with their values, so that SQL text (and
// so prepared-statement caches) is stable for a query shape.
func normalized(q Query) (Query, []string, error) {
	if q.Size <= 0 {
		q.Size = DefaultSize
	}
	var fields []string
	for f := range q.Filters {
		if !isKeyword(f) {
			return q, nil, fmt.Errorf("benchcmp: cannot filter on %q (keyword fields are %s)", f, strings.Join(KeywordFields, ", "))
		}
		fields = append(fields, f)
	}
	slices.Sort(fields)
	seen := map[string]bool{}
	var facets []string
	for _, f := range q.Facets {
		if !isKeyword(f) {
			return q, nil, fmt.Errorf("benchcmp: cannot facet on %q (keyword fields are %s)", f, strings.Join(KeywordFields, ", "))
		}
		if !seen[f] {
			seen[f] = true
			facets = append(facets, f)
		}
	}
	q.Facets = facets
	var terms []string
	for _, t := range q.Terms {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if strings.ContainsFunc(t, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }) {
			return q, nil, fmt.Errorf("benchcmp: term %q is not a single word", t)
		}
		terms = append(terms, strings.ToLower(t))
	}
	q.Terms = terms
	return q, fields, nil
}

// emptyFacets is a Result.Facets with an empty count map per facet.
func emptyFacets(facets []string) map[string]map[string]int {
	out := make(map[string]map[string]int, len(facets))
	for _, f := range facets {
		out[f] = map[string]int{}
	}
	return out
}

// nullable is v, or nil (SQL NULL) when it is empty: a document without a
// team or vendor has no value, and facets do not count it, as in Bleve.
func nullable(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// generate hands documents 0..n-1 of gen to fn in order, in batches of at
// most size, generating them on every core meanwhile so that the engine's
// loader is not kept waiting on the generator. fn runs on the caller's
// goroutine, one batch at a time.
func generate(ctx context.Context, gen *corpus.Gen, n, size int, fn func(first int, docs []search.Doc) error) error {
	if n <= 0 {
		return nil
	}
	type job struct {
		first int
		out   chan []search.Doc
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel, below
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job)
	// order holds the batches in flight, in document order: generation runs
	// at most cap(order) batches ahead of fn.
	order := make(chan job, 2*workers)
	wg.Go(func() {
		defer close(jobs)
		defer close(order)
		for first := 0; first < n; first += size {
			j := job{first: first, out: make(chan []search.Doc, 1)}
			select {
			case order <- j:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	})
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				docs := make([]search.Doc, 0, min(size, n-j.first))
				for i := j.first; i < min(j.first+size, n); i++ {
					docs = append(docs, gen.Doc(i))
				}
				j.out <- docs
			}
		})
	}
	for j := range order {
		var docs []search.Doc
		select {
		case docs = <-j.out:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := fn(j.first, docs); err != nil {
			return err
		}
	}
	return ctx.Err()
}
