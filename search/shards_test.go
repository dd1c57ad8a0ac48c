package search

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
)

// staticSource hands out fixed documents (this package's tests cannot use
// internal/corpus, which imports it).
type staticSource []Change

func (s staticSource) Head(context.Context) (int64, error) { return int64(len(s)), nil }

func (s staticSource) Changes(_ context.Context, after int64, limit int) ([]Change, error) {
	var out []Change
	for _, c := range s {
		if c.Seq > after && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s staticSource) Document(_ context.Context, typ, id string) (Change, error) {
	for _, c := range s {
		if c.Type == typ && c.ID == id {
			return c, nil
		}
	}
	return Change{Type: typ, ID: id, Deleted: true}, nil
}

// TestAShardThatFailsFailsTheSearch: Bleve's alias answers with what the
// other shards found when one fails; Casefile must not serve that partial
// (and so wrong) answer.
func TestAShardThatFailsFailsTheSearch(t *testing.T) {
	ctx := context.Background()
	var src staticSource
	for i := range 40 {
		src = append(src, Change{Type: TypeIncident, ID: string(rune('a'+i%26)) + string(rune('a'+i/26)), Seq: int64(i + 1),
			Doc: Doc{Title: "refund fraud", Status: "open"}})
	}
	x, _, err := OpenWith(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Shards: 2})
	require.NoError(t, err)
	defer func() { closeAll(x.set.parts) }() // not x.Close: a shard is closed twice below
	_, err = x.Rebuild(ctx, src, 10)
	require.NoError(t, err)
	admin := &auth.User{Username: "ada", Role: auth.RoleAdmin}
	s := NewSearcher(x)
	res, err := s.Search(ctx, admin, Request{Query: "refund", Facets: []string{"status"}})
	require.NoError(t, err)
	require.Equal(t, uint64(40), res.Total)

	require.NoError(t, x.set.parts[1].Close())
	_, err = s.Search(ctx, admin, Request{Query: "refund", Facets: []string{"status"}})
	assert.Error(t, err, "half an answer is no answer")
}

// TestRebuildKeepsTheNewestOfADocumentReadTwice: a document written again
// while a rebuild reads the store is handed out twice; Bleve's offline
// builder cannot replace a document, so the newer version must still win,
// once, and a deletion read second must take the document out.
func TestRebuildKeepsTheNewestOfADocumentReadTwice(t *testing.T) {
	ctx := context.Background()
	inc := func(id string, seq int64, title string) Change {
		return Change{Type: TypeIncident, ID: id, Seq: seq, Doc: Doc{Title: title}}
	}
	src := staticSource{
		inc("kept", 1, "zqoldtitlex"), inc("gone", 2, "zqdoomedx"),
		inc("other", 3, "filler"), inc("more", 4, "filler"),
		inc("kept", 5, "zqnewtitlex"), {Type: TypeIncident, ID: "gone", Seq: 6, Deleted: true},
	}
	x, _, err := OpenWith(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Shards: 2})
	require.NoError(t, err)
	defer x.Close()
	n, err := x.Rebuild(ctx, src, 2) // pages of two: each document's versions come in different pages
	require.NoError(t, err)
	assert.Equal(t, 4, n, "four documents went to the builders")

	s := NewSearcher(x)
	admin := &auth.User{Username: "ada", Role: auth.RoleAdmin}
	count := func(q string) uint64 {
		res, err := s.Search(ctx, admin, Request{Query: q})
		require.NoError(t, err)
		return res.Total
	}
	assert.Equal(t, uint64(1), count("zqnewtitlex"), "the newer version is in, once")
	assert.Zero(t, count("zqoldtitlex"), "the older version is replaced")
	assert.Zero(t, count("zqdoomedx"), "a deletion read second removes the document")
	assert.Equal(t, uint64(3), count("-id:none"), "kept, other and more")
}

// TestDocumentsOfEveryShardAreFound: the highlighting pass loads each
// hit from its own shard, and the feed's check of the versions the index
// holds asks about documents of every shard; every document must be
// found, whichever shard it is in, and once.
func TestDocumentsOfEveryShardAreFound(t *testing.T) {
	ctx := context.Background()
	const n, shards = 30, 3
	var src staticSource
	perShard := make([]int, shards)
	for i := range n {
		id := fmt.Sprintf("inc%02d", i)
		src = append(src, Change{Type: TypeIncident, ID: id, Seq: int64(i + 1),
			Doc: Doc{Key: fmt.Sprintf("INC-%d", i), Title: "refund fraud " + id, Status: "open"}})
		perShard[shardOf(docID(TypeIncident, id), shards)]++
	}
	for k, c := range perShard {
		require.NotZero(t, c, "shard %d holds none of the documents: the test would prove nothing of it", k)
	}
	x, _, err := OpenWith(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Shards: shards})
	require.NoError(t, err)
	defer x.Close()
	_, err = x.Rebuild(ctx, src, 10)
	require.NoError(t, err)

	admin := &auth.User{Username: "ada", Role: auth.RoleAdmin}
	res, err := NewSearcher(x).Search(ctx, admin, Request{Query: "refund", Size: n, Highlight: true})
	require.NoError(t, err)
	require.Len(t, res.Hits, n, "every hit comes back from the highlighting pass")
	seen := map[string]bool{}
	for _, h := range res.Hits {
		assert.False(t, seen[h.ID], "%s twice", h.ID)
		seen[h.ID] = true
		assert.Equal(t, "refund fraud "+h.ID, h.Title, "the hit's fields are loaded")
		assert.Contains(t, strings.Join(h.Highlights["title"], " "), "<mark>refund</mark>", h.ID)
	}

	ids := []string{docID(TypeIncident, "missing")}
	for _, c := range src {
		ids = append(ids, docID(c.Type, c.ID))
	}
	seqs, err := x.seqsOf(ids)
	require.NoError(t, err)
	assert.Len(t, seqs, n, "the missing document has no seq")
	for _, c := range src {
		assert.Equal(t, c.Seq, seqs[docID(c.Type, c.ID)], c.ID)
		one, err := x.seqsOf([]string{docID(c.Type, c.ID)})
		require.NoError(t, err)
		assert.Equal(t, map[string]int64{docID(c.Type, c.ID): c.Seq}, one, c.ID)
	}
}
