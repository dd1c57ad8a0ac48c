package wire_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/storetest"
	"casefile.dev/casefile/internal/wire/wiretest"
	"casefile.dev/casefile/search"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFilingACaseReadsNothingBack pins the store commands behind filing a
// case, which bound how many cases a second the embedded store takes: the
// writes, the case number, the actor lookup, and nothing read back (the
// search index gets the case from the service, the webhook dispatcher its
// audit event from the audit log).
func TestFilingACaseReadsNothingBack(t *testing.T) {
	var sent storetest.Commands
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	all, _ := wiretest.NewOn(t, storetest.NewWith(t, sent.Option()), time.Now, quiet)
	u := wiretest.User(t, all, "inv", auth.RoleInvestigator, "fraud", "")
	ctx := context.Background()
	file := func(actor string) func() {
		return func() {
			in := benchCase(0)
			in.Actor.ActorID = actor
			_, _, err := all.Cases.Create(ctx, u, in, "", cases.Meta{})
			require.NoError(t, err)
		}
	}
	// The first write of the process reserves a block of feed stamps
	// (store.NextSparse): one command, not one per case.
	file("warm-up")()

	writes := []string{"findAndModify counters", "find actors", "insert cases", "insert case_keys", "insert case_timeline", "insert audit"}
	assert.ElementsMatch(t, append(writes, "insert actors"), sent.During(file("new-actor")), "a new actor")
	assert.ElementsMatch(t, writes, sent.During(file("new-actor")), "an actor seen before")
}

// TestCaseWritesAreSearchable: the case the service hands the index after
// each write (rather than the index reading it back) is searchable at
// once, its notes included.
func TestCaseWritesAreSearchable(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	all, _ := wiretest.New(t, time.Now, quiet)
	u := wiretest.User(t, all, "inv", auth.RoleInvestigator, "fraud", "")
	ctx := context.Background()
	keys := func(q string) []string {
		t.Helper()
		res, err := all.Searcher.Search(ctx, u, search.Request{Query: q, Size: 10})
		require.NoError(t, err)
		var out []string
		for _, h := range res.Hits {
			out = append(out, h.Key)
		}
		return out
	}
	in := benchCase(1)
	in.Title = "Wombat resale ring"
	c, _, err := all.Cases.Create(ctx, u, in, "", cases.Meta{})
	require.NoError(t, err)
	assert.Equal(t, []string{c.Key}, keys("wombat"), "filed")

	_, err = all.Cases.AddNote(ctx, u, c.Key, "The ring reuses quokka storefronts.", cases.Meta{})
	require.NoError(t, err)
	assert.Equal(t, []string{c.Key}, keys("quokka"), "a note")
	_, err = all.Cases.AddNote(ctx, u, c.Key, "Numbat payouts too.", cases.Meta{})
	require.NoError(t, err)
	assert.Equal(t, []string{c.Key}, keys("quokka numbat"), "both notes")

	_, err = all.Cases.Transition(ctx, u, c.Key, c.Version+2, cases.StatusTriage, "looking", cases.Meta{})
	require.NoError(t, err)
	assert.Equal(t, []string{c.Key}, keys("quokka numbat wombat"), "after a write that adds no note")
}
