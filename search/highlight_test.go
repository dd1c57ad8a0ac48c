package search

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
)

// A document can change between a search and its highlighting pass. The
// pass applies the caller's visibility again, so a hit that became hidden
// from them (here: restricted) is left out, not shown in its new state.
func TestHighlightLeavesOutHitsThatBecameHidden(t *testing.T) {
	idx, _, err := OpenWith(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Shards: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = idx.Close() })
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id string, restricted bool) Change {
		return Change{Type: TypeCase, ID: id, Seq: 1, Doc: Doc{Key: id, Title: "refund fraud " + id, Team: "t1", Status: "new",
			Restricted: restricted, CreatedAt: now, UpdatedAt: now}}
	}
	require.NoError(t, idx.Apply([]Change{mk("open", false), mk("secret", true)}, 1))

	s := NewSearcher(idx)
	ivy := &auth.User{Username: "ivy", Role: auth.RoleInvestigator, Team: "t1"}
	q := bleve.NewMatchQuery("refund")
	q.SetField("title")
	// As if both were hits when the search ran, and "secret" was
	// restricted just after.
	hits, err := s.highlight(context.Background(), newCachedFilter(idx.filters, visibility(ivy)), []Hit{{Type: TypeCase, ID: "secret"}, {Type: TypeCase, ID: "open"}}, q)
	require.NoError(t, err)
	require.Len(t, hits, 1)
	assert.Equal(t, "open", hits[0].ID)
	assert.Equal(t, "refund fraud open", hits[0].Title)
	assert.Contains(t, hits[0].Highlights["title"][0], "<mark>refund</mark>")

	// A lead may open restricted cases: both come back, in the given order.
	lee := &auth.User{Username: "lee", Role: auth.RoleLead, Team: "t1"}
	hits, err = s.highlight(context.Background(), newCachedFilter(idx.filters, visibility(lee)), []Hit{{Type: TypeCase, ID: "secret"}, {Type: TypeCase, ID: "open"}}, q)
	require.NoError(t, err)
	require.Len(t, hits, 2)
	assert.Equal(t, []string{"secret", "open"}, []string{hits[0].ID, hits[1].ID})
}
