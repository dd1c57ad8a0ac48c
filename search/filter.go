package search

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	blevesearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// The permission filter is a query every search carries, and one that
// rarely changes: a user's visibility is the same disjunction of type,
// team, vendor, assignee and restriction terms on every search they make.
// Bleve builds its searchers on every segment of every shard each time
// (a dictionary lookup and postings list per term) and then, for each
// candidate, advances a disjunction of conjunctions to it. Measured at
// 100,000 documents, that was a quarter to a third of a selective search.
//
// A cachedFilter runs its query once per segment instead and keeps the
// matches as a bitmap of the segment's document numbers; a search then
// reads the bitmaps. A segment never changes, so its bitmap stays true;
// the documents deleted from it since (an update obsoletes the version it
// holds) are skipped by looking at the deletions of the snapshot searched.

// filterCache holds a filter's matches per segment and filter.
type filterCache = segmentCache[*roaring.Bitmap]

// filterForgetAfter is how many lookups an unused bitmap survives. A
// search looks up once per shard, twice when it highlights, and a user's
// filter is theirs: this keeps the filters of the last several hundred
// searches (a bitmap is at most one bit per document of its segment), so
// that a user between two searches of their own rarely finds theirs
// gone.
const filterForgetAfter = 4096

func newFilterCache() *filterCache { return newSegmentCache[*roaring.Bitmap](filterForgetAfter) }

// cachedFilter is q, matched through c. It only filters: its matches do
// not score.
type cachedFilter struct {
	q query.Query
	// key names q in the cache: its JSON, which says all it matches.
	key   string
	cache *filterCache
}

// newCachedFilter is q matched through c; q itself when c is nil or q
// cannot be named.
func newCachedFilter(c *filterCache, q query.Query) query.Query {
	if c == nil {
		return q
	}
	key, err := json.Marshal(q)
	if err != nil {
		return q
	}
	return &cachedFilter{q: q, key: string(key), cache: c}
}

func (f *cachedFilter) Searcher(ctx context.Context, r index.IndexReader, m mapping.IndexMapping, options blevesearch.SearcherOptions) (blevesearch.Searcher, error) {
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return f.q.Searcher(ctx, r, m, options)
	}
	segs := snap.Segments()
	offsets := make([]uint64, len(segs)+1)
	for i, ss := range segs {
		offsets[i+1] = offsets[i] + ss.Segment().Count()
	}
	bits, err := f.cache.get(segs, f.key, func(missing []int) ([]*roaring.Bitmap, error) {
		return f.read(ctx, snap, m, offsets, missing)
	})
	if err != nil {
		return nil, err
	}
	s := &bitmapSearcher{}
	for i, ss := range segs {
		if bits[i].IsEmpty() {
			continue
		}
		s.segs = append(s.segs, segmentBits{offset: offsets[i], bits: bits[i], deleted: ss.Deleted()})
		s.count += bits[i].GetCardinality()
	}
	return s, nil
}

// read runs f's query on snap and returns its matches in the segments at
// missing (in order), as bitmaps of their document numbers. offsets are
// the segments' first document numbers in snap, and its size last.
func (f *cachedFilter) read(ctx context.Context, snap *scorch.IndexSnapshot, m mapping.IndexMapping, offsets []uint64, missing []int) ([]*roaring.Bitmap, error) {
	s, err := f.q.Searcher(ctx, snap, m, blevesearch.SearcherOptions{Score: "none"})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	sctx := &blevesearch.SearchContext{DocumentMatchPool: blevesearch.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0), IndexReader: snap}
	out := make([]*roaring.Bitmap, len(missing))
	var d *blevesearch.DocumentMatch
	done := false
	for k, i := range missing {
		bits := roaring.New()
		out[k] = bits
		start, end := offsets[i], offsets[i+1]
		if !done && (d == nil || d.IndexInternalID.Value() < start) {
			if d != nil {
				sctx.DocumentMatchPool.Put(d)
			}
			if d, err = s.Advance(sctx, index.NewIndexInternalID(nil, start)); err != nil {
				return nil, fmt.Errorf("search: filter: %w", err)
			}
			done = d == nil
		}
		for d != nil && d.IndexInternalID.Value() < end {
			bits.Add(uint32(d.IndexInternalID.Value() - start))
			sctx.DocumentMatchPool.Put(d)
			if d, err = s.Next(sctx); err != nil {
				return nil, fmt.Errorf("search: filter: %w", err)
			}
			done = d == nil
		}
		bits.RunOptimize()
	}
	return out, nil
}

// segmentBits are a filter's matches in one segment of a snapshot.
type segmentBits struct {
	offset  uint64          // the segment's first document number
	bits    *roaring.Bitmap // matches, by the segment's own numbers
	deleted *roaring.Bitmap // documents deleted from it; may be nil
}

// bitmapSearcher walks segmentBits in document order.
type bitmapSearcher struct {
	segs  []segmentBits
	count uint64
	cur   int                 // the segment being walked
	it    roaring.IntPeekable // in segs[cur]; nil before its first
}

func (s *bitmapSearcher) Next(ctx *blevesearch.SearchContext) (*blevesearch.DocumentMatch, error) {
	for s.cur < len(s.segs) {
		seg := &s.segs[s.cur]
		if s.it == nil {
			s.it = seg.bits.Iterator()
		}
		for s.it.HasNext() {
			n := s.it.Next()
			if seg.deleted != nil && seg.deleted.Contains(n) {
				continue
			}
			d := ctx.DocumentMatchPool.Get()
			d.IndexInternalID = index.NewIndexInternalID(d.IndexInternalID, seg.offset+uint64(n))
			return d, nil
		}
		s.cur++
		s.it = nil
	}
	return nil, nil
}

// Advance moves to the first match at or after id (never backwards).
func (s *bitmapSearcher) Advance(ctx *blevesearch.SearchContext, id index.IndexInternalID) (*blevesearch.DocumentMatch, error) {
	target := id.Value()
	// The last segment starting at or before target.
	k := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].offset > target }) - 1
	if k > s.cur {
		s.cur, s.it = k, nil
	}
	if s.cur < len(s.segs) && s.cur == k {
		seg := &s.segs[s.cur]
		if s.it == nil {
			s.it = seg.bits.Iterator()
		}
		s.it.AdvanceIfNeeded(uint32(min(target-seg.offset, uint64(^uint32(0)))))
	}
	return s.Next(ctx)
}

func (s *bitmapSearcher) Close() error               { return nil }
func (s *bitmapSearcher) Weight() float64            { return 1 }
func (s *bitmapSearcher) SetQueryNorm(float64)       {}
func (s *bitmapSearcher) Count() uint64              { return s.count }
func (s *bitmapSearcher) Min() int                   { return 0 }
func (s *bitmapSearcher) DocumentMatchPoolSize() int { return 1 }

// Size is what the searcher holds itself; the bitmaps belong to the cache.
func (s *bitmapSearcher) Size() int { return 64 + 48*len(s.segs) }
