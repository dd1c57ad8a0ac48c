package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func TestNextSeqUnderConcurrency(t *testing.T) {
	db := storetest.New(t)
	ctx := context.Background()
	const goroutines, each = 16, 100
	seen := takeConcurrently(t, goroutines, each, func() (int64, error) { return db.NextSeq(ctx, "hammer") })

	unique := map[int64]bool{}
	for _, s := range seen {
		assert.IsIncreasing(t, s, "one goroutine's values follow its calls")
		for _, n := range s {
			assert.False(t, unique[n], "value %d handed out twice", n)
			unique[n] = true
		}
	}
	assert.Len(t, unique, goroutines*each)

	var counter struct {
		N int64 `bson:"n"`
	}
	require.NoError(t, db.FindByID(ctx, "counters", "hammer", &counter))
	assert.Equal(t, int64(goroutines*each), counter.N)
}

// takeConcurrently calls next each times from each of goroutines
// goroutines at once and returns what each goroutine got, in order.
func takeConcurrently(t *testing.T, goroutines, each int, next func() (int64, error)) [][]int64 {
	t.Helper()
	var wg sync.WaitGroup
	seen := make([][]int64, goroutines)
	errCh := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				n, err := next()
				if err != nil {
					errCh <- err
					return
				}
				seen[g] = append(seen[g], n)
			}
		})
	}
	wg.Wait()
	close(errCh)
	for err := range errCh {
		require.NoError(t, err)
	}
	return seen
}

type ledger struct {
	ID      string   `bson:"_id"`
	Version int64    `bson:"version"`
	Writers []string `bson:"writers"`
}

func TestReplaceVersionedLosesNothing(t *testing.T) {
	db := storetest.New(t)
	ctx := context.Background()
	require.NoError(t, db.EnsureCollection(ctx, "ledgers"))
	require.NoError(t, db.Insert(ctx, "ledgers", ledger{ID: "L", Version: 1, Writers: []string{}}))

	const goroutines, each = 16, 10
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted []string
		stale    int
	)
	errCh := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; {
				var cur ledger
				if err := db.FindByID(ctx, "ledgers", "L", &cur); err != nil {
					errCh <- err
					return
				}
				me := fmt.Sprintf("g%d-%d", g, i)
				next := cur
				next.Version = cur.Version + 1
				next.Writers = append(append([]string{}, cur.Writers...), me)
				err := db.ReplaceVersioned(ctx, "ledgers", "L", cur.Version, next)
				switch {
				case err == nil:
					mu.Lock()
					accepted = append(accepted, me)
					mu.Unlock()
					i++
				case errs.Is(err, errs.PreconditionFailed):
					mu.Lock()
					stale++
					mu.Unlock()
				default:
					errCh <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errCh)
	for err := range errCh {
		require.NoError(t, err)
	}

	var final ledger
	require.NoError(t, db.FindByID(ctx, "ledgers", "L", &final))
	assert.Len(t, accepted, goroutines*each)
	assert.Equal(t, int64(1+goroutines*each), final.Version, "every accepted write bumps the version once")
	assert.ElementsMatch(t, accepted, final.Writers, "every accepted write is visible, none lost")
	t.Logf("stale writers rejected: %d", stale)
}

func TestReplaceVersionedErrors(t *testing.T) {
	db := storetest.New(t)
	ctx := context.Background()
	require.NoError(t, db.EnsureCollection(ctx, "ledgers"))
	require.NoError(t, db.Insert(ctx, "ledgers", ledger{ID: "L", Version: 3}))

	tests := []struct {
		name     string
		id       string
		expected int64
		code     errs.Code
	}{
		{"stale version is precondition failed", "L", 2, errs.PreconditionFailed},
		{"future version is precondition failed", "L", 4, errs.PreconditionFailed},
		{"missing document is not found", "nope", 3, errs.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.ReplaceVersioned(ctx, "ledgers", tt.id, tt.expected, ledger{ID: tt.id, Version: tt.expected + 1, Writers: []string{"x"}})
			assert.Equal(t, tt.code, errs.CodeOf(err), "%v", err)
		})
	}
	var got ledger
	require.NoError(t, db.FindByID(ctx, "ledgers", "L", &got))
	assert.Equal(t, int64(3), got.Version)
	assert.Empty(t, got.Writers, "rejected writes change nothing")
}

