package corpus_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/search"
)

func textOf(d search.Doc) string {
	return strings.Join([]string{d.Title, d.Summary, d.Body, d.Notes, d.Evidence, d.RootCauses}, "\n")
}

func TestDeterministic(t *testing.T) {
	a, b := corpus.New(42), corpus.New(42)
	// Same document whatever was generated before, in any order.
	for _, i := range []int{0, 17, 9999, 3, 17} {
		assert.Equal(t, a.Doc(i), b.Doc(i), "doc %d", i)
	}
	assert.Equal(t, a.Doc(5), a.Doc(5))
	assert.NotEqual(t, corpus.New(43).Doc(5), a.Doc(5), "another seed gives another corpus")
	assert.NotEqual(t, a.Doc(5).Body, a.Doc(6).Body)
}

func TestShape(t *testing.T) {
	g := corpus.New(1)
	const n = 3000
	types := map[string]int{}
	severities := map[string]int{}
	months := map[string]bool{}
	restricted, vendors := 0, 0
	for i := range n {
		d := g.Doc(i)
		types[d.Type]++
		severities[d.Severity]++
		months[d.Month] = true
		assert.Equal(t, corpus.ID(i), d.ID)
		assert.Equal(t, i, corpus.Index(d.ID))
		assert.Equal(t, corpus.TypeOf(i), d.Type)
		size := len(textOf(d))
		assert.True(t, size >= 1000 && size <= 5600, "doc %d has %d bytes of text", i, size)
		assert.NotEmpty(t, d.Title)
		assert.NotEmpty(t, d.Key)
		assert.NotEmpty(t, d.Status)
		assert.Greater(t, d.Gravity, 0.0)
		assert.False(t, d.CreatedAt.Before(corpus.Start) || d.CreatedAt.After(corpus.Start.Add(corpus.Span)), "created %s", d.CreatedAt)
		assert.Equal(t, d.CreatedAt.Format("2006-01"), d.Month)
		assert.False(t, d.UpdatedAt.Before(d.CreatedAt))
		switch d.Type {
		case search.TypeCase:
			assert.Contains(t, corpus.Teams, d.Team)
			if d.Vendor != "" {
				assert.Contains(t, corpus.Vendors, d.Vendor)
				vendors++
			}
			assert.NotEmpty(t, d.PolicyAreas)
			assert.Contains(t, []string{"sev1", "sev2", "sev3", "sev4"}, d.Severity)
			if d.Restricted {
				restricted++
			}
			assert.Empty(t, d.RootCauseCategories)
		case search.TypeIncident:
			assert.NotEmpty(t, d.RootCauseCategories)
			assert.NotEmpty(t, d.RootCauses)
			for _, s := range d.Subcategories {
				cat, _, ok := strings.Cut(s, "/")
				require.True(t, ok)
				assert.Contains(t, d.RootCauseCategories, cat)
			}
			assert.Empty(t, d.Team)
		case search.TypePostmortem:
			assert.True(t, d.Published)
			assert.Equal(t, "published", d.Status)
		}
	}
	assert.InDelta(t, 0.7*n, types[search.TypeCase], 1)
	assert.InDelta(t, 0.2*n, types[search.TypeIncident], 1)
	assert.InDelta(t, 0.1*n, types[search.TypePostmortem], 1)
	assert.Greater(t, severities["sev3"], severities["sev1"], "mild cases outnumber grave ones")
	assert.Greater(t, len(months), 20, "months spread over two years")
	assert.True(t, restricted > 0 && restricted < n/10, "some cases are restricted: %d", restricted)
	assert.True(t, vendors > n/10, "a share of cases belong to vendors: %d", vendors)
}

// TestZipf checks the term distribution: a few words are very common, most
// are rare, and every document's unique word is in that document only.
func TestZipf(t *testing.T) {
	g := corpus.New(7)
	const n = 1000
	df := map[string]int{}
	tf := map[string]int{}
	for i := range n {
		seen := map[string]bool{}
		for _, w := range strings.Fields(strings.ToLower(textOf(g.Doc(i)))) {
			w = strings.Trim(w, ".")
			tf[w]++
			if !seen[w] {
				seen[w] = true
				df[w]++
			}
		}
	}
	for i := range n {
		assert.Equal(t, 1, df[corpus.UniqueWord(i)], "unique word of doc %d", i)
	}
	assert.Greater(t, df["account"], n/2, "the commonest word is in most documents")
	assert.Greater(t, tf["account"], 10*tf["platform"], "frequency falls steeply with rank")
	rare := 0
	for w, c := range df {
		if c <= 3 && !strings.HasPrefix(w, "zq") {
			rare++
		}
	}
	assert.Greater(t, rare, 200, "a long tail of rare words")
	assert.Greater(t, df["ban"], 10)
	assert.Greater(t, len(g.Vocabulary()), 4000)
}

