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

	var wg sync.WaitGroup
	seen := make([][]int64, goroutines)
	errCh := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				n, err := db.NextSeq(ctx, "hammer")
				if err != nil {
					errCh <- err
					return
				}
				seen[g] = append(seen[g], n)
			}
		}()
	}
	wg.Wait()
	close(errCh)
	for err := range errCh {
		require.NoError(t, err)
	}

	unique := map[int64]bool{}
	for _, s := range seen {
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
