package search

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"
	blevesearch "github.com/blevesearch/bleve/v2/search"
)

// Keys of values kept inside each shard (bleve SetInternal).
var (
	keyVersion    = []byte("casefile.mapping_version")
	keyCheckpoint = []byte("casefile.checkpoint")
	// keyShard is "k/n": which of how many shards this one is.
	keyShard = []byte("casefile.shard")
	// keyFlush is never set: flush deletes it to have something to persist.
	keyFlush = []byte("casefile.flush")
)

// MaxShards bounds Options.Shards.
const MaxShards = 16

// DefaultShards is one shard per core the process may use (at most
// MaxShards): a query runs on every shard at once, so a broad query's work
// is split across the cores instead of queueing on one.
func DefaultShards() int { return min(max(runtime.GOMAXPROCS(0), 1), MaxShards) }

// Options tune an Index.
type Options struct {
	// Shards is how many Bleve indexes the documents are spread over
	// (0: DefaultShards). An index on disk with another count is rebuilt.
	Shards int
}

// Index is the on-disk search index under <dir>/index: Shards Bleve
// indexes (<dir>/index/shard-<k>), each holding the documents whose id
// hashes to it, searched together through a bleve.IndexAlias. It can be
// swapped for a freshly built one while in use.
//
// Why shards: Bleve evaluates one query on one goroutine per index. With
// one index per core, a query that matches a third of 100,000 documents
// (scoring, facets) uses every core, and a rebuild indexes on every core.
type Index struct {
	dir    string
	log    *slog.Logger
	shards int

	mu  sync.RWMutex // guards set; held for reading by every use
	set shardSet
	// gen counts the rebuilds swapped in, so that a Feed can tell its
	// memory of what it applied refers to a replaced index.
	gen int64

	compact *compactor // see compact.go
	// bleveFacets has Bleve count every facet (tests compare the two).
	bleveFacets bool
	// filters keeps the permission filter's matches per segment (see
	// filter.go); nil has Bleve run the filter (tests compare the two).
	filters *filterCache
}

// shardSet is the open shards and the alias that searches them all.
type shardSet struct {
	parts []bleve.Index
	alias bleve.IndexAlias
	// values feeds the facets counted in this package (see facets.go),
	// nil when a shard is not a Scorch index (the empty in-memory index
	// served until a rebuild), whose facets Bleve counts.
	values *valueCache
}

func newShardSet(parts []bleve.Index) shardSet {
	s := shardSet{parts: parts, alias: bleve.NewIndexAlias(parts...), values: newValueCache()}
	for _, p := range parts {
		if i, err := p.Advanced(); err != nil || !isScorch(i) {
			s.values = nil
		}
	}
	return s
}

func (s shardSet) close() error {
	errsOut := []error{s.alias.Close()}
	for _, p := range s.parts {
		errsOut = append(errsOut, flush(p), p.Close())
	}
	return errors.Join(errsOut...)
}

// flushTimeout bounds how long flush waits for Scorch's persister.
const flushTimeout = time.Minute

// flush waits until everything written to shard p is on disk (see
// runtimeConfig). It writes an empty change of an internal value and waits
// for the persister to report it written: the persister writes snapshots
// in order, so everything before it is written too. An in-memory index has
// nothing to flush.
func flush(p bleve.Index) error {
	i, err := p.Advanced()
	if err != nil {
		return err
	}
	if !isScorch(i) {
		return nil
	}
	done := make(chan error, 1)
	b := p.NewBatch()
	b.DeleteInternal(keyFlush)
	b.SetPersistedCallback(func(err error) {
		select {
		case done <- err:
		default: // a retried persist calls again
		}
	})
	if err := p.Batch(b); err != nil {
		return fmt.Errorf("search: flushing a shard: %w", err)
	}
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("search: flushing a shard: %w", err)
		}
		return nil
	case <-time.After(flushTimeout):
		return fmt.Errorf("search: flushing a shard: not written after %s", flushTimeout)
	}
}

