// Package storetest gives tests a real MongoDB-protocol database: the
// embedded FerretDB server, started once per test binary, or the server
// named by MONGODB_URI when it is set.
//
//	func TestMain(m *testing.M) { storetest.Main(m) }
//	func TestX(t *testing.T) { db := storetest.New(t) ... }
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"casefile.dev/casefile/internal/store"
)

// server is the one connection a test binary shares. Test binaries are the
// only place this package is used, and TestMain sets it before any test runs.
var server *store.DB

// Main starts the shared server, runs the tests and stops it.
func Main(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "storetest:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx := context.Background()
	uri := os.Getenv("MONGODB_URI")
	var emb *store.Embedded
	if uri == "" {
		// os.MkdirTemp under /tmp keeps the socket path short.
		dir, err := os.MkdirTemp("", "cfdb")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		emb, err = store.StartEmbedded(ctx, dir, quiet)
		if err != nil {
			return 0, err
		}
		defer emb.Close()
		uri = emb.URI()
	}
	db, err := store.Open(ctx, uri, "casefile_test", emb)
	if err != nil {
		return 0, err
	}
	defer db.Close(ctx)
	server = db
	return m.Run(), nil
}

// New returns a fresh, empty database for this test, dropped at its end.
func New(t testing.TB) *store.DB {
	t.Helper()
	if server == nil {
		t.Fatal("storetest: call storetest.Main from TestMain")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	db := server.Sibling("t_" + hex.EncodeToString(b[:]))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = db.Drop(ctx)
	})
	return db
}
