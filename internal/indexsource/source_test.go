package indexsource_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/internal/corpusstore"
	"casefile.dev/casefile/internal/indexsource"
	"casefile.dev/casefile/internal/storetest"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/rca/risk"
	"casefile.dev/casefile/search"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// TestScanMatchesChanges: the one-pass Scan a rebuild uses hands out the
// very documents that paging through Changes does, each once.
func TestScanMatchesChanges(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	for _, init := range []interface{ Init(context.Context) error }{cases.NewMongoStore(db), rca.NewMongoStore(db)} {
		require.NoError(t, init.Init(ctx))
	}
	require.NoError(t, corpusstore.Load(ctx, db, corpus.New(7), 400, nil))
	src := indexsource.New(db, cases.NewMongoStore(db), rca.NewMongoStore(db), quality.NewStore(db), risk.NewMongoStore(db))

	// Paging: the last version of each document wins, as in a catch-up.
	paged := map[string]search.Change{}
	for after := int64(0); ; {
		page, err := src.Changes(ctx, after, 37)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			if !c.Deleted {
				paged[c.Type+":"+c.ID] = c
			}
			after = max(after, c.Seq)
		}
	}
	scanned := map[string]search.Change{}
	require.NoError(t, src.Scan(ctx, func(c search.Change) error {
		key := c.Type + ":" + c.ID
		assert.NotContains(t, scanned, key, "handed out twice")
		scanned[key] = c
		return nil
	}))
	require.Len(t, scanned, len(paged))
	for key, p := range paged {
		s, ok := scanned[key]
		if !assert.True(t, ok, key) {
			continue
		}
		assert.Equal(t, p.Doc.Title, s.Doc.Title, key)
		assert.Equal(t, p.Doc.Body, s.Doc.Body, key)
		assert.Equal(t, p.Doc.Notes, s.Doc.Notes, key)
		assert.Equal(t, len(p.Children), len(s.Children), key)
		if p.Type != search.TypePostmortem { // paging also hands a postmortem out at its incident's seq
			assert.Equal(t, p.Seq, s.Seq, key)
		}
	}
}