// shardOf is the shard of index id key among n. Children go to their
// parent's shard (see apply), so that replacing them is a local matter.
func shardOf(key string, n int) int {
	if n == 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

func (x *Index) path() string { return filepath.Join(x.dir, "index") }

func shardPath(root string, k int) string { return filepath.Join(root, fmt.Sprintf("shard-%d", k)) }

// Open opens the index in dir with the default options; see OpenWith.
func Open(dir string, log *slog.Logger) (x *Index, fresh bool, err error) {
	return OpenWith(dir, log, Options{})
}

// OpenWith opens the index in dir. It reports fresh when there was no
// usable index (none, unreadable, of another mapping version or shard
// count): the caller must then Rebuild before serving. An unusable index is
// moved aside, not deleted, so that it can be inspected.
func OpenWith(dir string, log *slog.Logger, opt Options) (x *Index, fresh bool, err error) {
	n := opt.Shards
	if n == 0 {
		n = DefaultShards()
	}
	if n < 1 || n > MaxShards {
		return nil, false, fmt.Errorf("search: %d shards: must be from 1 to %d", n, MaxShards)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, err
	}
	x = &Index{dir: dir, log: log, shards: n, filters: newFilterCache()}
	parts, reason, err := openShards(x.path(), n)
	switch {
	case reason == "":
		x.set = newShardSet(parts)
	case errors.Is(err, os.ErrNotExist):
		fresh = true
	default:
		x.moveAside(reason, err)
		fresh = true
	}
	if fresh {
		// Serve an empty index until Rebuild swaps the real one in.
		parts := make([]bleve.Index, n)
		for k := range parts {
			if parts[k], err = bleve.NewMemOnly(NewMapping()); err != nil {
				return nil, false, err
			}
		}
		x.set = newShardSet(parts)
	}
	x.startCompactor()
	return x, fresh, nil
}

// openShards opens the n shards under root, or says why it cannot (with
// an error wrapping os.ErrNotExist when there is no index at all).
func openShards(root string, n int) (parts []bleve.Index, reason string, err error) {
	if _, err := os.Stat(root); err != nil {
		return nil, "missing", err
	}
	found, _ := filepath.Glob(filepath.Join(root, "shard-*"))
	if len(found) != n {
		// Also an index of the single-index layout (mapping version 6 and
		// before), which has no shard directories.
		return nil, fmt.Sprintf("%d shards on disk, %d wanted", len(found), n), nil
	}
	for k := range n {
		idx, err := openBleve(shardPath(root, k))
		if err != nil {
			closeAll(parts)
			return nil, "unreadable", err
		}
		parts = append(parts, idx)
		if reason := check(idx, k, n); reason != "" {
			closeAll(parts)
			return nil, reason, nil
		}
	}
	return parts, "", nil
}

func closeAll(parts []bleve.Index) {
	for _, p := range parts {
		closeQuietly(p)
	}
}

// openBleve opens the index at path. A damaged index can make Bleve panic
// rather than fail; that is an error too, not a crash at every start.
func openBleve(path string) (idx bleve.Index, err error) {
	defer func() {
		if p := recover(); p != nil {
			idx, err = nil, fmt.Errorf("opening the index panicked: %v", p)
		}
	}()
	if err := verifySegments(path); err != nil {
		return nil, err
	}
	return bleve.OpenUsing(path, runtimeConfig())
}

// persisterNap is how long Scorch's persister naps between rounds, so that
// the segments of many small batches are merged in memory and written as
// one: without it, every batch cost its own segment file, bolt commit,
// fdatasync and directory scans (17% of the CPU while filing cases,
// measured). Scorch advises it for unsafe_batch. Batches do not wait for
// it (unsafe_batch); what it delays is the write to disk, which the
// checkpoint and catch-up already cover, and a Close, whose flush waits
// for the persister.
//
// Measured on the 100k store over HTTP (32 clients, four alternating runs
// of each): filing at 300/s made 226–256 cases/s with no nap, 239–273
// with 100 ms and 266–297 with 300 ms; the default load mix made 111 and
// 122 operations/s with 100 and 300 ms, with the same search latencies.
// Searches see up to a nap's worth of batches as separate segments;
// segmentCache does not keep them.
const persisterNap = 300 * time.Millisecond

// runtimeConfig is how shards are run (not stored with them).
//
// The merge floor is lowered from Bleve's 2,000 documents: with it every
// segment under 2,000 documents sits in one tier, so the small segments
// that per-write batches make are merged into each other again and again
// (measured: the merger took over half the CPU of a case-filing benchmark).
//
// unsafe_batch makes a batch return once it is searchable, and Scorch's
// persister writes it to disk in the background, merging the small
// segments that waited into one first. Waiting for every batch's own
// fsync made each filed case wait for one. Nothing is lost by it: each
// batch carries its shard's checkpoint, the persister writes snapshots in
// order, so after a crash a shard holds an older snapshot with the
// checkpoint of that snapshot, and catch-up re-reads the store from there
// (Feed.CatchUp). Scorch's Close does not persist what is waiting, so
// closing a shard flushes it first (flush).
func runtimeConfig() map[string]any {
	return map[string]any{"scorchMergePlanOptions": map[string]any{"FloorSegmentSize": 10}, "unsafe_batch": true,
		"scorchPersisterOptions": map[string]any{"PersisterNapTimeMSec": persisterNap.Milliseconds()}}
}

func closeQuietly(idx bleve.Index) {
	defer func() { _ = recover() }()
	_ = idx.Close()
}

// check returns why opened shard k of n cannot be used, or "". A damaged
// segment can make Bleve panic (zap slices a corrupt offset): that index
// is unreadable too.
func check(idx bleve.Index, k, n int) (reason string) {
	defer func() {
		if p := recover(); p != nil {
			reason = fmt.Sprintf("unreadable (%v)", p)
		}
	}()
	v, err := idx.GetInternal(keyVersion)
	if err != nil {
		return "unreadable"
	}
	if string(v) != strconv.Itoa(MappingVersion) {
		return "mapping version " + string(v)
	}
	if s, _ := idx.GetInternal(keyShard); string(s) != shardMark(k, n) {
		return fmt.Sprintf("shard %d/%d is marked %q", k, n, s)
	}
	// Touch every segment: a truncated file fails here rather than on the
	// first user's query.
	if _, err := idx.DocCount(); err != nil {
		return "unreadable"
	}
	if _, err := idx.Search(bleve.NewSearchRequest(bleve.NewMatchAllQuery())); err != nil {
		return "unreadable"
	}
	return ""
}

func shardMark(k, n int) string { return fmt.Sprintf("%d/%d", k, n) }

func (x *Index) moveAside(reason string, err error) {
	aside := fmt.Sprintf("%s.%s.%d", x.path(), "old", time.Now().UnixNano())
	x.log.Warn("search index unusable: moving it aside and rebuilding", "reason", reason, "err", err, "moved_to", aside)
	if rerr := os.Rename(x.path(), aside); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		x.log.Error("could not move the search index aside", "err", rerr)
	}
}