func TestUniqueWord(t *testing.T) {
	seen := map[string]bool{}
	for i := range 100_000 {
		w := corpus.UniqueWord(i)
		require.False(t, seen[w], "%d: %s", i, w)
		seen[w] = true
	}
	assert.Equal(t, -1, corpus.Index("x0000001"))
}

func TestSource(t *testing.T) {
	ctx := context.Background()
	g := corpus.New(1)
	s := corpus.NewSource()
	h, _ := s.Head(ctx)
	assert.Zero(t, h)
	for i := range 5 {
		c := s.Put(g.Doc(i))
		assert.Equal(t, int64(i+1), c.Seq)
		assert.Equal(t, c.Seq, c.Doc.Seq)
	}
	// Rewriting a document moves it to the end.
	d1 := g.Doc(1)
	d1.Title = "rewritten"
	s.Put(d1)
	ch, err := s.Changes(ctx, 0, 100)
	require.NoError(t, err)
	ids := func(cs []search.Change) (out []string) {
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	assert.Equal(t, []string{"d0000000", "d0000002", "d0000003", "d0000004", "d0000001"}, ids(ch))
	assert.Equal(t, "rewritten", ch[4].Doc.Title)
	ch, _ = s.Changes(ctx, 2, 2)
	assert.Equal(t, []string{"d0000002", "d0000003"}, ids(ch), "after and limit")

	// A late commit of a reserved seq shows up below the head.
	late := s.Reserve()
	s.Put(g.Doc(7))
	ch, _ = s.Changes(ctx, 6, 10)
	assert.Equal(t, []string{"d0000007"}, ids(ch))
	s.PutAt(g.Doc(8), late)
	ch, _ = s.Changes(ctx, 6, 10)
	assert.Equal(t, []string{"d0000008", "d0000007"}, ids(ch))

	// Deletes are tombstones with a seq.
	del := s.Delete(search.TypeCase, "d0000000")
	assert.True(t, del.Deleted)
	doc, _ := s.Document(ctx, search.TypeCase, "d0000000")
	assert.True(t, doc.Deleted)
	assert.Equal(t, del.Seq, doc.Seq)
	ch, _ = s.Changes(ctx, del.Seq-1, 10)
	require.Len(t, ch, 1)
	assert.True(t, ch[0].Deleted)
	doc, _ = s.Document(ctx, search.TypeCase, "nope")
	assert.True(t, doc.Deleted)
	doc, _ = s.Document(ctx, search.TypeCase, "d0000001")
	assert.Equal(t, "rewritten", doc.Doc.Title)
	assert.Equal(t, 6, s.Len())
}

func TestLazy(t *testing.T) {
	ctx := context.Background()
	g := corpus.New(3)
	l := corpus.Lazy{Gen: g, N: 1200}
	h, _ := l.Head(ctx)
	assert.Equal(t, int64(1200), h)
	var all []search.Change
	for after := int64(0); ; {
		ch, err := l.Changes(ctx, after, 500)
		require.NoError(t, err)
		if len(ch) == 0 {
			break
		}
		all = append(all, ch...)
		after = ch[len(ch)-1].Seq
	}
	require.Len(t, all, 1200)
	for i, c := range all {
		assert.Equal(t, int64(i+1), c.Seq)
		assert.Equal(t, corpus.ID(i), c.ID)
	}
	c, _ := l.Document(ctx, corpus.TypeOf(12), corpus.ID(12))
	assert.True(t, reflect.DeepEqual(c, all[12]))
	c, _ = l.Document(ctx, search.TypeCase, corpus.ID(5000))
	assert.True(t, c.Deleted)
}

func BenchmarkDoc(b *testing.B) {
	g := corpus.New(1)
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		_ = g.Doc(i)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "docs/s")
}
