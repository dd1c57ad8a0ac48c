package search

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	blevesearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/collector"
	index "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// Terms facets on keyword fields are counted here, not by Bleve.
//
// Bleve counts a facet by reading every matching document's doc values,
// one document at a time: profiled in-process at 100,000 documents, the
// two facets of a search were a quarter of a mid query's CPU and a fifth
// of a selective one's, even with doc values laid out for direct reads
// (see directDocValues). Counting them here took broad queries from 51 to
// 34 ms and mid ones from 2.0 to 1.6 ms (p50, same index).
//
// A keyword field's indexed terms are exactly its values, and a segment
// never changes once written. So the values of a field in a segment are
// read once, from its term dictionary and postings, into an array by
// document number (segmentValues), and counting a match is an array read.
// The arrays are cached per segment (valueCache) and dropped once no
// search has used their segment for a while (a merge replaced it).
//
// The counting hooks into Bleve's collector through its documented
// extension point, search.MakeDocumentMatchHandlerKey: the handler sees
// every match with the snapshot it came from, counts it, and hands it on
// to Bleve's own top-N handler. The result is the FacetResult Bleve would
// build (same terms, totals, missing, other and order), with counts that
// are exact across shards.
//
// The arrays cost 4 bytes per document and field, and reading them a
// dictionary walk per segment: cheap for the fields Casefile facets on
// (statuses, teams, vendors, tags, months: few values each), not meant
// for identifiers.

// ownFacet is a facet this package counts: a terms facet (no ranges) on
// a keyword field.
func ownFacet(fr *bleve.FacetRequest) bool {
	return fr != nil && len(fr.NumericRanges) == 0 && len(fr.DateTimeRanges) == 0 &&
		slices.Contains(keywordFields, fr.Field)
}

// segmentValues is one field's values in one segment, by document number.
type segmentValues struct {
	terms []string
	// one is the ordinal+1 of a document's only value; 0: none;
	// severalValues: see several.
	one     []uint32
	several map[uint32][]uint32
}

const severalValues = ^uint32(0)

// readValues reads field's values in seg from its term dictionary.
func readValues(seg segment.Segment, field string) (*segmentValues, error) {
	v := &segmentValues{one: make([]uint32, seg.Count())}
	dict, err := seg.Dictionary(field)
	if err != nil {
		return nil, err
	}
	terms := dict.AutomatonIterator(nil, nil, nil)
	var pl segment.PostingsList
	var it segment.PostingsIterator
	for {
		entry, err := terms.Next()
		if err != nil {
			return nil, err
		}
		if entry == nil {
			return v, nil
		}
		ord := uint32(len(v.terms))
		v.terms = append(v.terms, entry.Term)
		if pl, err = dict.PostingsList([]byte(entry.Term), nil, pl); err != nil {
			return nil, err
		}
		it = pl.Iterator(false, false, false, it)
		for {
			p, err := it.Next()
			if err != nil {
				return nil, err
			}
			if p == nil {
				break
			}
			n := uint32(p.Number())
			switch prev := v.one[n]; prev {
			case 0:
				v.one[n] = ord + 1
			case severalValues:
				v.several[n] = append(v.several[n], ord)
			default:
				if v.several == nil {
					v.several = map[uint32][]uint32{}
				}
				v.several[n] = []uint32{prev - 1, ord}
				v.one[n] = severalValues
			}
		}
	}
}

// valueCache holds segmentValues per segment and field.
type valueCache = segmentCache[*segmentValues]

// forgetAfter is how many lookups an unused entry of a valueCache
// survives. A search looks up once per shard and facet (four for two
// facets on two shards), so this spans dozens of searches, while a
// merged-away segment (which the entry keeps in memory) is let go soon
// enough.
const forgetAfter = 256

func newValueCache() *valueCache { return newSegmentCache[*segmentValues](forgetAfter) }

