package groupcommit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a commit function that records its batches and answers each
// item with its double. While hold is set, a commit waits for it to close
// (so that later calls queue behind it).
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	hold    chan struct{}
	started chan struct{} // closed when a held commit has begun
}

func (r *recorder) commit(ctx context.Context, batch []int) []Result[int] {
	r.mu.Lock()
	r.batches = append(r.batches, append([]int(nil), batch...))
	hold, started := r.hold, r.started
	r.hold = nil
	r.mu.Unlock()
	if hold != nil {
		close(started)
		<-hold
	}
	out := make([]Result[int], len(batch))
	for i, v := range batch {
		out[i].Value = 2 * v
		if v < 0 {
			out[i].Err = errors.New("negative")
		}
	}
	return out
}

// queued is how many calls wait in g's queue.
func queued[T, R any](g *Group[T, R]) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, time.Millisecond)
}

func TestALoneCallCommitsAtOnce(t *testing.T) {
	r := &recorder{}
	g := New(0, r.commit)
	v, err := g.Do(context.Background(), 21)
	require.NoError(t, err)
	assert.Equal(t, 42, v)
	assert.Equal(t, [][]int{{21}}, r.batches)
}

// TestCallsQueuedDuringACommitShareTheNext: while one commit is in flight,
// the calls that arrive wait and then go in one batch, in the order they
// queued, each getting its own result (errors included).
func TestCallsQueuedDuringACommitShareTheNext(t *testing.T) {
	r := &recorder{hold: make(chan struct{}), started: make(chan struct{})}
	hold := r.hold
	g := New(0, r.commit)
	ctx := context.Background()

	first := make(chan Result[int], 1)
	go func() {
		v, err := g.Do(ctx, 1)
		first <- Result[int]{v, err}
	}()
	<-r.started

	items := []int{2, -3, 4, 5}
	got := make([]Result[int], len(items))
	var wg sync.WaitGroup
	for i, v := range items {
		waitFor(t, func() bool { return queued(g) == i }) // queue them in this order
		wg.Go(func() {
			v, err := g.Do(ctx, v)
			got[i] = Result[int]{v, err}
		})
	}
	waitFor(t, func() bool { return queued(g) == len(items) })
	close(hold)
	wg.Wait()

	assert.Equal(t, Result[int]{Value: 2}, <-first)
	assert.Equal(t, [][]int{{1}, {2, -3, 4, 5}}, r.batches)
	for i, v := range items {
		if v < 0 {
			assert.EqualError(t, got[i].Err, "negative")
			continue
		}
		assert.Equal(t, Result[int]{Value: 2 * v}, got[i])
	}
}

func TestBatchesAreAtMostMax(t *testing.T) {
	r := &recorder{hold: make(chan struct{}), started: make(chan struct{})}
	hold := r.hold
	g := New(2, r.commit)
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = g.Do(ctx, 0) })
	<-r.started
	for v := 1; v <= 5; v++ {
		wg.Go(func() {
			got, err := g.Do(ctx, v)
			assert.NoError(t, err)
			assert.Equal(t, 2*v, got)
		})
	}
	waitFor(t, func() bool { return queued(g) == 5 })
	close(hold)
	wg.Wait()
	total := 0
	for _, b := range r.batches[1:] {
		assert.LessOrEqual(t, len(b), 2)
		total += len(b)
	}
	assert.Equal(t, 5, total)
}

type ctxKey struct{}

// TestTheCommitOutlivesItsCallersCancellation: a batch holds other callers'
// items, so the committing caller's cancellation does not reach the commit;
// its values do.
func TestTheCommitOutlivesItsCallersCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	cancel()
	var sawErr error
	var sawValue any
	g := New(0, func(ctx context.Context, batch []int) []Result[int] {
		sawErr, sawValue = ctx.Err(), ctx.Value(ctxKey{})
		return make([]Result[int], len(batch))
	})
	_, err := g.Do(ctx, 1)
	require.NoError(t, err)
	assert.NoError(t, sawErr)
	assert.Equal(t, "v", sawValue)
}

// TestAPanickingCommitFailsItsBatch: the callers whose items were in the
// batch get ErrCommitPanicked instead of waiting forever; the panic goes
// up the committing caller's stack; the group goes on working.
func TestAPanickingCommitFailsItsBatch(t *testing.T) {
	r := &recorder{}
	started, hold := make(chan struct{}), make(chan struct{})
	var once sync.Once
	g := New(0, func(ctx context.Context, batch []int) []Result[int] {
		if batch[0] == 0 {
			close(started)
			<-hold
			return make([]Result[int], len(batch))
		}
		var panicNow bool
		once.Do(func() { panicNow = true })
		if panicNow {
			panic("boom")
		}
		return r.commit(ctx, batch)
	})
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = g.Do(ctx, 0) })
	<-started

	results := make([]error, 3)
	panicked := make([]bool, 3)
	for i := range results {
		wg.Go(func() {
			defer func() {
				if recover() != nil {
					panicked[i] = true
				}
			}()
			_, results[i] = g.Do(ctx, i+1)
		})
	}
	waitFor(t, func() bool { return queued(g) == 3 })
	close(hold)
	wg.Wait()

	nPanicked := 0
	for i := range results {
		if panicked[i] {
			nPanicked++
			continue
		}
		assert.ErrorIs(t, results[i], ErrCommitPanicked)
	}
	assert.Equal(t, 1, nPanicked, "the caller that committed the batch panics")

	v, err := g.Do(ctx, 7)
	require.NoError(t, err)
	assert.Equal(t, 14, v)
}

func TestACommitThatMiscountsPanics(t *testing.T) {
	g := New(0, func(ctx context.Context, batch []int) []Result[int] { return nil })
	assert.Panics(t, func() { _, _ = g.Do(context.Background(), 1) })
}

// TestKeysDoNotWaitForEachOther: each key has its own group, told its key;
// a commit in flight under one key holds up nothing under another.
func TestKeysDoNotWaitForEachOther(t *testing.T) {
	started, hold := make(chan struct{}), make(chan struct{})
	k := NewKeyed(0, func(ctx context.Context, key string, batch []int) []Result[string] {
		if key == "slow" {
			close(started)
			<-hold
		}
		out := make([]Result[string], len(batch))
		for i := range out {
			out[i].Value = key
		}
		return out
	})
	ctx := context.Background()
	slow := make(chan string, 1)
	go func() {
		v, _ := k.Do(ctx, "slow", 1)
		slow <- v
	}()
	<-started
	v, err := k.Do(ctx, "fast", 2) // would wait for hold with one group for both
	require.NoError(t, err)
	assert.Equal(t, "fast", v)
	close(hold)
	assert.Equal(t, "slow", <-slow)
}
