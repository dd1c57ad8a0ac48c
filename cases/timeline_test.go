package cases

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

// requireRun fails unless entries are numbered from, from+1, … to-1.
func requireRun(t *testing.T, entries []TimelineEntry, from, to int) {
	t.Helper()
	require.Len(t, entries, to-from)
	for i, e := range entries {
		require.Equal(t, from+i, e.N, "entry %d", i)
	}
}

func TestTimeline(t *testing.T) {
	h := newHarness(t)
	c := h.create(h.ivy, nil)

	t.Run("notes_read_back_in_order", func(t *testing.T) {
		h := h.with(t)
		for i, u := range []*auth.User{h.ivy, h.lena, h.ivy} {
			h.clock.Advance(time.Minute)
			n, err := h.svc.AddNote(h.ctx, u, c.Key, fmt.Sprintf("note %d", i+1), Meta{})
			require.NoError(t, err)
			assert.Equal(t, i+1, n.N)
			assert.Equal(t, u.Username, n.Author)
			assert.Equal(t, EventNote, n.Kind)
			assert.Equal(t, h.clock.Now(), n.At)
		}
		got := h.get(h.ivy, c.Key)
		require.Len(t, got.Timeline, 4)
		assert.Equal(t, EventCreated, got.Timeline[0].Kind)
		for i := 1; i < 4; i++ {
			assert.Equal(t, fmt.Sprintf("note %d", i), got.Timeline[i].Text)
			assert.True(t, got.Timeline[i].At.After(got.Timeline[i-1].At))
		}
		assert.Equal(t, 4, got.TimelineCount)
	})

	t.Run("note_validation", func(t *testing.T) {
		h := h.with(t)
		for _, text := range []string{"", "   ", string(make([]byte, MaxNoteLen+1)), "bad \xff utf8"} {
			_, err := h.svc.AddNote(h.ctx, h.ivy, c.Key, text, Meta{})
			assert.Equal(t, []string{"text"}, errstest.Fields(t, err))
		}
		_, err := h.svc.AddNote(h.ctx, h.ivy, c.Key, string(make([]byte, MaxNoteLen)), Meta{})
		errstest.Require(t, err, errs.Invalid) // NUL bytes
	})

	t.Run("concurrent_notes_are_all_kept_with_distinct_numbers", func(t *testing.T) {
		h := h.with(t)
		before := h.raw(c.ID).TimelineCount
		var wg sync.WaitGroup
		errc := make(chan error, 12)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 3 {
					_, err := h.svc.AddNote(h.ctx, h.ivy, c.Key, fmt.Sprintf("w%d n%d", w, i), Meta{})
					errc <- err
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			require.NoError(t, err)
		}
		entries, count, err := h.svc.Timeline(h.ctx, h.ivy, c.Key, 0, 100)
		require.NoError(t, err)
		assert.Equal(t, before+12, count)
		requireRun(t, entries, 0, before+12)
	})

	t.Run("get_shows_the_newest_page_and_timeline_pages_the_rest", func(t *testing.T) {
		h := h.with(t)
		const total = 130
		c := h.create(h.ivy, nil)
		h.seedTimeline(c, total, true)
		raw := h.raw(c.ID)
		raw.TimelineCount = total
		raw.Version++
		require.NoError(t, h.store.ReplaceCase(h.ctx, &raw, raw.Version-1))

		got := h.get(h.ivy, c.Key)
		requireRun(t, got.Timeline, total-TimelinePage, total)

		for _, p := range []struct{ from, limit, wantFrom, wantTo int }{
			{0, 10, 0, 10},
			{95, 10, 95, 105}, // across a bucket boundary
			{0, 130, 0, 130},
			{120, 50, 120, 130},
			{130, 10, 130, 130},
			{500, 10, 500, 500},
			{10, 0, 10, 10},
		} {
			entries, count, err := h.svc.Timeline(h.ctx, h.ivy, c.Key, p.from, p.limit)
			require.NoError(t, err)
			assert.Equal(t, total, count)
			requireRun(t, entries, p.wantFrom, p.wantTo)
		}
	})
}

