package search

import (
	"sync"

	"github.com/blevesearch/bleve/v2/index/scorch"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// segmentCache keeps something read from a segment (a facet field's values,
// a filter's matches) under a name, for every shard of an index. A segment
// never changes, so what was read from it stays true for as long as it
// exists; it is its own key, since ids repeat across shards.
//
// A segment merged away is never looked up again: an entry unused for
// forgetAfter lookups is dropped.
//
// Only segments on disk are kept. A segment still in memory is a batch
// that Scorch's persister will soon write out and drop, and an entry
// would keep its whole buffer alive for forgetAfter lookups: under writes
// and searches at once that held over a gigabyte of batches (measured,
// with the persister napping between rounds). Its values are read at
// every search instead, which costs little, as it holds few documents.
type segmentCache[V any] struct {
	forgetAfter uint64

	mu      sync.Mutex
	entries map[segmentKey]*cachedEntry[V]
	// uses counts the snapshots looked up.
	uses uint64
}

type segmentKey struct {
	seg  segment.Segment
	name string
}

type cachedEntry[V any] struct {
	v        V
	lastUsed uint64
}

func newSegmentCache[V any](forgetAfter uint64) *segmentCache[V] {
	return &segmentCache[V]{forgetAfter: forgetAfter, entries: map[segmentKey]*cachedEntry[V]{}}
}

// get returns name's value in each of segs, in order. read reads the
// values of the segments it has not seen (their positions in segs), in
// that order.
func (c *segmentCache[V]) get(segs []*scorch.SegmentSnapshot, name string, read func(missing []int) ([]V, error)) ([]V, error) {
	out := make([]V, len(segs))
	var missing []int
	c.mu.Lock()
	c.uses++
	now := c.uses
	for i, ss := range segs {
		if !persisted(ss) {
			missing = append(missing, i)
		} else if e := c.entries[segmentKey{ss.Segment(), name}]; e != nil {
			e.lastUsed = now
			out[i] = e.v
		} else {
			missing = append(missing, i)
		}
	}
	if now%c.forgetAfter == 0 {
		for k, e := range c.entries {
			if now-e.lastUsed >= c.forgetAfter {
				delete(c.entries, k)
			}
		}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	// Read outside the lock: two searches may read the same new segment
	// once each, which is cheaper than making every search wait.
	got, err := read(missing)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, i := range missing {
		out[i] = got[k]
		if persisted(segs[i]) {
			c.entries[segmentKey{segs[i].Segment(), name}] = &cachedEntry[V]{v: got[k], lastUsed: now}
		}
	}
	return out, nil
}

// persisted reports whether ss is a segment on disk (not a batch still in
// memory).
func persisted(ss *scorch.SegmentSnapshot) bool {
	_, ok := ss.Segment().(segment.PersistedSegment)
	return ok
}