// Shards is how many shards the index has.
func (x *Index) Shards() int { return x.shards }

// Close closes the index.
func (x *Index) Close() error {
	x.stopCompactor()
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.set.close()
}

// Checkpoint is the highest store seq the index has applied: the lowest
// of the shards' checkpoints, since each shard records its own in the
// batch that applied its changes.
func (x *Index) Checkpoint() (int64, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.set.checkpoint()
}

func (s shardSet) checkpoint() (int64, error) {
	low := int64(-1)
	for _, p := range s.parts {
		cp, err := readCheckpoint(p)
		if err != nil {
			return 0, err
		}
		if low < 0 || cp < low {
			low = cp
		}
	}
	return max(low, 0), nil
}

func readCheckpoint(idx bleve.Index) (int64, error) {
	b, err := idx.GetInternal(keyCheckpoint)
	if err != nil || len(b) == 0 {
		return 0, err
	}
	return strconv.ParseInt(string(b), 10, 64)
}

// Scanner is a Source that can hand out every document in one pass, in
// no particular order. Rebuild prefers it to paging through Changes.
type Scanner interface {
	// Scan calls fn once with each document, from one goroutine at a time.
	Scan(ctx context.Context, fn func(Change) error) error
}

// Change is one document to put into or take out of the index.
type Change struct {
	Type    string
	ID      string
	Seq     int64
	Deleted bool
	Doc     Doc
	// Children are the documents derived from this one (each with its Type
	// and ID set): an incident's report documents, a decision's review. For
	// a parent type they replace
	// whatever children the index holds for it, and a deleted parent takes
	// its children with it.
	Children []Doc
}

// parentTypes are the types whose documents have children.
var parentTypes = []string{TypeIncident, TypeDecision}

