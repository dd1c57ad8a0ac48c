package search

import (
	"context"
	"fmt"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	blevesearch "github.com/blevesearch/bleve/v2/search"
	index "github.com/blevesearch/bleve_index_api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
)

// TestCachedFilterMatchesWhatBleveMatches: searches through the cached
// permission filter find what Bleve's own filter finds (hits, totals,
// facets), for every role, typed and untyped, with and without words and
// keyword filters; also after writes that replace and delete documents of
// segments whose bitmaps are already cached.
func TestCachedFilterMatchesWhatBleveMatches(t *testing.T) {
	x := facetIndex(t)
	require.Greater(t, segmentCount(t, x), 2)
	ctx := context.Background()
	s := NewSearcher(x)
	cache := x.filters
	users := []*auth.User{
		{Username: "ian", Role: auth.RoleInvestigator, Team: "t1"},
		{Username: "val", Role: auth.RoleVendorAgent, Team: "t2", Vendor: "acme"},
		{Username: "lee", Role: auth.RoleLead, Team: "t1"},
		{Username: "ada", Role: auth.RoleAdmin},
		{Username: "lou", Role: auth.RoleLeadership},
	}
	requests := []Request{
		{Sort: "key", Size: MaxSize, Facets: []string{"type", "status"}},
		{Query: "refund", Sort: "key", Size: MaxSize, Facets: []string{"team"}},
		{Query: "refund status:new,closed", Sort: "key", Size: MaxSize},
		{Types: []string{TypeCase}, Sort: "key", Size: MaxSize, Filters: map[string][]string{"team": {"t1", "t2"}}},
		{Query: "appeal", Types: []string{TypeIncident, TypePostmortem}, Sort: "key", Size: MaxSize},
		{Query: "report", Highlight: true, Size: 20},
	}
	compare := func(t *testing.T) {
		for _, u := range users {
			for i, r := range requests {
				x.filters = nil
				want, err := s.Search(ctx, u, r)
				x.filters = cache
				require.NoError(t, err)
				got, err := s.Search(ctx, u, r)
				require.NoError(t, err)
				name := fmt.Sprintf("%s, request %d", u.Role, i)
				assert.Equal(t, want.Total, got.Total, name)
				assert.Equal(t, want.Facets, got.Facets, name)
				if r.Sort != "" {
					assert.Equal(t, keys(want), keys(got), name)
					continue
				}
				// By relevance, documents of equal score come in
				// document-number order, which Scorch's merges in the
				// background change between two searches (seen after the
				// writes below: a different four of many tied documents
				// ended the page). So the page must hold the same
				// scores, and the same documents above its lowest one.
				assert.Equal(t, scores(want), scores(got), name)
				assert.ElementsMatch(t, keysAbove(want), keysAbove(got), name)
			}
		}
	}
	compare(t)
	require.NotEmpty(t, cache.entries, "the searches went through the cache")

	// Replace and delete documents of the segments already cached.
	var changes []Change
	seq := int64(5000)
	for i := 0; i < 300; i += 3 {
		seq++
		c := facetDoc(i+1, "refund appeal report") // other team, status, restriction
		c.ID, c.Seq = fmt.Sprintf("d%04d", i), seq
		changes = append(changes, c)
	}
	for i := 1; i < 300; i += 10 {
		seq++
		changes = append(changes, Change{Type: TypeCase, ID: fmt.Sprintf("d%04d", i), Seq: seq, Deleted: true})
	}
	require.NoError(t, x.Apply(changes, seq))
	compare(t)
}

func scores(r Result) []float64 {
	out := make([]float64, len(r.Hits))
	for i, h := range r.Hits {
		out[i] = h.Score
	}
	return out
}

// keysAbove are the hits scored above the page's last one.
func keysAbove(r Result) []string {
	var out []string
	for _, h := range r.Hits {
		if h.Score > r.Hits[len(r.Hits)-1].Score {
			out = append(out, docID(h.Type, h.ID))
		}
	}
	return out
}

func keys(r Result) []string {
	out := make([]string, len(r.Hits))
	for i, h := range r.Hits {
		out[i] = docID(h.Type, h.ID)
	}
	return out
}

