package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/corpus"
)

// TestChooseQueries: every class gets its queries, deterministically, and
// their shares of documents, counted afresh on documents the choice did not
// look at, fall in the class's range.
func TestChooseQueries(t *testing.T) {
	g := corpus.New(1)
	qs := chooseQueries(g, 6)
	require.Equal(t, qs, chooseQueries(g, 6), "the same queries every time")

	// Shares on documents after the sample.
	const from, n = sampleSize, 3000
	docs := make([]map[string]bool, n)
	for i := range n {
		d := g.Doc(from + i)
		docs[i] = words(strings.Join([]string{d.Title, d.Summary, d.Body, d.Notes, d.Evidence, d.RootCauses}, " "))
	}
	perClass := map[string]int{}
	for _, q := range qs {
		t.Logf("%-9s %s", q.Class, queryText(q))
		perClass[q.Class]++
		hits := 0
		for _, d := range docs {
			all := true
			for _, w := range q.Terms {
				all = all && d[w]
			}
			if all {
				hits++
			}
		}
		share := float64(hits) / n
		switch q.Class {
		case classBroad:
			assert.Greater(t, share, 0.28, "%v", q.Terms)
		case classMid:
			assert.True(t, share > 0.008 && share < 0.11, "%v: %.3f", q.Terms, share)
		case classSelective:
			assert.Less(t, share, 0.012, "%v", q.Terms)
		case classFilter:
			assert.Equal(t, "case", q.Filters["type"])
			assert.NotEmpty(t, q.Filters["status"])
		}
		assert.Equal(t, []string{"status", "severity"}, q.Facets)
		assert.Equal(t, 10, q.Size)
	}
	for _, c := range classes {
		assert.Equal(t, 6, perClass[c], c)
	}
}