// apply writes changes and the new checkpoint in one batch, so that a crash
// leaves either both or neither.
func apply(idx bleve.Index, changes []Change, checkpoint int64) error {
	b := idx.NewBatch()
	// Children indexed earlier in this batch, per parent: a later version
	// of the parent must replace them too.
	batched := map[string][]string{}
	for _, c := range changes {
		if slices.Contains(parentTypes, c.Type) {
			stale, err := childrenOf(idx, c.ID)
			if err != nil {
				return err
			}
			for _, id := range append(stale, batched[c.ID]...) {
				b.Delete(id)
			}
			batched[c.ID] = nil
		}
		if c.Deleted {
			b.Delete(docID(c.Type, c.ID))
			continue
		}
		c.Doc.Type, c.Doc.ID, c.Doc.Seq = c.Type, c.ID, c.Seq
		if err := indexDoc(b, idx.Mapping(), docID(c.Type, c.ID), c.Doc); err != nil {
			return err
		}
		for _, child := range c.Children {
			child.Parent, child.Seq = c.ID, c.Seq
			id := docID(child.Type, child.ID)
			if err := indexDoc(b, idx.Mapping(), id, child); err != nil {
				return err
			}
			batched[c.ID] = append(batched[c.ID], id)
		}
	}
	b.SetInternal(keyCheckpoint, []byte(strconv.FormatInt(checkpoint, 10)))
	return idx.Batch(b)
}

// indexDoc adds doc to b as the document id (see mapDocument).
func indexDoc(b *bleve.Batch, m mapping.IndexMapping, id string, doc Doc) error {
	d, err := mapDocument(m, id, doc)
	if err != nil {
		return err
	}
	return b.IndexAdvanced(d)
}

// maxChildren bounds the children of one document; RCA validation keeps
// an incident far below it.
const maxChildren = 10_000

// childrenOf lists the index ids of the children of parent.
func childrenOf(idx bleve.Index, parent string) ([]string, error) {
	req := bleve.NewSearchRequestOptions(term("parent", parent), maxChildren, 0, false)
	res, err := idx.Search(req)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		ids[i] = h.ID
	}
	return ids, nil
}

// Apply writes changes and advances the checkpoint to checkpoint (it never
// moves back). Each shard gets its changes and the checkpoint in one batch,
// the shards in parallel; a shard no change routes to gets the checkpoint
// alone, so that the index's checkpoint (the lowest) moves with every
// write.
func (x *Index) Apply(changes []Change, checkpoint int64) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if len(changes) > 0 {
		x.compact.wrote(time.Now())
	}
	return x.set.apply(changes, checkpoint)
}

func (s shardSet) apply(changes []Change, checkpoint int64) error {
	n := len(s.parts)
	per := make([][]Change, n)
	for _, c := range changes {
		k := shardOf(docID(c.Type, c.ID), n)
		per[k] = append(per[k], c)
	}
	errsOut := make([]error, n)
	var wg sync.WaitGroup
	for k, p := range s.parts {
		wg.Go(func() {
			cur, err := readCheckpoint(p)
			if err == nil && (len(per[k]) > 0 || checkpoint > cur) {
				err = apply(p, per[k], max(cur, checkpoint))
			}
			errsOut[k] = err
		})
	}
	wg.Wait()
	return errors.Join(errsOut...)
}

// Rebuild builds a new index from every document of src beside the current
// one and swaps it in. Readers keep using the old index until the swap.
//
// Each shard is built by its own bleve.Builder on its own goroutine: an
// offline builder writes sorted segments and merges them once at the end
// into one segment per shard, which is both faster than indexing through
// the online merger and faster to query. A builder cannot replace a
// document, so one the source hands out twice (it was written again while
// the rebuild read) is applied once more through a normal batch after the
// build.
func (x *Index) Rebuild(ctx context.Context, src Source, batchSize int) (int, error) {
	building := x.path() + ".building"
	if err := os.RemoveAll(building); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(building, 0o700); err != nil {
		return 0, err
	}
	head, err := src.Head(ctx)
	if err != nil {
		return 0, err
	}
	n, after, late, err := build(ctx, src, building, x.shards, batchSize)
	if err != nil {
		_ = os.RemoveAll(building)
		return n, err
	}
	parts := make([]bleve.Index, 0, x.shards)
	for k := range x.shards {
		idx, err := openBleve(shardPath(building, k))
		if err != nil {
			closeAll(parts)
			return n, err
		}
		parts = append(parts, idx)
		if err := idx.SetInternal(keyShard, []byte(shardMark(k, x.shards))); err != nil {
			closeAll(parts)
			return n, err
		}
	}
	built := newShardSet(parts)
	// The mapping version last: a crash before it leaves an index Open
	// moves aside.
	cp := max(head, after)
	err = built.apply(late, cp)
	if err == nil {
		err = built.apply(nil, cp)
	}
	for _, p := range parts {
		if err == nil {
			err = p.SetInternal(keyVersion, []byte(strconv.Itoa(MappingVersion)))
		}
	}
	if cerr := built.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, err
	}

	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.set.close(); err != nil {
		x.log.Warn("closing the replaced search index", "err", err)
	}
	if _, err := os.Stat(x.path()); err == nil {
		if err := os.Rename(x.path(), fmt.Sprintf("%s.old.%d", x.path(), time.Now().UnixNano())); err != nil {
			return n, err
		}
	}
	if err := os.Rename(building, x.path()); err != nil {
		return n, err
	}
	x.gen++
	parts, reason, err := openShards(x.path(), x.shards)
	if reason != "" {
		return n, fmt.Errorf("search: the rebuilt index: %s: %v", reason, err)
	}
	x.set = newShardSet(parts)
	x.removeOld()
	return n, nil
}

