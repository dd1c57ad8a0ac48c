package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
)

// Keys of values kept inside the index (bleve SetInternal).
var (
	keyVersion    = []byte("casefile.mapping_version")
	keyCheckpoint = []byte("casefile.checkpoint")
)

// Index is the on-disk Bleve index under <dir>/index. It can be swapped
// for a freshly built one while in use.
type Index struct {
	dir string
	log *slog.Logger

	mu  sync.RWMutex // guards idx; held for reading by every use
	idx bleve.Index
	// gen counts the rebuilds swapped in, so that a Feed can tell its
	// memory of what it applied refers to a replaced index.
	gen int64
}

func (x *Index) path() string { return filepath.Join(x.dir, "index") }

// Open opens the index in dir. It reports fresh when there was no usable
// index (none, unreadable, or of another mapping version): the caller must
// then Rebuild before serving. An unusable index is moved aside, not
// deleted, so that it can be inspected.
func Open(dir string, log *slog.Logger) (x *Index, fresh bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, err
	}
	x = &Index{dir: dir, log: log}
	idx, err := openBleve(x.path())
	switch {
	case errors.Is(err, bleve.ErrorIndexPathDoesNotExist):
		fresh = true
	case err != nil:
		x.moveAside("unreadable", err)
		fresh = true
	default:
		if reason := check(idx); reason != "" {
			closeQuietly(idx)
			x.moveAside(reason, nil)
			fresh = true
		} else {
			x.idx = idx
		}
	}
	if fresh {
		// Serve an empty index until Rebuild swaps the real one in.
		if x.idx, err = bleve.NewMemOnly(NewMapping()); err != nil {
			return nil, false, err
		}
	}
	return x, fresh, nil
}

// openBleve opens the index at path. A damaged index can make Bleve panic
// rather than fail; that is an error too, not a crash at every start.
func openBleve(path string) (idx bleve.Index, err error) {
	defer func() {
		if p := recover(); p != nil {
			idx, err = nil, fmt.Errorf("opening the index panicked: %v", p)
		}
	}()
	return bleve.Open(path)
}

func closeQuietly(idx bleve.Index) {
	defer func() { _ = recover() }()
	_ = idx.Close()
}

// check returns why an opened index cannot be used, or "". A damaged
// segment can make Bleve panic (zap slices a corrupt offset): that index
// is unreadable too.
func check(idx bleve.Index) (reason string) {
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

func (x *Index) moveAside(reason string, err error) {
	aside := fmt.Sprintf("%s.%s.%d", x.path(), "old", time.Now().UnixNano())
	x.log.Warn("search index unusable: moving it aside and rebuilding", "reason", reason, "err", err, "moved_to", aside)
	if rerr := os.Rename(x.path(), aside); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		x.log.Error("could not move the search index aside", "err", rerr)
	}
}

// Close closes the index.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.idx.Close()
}

// Checkpoint is the highest store seq the index has applied.
func (x *Index) Checkpoint() (int64, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return readCheckpoint(x.idx)
}

func readCheckpoint(idx bleve.Index) (int64, error) {
	b, err := idx.GetInternal(keyCheckpoint)
	if err != nil || len(b) == 0 {
		return 0, err
	}
	return strconv.ParseInt(string(b), 10, 64)
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
		if err := b.Index(docID(c.Type, c.ID), c.Doc); err != nil {
			return err
		}
		for _, child := range c.Children {
			child.Parent, child.Seq = c.ID, c.Seq
			id := docID(child.Type, child.ID)
			if err := b.Index(id, child); err != nil {
				return err
			}
			batched[c.ID] = append(batched[c.ID], id)
		}
	}
	b.SetInternal(keyCheckpoint, []byte(strconv.FormatInt(checkpoint, 10)))
	return idx.Batch(b)
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
// moves back).
func (x *Index) Apply(changes []Change, checkpoint int64) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	cur, err := readCheckpoint(x.idx)
	if err != nil {
		return err
	}
	return apply(x.idx, changes, max(cur, checkpoint))
}

// Rebuild builds a new index from every document of src beside the current
// one and swaps it in. Readers keep using the old index until the swap.
func (x *Index) Rebuild(ctx context.Context, src Source, batchSize int) (int, error) {
	building := x.path() + ".building"
	if err := os.RemoveAll(building); err != nil {
		return 0, err
	}
	head, err := src.Head(ctx)
	if err != nil {
		return 0, err
	}
	idx, err := bleve.New(building, NewMapping())
	if err != nil {
		return 0, err
	}
	n, after := 0, int64(0)
	for {
		changes, err := src.Changes(ctx, after, batchSize)
		if err != nil {
			_ = idx.Close()
			return n, err
		}
		if len(changes) == 0 {
			break
		}
		live := changes[:0]
		for _, c := range changes {
			after = max(after, c.Seq)
			if !c.Deleted {
				live = append(live, c)
			}
		}
		if err := apply(idx, live, 0); err != nil {
			_ = idx.Close()
			return n, err
		}
		n += len(live)
	}
	b := idx.NewBatch()
	b.SetInternal(keyVersion, []byte(strconv.Itoa(MappingVersion)))
	b.SetInternal(keyCheckpoint, []byte(strconv.FormatInt(max(head, after), 10)))
	if err := idx.Batch(b); err != nil {
		_ = idx.Close()
		return n, err
	}
	if err := idx.Close(); err != nil {
		return n, err
	}

	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.idx.Close(); err != nil {
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
	if x.idx, err = bleve.Open(x.path()); err != nil {
		return n, err
	}
	x.removeOld()
	return n, nil
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

// seqOf is the seq of the version of (typ, id) the index holds, 0 if none.
func (x *Index) seqOf(typ, id string) (int64, error) {
	var seq int64
	err := x.use(func(idx bleve.Index) error {
		req := bleve.NewSearchRequest(bleve.NewDocIDQuery([]string{docID(typ, id)}))
		req.Fields = []string{"seq"}
		res, err := idx.Search(req)
		if err != nil {
			return err
		}
		if len(res.Hits) > 0 {
			if v, ok := res.Hits[0].Fields["seq"].(float64); ok {
				seq = int64(v)
			}
		}
		return nil
	})
	return seq, err
}

// use runs fn with the current bleve index under the read lock.
func (x *Index) use(fn func(bleve.Index) error) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return fn(x.idx)
}
