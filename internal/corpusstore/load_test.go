package corpusstore_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/internal/casestest"
	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/internal/corpusstore"
	"casefile.dev/casefile/internal/indexsource"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/internal/storetest"
	"casefile.dev/casefile/internal/wire"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/rca/risk"
	"casefile.dev/casefile/search"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func TestID(t *testing.T) {
	for _, i := range []int{0, 1, 9, 12345, 99_999_999} {
		id := corpusstore.ID(i)
		assert.Len(t, id, 20, "the services look ids up only when they have 20 characters")
		assert.Equal(t, i, corpusstore.Index(id))
	}
	assert.Equal(t, -1, corpusstore.Index("d0000001"))
	assert.Equal(t, -1, corpusstore.Index("0123456789abcdef0123"))
	assert.Equal(t, -1, corpusstore.Index("cf5eed+0000000000001"))
}

// words is s's words, sorted: text compared regardless of how it was
// split between fields and joined again.
func words(s ...string) []string {
	w := strings.Fields(strings.Join(s, " "))
	slices.Sort(w)
	return w
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// allChanges pages through src as the index feed does, keeping each
// document's newest change.
func allChanges(t *testing.T, src search.Source) map[string]search.Change {
	t.Helper()
	out := map[string]search.Change{}
	var after int64
	for {
		batch, err := src.Changes(context.Background(), after, 128)
		require.NoError(t, err)
		if len(batch) == 0 {
			return out
		}
		for _, c := range batch {
			k := c.Type + ":" + c.ID
			if prev, ok := out[k]; !ok || c.Seq >= prev.Seq {
				out[k] = c
			}
			after = max(after, c.Seq)
		}
	}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	gen := corpus.New(42)
	const n = 300

	// An actor the application filed already is kept.
	first := gen.Doc(0)
	require.NoError(t, cases.NewMongoStore(db).Init(ctx))
	require.NoError(t, cases.NewMongoStore(db).InsertActor(ctx, &cases.Actor{ActorID: first.ActorID, Handle: "kept",
		Labels: []string{}, History: []cases.ActorEnforcement{}, FirstSeen: first.CreatedAt, Version: 1}))

	var progress []int
	require.NoError(t, corpusstore.Load(ctx, db, gen, n, func(k int) { progress = append(progress, k) }))
	require.NotEmpty(t, progress)
	assert.True(t, slices.IsSorted(progress))
	assert.Equal(t, n, progress[len(progress)-1])

	caseStore, rcaStore := cases.NewMongoStore(db), rca.NewMongoStore(db)
	src := indexsource.New(db, caseStore, rcaStore, quality.NewStore(db), risk.NewMongoStore(db))
	got := allChanges(t, src)

	var maxSeq int64
	postmortems := 0
	caseKeyMax := map[int]int64{}
	for i := range n {
		want := gen.Doc(i)
		id := corpusstore.ID(i)
		c, ok := got[want.Type+":"+id]
		if !assert.True(t, ok, "document %d (%s) is missing", i, want.Type) {
			continue
		}
		maxSeq = max(maxSeq, c.Seq)
		d := c.Doc
		msg := fmt.Sprintf("document %d (%s %s)", i, want.Type, want.Key)
		assert.False(t, c.Deleted, msg)
		assert.Equal(t, want.Type, c.Type, msg)
		assert.Equal(t, id, c.ID, msg)
		assert.Equal(t, i, corpusstore.Index(c.ID), msg)
		assert.Positive(t, c.Seq, msg)
		assert.Equal(t, want.Key, d.Key, msg)
		assert.Equal(t, want.Title, d.Title, msg)
		assert.Equal(t, want.Status, d.Status, msg)
		assert.Equal(t, want.Severity, d.Severity, msg)
		assert.Equal(t, want.Gravity, d.Gravity, msg)
		assert.Equal(t, want.Team, d.Team, msg)
		assert.Equal(t, want.Vendor, d.Vendor, msg)
		assert.Equal(t, want.Published, d.Published, msg)
		// Child safety cases are always restricted.
		assert.Equal(t, want.Restricted || slices.Contains(want.PolicyAreas, "child_safety"), d.Restricted, msg)
		assert.Equal(t, want.PolicyAreas, d.PolicyAreas, msg)
		assert.True(t, want.CreatedAt.Equal(d.CreatedAt), "%s: created %v, want %v", msg, d.CreatedAt, want.CreatedAt)
		assert.Equal(t, want.Month, d.Month, msg)

		// Every word of the corpus's text is in the same field.
		assert.Equal(t, want.Summary, d.Summary, msg)
		assert.Equal(t, words(want.Body), words(d.Body), msg+": body")
		assert.Equal(t, words(want.Notes), words(d.Notes), msg+": notes")
		assert.Equal(t, words(want.Evidence), words(d.Evidence), msg+": evidence")
		assert.Equal(t, words(want.RootCauses), words(d.RootCauses), msg+": root causes")
		text := strings.Join([]string{d.Title, d.Summary, d.Body, d.Notes, d.Evidence, d.RootCauses}, "\n")
		assert.Contains(t, strings.Fields(text), corpus.UniqueWord(i), msg)
		assert.Contains(t, text, want.Title, msg)

		switch want.Type {
		case search.TypeCase:
			assert.Equal(t, want.Assignee, d.Assignee, msg)
			assert.ElementsMatch(t, want.Tags, d.Tags, msg)
			assert.Equal(t, want.ActorID, d.ActorID, msg)
			assert.Equal(t, want.SourceKind, d.SourceKind, msg)
			assert.True(t, want.UpdatedAt.Equal(d.UpdatedAt) || want.Breached, msg)
			assert.Equal(t, want.Breached, d.Breached, msg)
			assert.Equal(t, want.Due != nil, d.Due != nil, msg+": an SLA clock runs exactly on open cases")
			var year int
			var num int64
			_, err := fmt.Sscanf(want.Key, "CF-%d-%d", &year, &num)
			require.NoError(t, err)
			caseKeyMax[year] = max(caseKeyMax[year], num)
			id, err := caseStore.CaseIDByKey(ctx, want.Key)
			require.NoError(t, err, msg)
			assert.Equal(t, corpusstore.ID(i), id, msg)
		case search.TypeIncident:
			assert.Equal(t, sorted(want.RootCauseCategories), d.RootCauseCategories, msg)
			assert.Equal(t, want.Subcategories, d.Subcategories, msg)
			assert.Len(t, c.Children, len(want.Subcategories), msg+": a root-cause document per root cause")
			assert.True(t, want.UpdatedAt.Equal(d.UpdatedAt), msg)
		case search.TypePostmortem:
			postmortems++
			// Its incident, which the domain requires.
			in, ok := got[search.TypeIncident+":"+id]
			if assert.True(t, ok, msg+": its incident is missing") {
				assert.Equal(t, want.Key, in.Doc.Key, msg)
				assert.Equal(t, "resolved", in.Doc.Status, msg)
				assert.Less(t, in.Seq, c.Seq, msg+": the incident was written first")
				assert.True(t, in.Doc.CreatedAt.Before(d.CreatedAt), msg+": the incident started before its postmortem was published")
				assert.NotContains(t, strings.Fields(in.Doc.Body+" "+in.Doc.Summary), corpus.UniqueWord(i))
			}
		}
		if want.Type != search.TypeCase {
			id, err := rcaStore.IncidentIDByKey(ctx, want.Key)
			require.NoError(t, err, msg)
			assert.Equal(t, corpusstore.ID(i), id, msg)
		}
	}
	// Nothing else: the postmortems' incidents are the only extra documents.
	assert.Len(t, got, n+postmortems)

	// The feed counter was advanced past every seq written (actors take
	// one each, as the services stamp them).
	actors, err := db.Collection("actors").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	head, err := db.CurrentSeq(ctx, "feed")
	require.NoError(t, err)
	assert.Equal(t, maxSeq, head)
	assert.Equal(t, int64(n+postmortems)+actors, head, "one seq per document, postmortem's incident and actor")
	srcHead, err := src.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, head, srcHead)
	require.Contains(t, caseKeyMax, 2025)
	for year, num := range caseKeyMax {
		cur, err := db.CurrentSeq(ctx, fmt.Sprintf("case_key_%d", year))
		require.NoError(t, err)
		assert.Equal(t, num, cur, "case_key_%d", year)
	}

	// The application runs on the loaded store: it indexes it, and a
	// case filed in a year the corpus covers takes the next seq and a key
	// after the loaded ones.
	now := func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	all, err := wire.New(ctx, wire.Config{DB: db, Keys: auth.NewKeySet(key), Now: now,
		Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1}, Logger: quiet, IndexDir: t.TempDir(),
		// Sync indexes the loaded store; the edits below need no index.
		BulkLoad: true})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, all.Close()) })
	require.NoError(t, all.Sync(ctx, quiet))
	lead := casestest.User(t, all.Auth, "lead", auth.RoleLead, "t1", "")

	c, created, err := all.Cases.Create(ctx, lead, cases.NewCase{Title: "Filed after the load", Summary: "A new case.",
		Actor: cases.ActorRef{ActorID: first.ActorID}, PolicyAreas: []string{"spam"}, Severity: cases.Sev3,
		SourceKind: "reactive", SourceChannel: "user_report", Team: "t1"}, "", cases.Meta{})
	require.NoError(t, err)
	require.True(t, created)
	assert.Greater(t, c.Seq, head)
	assert.Equal(t, fmt.Sprintf("CF-2025-%d", caseKeyMax[2025]+1), c.Key)
	byKey, err := all.Cases.Get(ctx, lead, c.Key, cases.Meta{})
	require.NoError(t, err)
	assert.Equal(t, c.ID, byKey.ID)
	// A loaded case reads through the service, by key and by id.
	loaded, err := all.Cases.Get(ctx, lead, first.Key, cases.Meta{})
	require.NoError(t, err)
	assert.Equal(t, corpusstore.ID(0), loaded.ID)
	_, err = all.Cases.Get(ctx, lead, corpusstore.ID(0), cases.Meta{})
	require.NoError(t, err)

	actor, err := caseStore.Actor(ctx, first.ActorID)
	require.NoError(t, err)
	assert.Equal(t, "kept", actor.Handle)

	// Every document's own word finds it, and only it.
	for i := range n {
		res, err := all.Searcher.Search(ctx, lead, search.Request{Query: corpus.UniqueWord(i)})
		require.NoError(t, err)
		if assert.Len(t, res.Hits, 1, "document %d", i) {
			assert.Equal(t, corpusstore.ID(i), res.Hits[0].ID, "document %d", i)
			assert.Equal(t, corpus.TypeOf(i), res.Hits[0].Type, "document %d", i)
		}
	}

	// What was loaded passes the services' validation: an edit through
	// them revalidates the whole object. Every seventh document: a step
	// prime to 10 meets every document type (types follow i mod 10), at a
	// seventh of the cost.
	for i := 0; i < n; i += 7 {
		want := gen.Doc(i)
		msg := fmt.Sprintf("document %d (%s %s)", i, want.Type, want.Key)
		switch want.Type {
		case search.TypeCase:
			title := want.Title + " (edited)"
			c, err := all.Cases.Update(ctx, lead, want.Key, 0, cases.Patch{Title: &title}, cases.Meta{})
			require.NoError(t, err, msg)
			// The edit's timeline entry follows the loaded ones.
			tl, err := caseStore.Timeline(ctx, c.ID, 0, c.TimelineCount)
			require.NoError(t, err, msg)
			require.Len(t, tl, c.TimelineCount, msg)
			assert.Equal(t, cases.EventCreated, tl[0].Kind, msg)
			assert.Equal(t, cases.EventEdit, tl[len(tl)-1].Kind, msg)
		case search.TypeIncident, search.TypePostmortem:
			in, err := all.RCA.GetIncident(ctx, lead, want.Key)
			require.NoError(t, err, msg)
			title := want.Title + " (edited)"
			in, err = all.RCA.UpdateIncident(ctx, lead, want.Key, in.Version, rca.IncidentPatch{Title: &title}, auth.Meta{})
			require.NoError(t, err, msg)
			if want.Type == search.TypeIncident {
				_, err = all.RCA.PutRCA(ctx, lead, want.Key, in.Version, in.RCA, auth.Meta{})
				require.NoError(t, err, msg)
				continue
			}
			p, err := all.RCA.GetPublished(ctx, lead, want.Key, 0)
			require.NoError(t, err, msg)
			assert.Equal(t, want.Title, p.Title, msg)
		}
	}
}

