package search_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/blevesearch/bleve/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/search"
)

// corpusSource is a source of the first n documents of corpus.New(seed).
func corpusSource(seed int64, n int) (*corpus.Source, *corpus.Gen) {
	g := corpus.New(seed)
	src := corpus.NewSource()
	for i := range n {
		src.Put(g.Doc(i))
	}
	return src, g
}

// requireEveryDocOnce checks that each of the n documents is found by its
// unique word exactly once, and that nothing else is in the index.
func requireEveryDocOnce(t *testing.T, x *search.Index, n int) {
	t.Helper()
	s := search.NewSearcher(x)
	for i := range n {
		require.Equal(t, []string{corpus.TypeOf(i) + ":" + corpus.ID(i)}, find(t, s, admin, corpus.UniqueWord(i)), "doc %d", i)
	}
	// Page through everything: n distinct documents, no duplicates.
	seen := map[string]bool{}
	for from := 0; ; from += search.MaxSize {
		res := mustSearch(t, s, admin, search.Request{Query: "-id:none", From: from, Size: search.MaxSize, Sort: "key"})
		require.Equal(t, uint64(n), res.Total)
		for _, h := range res.Hits {
			require.False(t, seen[hitKey(h)], "%s twice", hitKey(h))
			seen[hitKey(h)] = true
		}
		if len(res.Hits) < search.MaxSize {
			break
		}
	}
	require.Len(t, seen, n)
}

func asides(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "index.old.*"))
	require.NoError(t, err)
	return m
}

func TestOpenEmptyDirIsFresh(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	x, fresh, err := search.Open(dir, quiet)
	require.NoError(t, err)
	defer x.Close()
	assert.True(t, fresh)
	cp, err := x.Checkpoint()
	require.NoError(t, err)
	assert.Zero(t, cp)
	res := mustSearch(t, search.NewSearcher(x), admin, search.Request{Query: "fraud", Facets: []string{"team"}})
	assert.Zero(t, res.Total, "an empty index answers until the rebuild")
}

// TestRebuildAndReopen: a rebuild indexes every document once, records the
// mapping version and checkpoint, survives a restart, and a second rebuild
// swaps in a new index (the replaced one kept aside) without duplicating
// anything.
func TestRebuildAndReopen(t *testing.T) {
	ctx := context.Background()
	const n = 150
	src, g := corpusSource(1, n)
	src.Delete(corpus.TypeOf(n-1), corpus.ID(n-1)) // a tombstone is not indexed
	dir := t.TempDir()
	x, fresh, err := search.Open(dir, quiet)
	require.NoError(t, err)
	require.True(t, fresh)
	indexed, err := x.Rebuild(ctx, src, 64)
	require.NoError(t, err)
	assert.Equal(t, n-1, indexed)
	cp, _ := x.Checkpoint()
	head, _ := src.Head(ctx)
	assert.Equal(t, head, cp)
	requireEveryDocOnce(t, x, n-1)
	require.NoError(t, x.Close())

	x, fresh, err = search.Open(dir, quiet)
	require.NoError(t, err)
	assert.False(t, fresh, "a good index is reused")
	requireEveryDocOnce(t, x, n-1)

	src.Put(g.Doc(n - 1))
	indexed, err = x.Rebuild(ctx, src, 500)
	require.NoError(t, err)
	assert.Equal(t, n, indexed)
	requireEveryDocOnce(t, x, n)
	assert.Len(t, asides(t, dir), 1, "the replaced index is kept aside (removed after a day)")
	require.NoError(t, x.Close())
	_, err = os.Stat(filepath.Join(dir, "index.building"))
	assert.True(t, os.IsNotExist(err))
}

// TestMappingVersionMismatch: an index written with another mapping
// version (or none) is moved aside; Open reports fresh.
func TestMappingVersionMismatch(t *testing.T) {
	for name, version := range map[string][]byte{"older": []byte("0"), "missing": nil} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			src, _ := corpusSource(2, 30)
			dir := t.TempDir()
			x, _, err := search.Open(dir, quiet)
			require.NoError(t, err)
			_, err = x.Rebuild(ctx, src, 100)
			require.NoError(t, err)
			require.NoError(t, x.Close())

			// One shard of another version is enough.
			raw, err := bleve.Open(filepath.Join(dir, "index", "shard-0"))
			require.NoError(t, err)
			if version == nil {
				require.NoError(t, raw.DeleteInternal([]byte("casefile.mapping_version")))
			} else {
				require.NoError(t, raw.SetInternal([]byte("casefile.mapping_version"), version))
			}
			require.NoError(t, raw.Close())

			x, fresh, err := search.Open(dir, quiet)
			require.NoError(t, err)
			defer x.Close()
			assert.True(t, fresh)
			assert.Len(t, asides(t, dir), 1, "the old index is moved aside, not deleted")
			assert.Zero(t, mustSearch(t, search.NewSearcher(x), admin, search.Request{Query: "-id:none"}).Total)
			_, err = x.Rebuild(ctx, src, 100)
			require.NoError(t, err)
			requireEveryDocOnce(t, x, 30)
		})
	}
}

