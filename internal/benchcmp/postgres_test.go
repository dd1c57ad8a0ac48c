package benchcmp

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/search"
)

// startPostgres starts a private server for the test, or skips the test
// when there is no PostgreSQL to start. A server that is there but fails to
// start fails the test.
func startPostgres(t *testing.T) *Postgres {
	t.Helper()
	if _, err := PostgresBin(); errors.Is(err, ErrNoPostgres) {
		t.Skip("PostgreSQL is not installed (no initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin): skipping the PostgreSQL engine's tests")
	}
	// Not t.TempDir(): its parent is 0700, and when the tests run as root
	// the server runs as postgres, which must reach the directory.
	dir, err := os.MkdirTemp(os.TempDir(), "benchcmp-pg-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { assert.NoError(t, os.RemoveAll(dir)) })
	var log bytes.Buffer
	p, err := StartPostgres(context.Background(), dir, &log)
	require.NoError(t, err, "output:\n%s", log.String())
	t.Cleanup(func() { assert.NoError(t, p.Close(), "output:\n%s", log.String()) })
	return p
}

func TestPostgres(t *testing.T) {
	p := startPostgres(t)
	ctx := context.Background()
	require.NoError(t, p.Load(ctx, testGen, testDocs))

	t.Run("private", func(t *testing.T) {
		var listen, sockets, sync string
		require.NoError(t, p.Pool().QueryRow(ctx, `SELECT current_setting('listen_addresses'),
			current_setting('unix_socket_directories'), current_setting('fsync')`).Scan(&listen, &sockets, &sync))
		assert.Empty(t, listen, "the server must not listen on TCP")
		assert.Equal(t, p.dir, sockets)
		assert.Equal(t, "on", sync)
	})

	checkEngine(t, p)

	t.Run("reload", func(t *testing.T) {
		require.NoError(t, p.Load(ctx, testGen, 100))
		res, err := p.Search(ctx, Query{Filters: map[string]string{"type": search.TypeCase}})
		require.NoError(t, err)
		assert.Equal(t, 70, res.Total)
		// Back to the full corpus for the tests that follow.
		require.NoError(t, p.Load(ctx, testGen, testDocs))
	})

	t.Run("agrees with FTS5", func(t *testing.T) {
		f := loadFTS5(t)
		queries := []Query{
			{Terms: []string{"payment"}},
			{Terms: []string{"chargeback"}},
			{Terms: []string{"vendor", "queue"}},
			{Terms: []string{"fraud"}, Filters: map[string]string{"type": search.TypeCase}},
			{Terms: []string{"refund"}, Filters: map[string]string{"severity": "sev2", "type": search.TypeCase}},
		}
		for _, pair := range commonPairs {
			queries = append(queries, Query{Terms: pair, Facets: []string{"status"}})
		}
		for _, q := range queries {
			want, err := f.Search(ctx, q)
			require.NoError(t, err)
			got, err := p.Search(ctx, q)
			require.NoError(t, err)
			require.Positive(t, want.Total, "%+v", q)
			// The analysers differ a little (Porter and unicode61 against
			// Snowball and PostgreSQL's parser): within 5%.
			assert.InDelta(t, want.Total, got.Total, 0.05*float64(want.Total), "%+v: fts5 %d, postgres %d", q, want.Total, got.Total)
		}
		for _, i := range []int{3, 999} {
			q := Query{Terms: []string{corpus.UniqueWord(i), "account"}}
			want, err := f.Search(ctx, q)
			require.NoError(t, err)
			got, err := p.Search(ctx, q)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		}
	})
}

func TestStartPostgresBadDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root has to hand the directory over to another user")
	}
	if _, err := PostgresBin(); errors.Is(err, ErrNoPostgres) {
		t.Skip("PostgreSQL is not installed")
	}
	// t.TempDir()'s parent is 0700: postgres cannot reach it, and
	// StartPostgres says so rather than failing in initdb.
	_, err := StartPostgres(context.Background(), t.TempDir(), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot reach")
}

func TestVersionOf(t *testing.T) {
	assert.Equal(t, []int{15}, versionOf("15"))
	assert.Equal(t, []int{9, 6}, versionOf("9.6"))
	assert.Equal(t, []int{-1}, versionOf("x"))
}
