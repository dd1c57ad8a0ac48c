package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/fakeclock"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/internal/storetest"
)

// testHash keeps argon2 cheap in tests.
var testHash = HashParams{Memory: 64, Time: 1, Threads: 1}

// t0 is where every fake clock starts.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// testEnv is a Service on its own database with a fake clock.
type testEnv struct {
	db    *store.DB
	clock *fakeclock.Clock
	audit *Audit
	keys  *KeySet
	svc   *Service
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	db := storetest.New(t)
	clock := fakeclock.New(t0)
	audit := NewAudit(db, clock.Now)
	keys := NewKeySet(newTestKey(t))
	svc, err := NewService(Config{DB: db, Keys: keys, Now: clock.Now, Hash: testHash, Audit: audit})
	require.NoError(t, err)
	require.NoError(t, svc.Init(context.Background()))
	return &testEnv{db: db, clock: clock, audit: audit, keys: keys, svc: svc}
}

func newTestKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return priv
}

// testPassword is a password that passes the policy.
const testPassword = "correct horse battery"

// addUser creates a user as the system actor with testPassword.
func (e *testEnv) addUser(t *testing.T, username string, role Role, team, vendor string) User {
	t.Helper()
	u, err := e.svc.CreateUser(context.Background(), &System, NewUser{Username: username, Role: role, Team: team, Vendor: vendor, Password: testPassword}, Meta{})
	require.NoError(t, err)
	return u
}

// events lists every audit event matching f, oldest first.
func (e *testEnv) events(t *testing.T, f AuditFilter) []AuditEvent {
	t.Helper()
	return listAll(t, e.audit, f)
}

func listAll(t *testing.T, a *Audit, f AuditFilter) []AuditEvent {
	t.Helper()
	items, next, _, err := a.List(context.Background(), f, 1000, "")
	require.NoError(t, err)
	require.Empty(t, next, "more than 1000 events")
	for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
		items[i], items[j] = items[j], items[i]
	}
	return items
}
