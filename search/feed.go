package search

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"casefile.dev/casefile/internal/groupcommit"
)

// Source is where the feed reads documents: the system of record.
type Source interface {
	// Head is the newest seq the store has handed out.
	Head(ctx context.Context) (int64, error)
	// Changes returns documents written with seq > after, in seq order, at
	// most limit of them.
	Changes(ctx context.Context, after int64, limit int) ([]Change, error)
	// Document returns the current state of one document (Deleted when it
	// is gone or must not be searchable).
	Document(ctx context.Context, typ, id string) (Change, error)
}

// Feed keeps an Index in step with a Source.
//
//   - At start-up CatchUp re-reads every document with seq > checkpoint -
//     Overlap. A write whose notification was lost (a crash between the
//     store write and the index write) has a seq close to the checkpoint,
//     so the overlap finds it; applying a document twice is harmless.
//   - After every local write, Notify indexes that document before the
//     request answers, so a writer always finds its own write.
//   - With several instances on one MongoDB, Poll runs CatchUp on a timer so
//     each instance's index converges on the others' writes.
type Feed struct {
	idx     *Index
	src     Source
	log     *slog.Logger
	overlap int64
	batch   int

	mu sync.Mutex // one writer to the index at a time
	// writes group-commits notified changes (see commit).
	writes   *groupcommit.Group[Change, struct{}]
	caughtUp atomic.Bool
	// recent is the seq applied per document within the overlap window, so
	// that re-reading the window does not re-index what is already there.
	recent map[string]int64
	// pending are documents whose notification failed, for Retry.
	pendingMu sync.Mutex
	pending   map[[2]string]bool
	// gen is the index generation recent refers to.
	gen     int64
	lag     prometheus.Gauge
	batches prometheus.Histogram
	applied prometheus.Gauge
}

// Feed defaults.
const (
	DefaultOverlap = 500
	DefaultBatch   = 500
)

// NewFeed returns a feed; reg may be nil.
func NewFeed(idx *Index, src Source, log *slog.Logger, reg prometheus.Registerer) *Feed {
	f := &Feed{idx: idx, src: src, log: log, overlap: DefaultOverlap, batch: DefaultBatch, recent: map[string]int64{}, pending: map[[2]string]bool{},
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "casefile_index_lag_seq", Help: "How many store writes the search index is behind."}),
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "casefile_index_batch_size", Help: "Documents per index feed batch.",
			Buckets: []float64{1, 5, 25, 100, 250, 500, 1000}}),
		applied: prometheus.NewGauge(prometheus.GaugeOpts{Name: "casefile_index_last_applied_timestamp_seconds", Help: "When the index feed last applied a batch."}),
	}
	f.writes = groupcommit.New(0, f.commitGroup)
	if reg != nil {
		reg.MustRegister(f.lag, f.batches, f.applied)
	}
	return f
}

// Ready reports whether the index has caught up with the store once.
func (f *Feed) Ready() bool { return f.caughtUp.Load() }

// CatchUp applies every change since the checkpoint less the overlap. It
// always re-reads the overlap window: a document written just before a
// crash, or committed late by another instance, can have a seq below a
// checkpoint that later writes already moved past.
func (f *Feed) CatchUp(ctx context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncGeneration()
	head, err := f.src.Head(ctx)
	if err != nil {
		return 0, err
	}
	cp, err := f.idx.Checkpoint()
	if err != nil {
		return 0, err
	}
	n, after := 0, max(0, cp-f.overlap)
	for {
		changes, err := f.src.Changes(ctx, after, f.batch)
		if err != nil {
			return n, err
		}
		if len(changes) == 0 {
			break
		}
		last := changes[len(changes)-1].Seq
		fresh := changes[:0:0]
		for _, c := range changes {
			if f.recent[docID(c.Type, c.ID)] < c.Seq {
				fresh = append(fresh, c)
			}
		}
		// What this process has not applied may still be in the index (a
		// restart forgets recent): ask it, in one query, rather than index
		// the overlap window again at every start.
		if fresh, err = f.notIndexed(fresh); err != nil {
			return n, err
		}
		if err := f.idx.Apply(fresh, last); err != nil {
			return n, err
		}
		f.remember(fresh)
		if len(fresh) > 0 {
			f.batches.Observe(float64(len(fresh)))
			f.applied.SetToCurrentTime()
		}
		n += len(fresh)
		after = last
		f.lag.Set(float64(max(0, head-last)))
		if len(changes) < f.batch {
			break
		}
	}
	// Everything up to head that exists has been read.
	if err := f.idx.Apply(nil, head); err != nil {
		return n, err
	}
	f.forget(max(head, after) - f.overlap)
	f.lag.Set(0)
	f.caughtUp.Store(true)
	return n, nil
}

// notIndexed keeps the changes newer than the version the index holds.
func (f *Feed) notIndexed(changes []Change) ([]Change, error) {
	if len(changes) == 0 {
		return changes, nil
	}
	ids := make([]string, len(changes))
	for i, c := range changes {
		ids[i] = docID(c.Type, c.ID)
	}
	held, err := f.idx.seqsOf(ids)
	if err != nil {
		return nil, err
	}
	out := changes[:0:0]
	for _, c := range changes {
		if held[docID(c.Type, c.ID)] < c.Seq || c.Deleted {
			out = append(out, c)
		}
	}
	return out, nil
}