func TestInsertDuplicateIsConflict(t *testing.T) {
	db := storetest.New(t)
	ctx := context.Background()
	require.NoError(t, db.EnsureCollection(ctx, "ledgers"))
	require.NoError(t, db.Insert(ctx, "ledgers", ledger{ID: "L", Version: 1}))
	err := db.Insert(ctx, "ledgers", ledger{ID: "L", Version: 1})
	assert.Equal(t, errs.Conflict, errs.CodeOf(err), "%v", err)
}

// TestABatchOfInsertsFailsOnlyItsDuplicates: concurrent Inserts share one
// unordered command; a duplicate in the batch fails alone, and the
// documents around it land.
func TestABatchOfInsertsFailsOnlyItsDuplicates(t *testing.T) {
	db := storetest.New(t)
	ctx := context.Background()
	require.NoError(t, db.EnsureCollection(ctx, "ledgers"))
	require.NoError(t, db.Insert(ctx, "ledgers", ledger{ID: "taken", Version: 1}))

	got, err := store.InsertBatch(ctx, db, "ledgers",
		ledger{ID: "a", Version: 1}, ledger{ID: "taken", Version: 2}, ledger{ID: "b", Version: 1}, ledger{ID: "a", Version: 2})
	require.NoError(t, err)
	require.Len(t, got, 4)
	assert.NoError(t, got[0])
	assert.Equal(t, errs.Conflict, errs.CodeOf(got[1]), "%v", got[1])
	assert.NoError(t, got[2])
	assert.Equal(t, errs.Conflict, errs.CodeOf(got[3]), "the second of two in one batch: %v", got[3])

	for id, version := range map[string]int64{"a": 1, "b": 1, "taken": 1} {
		var l ledger
		require.NoError(t, db.FindByID(ctx, "ledgers", id, &l))
		assert.Equal(t, version, l.Version, id)
	}
}

// TestInsertManyStopsAtTheFirstFailure: InsertMany is ordered, and says how
// many documents it wrote: the audit log counts on the written ones being
// a prefix.
func TestInsertManyStopsAtTheFirstFailure(t *testing.T) {
	db := storetest.New(t)
	ctx := context.Background()
	require.NoError(t, db.EnsureCollection(ctx, "ledgers"))
	require.NoError(t, db.Insert(ctx, "ledgers", ledger{ID: "c", Version: 1}))

	n, err := db.InsertMany(ctx, "ledgers", []any{ledger{ID: "a"}, ledger{ID: "b"}, ledger{ID: "c"}, ledger{ID: "d"}})
	assert.Equal(t, errs.Conflict, errs.CodeOf(err), "%v", err)
	assert.Equal(t, 2, n)
	var l ledger
	assert.Equal(t, errs.NotFound, errs.CodeOf(db.FindByID(ctx, "ledgers", "d", &l)), "nothing after the failure")

	n, err = db.InsertMany(ctx, "ledgers", []any{ledger{ID: "d"}, ledger{ID: "e"}})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

// TestIDLookupUsesIndex fails when FerretDB stops filtering _id lookups with
// the expression our extra SQLite index covers (e.g. after an upgrade).
func TestIDLookupUsesIndex(t *testing.T) {
	db := storetest.New(t)
	if !db.Embedded() {
		t.Skip("query plans are SQLite's; MONGODB_URI points elsewhere")
	}
	ctx := context.Background()
	require.NoError(t, db.EnsureCollection(ctx, "ledgers"))
	require.NoError(t, db.Insert(ctx, "ledgers", ledger{ID: "L", Version: 1}))

	var out bson.M
	err := db.Collection("ledgers").Database().RunCommand(ctx, bson.D{
		{Key: "explain", Value: bson.D{{Key: "find", Value: "ledgers"}, {Key: "filter", Value: bson.D{{Key: "_id", Value: "L"}}}}},
	}).Decode(&out)
	require.NoError(t, err)
	plan := fmt.Sprint(out["queryPlanner"])
	t.Logf("plan: %s", plan)
	assert.Equal(t, true, out["filterPushdown"], "FerretDB must push the _id filter down: %v", out)
	assert.True(t, strings.Contains(plan, "USING INDEX") && strings.Contains(plan, "_casefile_id"),
		"lookup by _id must use the _casefile_id index, plan: %s", plan)
}

func TestSecondEmbeddedServerOnOneDirIsRefused(t *testing.T) {
	dir, err := os.MkdirTemp("", "cflock")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	first, err := store.StartEmbedded(context.Background(), dir, quiet)
	require.NoError(t, err)
	_, err = store.StartEmbedded(context.Background(), dir, quiet)
	assert.ErrorContains(t, err, "in use by another casefile process")

	first.Close()
	again, err := store.StartEmbedded(context.Background(), dir, quiet)
	require.NoError(t, err, "the lock is released on Close")
	again.Close()

	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "the store directory is private")
}

