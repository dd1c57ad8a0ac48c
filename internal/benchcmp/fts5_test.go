package benchcmp

import (
	"context"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/search"
)

// testDocs is the size of the test corpus.
const testDocs = 800

var testGen = corpus.New(1)

// commonPairs are pairs of frequent words that are not stop words and that
// Porter (FTS5) and Snowball (PostgreSQL) stem alike.
var commonPairs = [][]string{
	{"fraud", "account"},
	{"refund", "payment"},
	{"seller", "listing"},
	{"evidence", "review"},
}

func loadFTS5(t *testing.T) *FTS5 {
	t.Helper()
	f, err := OpenFTS5(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, f.Close()) })
	require.NoError(t, f.Load(context.Background(), testGen, testDocs))
	return f
}

func TestFTS5(t *testing.T) {
	checkEngine(t, loadFTS5(t))
}

func TestFTS5Reload(t *testing.T) {
	f := loadFTS5(t)
	ctx := context.Background()
	// Loading again replaces the content rather than adding to it.
	require.NoError(t, f.Load(ctx, testGen, 100))
	res, err := f.Search(ctx, Query{Filters: map[string]string{"type": search.TypeCase}})
	require.NoError(t, err)
	assert.Equal(t, 70, res.Total)
	res, err = f.Search(ctx, Query{Terms: []string{corpus.UniqueWord(150)}})
	require.NoError(t, err)
	assert.Zero(t, res.Total)
}

func TestFTS5Match(t *testing.T) {
	assert.Equal(t, `"fraud" "account"`, fts5Match([]string{"fraud", "account"}))
	assert.Equal(t, `"a""b" "NEAR"`, fts5Match([]string{`a"b`, "NEAR"}))
}

