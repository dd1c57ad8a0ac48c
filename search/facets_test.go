package search

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	blevesearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
)

// facetDoc is document i of a varied set: several statuses and teams, no
// vendor on most, zero to three policy areas, cases and incidents.
func facetDoc(i int, title string) Change {
	at := time.Date(2026, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
	areas := []string{"fraud", "spam", "hate_speech", "scams"}[:i%4]
	d := Doc{Key: fmt.Sprintf("K-%d", i), Title: title, Status: []string{"new", "triage", "investigating", "closed"}[i%4],
		Severity: fmt.Sprintf("sev%d", 1+i%3), Team: fmt.Sprintf("t%d", i%5), PolicyAreas: areas, Restricted: i%7 == 0,
		Month: at.Format("2006-01"), CreatedAt: at, UpdatedAt: at}
	if i%6 == 0 {
		d.Vendor = "acme"
	}
	typ := TypeCase
	if i%9 == 0 {
		typ = TypeIncident
	}
	return Change{Type: typ, ID: fmt.Sprintf("d%04d", i), Seq: int64(i + 1), Doc: d}
}

// facetIndex is a two-shard index of 300 rebuilt documents with later
// writes on top: updates (which delete a document from the rebuilt
// segment), new documents and deletions, in several batches, so each shard
// holds several segments.
func facetIndex(t *testing.T) *Index {
	t.Helper()
	ctx := context.Background()
	var src staticSource
	for i := range 300 {
		src = append(src, facetDoc(i, "refund fraud report"))
	}
	x, _, err := OpenWith(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Shards: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = x.Close() })
	_, err = x.Rebuild(ctx, src, 50)
	require.NoError(t, err)
	seq := int64(1000)
	for batch := range 5 {
		var changes []Change
		for i := batch * 40; i < batch*40+40; i++ {
			seq++
			c := facetDoc(i+batch, "refund appeal") // a rebuilt document, changed
			c.ID, c.Seq = fmt.Sprintf("d%04d", i), seq
			changes = append(changes, c)
			seq++
			n := facetDoc(1000+batch*40+i, "new refund report") // a new one
			n.Seq = seq
			changes = append(changes, n)
		}
		seq++
		changes = append(changes, Change{Type: TypeCase, ID: fmt.Sprintf("d%04d", 250+batch), Seq: seq, Deleted: true})
		require.NoError(t, x.Apply(changes, seq))
	}
	return x
}

func segmentCount(t *testing.T, x *Index) int {
	t.Helper()
	n := 0
	for _, p := range x.set.parts {
		adv, err := p.Advanced()
		require.NoError(t, err)
		r, err := adv.Reader()
		require.NoError(t, err)
		n += len(r.(*scorch.IndexSnapshot).Segments())
		require.NoError(t, r.Close())
	}
	return n
}

// TestFacetsCountAsBleveDoes: the facets counted from segment values equal
// the ones Bleve counts from doc values, field by field (terms, their
// order, total, missing, other), over segments with replaced and deleted
// documents, multi-valued and missing fields, any facet size, and with the
// permission filter of a search.
func TestFacetsCountAsBleveDoes(t *testing.T) {
	x := facetIndex(t)
	require.Greater(t, segmentCount(t, x), 2, "the writes must leave several segments")
	require.NotNil(t, x.set.values, "a Scorch index counts its own facets")
	ctx := context.Background()

	facets := func(req *bleve.SearchRequest, viaBleve bool) blevesearch.FacetResults {
		x.bleveFacets = viaBleve
		defer func() { x.bleveFacets = false }()
		res, err := x.search(ctx, req)
		require.NoError(t, err)
		return res.Facets
	}
	match := func(text string) *bleve.SearchRequest {
		q := bleve.NewMatchQuery(text)
		q.SetField("title")
		q.SetOperator(query.MatchQueryOperatorAnd)
		return bleve.NewSearchRequestOptions(q, 5, 0, false)
	}
	type facet struct {
		field string
		size  int
	}
	cases := []struct {
		name   string
		req    *bleve.SearchRequest
		facets map[string]facet
	}{
		{"every document", bleve.NewSearchRequest(bleve.NewMatchAllQuery()), map[string]facet{
			"status": {"status", 20}, "policy_area": {"policy_area", 20}, "vendor": {"vendor", 20}, "type": {"type", 20}}},
		{"a word", match("refund"), map[string]facet{"team": {"team", 20}, "month": {"month", 20}, "severity": {"severity", 2}}},
		{"the rebuilt title only", match("fraud"), map[string]facet{"policy_area": {"policy_area", 2}, "status": {"status", 1}}},
		{"the changed documents only", match("appeal"), map[string]facet{"status": {"status", 20}, "policy_area": {"policy_area", 3}}},
		{"nothing", match("nowhere"), map[string]facet{"status": {"status", 20}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for name, f := range tc.facets {
				tc.req.AddFacet(name, bleve.NewFacetRequest(f.field, f.size))
			}
			want, got := facets(tc.req, true), facets(tc.req, false)
			require.Len(t, got, len(tc.facets))
			for name := range tc.facets {
				w, g := want[name], got[name]
				require.NotNil(t, g, name)
				assert.Equal(t, w.Field, g.Field, name)
				assert.Equal(t, w.Total, g.Total, "%s: total", name)
				assert.Equal(t, w.Missing, g.Missing, "%s: missing", name)
				assert.Equal(t, w.Other, g.Other, "%s: other", name)
				assert.Equal(t, termsOf(w), termsOf(g), "%s: terms", name)
			}
		})
	}

	t.Run("through Search, as a team member", func(t *testing.T) {
		u := &auth.User{Username: "ian", Role: auth.RoleInvestigator, Team: "t1"}
		s := NewSearcher(x)
		r := Request{Query: "refund", Facets: []string{"status", "policy_area", "type", "vendor"}}
		x.bleveFacets = true
		want, err := s.Search(ctx, u, r)
		x.bleveFacets = false
		require.NoError(t, err)
		got, err := s.Search(ctx, u, r)
		require.NoError(t, err)
		require.NotZero(t, got.Total)
		assert.Equal(t, want.Total, got.Total)
		assert.Equal(t, want.Facets, got.Facets)
	})
}