// TestCorruptIndex: a damaged segment file is detected at Open (never a
// crash), the index is moved aside and reported fresh, and a rebuild
// brings every document back exactly once.
func TestCorruptIndex(t *testing.T) {
	damage := map[string]func(path string, size int64) error{
		"truncated_to_zero": func(p string, _ int64) error { return os.Truncate(p, 0) },
		"truncated_to_half": func(p string, size int64) error { return os.Truncate(p, size/2) },
		"footer_cut":        func(p string, size int64) error { return os.Truncate(p, size-16) },
		"garbage_in_middle": func(p string, size int64) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for k := size / 4; k < size/2; k++ {
				b[k] = byte(k*7919 + 13)
			}
			return os.WriteFile(p, b, 0o600)
		},
		"garbage_header": func(p string, size int64) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for k := range 64 {
				b[k] = byte(k*7919 + 13)
			}
			return os.WriteFile(p, b, 0o600)
		},
	}
	ctx := context.Background()
	const n = 60
	for name, fn := range damage {
		t.Run(name, func(t *testing.T) {
			src, _ := corpusSource(3, n)
			dir := t.TempDir()
			x, _, err := search.Open(dir, quiet)
			require.NoError(t, err)
			_, err = x.Rebuild(ctx, src, 50)
			require.NoError(t, err)
			require.NoError(t, x.Close())

			zaps, err := filepath.Glob(filepath.Join(dir, "index", "shard-*", "store", "*.zap"))
			require.NoError(t, err)
			require.NotEmpty(t, zaps, "the index has segment files")
			for _, z := range zaps {
				info, err := os.Stat(z)
				require.NoError(t, err)
				require.NoError(t, fn(z, info.Size()))
			}

			x, fresh, err := search.Open(dir, quiet)
			require.NoError(t, err)
			defer x.Close()
			assert.True(t, fresh, "a damaged index is not served")
			assert.Len(t, asides(t, dir), 1)
			_, err = x.Rebuild(ctx, src, 50)
			require.NoError(t, err)
			requireEveryDocOnce(t, x, n)
		})
	}
}

// TestSearchDuringRebuild: readers keep getting answers from the old index
// while a rebuild runs and from the new one after the swap, never an
// error (run with -race).
func TestSearchDuringRebuild(t *testing.T) {
	ctx := context.Background()
	src, _ := corpusSource(4, 100)
	x := openIndex(t, src)
	s := search.NewSearcher(x)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var searches atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				res, err := s.Search(ctx, ivy, search.Request{Query: "refund", Facets: []string{"team", "month"}, Highlight: true})
				if !assert.NoError(t, err) {
					return
				}
				assert.NotZero(t, res.Total)
				_, err = s.Similar(ctx, admin, corpus.TypeOf(0), corpus.ID(0), 5)
				assert.NoError(t, err)
				searches.Add(1)
			}
		}()
	}
	for range 2 {
		_, err := x.Rebuild(ctx, src, 50)
		require.NoError(t, err)
	}
	stop.Store(true)
	wg.Wait()
	assert.NotZero(t, searches.Load())
	requireEveryDocOnce(t, x, 100)
}

// TestWritesSurviveClose: an index write returns once it is searchable,
// before Bleve has it on disk (unsafe_batch); closing the index must write
// what is waiting, or a restart finds the documents missing and the
// checkpoint behind.
func TestWritesSurviveClose(t *testing.T) {
	ctx := context.Background()
	const built, written = 20, 30
	src, g := corpusSource(2, built)
	dir := t.TempDir()
	x, _, err := search.Open(dir, quiet)
	require.NoError(t, err)
	_, err = x.Rebuild(ctx, src, 64)
	require.NoError(t, err)
	for i := built; i < built+written; i++ {
		c := src.Put(g.Doc(i))
		require.NoError(t, x.Apply([]search.Change{c}, c.Seq))
	}
	head, err := src.Head(ctx)
	require.NoError(t, err)
	require.NoError(t, x.Close())

	x, fresh, err := search.Open(dir, quiet)
	require.NoError(t, err)
	defer x.Close()
	require.False(t, fresh)
	cp, err := x.Checkpoint()
	require.NoError(t, err)
	assert.Equal(t, head, cp, "the last write's checkpoint is on disk")
	requireEveryDocOnce(t, x, built+written)
}
