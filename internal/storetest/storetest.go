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
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"casefile.dev/casefile/internal/store"
)

// server is the one connection a test binary shares, and uri and emb
// where it points. Test binaries are the only place this package is used,
// and TestMain sets them before any test runs.
var (
	server *store.DB
	uri    string
	emb    *store.Embedded
)

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
	uri = os.Getenv("MONGODB_URI")
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
	db := server.Sibling(freshName(t))
	dropAtEnd(t, db)
	return db
}

// NewWith is New on a connection of its own, opened with opts: for a test
// that watches the commands its code sends (store.Option can set a
// command monitor), which the shared connection would mix with other
// tests'.
func NewWith(t testing.TB, opts ...store.Option) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), uri, freshName(t), emb, opts...)
	if err != nil {
		t.Fatal(err)
	}
	dropAtEnd(t, db)
	return db
}

// freshName is a database name no other test uses.
func freshName(t testing.TB) string {
	t.Helper()
	if server == nil {
		t.Fatal("storetest: call storetest.Main from TestMain")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t_" + hex.EncodeToString(b[:])
}

// dropAtEnd drops db when the test ends and closes its connection if it
// has its own.
func dropAtEnd(t testing.TB, db *store.DB) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = db.Drop(ctx)
		_ = db.Close(ctx)
	})
}

// Commands records the commands a connection sends while it records, as
// "command collection" ("insert cases", "find audit"). Pass Option to
// NewWith.
type Commands struct {
	mu   sync.Mutex
	on   bool
	sent []string
}

// Option installs the recorder as the connection's command monitor.
func (c *Commands) Option() store.Option {
	return func(o *options.ClientOptions) {
		o.SetMonitor(&event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
			// The first element of a command names its collection
			// (a cursor id for getMore, which is left out).
			coll, _ := e.Command.Index(0).Value().StringValueOK()
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.on {
				c.sent = append(c.sent, e.CommandName+" "+coll)
			}
		}})
	}
}

// During returns the commands sent while fn ran (by any goroutine).
func (c *Commands) During(fn func()) []string {
	c.mu.Lock()
	c.on, c.sent = true, nil
	c.mu.Unlock()
	fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	return c.sent
}