// TestConcurrentInsertsOfOneID: Insert checks nothing before it writes
// (and against MongoDB takes no lock), so the database's unique _id index
// must decide: of many racing inserts of one id exactly one lands and the
// rest are Conflicts, while racing inserts of distinct ids all land.
func TestConcurrentInsertsOfOneID(t *testing.T) {
	db := storetest.New(t)
	ctx := context.Background()
	require.NoError(t, db.EnsureCollection(ctx, "ledgers"))
	const racers = 16
	for round := range 5 {
		var wg sync.WaitGroup
		results := make([]error, racers)
		for i := range racers {
			wg.Go(func() {
				results[i] = db.Insert(ctx, "ledgers", ledger{ID: fmt.Sprintf("same-%d", round), Version: int64(i)})
			})
		}
		wg.Wait()
		won := 0
		for _, err := range results {
			if err == nil {
				won++
			} else {
				assert.True(t, errs.Is(err, errs.Conflict), "a losing insert is a Conflict: %v", err)
			}
		}
		assert.Equal(t, 1, won, "round %d: exactly one insert of the id lands", round)
	}
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			for j := range 20 {
				assert.NoError(t, db.Insert(ctx, "ledgers", ledger{ID: fmt.Sprintf("distinct-%d-%d", i, j), Version: 1}))
			}
		})
	}
	wg.Wait()
	n, err := db.Collection("ledgers").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	assert.Equal(t, int64(5+racers*20), n)
}

type seqDoc struct {
	ID  string `bson:"_id"`
	Seq int64  `bson:"seq"`
}

// TestSince: documents with seq above the mark, in seq order, at most the
// limit; documents without a seq are never listed.
func TestSince(t *testing.T) {
	db := storetest.New(t)
	ctx := context.Background()
	require.NoError(t, db.EnsureCollection(ctx, "stamped"))
	for _, seq := range []int64{5, 1, 12, 3, 9, 100, 7} {
		require.NoError(t, db.Insert(ctx, "stamped", seqDoc{ID: fmt.Sprintf("s%d", seq), Seq: seq}))
	}
	require.NoError(t, db.Insert(ctx, "stamped", bson.D{{Key: "_id", Value: "unstamped"}}))
	var got []seqDoc
	require.NoError(t, db.Since(ctx, "stamped", 3, 4, &got))
	assert.Equal(t, []seqDoc{{"s5", 5}, {"s7", 7}, {"s9", 9}, {"s12", 12}}, got)
	require.NoError(t, db.Since(ctx, "stamped", 12, 10, &got))
	assert.Equal(t, []seqDoc{{"s100", 100}}, got)
	require.NoError(t, db.Since(ctx, "stamped", 100, 10, &got))
	assert.Empty(t, got)
	require.NoError(t, db.Since(ctx, "never_created", 0, 10, &got))
	assert.Empty(t, got)
}

// TestSinceUsesSeqIndex fails when the embedded store's seq query stops
// using the seq index (e.g. FerretDB changes how it stores documents).
func TestSinceUsesSeqIndex(t *testing.T) {
	db := storetest.New(t)
	if !db.Embedded() {
		t.Skip("query plans are SQLite's; MONGODB_URI points elsewhere")
	}
	ctx := context.Background()
	require.NoError(t, db.EnsureCollection(ctx, "stamped"))
	require.NoError(t, db.Insert(ctx, "stamped", seqDoc{ID: "a", Seq: 1}))
	var got []seqDoc
	require.NoError(t, db.Since(ctx, "stamped", 0, 10, &got)) // creates the index
	plan, err := store.SinceQueryPlan(ctx, db, "stamped")
	require.NoError(t, err)
	t.Logf("plan: %s", plan)
	assert.Contains(t, plan, "_casefile_seq", "the seq query must use the seq index")
	assert.NotContains(t, plan, "TEMP B-TREE", "and read in index order, not sort")
}