// seedTimeline replaces the timeline of c with n entries (the first is its
// "created" entry), writing whole bucket documents in one InsertMany. With
// reversed, each bucket holds its entries newest first, as racing appends
// may leave them. The caller sets the case's TimelineCount.
func (h *harness) seedTimeline(c Case, n int, reversed bool) {
	h.t.Helper()
	created, err := h.store.Timeline(h.ctx, c.ID, 0, 1)
	require.NoError(h.t, err)
	require.Len(h.t, created, 1)
	_, err = h.db.Collection("case_timeline").DeleteOne(h.ctx, bson.D{{Key: "_id", Value: c.ID + "/0"}})
	require.NoError(h.t, err)
	var docs []any
	for b := 0; b*timelineBucket < n; b++ {
		var entries []TimelineEntry
		for i := b * timelineBucket; i < min(n, (b+1)*timelineBucket); i++ {
			e := TimelineEntry{N: i, At: c.CreatedAt.Add(time.Duration(i) * time.Second), Author: "ivy", Kind: EventNote, Text: fmt.Sprintf("note %d", i)}
			if i == 0 {
				e = created[0]
			}
			entries = append(entries, e)
		}
		if reversed {
			slices.Reverse(entries)
		}
		docs = append(docs, bson.D{{Key: "_id", Value: fmt.Sprintf("%s/%d", c.ID, b)}, {Key: "entries", Value: entries}})
	}
	_, err = h.db.Collection("case_timeline").InsertMany(h.ctx, docs)
	require.NoError(h.t, err)
}

// TestLargeCase seeds a case with 5,000 timeline entries and 500 evidence
// entries straight through the store (bucket documents in one InsertMany,
// evidence in one ReplaceCase), then reads and writes it through the
// service.
func TestLargeCase(t *testing.T) {
	start := time.Now()
	h := newHarness(t)
	c := h.create(h.ivy, nil)
	const notes, evidence = 5000, 500

	h.seedTimeline(c, notes, false)

	raw := h.raw(c.ID)
	raw.Evidence = make([]Evidence, evidence)
	for i := range raw.Evidence {
		raw.Evidence[i] = Evidence{N: i + 1, Kind: "comment", Ref: fmt.Sprintf("cmt-%d", i+1), Description: "flagged comment", AddedBy: "ivy", AddedAt: t0}
	}
	raw.TimelineCount = notes
	raw.Version++
	require.NoError(t, h.store.ReplaceCase(h.ctx, &raw, raw.Version-1))
	h.clock.Advance(2 * time.Hour)
	t.Logf("seeded in %v", time.Since(start))

	got := h.get(h.ivy, c.Key)
	assert.Len(t, got.Evidence, evidence)
	assert.Equal(t, notes, got.TimelineCount)
	requireRun(t, got.Timeline, notes-TimelinePage, notes)
	assert.Equal(t, "note 4999", got.Timeline[TimelinePage-1].Text)

	entries, count, err := h.svc.Timeline(h.ctx, h.ivy, c.Key, 0, 250)
	require.NoError(t, err)
	assert.Equal(t, notes, count)
	requireRun(t, entries, 0, 250)
	assert.Equal(t, EventCreated, entries[0].Kind)
	entries, _, err = h.svc.Timeline(h.ctx, h.ivy, c.Key, 2450, 100)
	require.NoError(t, err)
	requireRun(t, entries, 2450, 2550)

	note, err := h.svc.AddNote(h.ctx, h.ivy, c.Key, "still writable", Meta{})
	require.NoError(t, err)
	assert.Equal(t, notes, note.N)
	ev, err := h.svc.AddEvidence(h.ctx, h.ivy, c.Key, NewEvidence{Kind: "comment", Description: "one more"}, 1<<20, Meta{})
	require.NoError(t, err)
	assert.Equal(t, evidence+1, ev.N)

	got = h.get(h.ivy, c.Key)
	requireRun(t, got.Timeline, notes+2-TimelinePage, notes+2)
	assert.Equal(t, "still writable", got.Timeline[TimelinePage-2].Text)
	assert.Equal(t, EventEvidence, got.Timeline[TimelinePage-1].Kind)
	require.Len(t, got.Evidence, evidence+1)
	assert.Equal(t, "one more", got.Evidence[evidence].Description)
	t.Logf("total %v", time.Since(start))
}