func termsOf(f *blevesearch.FacetResult) []blevesearch.TermFacet {
	var out []blevesearch.TermFacet
	if f.Terms != nil {
		for _, t := range f.Terms.Terms() {
			out = append(out, *t)
		}
	}
	return out
}

// TestOnlyKeywordTermsFacetsAreCountedHere: range facets and facets on
// other fields are left to Bleve, and come back beside the counted ones.
func TestOnlyKeywordTermsFacetsAreCountedHere(t *testing.T) {
	status := bleve.NewFacetRequest("status", 5)
	created := bleve.NewFacetRequest("created_at", 5)
	created.AddDateTimeRange("h1", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC))
	gravity := bleve.NewFacetRequest("gravity", 5)
	assert.True(t, ownFacet(status))
	assert.False(t, ownFacet(created), "a range facet")
	assert.False(t, ownFacet(gravity), "a numeric field: its terms are encoded")

	x := facetIndex(t)
	req := bleve.NewSearchRequest(bleve.NewMatchAllQuery())
	req.AddFacet("status", status)
	req.AddFacet("created", created)
	res, err := x.search(context.Background(), req)
	require.NoError(t, err)
	require.Contains(t, res.Facets, "status")
	require.Contains(t, res.Facets, "created")
	assert.NotEmpty(t, res.Facets["created"].DateRanges)
	assert.Len(t, req.Facets, 2, "the caller's request is left as it was")
}

// TestSegmentValuesOfMergedSegmentsAreForgotten: the cache keeps what
// searches use and lets go of a segment no search has used for
// forgetAfter lookups.
func TestSegmentValuesOfMergedSegmentsAreForgotten(t *testing.T) {
	x := facetIndex(t)
	adv, err := x.set.parts[0].Advanced()
	require.NoError(t, err)
	r, err := adv.Reader()
	require.NoError(t, err)
	defer r.Close()
	snap := r.(*scorch.IndexSnapshot)

	c := newValueCache()
	gone := segmentKey{name: "status"} // a segment no snapshot holds
	c.entries[gone] = &cachedEntry[*segmentValues]{v: &segmentValues{}}
	for range forgetAfter + 1 {
		_, err := facetValues(c, snap, "status")
		require.NoError(t, err)
	}
	assert.NotContains(t, c.entries, gone)
	onDisk := 0
	for _, ss := range snap.Segments() {
		if persisted(ss) {
			onDisk++
		}
	}
	assert.Len(t, c.entries, onDisk, "one entry per segment on disk")
}

// TestSegmentsInMemoryAreNotCached: a batch Scorch has not yet written to
// disk is read at every search rather than cached, since an entry would
// keep the batch's whole buffer alive long after the persister dropped it.
func TestSegmentsInMemoryAreNotCached(t *testing.T) {
	// A memory-only index never writes its batches to disk.
	m := NewMapping()
	idx, err := bleve.NewUsing("", m, scorch.Name, scorch.Name, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = idx.Close() })
	for i := range 3 {
		b := idx.NewBatch()
		c := facetDoc(i, "refund fraud report")
		require.NoError(t, indexDoc(b, m, docID(c.Type, fmt.Sprintf("d%d", i)), c.Doc))
		require.NoError(t, idx.Batch(b))
	}
	adv, err := idx.Advanced()
	require.NoError(t, err)
	r, err := adv.Reader()
	require.NoError(t, err)
	defer r.Close()
	snap := r.(*scorch.IndexSnapshot)
	require.Len(t, snap.Segments(), 3)
	for _, ss := range snap.Segments() {
		require.False(t, persisted(ss), "the test needs batches still in memory")
	}

	c := newValueCache()
	first, err := facetValues(c, snap, "status")
	require.NoError(t, err)
	assert.Empty(t, c.entries)
	again, err := facetValues(c, snap, "status")
	require.NoError(t, err)
	assert.Equal(t, first, again, "read again, the same values")
}
