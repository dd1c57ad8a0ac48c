package store_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/internal/storetest"
)

// TestNextSparseUnderConcurrency: values from many goroutines are unique
// and increasing in each goroutine, and CurrentSeq is the last one handed
// out, however many blocks that took.
func TestNextSparseUnderConcurrency(t *testing.T) {
	db := storetest.New(t)
	ctx := context.Background()
	const goroutines, each = 16, 3 * store.SparseBlock

	seen := takeConcurrently(t, goroutines, each, func() (int64, error) { return db.NextSparse(ctx, "sparse") })

	unique := map[int64]bool{}
	var top int64
	for g, s := range seen {
		for i, n := range s {
			assert.False(t, unique[n], "value %d handed out twice", n)
			unique[n] = true
			if i > 0 {
				assert.Greater(t, n, s[i-1], "goroutine %d got a smaller value after a larger one", g)
			}
			top = max(top, n)
		}
	}
	assert.Len(t, unique, goroutines*each)
	cur, err := db.CurrentSeq(ctx, "sparse")
	require.NoError(t, err)
	assert.Equal(t, top, cur)
}

// TestNextSparseAfterRestart: a new process on the embedded store hands
// out values above every value the last one handed out, skipping the rest
// of its block, and its CurrentSeq never goes back.
func TestNextSparseAfterRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func() (*store.Embedded, *store.DB) {
		emb, err := store.StartEmbedded(ctx, dir, quiet)
		require.NoError(t, err)
		db, err := store.Open(ctx, emb.URI(), "casefile", emb)
		require.NoError(t, err)
		return emb, db
	}

	emb, db := open()
	var last int64
	for i := range 10 {
		n, err := db.NextSparse(ctx, "feed")
		require.NoError(t, err)
		assert.Equal(t, int64(i+1), n, "a fresh counter starts at 1")
		last = n
	}
	cur, err := db.CurrentSeq(ctx, "feed")
	require.NoError(t, err)
	assert.Equal(t, last, cur)
	require.NoError(t, db.Close(ctx))
	emb.Close()

	emb, db = open()
	defer emb.Close()
	defer db.Close(ctx)
	cur, err = db.CurrentSeq(ctx, "feed")
	require.NoError(t, err)
	assert.Equal(t, int64(store.SparseBlock), cur, "before its first value, the head is what the last process reserved")
	n, err := db.NextSparse(ctx, "feed")
	require.NoError(t, err)
	assert.Equal(t, int64(store.SparseBlock+1), n, "the rest of the last block is skipped")
	cur, err = db.CurrentSeq(ctx, "feed")
	require.NoError(t, err)
	assert.Equal(t, n, cur)
}

// TestNextSparseAfterDrop: a dropped database's counters start again, as
// NextSeq's do.
func TestNextSparseAfterDrop(t *testing.T) {
	db := storetest.New(t)
	ctx := context.Background()
	for range 3 {
		_, err := db.NextSparse(ctx, "feed")
		require.NoError(t, err)
	}
	require.NoError(t, db.Drop(ctx))
	n, err := db.NextSparse(ctx, "feed")
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
}

// TestSyncEveryCommit: the embedded store starts and stores with SQLite
// told to flush at every commit (FerretDB refuses a URL it cannot use).
func TestSyncEveryCommit(t *testing.T) {
	ctx := context.Background()
	emb, err := store.StartEmbedded(ctx, t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)), store.SyncEveryCommit())
	require.NoError(t, err)
	defer emb.Close()
	db, err := store.Open(ctx, emb.URI(), "casefile", emb)
	require.NoError(t, err)
	defer db.Close(ctx)
	n, err := db.NextSeq(ctx, "c")
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
}
