package store

import (
	"context"
	"fmt"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/groupcommit"
)

// SparseBlock is how many values of a sparse counter (NextSparse) the
// embedded store reserves at a time.
const SparseBlock = 64

// NextSeq returns the next value, from 1, of the named counter. Values are
// unique and increasing across goroutines (and, on real MongoDB, processes),
// with no gaps but those of failed writes: use it for numbers people read
// (case keys).
//
// Concurrent calls share one store command (internal/groupcommit): the
// calls that queue while a command is in flight take the next values in
// one $inc, in the order they queued. On the embedded store each command
// waits for the write lock; one per value, filing cases from 32 clients
// left about a third of the requests in flight waiting here (goroutine
// profiles under load).
func (d *DB) NextSeq(ctx context.Context, name string) (int64, error) {
	return d.seqs.Do(ctx, name, struct{}{})
}

// reserveSeqs is NextSeq's commit: one $inc of counter name for the whole
// batch, whose values go out in the order the calls queued.
func (d *DB) reserveSeqs(ctx context.Context, name string, batch []struct{}) []groupcommit.Result[int64] {
	results := make([]groupcommit.Result[int64], len(batch))
	unlock := d.lock()
	defer unlock()
	last, err := d.add(ctx, name, int64(len(batch)))
	for i := range results {
		if err != nil {
			results[i].Err = err
			continue
		}
		results[i].Value = last - int64(len(batch)-1-i)
	}
	return results
}

// NextSparse returns the next value of the named counter, unique and
// increasing like NextSeq's, but on the embedded store it hands values out
// of a block of SparseBlock reserved in the store at once: a restart skips
// what the last process reserved and did not hand out. A counter is either
// sparse or not; do not mix the two calls on one name.
//
// It is for the feed's seq, taken several times per filed case: each
// NextSeq waits for the embedded write lock and a FerretDB command under it,
// and under concurrent filing those waits were most of a case's time
// (measured with a block profile of BenchmarkCreateCase in internal/wire).
// Against real MongoDB, where several processes share a counter and the
// feed's catch-up relies on values following the order of writes across
// them, it is NextSeq.
func (d *DB) NextSparse(ctx context.Context, name string) (int64, error) {
	if d.embedded == nil {
		return d.NextSeq(ctx, name)
	}
	return d.embedded.sparse.next(d.db.Name()+"\x00"+name, func() (int64, error) {
		unlock := d.lock()
		defer unlock()
		return d.add(ctx, name, SparseBlock)
	})
}

// CurrentSeq is the last value NextSeq or NextSparse handed out for name
// (0 if none); for a sparse counter that this process has not used yet,
// the last value any process reserved.
func (d *DB) CurrentSeq(ctx context.Context, name string) (int64, error) {
	if d.embedded != nil {
		if n, ok := d.embedded.sparse.current(d.db.Name() + "\x00" + name); ok {
			return n, nil
		}
	}
	var out struct {
		N int64 `bson:"n"`
	}
	err := d.FindByID(ctx, "counters", name, &out)
	if errs.Is(err, errs.NotFound) {
		return 0, nil
	}
	return out.N, err
}

// add adds k to counter name and returns its new value. On the embedded
// store the caller holds the write lock.
func (d *DB) add(ctx context.Context, name string, k int64) (int64, error) {
	ctx, cancel := d.opCtx(ctx)
	defer cancel()
	var out struct {
		N int64 `bson:"n"`
	}
	err := d.db.Collection("counters").FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: name}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: k}}}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After),
	).Decode(&out)
	if err != nil {
		return 0, fmt.Errorf("store: next %s: %w", name, err)
	}
	return out.N, nil
}

// sparseCounters are the blocks NextSparse reserved on one embedded
// server, per database and counter. It is correct only because the
// embedded database belongs to this process alone: nobody else hands out
// values from the store's counter meanwhile.
type sparseCounters struct {
	mu     sync.Mutex
	blocks map[string]*sparseBlock
}

// sparseBlock is what is left of a reservation: next is the value to hand
// out next, last the last one reserved.
type sparseBlock struct{ next, last int64 }

// next hands out the next value of counter key, reserving a new block
// with reserve (which returns the counter's new value in the store) when
// the current one is used up. Callers wait for each other during a
// reservation, one in SparseBlock calls.
func (s *sparseCounters) next(key string, reserve func() (int64, error)) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.blocks[key]
	if b == nil || b.next > b.last {
		last, err := reserve()
		if err != nil {
			return 0, err
		}
		if s.blocks == nil {
			s.blocks = map[string]*sparseBlock{}
		}
		b = &sparseBlock{next: last - SparseBlock + 1, last: last}
		s.blocks[key] = b
	}
	n := b.next
	b.next++
	return n, nil
}

// current is the last value handed out of counter key, if this process
// holds a block of it.
func (s *sparseCounters) current(key string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.blocks[key]
	if b == nil {
		return 0, false
	}
	return b.next - 1, true
}

// forget drops the blocks of database db (it was dropped).
func (s *sparseCounters) forget(db string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key := range s.blocks {
		if len(key) > len(db) && key[:len(db)] == db && key[len(db)] == 0 {
			delete(s.blocks, key)
		}
	}
}
