package main

// `casefile backup FILE` and `casefile restore FILE`: a snapshot of the
// embedded store, and its restoration into an empty data dir.
//
// Mechanism: SQLite's VACUUM INTO on each FerretDB database file under
// <data>/db (store.SnapshotDatabase), packed with a manifest into one
// gzipped tar. Why this and not the alternatives:
//
//   - Copying the files is unsafe while the service runs: FerretDB keeps
//     SQLite in WAL mode, so the newest commits may live only in the -wal
//     file, and a copy made during a write or a checkpoint can be torn.
//   - VACUUM INTO reads the database in one read transaction: the copy is
//     the database as of one commit. In WAL mode that reader does not block
//     the service's writers (measured: inserts kept being acknowledged
//     while it ran, TestSnapshotWhileWriting), and it needs no lock of
//     the service's, so it works from another process while the service
//     runs, and equally when it is stopped.
//   - The copy is a compact, self-contained database file (no -wal), with
//     FerretDB's collection metadata and Casefile's _id expression indexes
//     in it; FerretDB serves it as is (it switches it back to WAL mode:
//     the copy comes out in rollback-journal mode, measured).
//   - mongodump through the wire protocol would need a tool the embedded
//     deployment does not ship, and reads collection by collection, so it
//     is not one point in time.
//
// What "consistent" means here: each database file is copied as of one
// SQLite commit. Every FerretDB write command is its own commit, and a
// Casefile operation can be several (a case, then its audit event, then
// the index feed), so the snapshot is the state a SIGKILL at that instant
// would have left; the service recovers from exactly that at its next
// start (TestCrashBurstKillRestart). Databases other than --database, if
// any, are copied one after another, each consistent on its own.
//
// Not in the backup: the search index (it is derived from the store and
// rebuilt at the first start after a restore: search.Open finds no index
// and wire.Sync rebuilds it) and the JWT signing key (a secret of its own;
// keep it apart if sessions must survive a restore, otherwise a new one is
// made at start and users log in again).

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"casefile.dev/casefile/internal/config"
	"casefile.dev/casefile/internal/store"
)

const (
	// backupFormat is the manifest's format version; restore refuses others.
	backupFormat   = 1
	backupKind     = "casefile-backup"
	manifestName   = "manifest.json"
	backupDBPrefix = "db/"
	// maxManifest bounds the manifest restore reads.
	maxManifest = 1 << 20
)

// backupManifest is manifest.json, the archive's first entry.
type backupManifest struct {
	Kind            string           `json:"kind"`
	Format          int              `json:"format"`
	CreatedAt       time.Time        `json:"created_at"`
	CasefileVersion string           `json:"casefile_version"`
	Store           string           `json:"store"`
	Database        string           `json:"database"` // the --database of the backup
	Databases       []backupDatabase `json:"databases"`
}

// backupDatabase is one SQLite file of the archive.
type backupDatabase struct {
	Name        string   `json:"name"`
	File        string   `json:"file"` // path inside the archive
	Size        int64    `json:"size"`
	SHA256      string   `json:"sha256"`
	Collections []string `json:"collections"`
}

// embeddedDir is where open starts the embedded store under the data dir.
func embeddedDir(dataDir string) string { return filepath.Join(dataDir, "db") }

const backupHelp = `usage: casefile backup FILE [flags]

Writes a consistent snapshot of the embedded store under --data to FILE, a
gzipped tar holding manifest.json and one SQLite file per database (made
with SQLite's VACUUM INTO). The service may be running: the snapshot is one
point in time and does not block its writes. FILE is replaced atomically
and created with mode 0600: it holds every case and password hash.

Not included: the search index (rebuilt at start after a restore) and the
JWT signing key (keep it apart if sessions must survive a restore).

With MONGODB_URI set there is no embedded store: back MongoDB up with its
own tools, e.g.
  mongodump --uri "$MONGODB_URI" --db casefile --archive=FILE --gzip
  mongorestore --uri "$MONGODB_URI" --archive=FILE --gzip

Restore with: casefile restore FILE --data EMPTY_DIR

flags:`

const restoreHelp = `usage: casefile restore FILE [flags]

Restores a snapshot written by casefile backup into --data, which must be
empty or not exist (a non-empty one is refused, so that nothing is
overwritten). Every file is checked against the manifest's SHA-256 and with
SQLite's integrity_check before it is put in place. On the next start the
search index is rebuilt from the restored store, and a new JWT signing key
is made unless --jwt-key-file names the old one.

With MONGODB_URI set, restore with mongorestore instead (see casefile
backup --help).

flags:`

// parseFileArgs parses flags that may come before or after the one FILE
// argument.
func parseFileArgs(fs *flag.FlagSet, args []string) (string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return "", fmt.Errorf("%s: want exactly one FILE argument, got %d (see --help)", fs.Name(), len(pos))
	}
	return pos[0], nil
}

