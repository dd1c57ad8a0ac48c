package demo

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/fakeclock"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/internal/storetest"
	"casefile.dev/casefile/internal/wire"
	"casefile.dev/casefile/rca"
	"casefile.dev/casefile/search"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// end is the present of the test dataset.
var end = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func smallConfig() Config {
	return Config{Seed: 7, Cases: 20, Incidents: 5, Postmortems: 2, Risks: 1, Days: 30, End: end}
}

func passwords() map[string]string {
	out := map[string]string{}
	for _, m := range Cast {
		out[m.Username] = "demo-password-" + m.Username
	}
	return out
}

// services starts the whole system on a fresh database with clock.
func services(t *testing.T, clock *fakeclock.Clock) (*wire.Services, *store.DB) {
	t.Helper()
	ctx := context.Background()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db := storetest.New(t)
	s, err := wire.New(ctx, wire.Config{DB: db, Keys: auth.NewKeySet(key), Now: clock.Now,
		Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1}, Logger: log, IndexDir: t.TempDir(), BulkLoad: true})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	require.NoError(t, s.Sync(ctx, log))
	return s, db
}

func TestSeed(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New(end)
	s, db := services(t, clock)
	st, _, err := Check(ctx, db)
	require.NoError(t, err)
	require.Equal(t, Empty, st, "a fresh store is empty")

	require.NoError(t, Begin(ctx, db, smallConfig(), end))
	sum, err := Seed(ctx, s, clock, smallConfig(), passwords(), io.Discard)
	require.NoError(t, err)
	require.NoError(t, Finish(ctx, db, end))

	t.Run("every_role_signs_in", func(t *testing.T) {
		for _, r := range auth.Roles {
			assert.Positive(t, sum.Users[r], "role %s", r)
		}
		for _, m := range Cast {
			_, err := s.Auth.Login(ctx, m.Username, "demo-password-"+m.Username, auth.Meta{IP: "127.0.0.1"})
			assert.NoError(t, err, m.Username)
		}
	})
	t.Run("cases_spread_over_statuses", func(t *testing.T) {
		assert.Equal(t, 20, sum.Cases)
		assert.Positive(t, sum.CasesByStatus[cases.StatusClosed])
		assert.Positive(t, sum.CasesByStatus[cases.StatusNew]+sum.CasesByStatus[cases.StatusTriage]+sum.CasesByStatus[cases.StatusInvestigating],
			"the newest cases are still open: %v", sum.CasesByStatus)
		assert.Positive(t, sum.Enforcements[cases.Applied])
	})
	t.Run("root_causes_of_every_category_and_published_postmortems", func(t *testing.T) {
		assert.Equal(t, 5, sum.Incidents)
		for _, c := range rca.Categories {
			assert.Positive(t, sum.RootCauseCategories[c], "category %s", c)
		}
		assert.Equal(t, 2, sum.Postmortems[rca.Published])
		assert.Positive(t, sum.ActionItems[rca.ItemDone]+sum.ActionItems[rca.ItemInProgress])
		assert.Equal(t, 1, sum.Risks)
	})
	t.Run("leadership_reads_and_finds_the_published_postmortems", func(t *testing.T) {
		lou, err := s.Auth.Lookup(ctx, "lou")
		require.NoError(t, err)
		res, err := s.Searcher.Search(ctx, &lou, search.Request{Types: []string{search.TypePostmortem}, Size: 50})
		require.NoError(t, err)
		require.Len(t, res.Hits, 2)
		pub, err := s.RCA.GetPublished(ctx, &lou, res.Hits[0].Key, 0)
		require.NoError(t, err)
		assert.NotEmpty(t, pub.Content.Summary)
		assert.NotEqual(t, pub.PublishedBy, "", "published by a lead")
	})
	t.Run("history_is_spread_over_the_window", func(t *testing.T) {
		admin, err := s.Auth.Lookup(ctx, "admin")
		require.NoError(t, err)
		res, err := s.Searcher.Search(ctx, &admin, search.Request{Types: []string{search.TypeCase}, Sort: "created_at", Size: 1})
		require.NoError(t, err)
		require.NotEmpty(t, res.Hits)
		c, err := s.Cases.Get(ctx, &admin, res.Hits[0].Key, auth.Meta{})
		require.NoError(t, err)
		assert.True(t, c.CreatedAt.Before(end.AddDate(0, 0, -20)), "the oldest case is weeks old: %s", c.CreatedAt)
	})
	t.Run("the_store_is_marked_seeded", func(t *testing.T) {
		st, m, err := Check(ctx, db)
		require.NoError(t, err)
		assert.Equal(t, Seeded, st)
		assert.Equal(t, int64(7), m.Seed)
		assert.ErrorIs(t, Begin(ctx, db, smallConfig(), end), ErrNotEmpty)
	})
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	t.Run("a_store_someone_used_is_foreign", func(t *testing.T) {
		s, db := services(t, fakeclock.New(end))
		_, _, err := s.Auth.EnsureAdmin(ctx, "admin-password-123")
		require.NoError(t, err)
		st, _, err := Check(ctx, db)
		require.NoError(t, err)
		assert.Equal(t, Foreign, st)
		assert.ErrorIs(t, Begin(ctx, db, smallConfig(), end), ErrNotEmpty)
	})
	t.Run("a_seeding_that_did_not_finish_is_unfinished", func(t *testing.T) {
		_, db := services(t, fakeclock.New(end))
		require.NoError(t, Begin(ctx, db, smallConfig(), end))
		st, _, err := Check(ctx, db)
		require.NoError(t, err)
		assert.Equal(t, Unfinished, st)
	})
}

func TestConfigValidate(t *testing.T) {
	assert.NoError(t, DefaultConfig(end).Validate())
	bad := smallConfig()
	bad.Postmortems = 10
	bad.Days = 1
	assert.ErrorContains(t, bad.Validate(), "postmortems")
	assert.ErrorContains(t, bad.Validate(), "days")
}

// TestPlanIsDeterministic: the same Config plans the same steps with the
// same data; another seed plans another history.
func TestPlanIsDeterministic(t *testing.T) {
	type step struct {
		At   time.Time
		What string
	}
	planOf := func(cfg Config) ([]step, []caseRun) {
		sd := newSeeder(cfg)
		sd.plan()
		steps := make([]step, len(sd.events))
		for i, e := range sd.events {
			steps[i] = step{e.at, e.what}
		}
		runs := make([]caseRun, len(sd.cases))
		for i, c := range sd.cases {
			runs[i] = *c
		}
		return steps, runs
	}
	cfg := DefaultConfig(end)
	a, ca := planOf(cfg)
	b, cb := planOf(cfg)
	require.Greater(t, len(a), 4000, "the default dataset is a few thousand steps")
	assert.Equal(t, a, b)
	assert.Equal(t, ca, cb)
	for i := 1; i < len(a); i++ {
		require.False(t, a[i].At.Before(a[i-1].At), "steps run in time order")
	}
	assert.False(t, a[len(a)-1].At.After(end), "nothing is planned after the end")

	cfg.Seed = 8
	c, _ := planOf(cfg)
	assert.NotEqual(t, a, c)
}
