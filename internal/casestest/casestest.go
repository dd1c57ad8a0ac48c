// Package casestest starts what every domain service sits on — the audit
// log, auth, the blob store and the case service — on a fresh database of
// the test store. It is for the package-internal tests of rca, rca/risk and
// cases/quality: internal/wire imports those packages, so their internal
// tests cannot use wiretest.
package casestest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/blob"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/internal/storetest"
)

// Password is the password of every user User creates.
const Password = "correct horse battery"

// Base is the services, initialised.
type Base struct {
	DB    *store.DB
	Audit *auth.Audit
	Auth  *auth.Service
	Cases *cases.Service
}

// New starts the services on a fresh database with clock now and cheap
// password hashing.
func New(t testing.TB, now func() time.Time) Base {
	t.Helper()
	ctx := context.Background()
	db := storetest.New(t)
	audit := auth.NewAudit(db, now)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	authSvc, err := auth.NewService(auth.Config{DB: db, Keys: auth.NewKeySet(priv), Now: now,
		Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1}, Audit: audit})
	require.NoError(t, err)
	require.NoError(t, authSvc.Init(ctx))
	blobs := blob.New(db)
	require.NoError(t, blobs.Init(ctx))
	caseSvc := cases.NewService(cases.NewMongoStore(db), audit, authSvc, blobs, now)
	require.NoError(t, caseSvc.Init(ctx))
	return Base{DB: db, Audit: audit, Auth: authSvc, Cases: caseSvc}
}

// User creates a user with Password.
func User(t testing.TB, a *auth.Service, name string, role auth.Role, team, vendor string) *auth.User {
	t.Helper()
	u, err := a.CreateUser(context.Background(), &auth.System, auth.NewUser{Username: name, Role: role, Team: team, Vendor: vendor,
		Password: Password}, auth.Meta{})
	require.NoError(t, err)
	return &u
}
