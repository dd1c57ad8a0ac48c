package search

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	segment "github.com/blevesearch/scorch_segment_api/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pagedSource hands out n small cases by seq.
type pagedSource struct{ n int }

func (s pagedSource) Head(context.Context) (int64, error) { return int64(s.n), nil }

func (s pagedSource) Changes(_ context.Context, after int64, limit int) ([]Change, error) {
	var out []Change
	for seq := after + 1; seq <= int64(s.n) && len(out) < limit; seq++ {
		out = append(out, smallCase(int(seq)))
	}
	return out, nil
}

func (s pagedSource) Document(_ context.Context, typ, id string) (Change, error) {
	return Change{Type: typ, ID: id, Deleted: true}, nil
}

func smallCase(i int) Change {
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	id := fmt.Sprintf("c%05d", i)
	return Change{Type: TypeCase, ID: id, Seq: int64(i), Doc: Doc{Key: id, Title: "refund fraud " + id, Status: "new",
		Team: "t1", CreatedAt: at, UpdatedAt: at}}
}

// Writes one at a time leave a segment each, which the merge policy keeps
// beside a rebuilt segment; compaction merges them, and every document is
// still found.
func TestCompactionMergesSmallSegments(t *testing.T) {
	ctx := context.Background()
	x, fresh, err := OpenWith(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Shards: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = x.Close() })
	require.True(t, fresh)
	const built = 1_000
	n, err := x.Rebuild(ctx, pagedSource{n: built}, 500)
	require.NoError(t, err)
	require.Equal(t, built, n)
	x.stopCompactor() // this test compacts by hand

	const written = compactAtCount - 1 // with the rebuilt one, enough to compact
	for i := built + 1; i <= built+written; i++ {
		require.NoError(t, x.Apply([]Change{smallCase(i)}, int64(i)))
		// Each write on disk before the next: Scorch's persister merges
		// the segments that wait for it into one (see runtimeConfig).
		require.NoError(t, flush(x.set.parts[0]))
	}
	// The live sizes of the shard's segments, once all are persisted.
	segments := func() []int64 {
		var sizes []int64
		require.Eventually(t, func() bool {
			x.mu.RLock()
			defer x.mu.RUnlock()
			adv, err := x.set.parts[0].Advanced()
			require.NoError(t, err)
			r, err := adv.(*scorch.Scorch).Reader()
			require.NoError(t, err)
			defer r.Close()
			sizes = nil
			for _, s := range r.(*scorch.IndexSnapshot).Segments() {
				if _, ok := s.Segment().(segment.PersistedSegment); !ok {
					return false
				}
				sizes = append(sizes, s.LiveSize())
			}
			return true
		}, time.Minute, 10*time.Millisecond, "Scorch persists new segments")
		slices.Sort(sizes)
		return sizes
	}
	require.Equal(t, []int64{1, 1, 1, 1, 1, 1, 1, built}, segments(), "the merge policy left the written segments apart")

	require.Eventually(t, func() bool {
		done, err := x.compactSmallSegments(ctx)
		require.NoError(t, err)
		return done
	}, time.Minute, 10*time.Millisecond)
	// Bleve's planner does not merge segments of very unequal sizes into
	// one; at 100,000 documents the rebuilt segment is not small anyway.
	assert.Equal(t, []int64{written, built}, segments(), "the written segments are one")

	res, err := x.search(ctx, bleve.NewSearchRequest(bleve.NewMatchAllQuery()))
	require.NoError(t, err)
	assert.EqualValues(t, built+written, res.Total)
	cp, err := x.Checkpoint()
	require.NoError(t, err)
	assert.EqualValues(t, built+written, cp, "the checkpoint survives compaction")
}

func TestWorthCompacting(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []int64
		want  bool
	}{
		{"none", nil, false},
		{"one", []int64{500}, false},
		{"two of a size", []int64{40, 40}, true},
		{"a quarter beside the largest", []int64{1000, 200, 50}, true},
		{"less than a quarter", []int64{1000, 100, 100}, false},
		{"many tiny ones", []int64{1000, 1, 1, 1, 1, 1, 1, 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, worthCompacting(tc.sizes))
		})
	}
}

func TestCompactionIsDueOnceWritesStop(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	write := t0.UnixNano()
	for _, tc := range []struct {
		name      string
		now       time.Time
		compacted int64
		want      bool
	}{
		{"writes just stopped", t0.Add(time.Second), 0, false},
		{"quiet long enough", t0.Add(compactQuiet), 0, true},
		{"already compacted after that write", t0.Add(time.Hour), write, false},
		{"a write since the last compaction", t0.Add(time.Hour), write - 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, due(tc.now, write, tc.compacted))
		})
	}
}
