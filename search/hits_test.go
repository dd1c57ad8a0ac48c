package search

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
)

// hitWords are few, so that documents share them and a word often occurs
// several times in a field and in several fields.
var hitWords = strings.Fields("refund fraud chargeback dispute appeal seller buyer account scam report review policy")

// hitDoc is document i with every kind of stored field: text in each
// highlighted field (some empty), several policy areas and tags, dates
// with and without SLA marks, numbers and booleans.
func hitDoc(r *rand.Rand, i int) Change {
	text := func(n int) string {
		ws := make([]string, n)
		for k := range ws {
			ws[k] = hitWords[r.IntN(len(hitWords))]
		}
		return strings.Join(ws, " ")
	}
	at := time.Date(2026, time.Month(1+i%12), 1+i%28, i%24, 0, 0, 0, time.UTC)
	d := Doc{Key: fmt.Sprintf("CF-2026-%d", i), Title: text(4), Summary: text(12), Body: text(20 + r.IntN(200)),
		Status: []string{"new", "triage", "closed"}[i%3], Severity: fmt.Sprintf("sev%d", 1+i%4), Gravity: float64(4 - i%4),
		PolicyAreas: []string{"fraud", "spam", "scams"}[:i%4], Tags: []string{"vip", "repeat"}[:i%3], Team: "t1",
		Assignee: "ivy", ActorID: fmt.Sprintf("u%d", i), Month: at.Format("2006-01"), CreatedAt: at, UpdatedAt: at.Add(time.Hour),
		Restricted: i%5 == 0, Breached: i%6 == 0}
	if i%2 == 0 {
		d.Notes = text(30)
	}
	if i%3 == 0 {
		d.Evidence = text(8)
		due := at.Add(72 * time.Hour)
		d.Due, d.AtRisk = &due, &at
	}
	typ := TypeCase
	if i%4 == 0 {
		typ = TypeIncident
		d.RootCauses = text(10)
	}
	return Change{Type: typ, ID: fmt.Sprintf("h%03d", i), Seq: int64(i + 1), Doc: d}
}

// bleveLoaded is the highlighting pass as Bleve runs it on its own:
// stored fields and highlights asked for in the request.
func bleveLoaded(t *testing.T, x *Index, ids []string, q query.Query) map[string]Hit {
	t.Helper()
	bq := bleve.NewBooleanQuery()
	bq.AddMust(bleve.NewDocIDQuery(ids), q)
	req := bleve.NewSearchRequestOptions(bq, len(ids), 0, false)
	req.Score = bleve.ScoreNone
	req.Fields = rowFields
	req.Highlight = bleve.NewHighlightWithStyle("html")
	for _, h := range highlighted {
		req.Highlight.AddField(h)
	}
	res, err := x.search(context.Background(), req)
	require.NoError(t, err)
	out := map[string]Hit{}
	for _, h := range res.Hits {
		out[h.ID] = toHit(h)
	}
	return out
}

// TestHitLoaderLoadsWhatBleveLoads: the highlighting pass's hits carry
// the fields and fragments Bleve's own loading gives them, for words,
// several words, phrases and field queries: over two shards with written
// segments on top of rebuilt ones, and in the in-memory index served
// before a first rebuild (not a Scorch index).
func TestHitLoaderLoadsWhatBleveLoads(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	r := rand.New(rand.NewPCG(1, 2))
	var src staticSource
	for i := range 150 {
		src = append(src, hitDoc(r, i))
	}
	built, _, err := OpenWith(t.TempDir(), quiet, Options{Shards: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = built.Close() })
	_, err = built.Rebuild(ctx, src, 40)
	require.NoError(t, err)
	var later []Change
	for i := 150; i < 200; i++ {
		c := hitDoc(r, i)
		if i%2 == 0 {
			c.ID = fmt.Sprintf("h%03d", i-150) // a rebuilt one, changed
		}
		later = append(later, c)
	}
	require.NoError(t, built.Apply(later, 1000))

	fresh, isFresh, err := OpenWith(t.TempDir(), quiet, Options{Shards: 2})
	require.NoError(t, err)
	require.True(t, isFresh)
	t.Cleanup(func() { _ = fresh.Close() })
	require.Nil(t, fresh.set.values, "the index before a rebuild is not a Scorch index")
	require.NoError(t, fresh.Apply(src, 150))

	for name, x := range map[string]*Index{"rebuilt and written": built, "before a rebuild": fresh} {
		t.Run(name, func(t *testing.T) {
			s := NewSearcher(x)
			lee := &auth.User{Username: "lee", Role: auth.RoleLead, Team: "t1"}
			compared := 0
			for _, text := range []string{"refund", "fraud chargeback", `"seller account"`, "title:appeal", "scam -tag:vip", "policy status:new", "disputes"} {
				res, err := s.Search(ctx, lee, Request{Query: text, Size: 30})
				require.NoError(t, err)
				require.NotEmpty(t, res.Hits, text)
				q, err := parseQuery(text)
				require.NoError(t, err)
				ids := make([]string, len(res.Hits))
				for i, h := range res.Hits {
					ids[i] = docID(h.Type, h.ID)
				}
				want := bleveLoaded(t, x, ids, q)
				got, err := s.highlight(ctx, newCachedFilter(x.filters, visibility(lee)), res.Hits, q)
				require.NoError(t, err)
				require.Len(t, got, len(want), text)
				for _, h := range got {
					w := want[h.Type+":"+h.ID]
					assert.Equal(t, w.Fields, h.Fields, "%s: %s", text, h.ID)
					assert.Equal(t, w.Highlights, h.Highlights, "%s: %s", text, h.ID)
					assert.NotEmpty(t, h.Highlights, "%s: %s", text, h.ID)
					compared++
				}
			}
			assert.Greater(t, compared, 100)
		})
	}
}