// syncGeneration forgets what was applied to an index that a rebuild has
// since replaced: a write indexed into the old one after the rebuild read
// the store is not in the new one, and catch-up must not skip it.
func (f *Feed) syncGeneration() {
	if g := f.idx.generation(); g != f.gen {
		f.gen = g
		clear(f.recent)
	}
}

func (f *Feed) remember(changes []Change) {
	for _, c := range changes {
		f.recent[docID(c.Type, c.ID)] = c.Seq
	}
}

// forget drops what fell out of the overlap window.
func (f *Feed) forget(below int64) {
	for k, seq := range f.recent {
		if seq < below {
			delete(f.recent, k)
		}
	}
}

// Notify indexes the current state of one document now. When that fails
// (the store or the index answered an error), the document is remembered
// and Retry indexes it later: a single instance runs no poll that would.
func (f *Feed) Notify(ctx context.Context, typ, id string) error {
	return f.NotifyWith(ctx, typ, id, func(ctx context.Context) (Change, error) { return f.src.Document(ctx, typ, id) })
}

// NotifyWith is Notify for a writer that has the document it just stored
// at hand: doc builds its Change without reading it back from the Source.
// A failure is retried as Notify's are, from the Source.
func (f *Feed) NotifyWith(ctx context.Context, typ, id string, doc func(context.Context) (Change, error)) error {
	c, err := doc(ctx)
	if err == nil {
		err = f.commit(ctx, c)
	}
	f.pendingMu.Lock()
	defer f.pendingMu.Unlock()
	if err != nil {
		f.pending[[2]string{typ, id}] = true
	} else {
		delete(f.pending, [2]string{typ, id})
	}
	return err
}

// Retry re-indexes documents whose notification failed, every interval,
// until ctx ends.
func (f *Feed) Retry(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.pendingMu.Lock()
		todo := make([][2]string, 0, len(f.pending))
		for k := range f.pending {
			todo = append(todo, k)
		}
		f.pendingMu.Unlock()
		for _, k := range todo {
			if err := f.Notify(ctx, k[0], k[1]); err != nil && ctx.Err() == nil {
				f.log.Warn("search index: retrying a write failed again", "type", k[0], "id", k[1], "err", err)
			}
		}
	}
}

// Pending is how many documents wait for Retry.
func (f *Feed) Pending() int {
	f.pendingMu.Lock()
	defer f.pendingMu.Unlock()
	return len(f.pending)
}

// commit applies c, together with whatever other notifications are
// waiting, in one index write (group commit, internal/groupcommit). Every
// index write costs a segment and its share of merging whatever its size,
// so under concurrent writes this is what keeps indexing from being the
// bottleneck. A notifier whose change another took only waits for the
// outcome. (An earlier version had such a notifier wait for the writer
// lock first, which the next group's writer held: it answered one whole
// index write late.)
func (f *Feed) commit(ctx context.Context, c Change) error {
	_, err := f.writes.Do(ctx, c)
	return err
}

// commitGroup is the group commit's write: every change of group shares
// its outcome.
func (f *Feed) commitGroup(_ context.Context, group []Change) []groupcommit.Result[struct{}] {
	f.mu.Lock()
	err := f.applyGroup(group)
	f.mu.Unlock()
	results := make([]groupcommit.Result[struct{}], len(group))
	for i := range results {
		results[i].Err = err
	}
	return results
}

// applyGroup writes the newest version of each document in group that is
// newer than what the index holds. It runs under f.mu.
func (f *Feed) applyGroup(group []Change) error {
	f.syncGeneration()
	newest := map[string]Change{}
	var order []string
	for _, c := range group {
		key := docID(c.Type, c.ID)
		prev, ok := newest[key]
		if !ok {
			order = append(order, key)
		}
		if !ok || c.Seq > prev.Seq {
			newest[key] = c
		}
	}
	// Documents out of the window: the index knows which versions it
	// holds (one query for the group).
	var unknown []string
	for _, key := range order {
		if _, ok := f.recent[key]; !ok && newest[key].Seq > 0 {
			unknown = append(unknown, key)
		}
	}
	held := map[string]int64{}
	if len(unknown) > 0 {
		var err error
		if held, err = f.idx.seqsOf(unknown); err != nil {
			return err
		}
	}
	var changes []Change
	var top int64
	for _, key := range order {
		c := newest[key]
		applied, ok := f.recent[key]
		if !ok {
			applied = held[key]
		}
		if applied > c.Seq {
			continue // a newer version is already in (two writers' notifications crossed)
		}
		changes = append(changes, c)
		top = max(top, c.Seq)
	}
	if len(changes) == 0 {
		return nil
	}
	if err := f.idx.Apply(changes, top); err != nil {
		return err
	}
	f.remember(changes)
	if len(f.recent) > 4*int(f.overlap) {
		f.forget(top - f.overlap)
	}
	f.batches.Observe(float64(len(changes)))
	f.applied.SetToCurrentTime()
	return nil
}

// Poll runs CatchUp every interval until ctx ends.
func (f *Feed) Poll(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := f.CatchUp(ctx); err != nil && ctx.Err() == nil {
				f.log.Warn("search index feed", "err", err)
			}
		}
	}
}
