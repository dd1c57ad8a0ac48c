package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"casefile.dev/casefile/internal/benchcmp"
	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/search"
)

// rawBleve runs queries straight on the shards of Casefile's index (opened
// read-only, while no server runs) through a bleve.IndexAlias: the same
// index and the same query (search.ParseQuery), without HTTP, JSON,
// authentication or the permission filter. It is what Casefile's search
// API is measured against.
type rawBleve struct {
	parts []bleve.Index
	alias bleve.IndexAlias
}

func openRawBleve(data string) (*rawBleve, error) {
	dirs, err := filepath.Glob(filepath.Join(data, "index", "shard-*"))
	if err != nil || len(dirs) == 0 {
		return nil, fmt.Errorf("no index shards under %s", data)
	}
	r := &rawBleve{}
	for _, d := range dirs {
		idx, err := bleve.OpenUsing(d, map[string]any{"read_only": true})
		if err != nil {
			_ = r.Close()
			return nil, err
		}
		r.parts = append(r.parts, idx)
	}
	r.alias = bleve.NewIndexAlias(r.parts...)
	return r, nil
}

func (r *rawBleve) Name() string { return "raw Bleve" }

func (r *rawBleve) Load(context.Context, *corpus.Gen, int) error {
	return errors.New("raw Bleve reads Casefile's index")
}

func (r *rawBleve) Close() error {
	var errsOut []error
	for _, p := range r.parts {
		errsOut = append(errsOut, p.Close())
	}
	return errors.Join(errsOut...)
}

func (r *rawBleve) Search(ctx context.Context, q benchcmp.Query) (benchcmp.Result, error) {
	user, err := search.ParseQuery(strings.Join(q.Terms, " "))
	if err != nil {
		return benchcmp.Result{}, err
	}
	must := []query.Query{user}
	for k, v := range q.Filters {
		t := bleve.NewTermQuery(v)
		t.SetField(k)
		must = append(must, t)
	}
	req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(must...), max(q.Size, 1), 0, false)
	req.Fields = []string{"id", "key", "title"}
	for _, f := range q.Facets {
		req.AddFacet(f, bleve.NewFacetRequest(f, 20))
	}
	req.Highlight = bleve.NewHighlightWithStyle("html")
	for _, f := range benchcmp.TextFields {
		req.Highlight.AddField(f)
	}
	res, err := r.alias.SearchInContext(ctx, req)
	if err != nil {
		return benchcmp.Result{}, err
	}
	out := benchcmp.Result{Total: int(res.Total), Facets: map[string]map[string]int{}}
	for _, h := range res.Hits {
		id, _ := h.Fields["id"].(string)
		out.IDs = append(out.IDs, id)
		if len(h.Fragments) > 0 {
			out.Snippets++
		}
	}
	for name, fr := range res.Facets {
		out.Facets[name] = map[string]int{}
		if fr.Terms != nil {
			for _, t := range fr.Terms.Terms() {
				out.Facets[name][t.Term] = t.Count
			}
		}
	}
	return out, nil
}

// buildRawBleve times Bleve building the corpus with Casefile's mapping
// and shards (search.Index.Rebuild, the code path of `casefile reindex`)
// from documents generated in memory, with no store to read: the indexing
// table's line for the index alone, loaded the way SQLite FTS5 and
// PostgreSQL are. Generating a document costs about 0.08 ms of CPU
// (corpus.BenchmarkDoc), on the reading goroutine, and is included.
func buildRawBleve(ctx context.Context, cfg config, g *corpus.Gen, rep *report, logf func(string, ...any)) error {
	dir := filepath.Join(cfg.work, "rawbleve-build")
	defer os.RemoveAll(dir)
	x, _, err := search.Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer x.Close()
	logf("raw Bleve: building %d documents from memory", cfg.docs)
	start := time.Now()
	n, err := x.Rebuild(ctx, corpus.Lazy{Gen: g, N: cfg.docs}, search.DefaultBatch)
	if err != nil {
		return fmt.Errorf("raw Bleve: build: %w", err)
	}
	took := time.Since(start)
	rep.indexing = append(rep.indexing, indexRate{engine: rawBuildName, docs: n, took: took})
	logf("raw Bleve: built in %s", took.Round(time.Millisecond))
	return nil
}