// checkEngine checks e, loaded with the first testDocs documents of
// testGen.
func checkEngine(t *testing.T, e Engine) {
	ctx := context.Background()
	run := func(t *testing.T, q Query) Result {
		t.Helper()
		res, err := e.Search(ctx, q)
		require.NoError(t, err, "%+v", q)
		return res
	}

	t.Run("unique word", func(t *testing.T) {
		for _, i := range []int{0, 1, 25, 26, 400, 777, testDocs - 1} {
			res := run(t, Query{Terms: []string{corpus.UniqueWord(i)}, Facets: []string{"type"}})
			assert.Equal(t, 1, res.Total, "doc %d", i)
			assert.Equal(t, []string{corpus.ID(i)}, res.IDs, "doc %d", i)
			assert.Equal(t, 1, res.Snippets, "doc %d", i)
			assert.Equal(t, map[string]map[string]int{"type": {corpus.TypeOf(i): 1}}, res.Facets)
		}
	})

	t.Run("no match", func(t *testing.T) {
		res := run(t, Query{Terms: []string{"fraud", "qqqnotawordqqq"}, Facets: []string{"status"}})
		assert.Zero(t, res.Total)
		assert.Empty(t, res.IDs)
		assert.Zero(t, res.Snippets)
		assert.Equal(t, map[string]map[string]int{"status": {}}, res.Facets)
	})

	t.Run("common words", func(t *testing.T) {
		for _, terms := range commonPairs {
			res := run(t, Query{Terms: terms})
			require.Greater(t, res.Total, 10, "%v", terms)
			require.Len(t, res.IDs, 10, "%v", terms)
			assert.Equal(t, len(res.IDs), res.Snippets, "%v", terms)
			assertContainAll(t, res.IDs, terms)
			// The AND matches no more than either word alone.
			for _, w := range terms {
				one := run(t, Query{Terms: []string{w}})
				assert.LessOrEqual(t, res.Total, one.Total, "%v vs %s", terms, w)
			}
		}
	})

	t.Run("size", func(t *testing.T) {
		q := Query{Terms: commonPairs[0]}
		total := run(t, q).Total
		for _, size := range []int{0, 1, 3, 25, 100, total + 5} {
			q.Size = size
			res := run(t, q)
			want := size
			if size == 0 {
				want = DefaultSize
			}
			assert.Len(t, res.IDs, min(want, total), "size %d", size)
			assert.Equal(t, len(res.IDs), res.Snippets, "size %d", size)
			assert.Equal(t, total, res.Total, "size %d", size)
			assertUnique(t, res.IDs)
		}
		// The top hits do not depend on how many are asked for.
		top3 := run(t, Query{Terms: commonPairs[0], Size: 3}).IDs
		top25 := run(t, Query{Terms: commonPairs[0], Size: 25}).IDs
		assert.Equal(t, top3, top25[:3])
	})

	t.Run("facets", func(t *testing.T) {
		facets := []string{"type", "status", "severity", "team", "vendor", "month"}
		for _, terms := range commonPairs {
			res := run(t, Query{Terms: terms, Facets: facets})
			require.Len(t, res.Facets, len(facets))
			// Every document has a type, a status, a severity and a month.
			for _, f := range []string{"type", "status", "severity", "month"} {
				assert.Equal(t, res.Total, sum(res.Facets[f]), "%v: %s", terms, f)
			}
			// Only cases have a team; some have a vendor.
			assert.Equal(t, res.Facets["type"][search.TypeCase], sum(res.Facets["team"]), "%v", terms)
			assert.Less(t, sum(res.Facets["vendor"]), res.Facets["type"][search.TypeCase], "%v", terms)
			assert.NotContains(t, res.Facets["vendor"], "")
			// Facets change neither the total nor the hits.
			plain := run(t, Query{Terms: terms})
			assert.Equal(t, plain.Total, res.Total)
			assert.Equal(t, plain.IDs, res.IDs)
		}
	})

	t.Run("filters", func(t *testing.T) {
		facets := []string{"type", "status", "severity", "team"}
		for _, terms := range commonPairs[:2] {
			all := run(t, Query{Terms: terms, Facets: facets})
			for _, filters := range []map[string]string{
				{"type": search.TypeCase},
				{"type": search.TypeIncident},
				{"status": "investigating"},
				{"type": search.TypeCase, "status": "investigating"},
				{"severity": "sev2"},
				{"team": "t1"},
			} {
				res := run(t, Query{Terms: terms, Filters: filters, Facets: []string{"status"}, Size: 50})
				assert.LessOrEqual(t, res.Total, all.Total, "%v %v", terms, filters)
				assert.Len(t, res.IDs, min(50, res.Total), "%v %v", terms, filters)
				assert.Equal(t, len(res.IDs), res.Snippets, "%v %v", terms, filters)
				assert.Equal(t, res.Total, sum(res.Facets["status"]), "%v %v", terms, filters)
				for _, id := range res.IDs {
					d := testGen.Doc(corpus.Index(id))
					for f, v := range filters {
						assert.Equal(t, v, keyword(d, f), "%s of %s for %v %v", f, id, terms, filters)
					}
				}
				assertContainAll(t, res.IDs, terms)
				// A filter on one field keeps exactly the documents the
				// unfiltered query's facet counts for its value.
				if len(filters) == 1 {
					for f, v := range filters {
						assert.Equal(t, all.Facets[f][v], res.Total, "%v %v", terms, filters)
					}
				}
			}
		}
	})

	t.Run("filters only", func(t *testing.T) {
		// Without terms, the counts are exact: compare with the corpus.
		for _, filters := range []map[string]string{
			{"type": search.TypeIncident, "status": "mitigated"},
			{"type": search.TypeCase, "team": "t2"},
			{"month": "2024-03"},
			{"severity": "sev1", "vendor": "v1"},
		} {
			res := run(t, Query{Filters: filters, Facets: []string{"severity", "status"}, Size: 5})
			want := map[string]map[string]int{"severity": {}, "status": {}}
			total := 0
			for i := range testDocs {
				d := testGen.Doc(i)
				ok := true
				for f, v := range filters {
					ok = ok && keyword(d, f) == v
				}
				if ok {
					total++
					want["severity"][d.Severity]++
					want["status"][d.Status]++
				}
			}
			require.Positive(t, total, "%v", filters)
			assert.Equal(t, total, res.Total, "%v", filters)
			assert.Equal(t, want, res.Facets, "%v", filters)
			assert.Len(t, res.IDs, min(5, total), "%v", filters)
			assert.Zero(t, res.Snippets, "%v", filters)
		}
	})

	t.Run("bad queries", func(t *testing.T) {
		for _, q := range []Query{
			{Terms: []string{"fraud"}, Filters: map[string]string{"title": "x"}},
			{Terms: []string{"fraud"}, Facets: []string{"body"}},
			{Terms: []string{"fraud"}, Facets: []string{"status; DROP TABLE docs"}},
			{Terms: []string{"two words"}},
		} {
			_, err := e.Search(ctx, q)
			assert.Error(t, err, "%+v", q)
		}
	})

	t.Run("odd terms", func(t *testing.T) {
		// Quotes and operator words are looked for as words, not parsed.
		for _, w := range []string{`fraud"`, "near", "and", "or", "not", "*", "title:fraud"} {
			_, err := e.Search(ctx, Query{Terms: []string{w, "account"}})
			assert.NoError(t, err, "%q", w)
		}
	})
}

// keyword is d's value of keyword field f.
func keyword(d search.Doc, f string) string {
	switch f {
	case "type":
		return d.Type
	case "status":
		return d.Status
	case "severity":
		return d.Severity
	case "team":
		return d.Team
	case "vendor":
		return d.Vendor
	case "month":
		return d.Month
	}
	panic("no keyword field " + f)
}

// assertContainAll checks that every document of ids contains every word,
// in any case and allowing stem variants (a word stands for every word it
// is a prefix of, but for its last letter when it is longer than four:
// "policy" for "policies").
func assertContainAll(t *testing.T, ids []string, words []string) {
	t.Helper()
	for _, id := range ids {
		i := corpus.Index(id)
		require.GreaterOrEqual(t, i, 0, id)
		require.Less(t, i, testDocs, id)
		d := testGen.Doc(i)
		tokens := strings.FieldsFunc(strings.ToLower(strings.Join([]string{d.Title, d.Summary, d.Body, d.Notes, d.Evidence, d.RootCauses}, " ")),
			func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		for _, w := range words {
			stem := w
			if len(w) > 4 {
				stem = w[:len(w)-1]
			}
			found := false
			for _, tok := range tokens {
				if strings.HasPrefix(tok, stem) {
					found = true
					break
				}
			}
			assert.True(t, found, "%s does not contain %q", id, w)
		}
	}
}

func assertUnique(t *testing.T, ids []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, id := range ids {
		assert.False(t, seen[id], "%s returned twice", id)
		seen[id] = true
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}