// build reads every document of src and indexes it into shards new
// shards under dir, one builder goroutine each. It returns how many
// documents it indexed, the highest seq read, and the changes to documents
// read more than once, to be applied after the build.
func build(ctx context.Context, src Source, dir string, shards, batchSize int) (n int, after int64, late []Change, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	feeds := make([]chan Change, shards)
	for k := range shards {
		feeds[k] = make(chan Change, 2*batchSize)
	}
	var wg sync.WaitGroup
	var merging sync.Mutex
	for k := range shards {
		wg.Go(func() {
			if err := buildShard(shardPath(dir, k), dir, feeds[k], &merging); err != nil {
				cancel(err)
				for range feeds[k] { // let the reader finish
				}
			}
		})
	}

	seen := map[string]bool{}
	lateAt := map[string]int{}
	take := func(c Change) error {
		id := docID(c.Type, c.ID)
		if seen[id] {
			// Written again while we read: the newest version wins.
			if i, ok := lateAt[id]; !ok {
				lateAt[id] = len(late)
				late = append(late, c)
			} else if c.Seq > late[i].Seq {
				late[i] = c
			}
			return nil
		}
		if c.Deleted {
			return nil
		}
		seen[id] = true
		select {
		case feeds[shardOf(id, shards)] <- c:
			n++
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	read := func() error {
		defer func() {
			for _, f := range feeds {
				close(f)
			}
		}()
		if sc, ok := src.(Scanner); ok {
			// One pass in any order; the checkpoint is the head read
			// before it (after stays 0), and the catch-up that follows a
			// rebuild re-reads whatever was written during it.
			return sc.Scan(ctx, take)
		}
		for {
			changes, err := src.Changes(ctx, after, batchSize)
			if err != nil {
				return err
			}
			if len(changes) == 0 {
				return nil
			}
			for _, c := range changes {
				after = max(after, c.Seq)
				if err := take(c); err != nil {
					return err
				}
			}
		}
	}
	rerr := read()
	wg.Wait()
	if rerr == nil {
		rerr = context.Cause(ctx) // a builder's error, or the caller's cancel
	}
	return n, after, late, rerr
}

// builderBatch is how many documents a builder turns into one segment
// before merging them all at the end. Larger batches leave less to merge
// but hold more in memory: at 2,500 a 22,000-document rebuild peaked at
// 2 GB of RSS and was slower (measured), at 500 it peaked at 550 MB.
const builderBatch = 500

// builderMergeMax is how many segments a builder merges at once when it
// closes. Bleve's default, 10, merges a queue ten at a time, each result
// going to the back of the queue, so a shard of 110 segments (55,000
// documents) was merged three times over: 160,000 documents' worth. At
// 16 it is twice up to 256 segments (128,000 documents a shard): 126,000
// documents' worth at 55,000. Measured on the 110,000-document store:
// merging all at once was fastest but peaked at 1.05 GiB of RSS (the
// target is 1 GiB); 16 rebuilt in 2m51s (12: 2m52s) at 776 MiB, 10 in
// 3m02s and 3m17s at 773 MiB, with 283 s of CPU against 303 and 313. (A
// full bench run with 16 took 3m07s: runs on that machine vary about as
// much as this saves.)
const builderMergeMax = 16

// buildShard indexes what arrives on feed into a new index at path. A
// builder needs at least one document; a shard that gets none is made
// empty.
//
// A builder ends by merging its segments into one, reading them through
// mmap; those pages count in the process's resident memory (measured at
// 110,000 documents on two shards: 750 MB of mapped files at the peak when
// both merged at once). merging lets one shard merge at a time, which
// bounds that peak by one shard's files.
func buildShard(path, tmp string, feed <-chan Change, merging *sync.Mutex) error {
	var b bleve.Builder
	for c := range feed {
		if b == nil {
			var err error
			if b, err = bleve.NewBuilder(path, newBuilderMapping(), map[string]any{"batchSize": builderBatch, "mergeMax": builderMergeMax, "buildPathPrefix": tmp}); err != nil {
				return err
			}
		}
		if err := buildOne(b, c); err != nil {
			_ = b.Close()
			return err
		}
	}
	if b == nil {
		idx, err := bleve.New(path, NewMapping())
		if err != nil {
			return err
		}
		return idx.Close()
	}
	merging.Lock()
	defer merging.Unlock()
	return b.Close()
}

// buildOne adds a document and its children to a shard's builder.
func buildOne(b bleve.Builder, c Change) error {
	c.Doc.Type, c.Doc.ID, c.Doc.Seq = c.Type, c.ID, c.Seq
	if err := b.Index(docID(c.Type, c.ID), c.Doc); err != nil {
		return err
	}
	for _, child := range c.Children {
		child.Parent, child.Seq = c.ID, c.Seq
		if err := b.Index(docID(child.Type, child.ID), child); err != nil {
			return err
		}
	}
	return nil
}

// removeOld deletes indexes replaced by a rebuild (but keeps ones moved
// aside as unreadable for a day, for inspection).
func (x *Index) removeOld() {
	matches, _ := filepath.Glob(x.path() + ".old.*")
	for _, m := range matches {
		if info, err := os.Stat(m); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
			_ = os.RemoveAll(m)
		}
	}
}

// generation changes whenever Rebuild swaps a new index in.
func (x *Index) generation() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.gen
}

