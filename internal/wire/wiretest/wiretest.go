// Package wiretest starts the whole system (internal/wire) for a test: a
// fresh database on the test store, a search index in a temporary
// directory, cheap password hashing and a fresh signing key.
package wiretest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/casestest"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/internal/storetest"
	"casefile.dev/casefile/internal/wire"
)

// New returns the services, synced and closed when the test ends, and the
// signing key (for tests that mint tokens). now is the clock.
func New(t testing.TB, now func() time.Time, log *slog.Logger) (*wire.Services, ed25519.PrivateKey) {
	t.Helper()
	return NewOn(t, storetest.New(t), now, log)
}

// NewOn is New on the database db (from storetest).
func NewOn(t testing.TB, db *store.DB, now func() time.Time, log *slog.Logger) (*wire.Services, ed25519.PrivateKey) {
	t.Helper()
	ctx := context.Background()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	all, err := wire.New(ctx, wire.Config{DB: db, Keys: auth.NewKeySet(key), Now: now,
		Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1}, Logger: log, IndexDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, all.Close()) })
	require.NoError(t, all.Sync(ctx, log))
	return all, key
}

// User creates a user with casestest.Password.
func User(t testing.TB, all *wire.Services, name string, role auth.Role, team, vendor string) *auth.User {
	t.Helper()
	return casestest.User(t, all.Auth, name, role, team, vendor)
}
