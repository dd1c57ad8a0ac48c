package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"casefile.dev/casefile/internal/store"
)

type item struct {
	ID      string `bson:"_id"`
	N       int    `bson:"n"`
	Version int64  `bson:"version"`
}

func startEmbedded(t *testing.T, prefix string) (dir string, emb *store.Embedded) {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix) // short: the socket lives inside
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	emb, err = store.StartEmbedded(context.Background(), dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	return dir, emb
}

// TestSnapshotWhileWriting: snapshots taken while one writer inserts
// documents 0, 1, 2, ... in order each hold exactly a prefix 0..k-1 (one
// point in time, no torn writes), open in FerretDB, and keep the _id
// expression index.
func TestSnapshotWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir, emb := startEmbedded(t, "cfsnap")
	defer emb.Close()
	db, err := store.Open(ctx, emb.URI(), "snapdb", emb)
	require.NoError(t, err)
	defer db.Close(ctx)
	require.NoError(t, db.EnsureCollection(ctx, "items"))

	var written atomic.Int64
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			if err := db.Insert(ctx, "items", item{ID: fmt.Sprintf("i%06d", i), N: i, Version: 1}); err != nil {
				writerDone <- err
				return
			}
			written.Store(int64(i + 1))
		}
	}()
	for written.Load() < 100 {
		time.Sleep(5 * time.Millisecond)
	}

	out := t.TempDir()
	var snaps []string
	for s := range 3 {
		dst := filepath.Join(out, fmt.Sprintf("snap%d.sqlite", s))
		before := written.Load()
		start := time.Now()
		require.NoError(t, store.SnapshotDatabase(ctx, dir, "snapdb", dst))
		after := written.Load()
		t.Logf("snapshot %d: %s, %d inserts acknowledged during it", s, time.Since(start).Round(time.Microsecond), after-before)
		snaps = append(snaps, dst)
		// The next snapshot must hold more: a snapshot holds at most the
		// inserts acknowledged by its end plus one committed but not yet
		// counted, so wait for two more acknowledgements (progress, not
		// time, so a loaded machine cannot fail it).
		for written.Load() < after+2 {
			time.Sleep(time.Millisecond)
		}
	}
	close(stop)
	require.NoError(t, <-writerDone)

	dbs, err := store.EmbeddedDatabases(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"snapdb"}, dbs, "-wal, -shm, lock and socket are not databases")
	assert.ErrorContains(t, store.SnapshotDatabase(ctx, dir, "snapdb", snaps[0]), "already exists")
	assert.Error(t, store.SnapshotDatabase(ctx, dir, "../snapdb", filepath.Join(out, "x")))
	assert.Error(t, store.SnapshotDatabase(ctx, dir, "nosuchdb", filepath.Join(out, "y")))
	_, err = os.Stat(store.DatabaseFile(dir, "nosuchdb"))
	assert.ErrorIs(t, err, os.ErrNotExist, "a missing database is not created")

	prev := -1
	for s, snap := range snaps {
		colls, err := store.CheckDatabaseFile(ctx, snap)
		require.NoError(t, err)
		assert.Contains(t, colls, "items")

		// Our _id expression index is part of the copy.
		raw, err := sql.Open("sqlite", "file:"+snap+"?mode=ro")
		require.NoError(t, err)
		var n int
		require.NoError(t, raw.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE '%_casefile_id'`).Scan(&n))
		var mode string
		require.NoError(t, raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
		raw.Close()
		assert.Equal(t, 1, n, "the _id expression index is copied")
		t.Logf("snapshot %d: journal_mode %s", s, mode)

		// FerretDB serves it, and it is a prefix of the writes.
		rdir, remb := startEmbedded(t, "cfsnapr")
		remb.Close()
		require.NoError(t, os.Rename(snap, store.DatabaseFile(rdir, "snapdb")))
		remb, err = store.StartEmbedded(ctx, rdir, slog.New(slog.NewTextHandler(io.Discard, nil)))
		require.NoError(t, err)
		rdb, err := store.Open(ctx, remb.URI(), "snapdb", remb)
		require.NoError(t, err)
		cur, err := rdb.Collection("items").Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
		require.NoError(t, err)
		var got []item
		require.NoError(t, cur.All(ctx, &got))
		require.NoError(t, rdb.Close(ctx))
		remb.Close()
		require.GreaterOrEqual(t, len(got), 100)
		for i, it := range got {
			require.Equal(t, i, it.N, "snapshot %d holds a prefix of the inserts", s)
		}
		assert.Greater(t, len(got), prev, "later snapshots hold more")
		prev = len(got)
		t.Logf("snapshot %d: %d documents", s, len(got))
	}
}
