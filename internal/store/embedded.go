package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// maxUnixSocketPath is the sun_path limit on Linux, including the NUL byte.
const maxUnixSocketPath = 107

// Embedded is a FerretDB server run inside this process on SQLite files.
//
// It is pinned to FerretDB v1.24: the _id expression index (see
// ensureIDIndex) depends on the exact SQL that version generates.
//
// Measured costs of that version that no setting changes: every cursor and
// iterator it opens is tracked with a pprof profile entry and a finalizer
// (internal/util/resource.Track), about 6% of the server's CPU while filing
// cases; and every command's documents are JSON in SQLite, decoded per
// command (the largest part of filing's CPU after the changes in the
// README's performance section).
type Embedded struct {
	dir    string // holds one <database>.sqlite file per database
	socket string
	uri    string

	// writeMu serialises every write to this server. FerretDB on SQLite does
	// not make concurrent updates atomic (measured: 8 goroutines doing 1,600
	// $inc on one counter left it at 455), so each DB opened on this server
	// takes the lock around read-check-write sequences. It is correct only
	// because the embedded database belongs to this process alone.
	writeMu sync.Mutex
	// sparse are the blocks of counter values NextSparse reserved.
	sparse sparseCounters

	seq    seqReader
	lock   *os.File // flock on dir: one process per embedded database
	cancel context.CancelFunc
	done   chan struct{}
}

// StartEmbedded starts FerretDB with its SQLite files under dir and a Unix
// socket inside it; no TCP port is opened. dir is created with mode 0700.
// logger receives FerretDB's own logs; pass one filtered to WARN.
func StartEmbedded(ctx context.Context, dir string, logger *slog.Logger, opts ...EmbeddedOption) (*Embedded, error) {
	var cfg embeddedConfig
	for _, o := range opts {
		o(&cfg)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	// MkdirAll keeps the mode of an existing directory; the socket grants
	// access to every case, so tighten it.
	if err := os.Chmod(abs, 0o700); err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	// Two processes on one set of SQLite files would each serialise only
	// their own writes; refuse to start the second.
	lock, err := os.OpenFile(filepath.Join(abs, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("embedded store: %s is in use by another casefile process; stop it first (or use the HTTP API): %w", abs, err)
	}
	ok := false
	defer func() {
		if !ok {
			lock.Close()
		}
	}()
	socket := filepath.Join(abs, "mongo.sock")
	if len(socket) > maxUnixSocketPath {
		return nil, fmt.Errorf("embedded store: socket path %q is longer than the %d bytes Unix sockets allow; use a shorter data dir", socket, maxUnixSocketPath)
	}
	// A socket left by a process that died would make the listener fail.
	if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("embedded store: %w", err)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: socket},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: (&url.URL{Scheme: "file", Path: abs + "/", RawQuery: cfg.sqliteQuery()}).String(),
	})
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &Embedded{
		dir:    abs,
		socket: socket,
		uri:    "mongodb://" + url.PathEscape(socket) + "/",
		lock:   lock,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go func() {
		defer close(e.done)
		_ = f.Run(runCtx)
	}()
	ok = true
	return e, nil
}

// EmbeddedOption configures StartEmbedded.
type EmbeddedOption func(*embeddedConfig)

type embeddedConfig struct{ syncEveryCommit bool }

// SyncEveryCommit makes SQLite flush its write-ahead log to disk at every
// commit (synchronous=FULL), so that a power loss or an OS crash loses no
// write the store acknowledged.
//
// Without it the store runs with synchronous=NORMAL, SQLite's advice for
// WAL mode: a commit is written to the log and flushed at checkpoints. A
// crash of the process loses nothing; a power loss may lose the last
// commits, never the database's consistency. That is MongoDB's own default
// on a single server (a write is acknowledged before its journal is
// flushed, every 100 ms), and it is what lets the embedded store file
// cases at the rate people file them: each filed case is several commits,
// and each flush waits for the disk (measured: BenchmarkCreateCase in
// internal/wire, 16 writers, 7.1-7.7 ms per case with a flush at every
// commit, 5.2-5.8 without).
func SyncEveryCommit() EmbeddedOption {
	return func(c *embeddedConfig) { c.syncEveryCommit = true }
}

// sqliteQuery is the query of FerretDB's SQLite URL, which it keeps
// beside its own defaults (WAL, a busy timeout).
func (c embeddedConfig) sqliteQuery() string {
	if c.syncEveryCommit {
		return "_pragma=synchronous(full)"
	}
	return "_pragma=synchronous(normal)"
}

// URI is the connection string for the official driver.
func (e *Embedded) URI() string { return e.uri }

// Close stops the server and waits for it to release its files.
func (e *Embedded) Close() {
	e.closeSQL()
	e.cancel()
	<-e.done
	_ = os.Remove(e.socket)
	_ = e.lock.Close()
}