// TestBitmapSearcherWalksInOrder: Next and Advance visit a filter's
// matches in document order across segments, skipping deleted documents
// and segments without matches.
func TestBitmapSearcherWalksInOrder(t *testing.T) {
	mk := func() *bitmapSearcher {
		return &bitmapSearcher{segs: []segmentBits{
			{offset: 0, bits: roaring.BitmapOf(1, 5, 9), deleted: roaring.BitmapOf(5)},
			{offset: 10, bits: roaring.New()},
			{offset: 10, bits: roaring.BitmapOf(0, 3)},
			{offset: 20, bits: roaring.BitmapOf(7)},
		}}
	}
	sctx := &blevesearch.SearchContext{DocumentMatchPool: blevesearch.NewDocumentMatchPool(4, 0)}
	id := func(d *blevesearch.DocumentMatch) int {
		if d == nil {
			return -1
		}
		return int(d.IndexInternalID.Value())
	}

	var walked []int
	s := mk()
	for {
		d, err := s.Next(sctx)
		require.NoError(t, err)
		if d == nil {
			break
		}
		walked = append(walked, id(d))
	}
	assert.Equal(t, []int{1, 9, 10, 13, 27}, walked)

	for target, want := range map[uint64]int{0: 1, 2: 9, 5: 9, 9: 9, 10: 10, 11: 13, 14: 27, 27: 27, 28: -1, 1000: -1} {
		d, err := mk().Advance(sctx, index.NewIndexInternalID(nil, target))
		require.NoError(t, err)
		assert.Equal(t, want, id(d), "advance to %d", target)
	}

	// Advancing then walking on, as a conjunction does.
	s = mk()
	var steps []int
	for _, step := range []func() (*blevesearch.DocumentMatch, error){
		func() (*blevesearch.DocumentMatch, error) { return s.Advance(sctx, index.NewIndexInternalID(nil, 2)) },
		func() (*blevesearch.DocumentMatch, error) { return s.Next(sctx) },
		func() (*blevesearch.DocumentMatch, error) { return s.Advance(sctx, index.NewIndexInternalID(nil, 12)) },
		func() (*blevesearch.DocumentMatch, error) { return s.Advance(sctx, index.NewIndexInternalID(nil, 20)) },
		func() (*blevesearch.DocumentMatch, error) { return s.Next(sctx) },
	} {
		d, err := step()
		require.NoError(t, err)
		steps = append(steps, id(d))
	}
	assert.Equal(t, []int{9, 10, 13, 27, -1}, steps)
}

// TestFilterReadsAnySegments: reading a filter's matches in some of a
// snapshot's segments (the ones new to the cache, which need not be
// neighbours) gives each the bitmap a read of every segment gives it.
func TestFilterReadsAnySegments(t *testing.T) {
	x := facetIndex(t)
	ctx := context.Background()
	u := &auth.User{Username: "ian", Role: auth.RoleInvestigator, Team: "t1"}
	f := newCachedFilter(newFilterCache(), visibility(u)).(*cachedFilter)
	for _, p := range x.set.parts {
		adv, err := p.Advanced()
		require.NoError(t, err)
		r, err := adv.Reader()
		require.NoError(t, err)
		snap := r.(*scorch.IndexSnapshot)
		segs := snap.Segments()
		require.Greater(t, len(segs), 2)
		offsets := make([]uint64, len(segs)+1)
		all := make([]int, len(segs))
		for i, ss := range segs {
			offsets[i+1] = offsets[i] + ss.Segment().Count()
			all[i] = i
		}
		full, err := f.read(ctx, snap, p.Mapping(), offsets, all)
		require.NoError(t, err)
		matched := 0
		for _, b := range full {
			matched += int(b.GetCardinality())
		}
		require.NotZero(t, matched)
		for start := range 3 {
			var some []int
			for i := start; i < len(segs); i += 3 {
				some = append(some, i)
			}
			got, err := f.read(ctx, snap, p.Mapping(), offsets, some)
			require.NoError(t, err)
			for k, i := range some {
				assert.True(t, full[i].Equals(got[k]), "segment %d of %v", i, some)
			}
		}
		require.NoError(t, r.Close())
	}
}
