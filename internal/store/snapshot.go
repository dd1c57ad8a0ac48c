package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// databaseExt is the extension FerretDB v1.24 gives the one SQLite file
// it keeps per database; at start it opens every <dir>/*.sqlite as a
// database (and nothing else: its collection metadata lives in the
// _ferretdb_collections table of each file).
const databaseExt = ".sqlite"

// DatabaseFile is the path of database name's SQLite file in an embedded
// store directory (the dir given to StartEmbedded).
func DatabaseFile(dir, name string) string { return filepath.Join(dir, name+databaseExt) }

// EmbeddedDatabases lists, sorted, the databases whose files are in an
// embedded store directory: the set FerretDB serves when it starts there.
// The -wal and -shm files beside them are SQLite's, not databases.
func EmbeddedDatabases(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), databaseExt); ok && e.Type().IsRegular() && ValidDatabaseName(name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ValidDatabaseName reports whether name can be a database file name: a
// plain name, no path separators, dots or leading dashes.
func ValidDatabaseName(name string) bool {
	if name == "" || len(name) > 63 || name[0] == '-' {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// SnapshotDatabase writes a consistent copy of database name of the
// embedded store in dir to dst, a file that must not exist, with SQLite's
// VACUUM INTO. It may run while a server (this process's or another's)
// serves the store:
//
//   - FerretDB runs SQLite in WAL mode (journal_mode(wal), busy_timeout
//     10 s), so VACUUM INTO reads the database in one read transaction: the
//     copy is the database as of one commit, and the server's writers are
//     not blocked while it runs (a WAL reader only holds back checkpoints).
//   - Every FerretDB write command is its own SQLite transaction, so the
//     copy holds whole documents, but not necessarily every document of a
//     multi-document operation of Casefile's (a case and its audit event
//     are two writes): it is the state a SIGKILL at that instant would
//     leave, which the service recovers from at its next start.
//   - The copy is a fresh, compacted database file with the same schema,
//     FerretDB's metadata table and this package's _id expression indexes
//     included; it needs no -wal file. It comes out in rollback-journal
//     mode (journal_mode delete, measured); FerretDB switches it back to
//     WAL when it opens it.
//
// A plain file copy is not safe: the last commits may be in the -wal file
// only, and a copy taken during a write or checkpoint can be torn.
func SnapshotDatabase(ctx context.Context, dir, name, dst string) error {
	if !ValidDatabaseName(name) {
		return fmt.Errorf("snapshot: invalid database name %q", name)
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("snapshot: %s already exists", dst)
	}
	db, err := openSQLite(DatabaseFile(dir, name), "rw")
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	return nil
}

// CheckDatabaseFile checks that path is an intact SQLite database of
// FerretDB's (PRAGMA integrity_check, and FerretDB's metadata table) and
// returns the names of the collections it holds, sorted. It opens the file
// read-only.
func CheckDatabaseFile(ctx context.Context, path string) ([]string, error) {
	db, err := openSQLite(path, "ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return nil, fmt.Errorf("%s: integrity check: %w", filepath.Base(path), err)
	}
	if res != "ok" {
		return nil, fmt.Errorf("%s: integrity check: %s", filepath.Base(path), res)
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM _ferretdb_collections ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("%s: not a FerretDB database: %w", filepath.Base(path), err)
	}
	defer rows.Close()
	var colls []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		colls = append(colls, c)
	}
	return colls, rows.Err()
}

// openSQLite opens an existing SQLite file (mode "rw" or "ro"; neither
// creates a missing file) with the busy timeout FerretDB uses.
func openSQLite(path, mode string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	dsn := (&url.URL{Scheme: "file", Path: path, RawQuery: "mode=" + mode + "&_pragma=busy_timeout(10000)"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, errors.Join(fmt.Errorf("open %s", path), err)
	}
	return db, nil
}