// facetValues returns field's values in each segment of snap, reading
// those c has not seen.
func facetValues(c *valueCache, snap *scorch.IndexSnapshot, field string) ([]*segmentValues, error) {
	segs := snap.Segments()
	return c.get(segs, field, func(missing []int) ([]*segmentValues, error) {
		out := make([]*segmentValues, len(missing))
		for k, i := range missing {
			v, err := readValues(segs[i].Segment(), field)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	})
}

// facetCounts counts own facets for one search, over every shard.
type facetCounts struct {
	cache    *valueCache
	requests map[string]*bleve.FacetRequest
	names    []string

	mu     sync.Mutex
	shards []*shardCounts
}

// shardCounts are one shard's counts, per facet and segment.
type shardCounts struct {
	offsets []uint64 // first global document number of each segment
	facets  []fieldCounts
	cur     int // the segment of the last match (matches come in order)
}

// fieldCounts are one facet's counts in one shard, per segment.
type fieldCounts struct {
	values  []*segmentValues // per segment
	counts  [][]int          // per segment, per ordinal
	total   int
	missing int
}

func newFacetCounts(cache *valueCache, requests map[string]*bleve.FacetRequest) *facetCounts {
	f := &facetCounts{cache: cache, requests: requests}
	for name := range requests {
		f.names = append(f.names, name)
	}
	return f
}

// handlerMaker is the search.MakeDocumentMatchHandler that counts each
// shard's matches before Bleve's top-N handler sees them.
func (f *facetCounts) handlerMaker(sctx *blevesearch.SearchContext) (blevesearch.DocumentMatchHandler, bool, error) {
	next, loadID, err := collector.MakeTopNDocumentMatchHandler(sctx)
	if err != nil {
		return nil, false, err
	}
	snap, ok := sctx.IndexReader.(*scorch.IndexSnapshot)
	if !ok {
		return nil, false, errNotScorch
	}
	sc := &shardCounts{}
	var running uint64
	for _, ss := range snap.Segments() {
		sc.offsets = append(sc.offsets, running)
		running += ss.Segment().Count()
	}
	for _, name := range f.names {
		values, err := facetValues(f.cache, snap, f.requests[name].Field)
		if err != nil {
			return nil, false, err
		}
		counts := make([][]int, len(values))
		for i, v := range values {
			counts[i] = make([]int, len(v.terms))
		}
		sc.facets = append(sc.facets, fieldCounts{values: values, counts: counts})
	}
	f.mu.Lock()
	f.shards = append(f.shards, sc)
	f.mu.Unlock()
	return func(d *blevesearch.DocumentMatch) error {
		if d != nil {
			sc.add(d.IndexInternalID.Value())
		}
		return next(d)
	}, loadID, nil
}

func (sc *shardCounts) add(doc uint64) {
	if len(sc.offsets) == 0 {
		return
	}
	if doc < sc.offsets[sc.cur] || (sc.cur+1 < len(sc.offsets) && doc >= sc.offsets[sc.cur+1]) {
		sc.cur = sort.Search(len(sc.offsets), func(i int) bool { return sc.offsets[i] > doc }) - 1
	}
	local := uint32(doc - sc.offsets[sc.cur])
	for i := range sc.facets {
		f := &sc.facets[i]
		v, counts := f.values[sc.cur], f.counts[sc.cur]
		switch ord := v.one[local]; ord {
		case 0:
			f.missing++
		case severalValues:
			for _, o := range v.several[local] {
				counts[o]++
			}
			f.total += len(v.several[local])
		default:
			counts[ord-1]++
			f.total++
		}
	}
}

// results are the facets as Bleve would report them (see
// facet.TermsFacetBuilder.Result), summed over shards and segments.
func (f *facetCounts) results() blevesearch.FacetResults {
	out := blevesearch.FacetResults{}
	for i, name := range f.names {
		fr := f.requests[name]
		byTerm := map[string]int{}
		res := &blevesearch.FacetResult{Field: fr.Field, Terms: &blevesearch.TermFacets{}}
		for _, sc := range f.shards {
			c := sc.facets[i]
			res.Total += c.total
			res.Missing += c.missing
			for s, counts := range c.counts {
				for o, n := range counts {
					if n > 0 {
						byTerm[c.values[s].terms[o]] += n
					}
				}
			}
		}
		for term, n := range byTerm {
			res.Terms.Add(&blevesearch.TermFacet{Term: term, Count: n})
		}
		sort.Sort(res.Terms)
		res.Terms.TrimToTopN(min(fr.Size, res.Terms.Len()))
		notOther := 0
		for _, t := range res.Terms.Terms() {
			notOther += t.Count
		}
		res.Other = res.Total - notOther
		out[name] = res
	}
	return out
}

// withFacetCounting takes req's own facets out of it and returns the
// context that counts them, or req and ctx unchanged when it has none.
func withFacetCounting(ctx context.Context, cache *valueCache, req *bleve.SearchRequest) (context.Context, *bleve.SearchRequest, *facetCounts) {
	own := map[string]*bleve.FacetRequest{}
	for name, fr := range req.Facets {
		if ownFacet(fr) {
			own[name] = fr
		}
	}
	if len(own) == 0 {
		return ctx, req, nil
	}
	rest := *req
	rest.Facets = nil
	for name, fr := range req.Facets {
		if own[name] == nil {
			rest.AddFacet(name, fr)
		}
	}
	counts := newFacetCounts(cache, own)
	return context.WithValue(ctx, blevesearch.MakeDocumentMatchHandlerKey, blevesearch.MakeDocumentMatchHandler(counts.handlerMaker)), &rest, counts
}

var errNotScorch = errors.New("search: facets: the index is not a Scorch index")

func isScorch(i index.Index) bool {
	_, ok := i.(*scorch.Scorch)
	return ok
}