// TestLoadTwice: a second load of the same documents is refused (their
// ids and keys exist), not silently duplicated.
func TestLoadTwice(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	gen := corpus.New(1)
	require.NoError(t, corpusstore.Load(ctx, db, gen, 20, nil))
	require.Error(t, corpusstore.Load(ctx, db, gen, 20, nil))
}

// BenchmarkLoad loads b.N documents into a fresh database and reports the
// rate:
//
//	go test -run=NONE -bench=Load -benchtime=20000x ./internal/corpusstore/
func BenchmarkLoad(b *testing.B) {
	db := storetest.New(b)
	gen := corpus.New(42)
	b.ResetTimer()
	start := time.Now()
	if err := corpusstore.Load(context.Background(), db, gen, b.N, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "docs/s")
}

// BenchmarkLoadQuiet is BenchmarkLoad on an embedded store of its own whose
// FerretDB logger discards records without formatting them. storetest's
// (a TextHandler on io.Discard) formats the SQL arguments FerretDB
// attaches to every statement (slog's With formats eagerly), which is a
// quarter of the load's CPU.
func BenchmarkLoadQuiet(b *testing.B) {
	ctx := context.Background()
	emb, err := store.StartEmbedded(ctx, b.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer emb.Close()
	db, err := store.Open(ctx, emb.URI(), "casefile", emb)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close(ctx)
	gen := corpus.New(42)
	b.ResetTimer()
	start := time.Now()
	if err := corpusstore.Load(ctx, db, gen, b.N, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "docs/s")
}
