package search

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// Compaction: merging a shard's small segments into one once writes stop.
//
// Every batch of live writes becomes a segment, and the merge policy
// (runtimeConfig) keeps up to about 35 of them per shard at 100,000
// documents: its floor is low so that filing cases does not spend its CPU
// merging small segments into each other again and again. But a query
// builds its searchers on every segment, Casefile twice per query (the
// highlighting pass) and with the permission filter, so those segments
// slowed queries (measured: after filing 6,800 cases, mid p50 3.5 → 4.5
// ms and selective 1.3 → 2.4 ms over HTTP). Once no write has come for
// compactQuiet, the small segments of each shard are merged into one
// (when worthCompacting): the writes keep their cheap merges, and the
// reads get few segments back.
const (
	// compactQuiet is how long writes must have stopped.
	compactQuiet = 3 * time.Second
	// compactEvery is how often the compactor looks.
	compactEvery = time.Second
	// smallSegment is the size, in documents, under which a segment is
	// merged by compaction. It bounds what one compaction rewrites, and so
	// its cost, whatever the size of the index: a segment that grows past
	// it is left to the merge policy.
	smallSegment = 2_000
	// compactAtCount is how many small segments a shard may have before
	// compaction merges them whatever their sizes.
	compactAtCount = 8
)

// worthCompacting says whether to merge a shard's small segments, given
// their sizes in documents. Merging rewrites the largest of them too, so
// it waits until the others hold a quarter of its documents (each rewrite
// then grows it by a quarter at least, so a document is rewritten about
// five times before its segment outgrows smallSegment), or until there
// are compactAtCount of them, which bounds what a query visits when
// writes come one at a time (at the price of rewriting up to smallSegment
// documents, about a second of CPU, every seven such writes).
func worthCompacting(sizes []int64) bool {
	if len(sizes) < 2 {
		return false
	}
	if len(sizes) >= compactAtCount {
		return true
	}
	var largest, all int64
	for _, n := range sizes {
		largest = max(largest, n)
		all += n
	}
	return 4*(all-largest) >= largest
}

// compactPlan merges every segment under smallSegment documents (live
// size under MaxSegmentSize/2) into as few segments as hold
// 2*smallSegment documents each: one, usually.
var compactPlan = mergeplan.MergePlanOptions{
	MaxSegmentsPerTier:   1,
	MaxSegmentSize:       2 * smallSegment,
	TierGrowth:           1,
	SegmentsPerMergeTask: 1_000,
	FloorSegmentSize:     2 * smallSegment,
	ReclaimDeletesWeight: 2,
}

// compactor runs compactions for an Index on its own goroutine.
type compactor struct {
	lastWrite atomic.Int64 // unix nanoseconds of the last write (or open)
	stop      context.CancelFunc
	done      sync.WaitGroup
}

// wrote records a write, which makes a compaction due once writes stop.
func (c *compactor) wrote(now time.Time) { c.lastWrite.Store(now.UnixNano()) }

// due says whether to compact at now, given the time of the last write
// and of the last write a compaction covered.
func due(now time.Time, lastWrite, compacted int64) bool {
	return lastWrite > compacted && now.UnixNano()-lastWrite >= int64(compactQuiet)
}

// startCompactor starts compacting x when writes stop; Close stops it. The
// index counts as written at start, so small segments left by an earlier
// run are compacted too.
func (x *Index) startCompactor() {
	ctx, cancel := context.WithCancel(context.Background())
	x.compact = &compactor{stop: cancel}
	x.compact.wrote(time.Now())
	x.compact.done.Go(func() {
		var compacted int64
		t := time.NewTicker(compactEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				last := x.compact.lastWrite.Load()
				if !due(now, last, compacted) {
					continue
				}
				done, err := x.compactSmallSegments(ctx)
				if err != nil && ctx.Err() == nil {
					// Not retried until the next write: a failure that
					// persists would otherwise log every second, and the
					// index serves correctly without compaction.
					x.log.Warn("search: compacting small segments", "err", err)
					done = true
				}
				if done {
					compacted = last
				}
			}
		}
	})
}

// stopCompactor stops the compactor and waits for a compaction under way.
// Scorch's ForceMerge does not watch its context (it gives up only when
// the index closes), so a merge under way finishes first: at most
// smallSegment documents per shard.
func (x *Index) stopCompactor() {
	if x.compact != nil {
		x.compact.stop()
		x.compact.done.Wait()
	}
}

// compactSmallSegments merges each shard's segments under smallSegment
// documents into one, on shards where that is worth it (worthCompacting). It
// reports done = false when a shard still had segments in memory (Scorch
// merges only what it has persisted; they will be, shortly), so that the
// compactor tries again.
func (x *Index) compactSmallSegments(ctx context.Context) (done bool, err error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	done = true
	for _, p := range x.set.parts {
		sc, small, inMemory, err := segmentsOf(p)
		if err != nil {
			return false, err
		}
		if sc == nil {
			continue
		}
		done = done && inMemory == 0
		if !worthCompacting(small) {
			continue
		}
		plan := compactPlan
		start := time.Now()
		if err := sc.ForceMerge(ctx, &plan); err != nil {
			return false, err
		}
		x.log.Debug("search: compacted small segments", "segments", len(small), "took", time.Since(start).String())
	}
	return done, nil
}

// segmentsOf returns the sizes of shard p's persisted segments under
// smallSegment documents, counts its segments not persisted yet, and
// returns its Scorch index (nil for an index that is not one, such as the in-memory index
// served before a rebuild, whose merger would never answer).
func segmentsOf(p bleve.Index) (sc *scorch.Scorch, small []int64, inMemory int, err error) {
	adv, err := p.Advanced()
	if err != nil {
		return nil, nil, 0, err
	}
	sc, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil, nil, 0, nil
	}
	r, err := sc.Reader()
	if err != nil {
		return nil, nil, 0, err
	}
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok || snap == nil {
		return nil, nil, 0, nil // a closed shard has no snapshot
	}
	defer func() { _ = snap.Close() }()
	for _, s := range snap.Segments() {
		if _, persisted := s.Segment().(segment.PersistedSegment); !persisted {
			inMemory++
			continue
		}
		if s.LiveSize() < smallSegment {
			small = append(small, s.LiveSize())
		}
	}
	return sc, small, inMemory, nil
}