func fileCommand(name, help string, args []string, getenv func(string) string, stdout io.Writer) (string, config.Config, error) {
	fs := flag.NewFlagSet("casefile "+name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintln(stdout, help)
		fs.PrintDefaults()
	}
	finish := config.Register(fs, getenv)
	file, err := parseFileArgs(fs, args)
	if err != nil {
		return "", config.Config{}, err
	}
	cfg, err := finish()
	return file, cfg, err
}

func mongoRefusal(cmd string) error {
	return fmt.Errorf("%s: MONGODB_URI is set, so there is no embedded store to %s; use MongoDB's own tools, e.g. "+
		`mongodump --uri "$MONGODB_URI" --archive=FILE --gzip and mongorestore --uri "$MONGODB_URI" --archive=FILE --gzip`, cmd, cmd)
}

// backup is `casefile backup FILE`.
func backup(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	file, cfg, err := fileCommand("backup", backupHelp, args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.MongoURI != "" {
		return mongoRefusal("backup")
	}
	start := time.Now()
	m, size, err := writeBackup(ctx, embeddedDir(cfg.DataDir), cfg.Database, file)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	var names []string
	for _, d := range m.Databases {
		names = append(names, fmt.Sprintf("%s (%d collections)", d.Name, len(d.Collections)))
	}
	fmt.Fprintf(stdout, "backed up %s to %s: %d bytes in %s\n", strings.Join(names, ", "), file, size, time.Since(start).Round(time.Millisecond))
	return nil
}

// writeBackup snapshots every database in dbDir and writes the archive to
// file through a temporary file beside it.
func writeBackup(ctx context.Context, dbDir, database, file string) (backupManifest, int64, error) {
	m := backupManifest{Kind: backupKind, Format: backupFormat, CreatedAt: time.Now().UTC().Truncate(time.Second),
		CasefileVersion: version, Store: "ferretdb-sqlite", Database: database}
	names, err := store.EmbeddedDatabases(dbDir)
	if errors.Is(err, os.ErrNotExist) {
		return m, 0, fmt.Errorf("no embedded store in %s (is --data right?)", dbDir)
	}
	if err != nil {
		return m, 0, err
	}
	if !slices.Contains(names, database) {
		return m, 0, fmt.Errorf("no database %q in %s (found %v; is --database right?)", database, dbDir, names)
	}

	abs, err := filepath.Abs(file)
	if err != nil {
		return m, 0, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(abs), ".casefile-backup-")
	if err != nil {
		return m, 0, err
	}
	defer os.RemoveAll(tmp)

	for _, name := range names {
		snap := filepath.Join(tmp, name+".sqlite")
		if err := store.SnapshotDatabase(ctx, dbDir, name, snap); err != nil {
			return m, 0, err
		}
		colls, err := store.CheckDatabaseFile(ctx, snap)
		if err != nil {
			return m, 0, fmt.Errorf("checking the snapshot of %s: %w", name, err)
		}
		sum, size, err := hashFile(snap)
		if err != nil {
			return m, 0, err
		}
		m.Databases = append(m.Databases, backupDatabase{Name: name, File: backupDBPrefix + name + ".sqlite",
			Size: size, SHA256: sum, Collections: colls})
	}

	out, err := os.CreateTemp(filepath.Dir(abs), ".casefile-backup-*.tar.gz")
	if err != nil {
		return m, 0, err
	}
	defer os.Remove(out.Name()) // after the rename, a no-op
	defer out.Close()
	if err := out.Chmod(0o600); err != nil {
		return m, 0, err
	}
	if err := writeArchive(out, m, tmp); err != nil {
		return m, 0, err
	}
	if err := out.Sync(); err != nil {
		return m, 0, err
	}
	info, err := out.Stat()
	if err != nil {
		return m, 0, err
	}
	if err := out.Close(); err != nil {
		return m, 0, err
	}
	if err := os.Rename(out.Name(), abs); err != nil {
		return m, 0, err
	}
	return m, info.Size(), syncDir(filepath.Dir(abs))
}

func writeArchive(w io.Writer, m backupManifest, snapDir string) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(mj)), ModTime: m.CreatedAt, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := tw.Write(mj); err != nil {
		return err
	}
	for _, d := range m.Databases {
		f, err := os.Open(filepath.Join(snapDir, d.Name+".sqlite"))
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: d.File, Mode: 0o600, Size: d.Size, ModTime: m.CreatedAt, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		err = tw.WriteHeader(hdr)
		if err == nil {
			_, err = io.Copy(tw, f)
		}
		f.Close()
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// restore is `casefile restore FILE`.
func restore(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	file, cfg, err := fileCommand("restore", restoreHelp, args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.MongoURI != "" {
		return mongoRefusal("restore")
	}
	start := time.Now()
	m, err := restoreInto(ctx, file, cfg.DataDir, cfg.Database)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	var names []string
	for _, d := range m.Databases {
		names = append(names, d.Name)
	}
	fmt.Fprintf(stdout, "restored %s from %s (taken %s by casefile %s) into %s in %s; the search index is rebuilt at the next start\n",
		strings.Join(names, ", "), file, m.CreatedAt.Format(time.RFC3339), m.CasefileVersion, cfg.DataDir, time.Since(start).Round(time.Millisecond))
	return nil
}

// restoreInto unpacks the archive into an empty or missing dataDir. On
// failure it removes what it made, leaving dataDir as it found it.
func restoreInto(ctx context.Context, file, dataDir, database string) (m backupManifest, err error) {
	entries, err := os.ReadDir(dataDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return m, err
		}
		defer func() {
			if err != nil {
				_ = os.RemoveAll(dataDir)
			}
		}()
	case err != nil:
		return m, err
	case len(entries) > 0:
		return m, fmt.Errorf("data dir %s is not empty (it holds %s): restore only into an empty or new directory, so that nothing is overwritten", dataDir, entries[0].Name())
	}
	dbDir := embeddedDir(dataDir)
	if err := os.Mkdir(dbDir, 0o700); err != nil {
		return m, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dbDir)
		}
	}()
	// Hold the embedded store's lock while restoring: a service started on
	// this dir meanwhile is refused rather than served half a store.
	lock, err := os.OpenFile(filepath.Join(dbDir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return m, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return m, fmt.Errorf("%s is in use: %w", dbDir, err)
	}

	f, err := os.Open(file)
	if err != nil {
		return m, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return m, fmt.Errorf("%s is not a casefile backup: %w", file, err)
	}
	tr := tar.NewReader(zr)

	hdr, err := tr.Next()
	if err != nil || hdr.Name != manifestName {
		return m, fmt.Errorf("%s is not a casefile backup: no %s first", file, manifestName)
	}
	dec := json.NewDecoder(io.LimitReader(tr, maxManifest))
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("%s: %w", manifestName, err)
	}
	if m.Kind != backupKind {
		return m, fmt.Errorf("%s is not a casefile backup (kind %q)", file, m.Kind)
	}
	if m.Format != backupFormat {
		return m, fmt.Errorf("backup format %d, this casefile (%s) reads format %d only: restore with casefile %s", m.Format, version, backupFormat, m.CasefileVersion)
	}
	want := map[string]backupDatabase{}
	for _, d := range m.Databases {
		if !store.ValidDatabaseName(d.Name) || d.File != backupDBPrefix+d.Name+".sqlite" {
			return m, fmt.Errorf("%s: bad database entry %q (%q)", manifestName, d.Name, d.File)
		}
		want[d.File] = d
	}
	if _, ok := want[backupDBPrefix+database+".sqlite"]; !ok {
		return m, fmt.Errorf("the backup has no database %q (it has %v; is --database right?)", database, dbNames(m))
	}

	done := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, fmt.Errorf("reading %s: %w", file, err)
		}
		name := path.Clean(hdr.Name)
		d, ok := want[name]
		if !ok || done[name] || hdr.Typeflag != tar.TypeReg {
			return m, fmt.Errorf("%s: unexpected entry %q", file, hdr.Name)
		}
		if hdr.Size != d.Size {
			return m, fmt.Errorf("%s: %s is %d bytes, the manifest says %d", file, name, hdr.Size, d.Size)
		}
		if err := restoreDatabase(ctx, tr, d, dbDir); err != nil {
			return m, err
		}
		done[name] = true
	}
	for f := range want {
		if !done[f] {
			return m, fmt.Errorf("%s: %s is missing (truncated backup?)", file, f)
		}
	}
	return m, syncDir(dbDir)
}

// restoreDatabase writes one database file from r, checks it and puts it
// in place.
func restoreDatabase(ctx context.Context, r io.Reader, d backupDatabase, dbDir string) error {
	final := store.DatabaseFile(dbDir, d.Name)
	part := final + ".partial" // not *.sqlite: FerretDB would not open it
	out, err := os.OpenFile(part, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(part) // after the rename, a no-op
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), r)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", d.Name, err)
	}
	if n != d.Size || hex.EncodeToString(h.Sum(nil)) != d.SHA256 {
		return fmt.Errorf("%s: content does not match the manifest's SHA-256 (corrupt backup)", d.File)
	}
	if _, err := store.CheckDatabaseFile(ctx, part); err != nil {
		return fmt.Errorf("%s: %w", d.File, err)
	}
	return os.Rename(part, final)
}

func dbNames(m backupManifest) []string {
	var out []string
	for _, d := range m.Databases {
		out = append(out, d.Name)
	}
	return out
}

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
