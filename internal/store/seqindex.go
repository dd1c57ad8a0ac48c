package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
)

// seqIndexSuffix names the SQLite index on a document's seq that this
// package adds to FerretDB tables read by seq.
const seqIndexSuffix = "_casefile_seq"

// seqReader answers "which documents of a collection have seq > n" from
// SQLite itself. FerretDB v1.24 on SQLite pushes down only _id lookups: a
// find on {seq: {$gt: n}} sorted by seq reads, decodes and sorts the whole
// collection in Go (measured: at 5,500 documents, a search-index catch-up
// at start-up spent half the process's CPU in it). Reading the ids by an
// expression index and then the documents by _id makes it a range scan.
// Like ensureIDIndex it depends on FerretDB v1.24's table layout: one table
// per collection, named in _ferretdb_collections, holding each document as
// JSON in _ferretdb_sjson. TestSinceUsesSeqIndex checks the plan.
type seqReader struct {
	mu     sync.Mutex
	dbs    map[string]*sql.DB // by database name
	tables map[string]string  // by database + "." + collection: the table, its index made
}

func (e *Embedded) sqlDB(database string) (*sql.DB, error) {
	r := &e.seq
	r.mu.Lock()
	defer r.mu.Unlock()
	if db, ok := r.dbs[database]; ok {
		return db, nil
	}
	db, err := openSQLite(filepath.Join(e.dir, database+".sqlite"), "rw")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4) // Since runs from several goroutines at once
	if r.dbs == nil {
		r.dbs, r.tables = map[string]*sql.DB{}, map[string]string{}
	}
	r.dbs[database] = db
	return db, nil
}

// seqTable is the table behind database.coll, with the seq index created
// on first use.
func (e *Embedded) seqTable(ctx context.Context, db *sql.DB, database, coll string) (string, error) {
	key := database + "." + coll
	e.seq.mu.Lock()
	table, ok := e.seq.tables[key]
	e.seq.mu.Unlock()
	if ok {
		return table, nil
	}
	err := db.QueryRowContext(ctx, `SELECT table_name FROM _ferretdb_collections WHERE name = ?`, coll).Scan(&table)
	if err == sql.ErrNoRows {
		return "", nil // no such collection (yet): nothing since anything
	}
	if err != nil {
		return "", fmt.Errorf("find table of %s: %w", key, err)
	}
	q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (_ferretdb_sjson->>'$.seq')`, quoteIdent(table+seqIndexSuffix), quoteIdent(table))
	if _, err := db.ExecContext(ctx, q); err != nil {
		return "", fmt.Errorf("seq index on %s: %w", key, err)
	}
	e.seq.mu.Lock()
	e.seq.tables[key] = table
	e.seq.mu.Unlock()
	return table, nil
}

// idsSince lists the _ids of documents of database.coll with seq > after,
// in seq order, at most limit.
func (e *Embedded) idsSince(ctx context.Context, database, coll string, after int64, limit int) ([]string, error) {
	db, err := e.sqlDB(database)
	if err != nil {
		return nil, err
	}
	table, err := e.seqTable(ctx, db, database, coll)
	if err != nil || table == "" {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, seqQuery(table), after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func seqQuery(table string) string {
	return fmt.Sprintf(`SELECT _ferretdb_sjson->>'$._id' FROM %s WHERE _ferretdb_sjson->>'$.seq' > ? ORDER BY _ferretdb_sjson->>'$.seq' LIMIT ?`, quoteIdent(table))
}

func (e *Embedded) closeSQL() {
	e.seq.mu.Lock()
	defer e.seq.mu.Unlock()
	for _, db := range e.seq.dbs {
		_ = db.Close()
	}
	e.seq.dbs = nil
}