// shardFacetSize is how many values of a terms facet each shard returns:
// merging per-shard top lists is exact only when each shard returns every
// value, so it is far above what any faceted field holds (months, teams,
// vendors). The merged facet is trimmed back to what was asked.
const shardFacetSize = 1000

// search runs req on every shard at once and merges the results, with
// facet counts that add up exactly (see shardFacetSize). req is not
// modified.
func (x *Index) search(ctx context.Context, req *bleve.SearchRequest) (*bleve.SearchResult, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var counted *facetCounts
	if x.set.values != nil && !x.bleveFacets {
		ctx, req, counted = withFacetCounting(ctx, x.set.values, req)
	}
	var want map[string]int
	if len(x.set.parts) > 1 && len(req.Facets) > 0 {
		widened := *req
		widened.Facets = bleve.FacetsRequest{}
		want = map[string]int{}
		for name, fr := range req.Facets {
			if fr.Size < shardFacetSize && len(fr.NumericRanges) == 0 && len(fr.DateTimeRanges) == 0 {
				wide := *fr
				wide.Size = shardFacetSize
				want[name], fr = fr.Size, &wide
			}
			widened.Facets[name] = fr
		}
		req = &widened
	}
	res, err := x.set.alias.SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	// An alias answers with what the shards that did not fail found, and
	// counts the failures in the status: a partial answer would be a wrong
	// one (totals, facets, a missing document), so it is an error.
	if res.Status != nil && res.Status.Failed > 0 {
		for name, serr := range res.Status.Errors {
			return nil, fmt.Errorf("search: shard %s: %w", name, serr)
		}
		return nil, fmt.Errorf("search: %d of %d shards failed", res.Status.Failed, res.Status.Total)
	}
	for name, size := range want {
		if f := res.Facets[name]; f != nil {
			f.Fixup(size)
		}
	}
	if counted != nil {
		if res.Facets == nil {
			res.Facets = blevesearch.FacetResults{}
		}
		maps.Copy(res.Facets, counted.results())
	}
	return res, nil
}

// seqsOf is the seq of the version the index holds of each of ids (index
// ids, type:id), absent when it holds none.
func (x *Index) seqsOf(ids []string) (map[string]int64, error) {
	req := bleve.NewSearchRequestOptions(bleve.NewDocIDQuery(ids), len(ids), 0, false)
	req.Fields = []string{"seq"}
	res, err := x.search(context.Background(), req)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(res.Hits))
	for _, h := range res.Hits {
		seq, _ := h.Fields["seq"].(float64)
		out[h.ID] = int64(seq)
	}
	return out, nil
}

// useShards runs fn with the current shards under the read lock, for what
// an alias cannot do (reading term statistics).
func (x *Index) useShards(fn func([]bleve.Index) error) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return fn(x.set.parts)
}
