// Package groupcommit lets concurrent callers share one write: each caller
// queues its item, and whichever caller holds the right to commit writes
// every queued item in one go (one store command) while the others wait
// for their results. It is for writes whose cost is mostly per command,
// not per item: writes that must be serial (the audit log's hash chain, a
// counter), where one command per item caps the rate at one round trip per
// item however many callers wait, and writes that each cost a transaction
// or an index segment (inserts, the search index's batches).
//
// There is no timer and no background goroutine: a lone caller commits its
// item at once, and batches form only while a commit is in flight.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrCommitPanicked is the result of the items of a batch whose commit
// panicked (in another caller's goroutine).
var ErrCommitPanicked = errors.New("groupcommit: the commit of this item's batch panicked")

// Result is the outcome of one item.
type Result[R any] struct {
	Value R
	Err   error
}

// Group batches the items of concurrent Do calls into commits.
type Group[T, R any] struct {
	commit   func(ctx context.Context, batch []T) []Result[R]
	maxBatch int

	// token is the right to commit, held by one caller at a time: a
	// one-slot channel, so that waiting for it can give way to the
	// caller's item being committed by someone else.
	token chan struct{}

	mu    sync.Mutex
	queue []*call[T, R]
}

type call[T, R any] struct {
	item T
	done chan Result[R] // buffered: the committer never waits
}

// New returns a Group that writes batches with commit.
//
// commit is called by one caller at a time, so it may own state (a chain's
// head) without a lock. It gets at most maxBatch items (0: no limit), oldest
// first, and returns one Result per item, in order. Its context carries the
// committing caller's values but not its cancellation: the batch holds
// other callers' items.
func New[T, R any](maxBatch int, commit func(ctx context.Context, batch []T) []Result[R]) *Group[T, R] {
	return &Group[T, R]{commit: commit, maxBatch: maxBatch, token: make(chan struct{}, 1)}
}

// Do queues item, waits until it has been committed (by this caller or
// another), and returns its result.
func (g *Group[T, R]) Do(ctx context.Context, item T) (R, error) {
	c := &call[T, R]{item: item, done: make(chan Result[R], 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	g.mu.Unlock()

	select {
	case r := <-c.done:
		return r.Value, r.Err
	case g.token <- struct{}{}:
	}
	defer func() { <-g.token }()
	ctx = context.WithoutCancel(ctx)
	for {
		// A committer sends every result of its batch before it lets go
		// of the token: either one took c just before this caller got
		// the token, or c is still queued, and this caller commits it
		// with what queued around it.
		select {
		case r := <-c.done:
			return r.Value, r.Err
		default:
		}
		g.run(ctx, g.take())
	}
}

// run commits batch and sends each call its result. If commit panics, the
// batch's callers get ErrCommitPanicked and the panic goes on up this
// caller's stack: nobody waits forever for a result.
func (g *Group[T, R]) run(ctx context.Context, batch []*call[T, R]) {
	sent := false
	defer func() {
		if !sent {
			for _, b := range batch {
				b.done <- Result[R]{Err: ErrCommitPanicked}
			}
		}
	}()
	items := make([]T, len(batch))
	for i, b := range batch {
		items[i] = b.item
	}
	results := g.commit(ctx, items)
	if len(results) != len(batch) {
		panic(fmt.Sprintf("groupcommit: commit returned %d results for %d items", len(results), len(batch)))
	}
	for i, b := range batch {
		b.done <- results[i]
	}
	sent = true
}

// take removes the oldest queued calls, at most g.maxBatch of them.
func (g *Group[T, R]) take() []*call[T, R] {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := len(g.queue)
	if g.maxBatch > 0 {
		n = min(n, g.maxBatch)
	}
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	if len(g.queue) == 0 {
		g.queue = nil // let the backing array go
	}
	return batch
}

// Keyed is one Group per key (a collection, a counter), each made on first
// use: writes under different keys do not wait for each other.
type Keyed[T, R any] struct {
	maxBatch int
	commit   func(ctx context.Context, key string, batch []T) []Result[R]

	mu     sync.Mutex
	groups map[string]*Group[T, R]
}

// NewKeyed returns a Keyed whose groups write with commit, told their key;
// maxBatch is as for New.
func NewKeyed[T, R any](maxBatch int, commit func(ctx context.Context, key string, batch []T) []Result[R]) *Keyed[T, R] {
	return &Keyed[T, R]{maxBatch: maxBatch, commit: commit, groups: map[string]*Group[T, R]{}}
}

// Do is Group.Do on key's group.
func (k *Keyed[T, R]) Do(ctx context.Context, key string, item T) (R, error) {
	k.mu.Lock()
	g, ok := k.groups[key]
	if !ok {
		g = New(k.maxBatch, func(ctx context.Context, batch []T) []Result[R] { return k.commit(ctx, key, batch) })
		k.groups[key] = g
	}
	k.mu.Unlock()
	return g.Do(ctx, item)
}
