package benchcmp

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/search"
)

func TestGenerate(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ n, size int }{{0, 4}, {1, 4}, {25, 4}, {24, 4}, {40, 100}} {
		next := 0
		err := generate(ctx, testGen, tc.n, tc.size, func(first int, docs []search.Doc) error {
			assert.Equal(t, next, first)
			assert.LessOrEqual(t, len(docs), tc.size)
			for k, d := range docs {
				assert.Equal(t, corpus.ID(first+k), d.ID)
			}
			next += len(docs)
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, tc.n, next, "%+v", tc)
	}

	t.Run("error", func(t *testing.T) {
		boom := errors.New("boom")
		calls := 0
		err := generate(ctx, testGen, 100, 2, func(int, []search.Doc) error {
			calls++
			if calls == 3 {
				return boom
			}
			return nil
		})
		assert.ErrorIs(t, err, boom)
		assert.Equal(t, 3, calls)
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		err := generate(ctx, testGen, 100, 2, func(int, []search.Doc) error {
			cancel()
			return nil
		})
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestNormalized(t *testing.T) {
	q, filters, err := normalized(Query{
		Terms:   []string{" Fraud", "", "account"},
		Filters: map[string]string{"status": "new", "type": "case"},
		Facets:  []string{"status", "severity", "status"},
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"fraud", "account"}, q.Terms)
	assert.Equal(t, []string{"status", "type"}, filters)
	assert.Equal(t, []string{"status", "severity"}, q.Facets)
	assert.Equal(t, DefaultSize, q.Size)
}
