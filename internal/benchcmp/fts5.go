package benchcmp

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/search"

	_ "modernc.org/sqlite" // the "sqlite" driver, compiled with FTS5
)

// FTS5 is SQLite's FTS5 over a database file.
//
// Layout: a docs table holds every document (its keyword fields, then its
// text), keyed by an INTEGER PRIMARY KEY n (the corpus index, so that the
// table's B-tree is the rowid tree), and fts is an external-content FTS5
// table over docs' six text columns.
//
// External content, because it is the fastest to query for this workload.
// Ranking and counting only read the FTS5 index (doclists, positions, and
// the column sizes bm25 needs), whatever the layout; filters and facets
// need the keyword columns in a real table joined by rowid anyway. A
// regular FTS5 table would store all the text a second time: the database
// would be about 1.5 times the size, for no gain, as the text is only read
// back for the snippets of the returned hits (one rowid lookup each, the
// same work a regular table does on its own copy). Contentless (no
// content) cannot give snippets at all.
type FTS5 struct {
	db    *sql.DB
	path  string
	stmts sync.Map // SQL text -> *sql.Stmt
}

var _ Engine = (*FTS5)(nil)

// fts5Schema creates the tables (empty). Keyword columns are NULL when a
// document has no value.
const fts5Schema = `
CREATE TABLE IF NOT EXISTS docs (
	n INTEGER PRIMARY KEY,
	id TEXT NOT NULL,
	type TEXT, status TEXT, severity TEXT, team TEXT, vendor TEXT, month TEXT,
	title TEXT NOT NULL, summary TEXT NOT NULL, body TEXT NOT NULL,
	notes TEXT NOT NULL, evidence TEXT NOT NULL, root_causes TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
	title, summary, body, notes, evidence, root_causes,
	content='docs', content_rowid='n', tokenize='porter unicode61'
);`

// fts5BM25 is the relevance: bm25 with the field boosts of Casefile's own
// search (title 3, summary 2, the rest 1).
const fts5BM25 = `bm25(fts, 3.0, 2.0, 1.0, 1.0, 1.0, 1.0)`

// fts5Snippet is the highlighted fragment of a hit: up to 16 tokens of its
// best matching column.
const fts5Snippet = `snippet(fts, -1, '` + markOpen + `', '` + markClose + `', '…', 16)`

// OpenFTS5 opens (creating it if need be) the database dir/fts5.db.
func OpenFTS5(dir string) (*FTS5, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("benchcmp: fts5: %w", err)
	}
	path := filepath.Join(dir, "fts5.db")
	// Every connection gets these. WAL lets searches run while another
	// connection writes and never blocks readers; synchronous=NORMAL is
	// durable across application crashes in WAL mode (only an OS crash may
	// lose the last transactions). mmap lets every connection share the
	// OS's page cache for reads instead of each copying pages into its own
	// cache; the per-connection cache is 64 MiB (the loader's is larger).
	q := url.Values{}
	for _, p := range []string{
		"busy_timeout(30000)", "journal_mode(WAL)", "synchronous(NORMAL)",
		"cache_size(-65536)", "mmap_size(8589934592)", "temp_store(MEMORY)",
	} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("benchcmp: fts5: %w", err)
	}
	// SQLite connections search independently (WAL readers do not block
	// each other): allow plenty for concurrent clients, and keep them
	// open, as a connection's cache is lost with it.
	conns := max(8, 4*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if _, err := db.Exec(fts5Schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("benchcmp: fts5: create schema: %w", err)
	}
	return &FTS5{db: db, path: path}, nil
}

// Name is "sqlite-fts5".
func (*FTS5) Name() string { return "sqlite-fts5" }

// DB is the underlying database, for inspection.
func (f *FTS5) DB() *sql.DB { return f.db }

// fts5Batch is how many documents go into one transaction.
const fts5Batch = 10000

// Load replaces the database's content with documents 0..n-1 of gen.
//
// The text goes into docs and into the FTS5 index in the same large
// transactions, through prepared statements, with FTS5's automatic
// incremental merging off (so that no segment is merged more than once);
// then 'optimize' merges every segment into one, the keyword indexes are
// built, ANALYZE gives the planner statistics and the WAL is checkpointed
// into the database so that readers do not have to look pages up in it.
func (f *FTS5) Load(ctx context.Context, gen *corpus.Gen, n int) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("benchcmp: fts5: load: %w", err)
		}
	}()
	f.resetStmts()
	conn, err := f.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	exec := func(q string, args ...any) error {
		_, err := conn.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(q)[0], err)
		}
		return nil
	}
	for _, q := range []string{
		`PRAGMA cache_size = -1048576`, // 1 GiB for the loader
		`DROP TABLE IF EXISTS fts`,
		`DROP TABLE IF EXISTS docs`,
		fts5Schema,
		`INSERT INTO fts(fts, rank) VALUES('automerge', 0)`,
		`INSERT INTO fts(fts, rank) VALUES('crisismerge', 64)`,
	} {
		if err := exec(q); err != nil {
			return err
		}
	}
	err = generate(ctx, gen, n, fts5Batch, func(first int, docs []search.Doc) error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		insDoc, err := tx.PrepareContext(ctx, `INSERT INTO docs (n, id, type, status, severity, team, vendor, month,
			title, summary, body, notes, evidence, root_causes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insDoc.Close()
		insFTS, err := tx.PrepareContext(ctx, `INSERT INTO fts (rowid, title, summary, body, notes, evidence, root_causes)
			VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insFTS.Close()
		for k, d := range docs {
			i := first + k
			if _, err := insDoc.ExecContext(ctx, i, d.ID, nullable(d.Type), nullable(d.Status), nullable(d.Severity),
				nullable(d.Team), nullable(d.Vendor), nullable(d.Month),
				d.Title, d.Summary, d.Body, d.Notes, d.Evidence, d.RootCauses); err != nil {
				return fmt.Errorf("insert %s: %w", d.ID, err)
			}
			if _, err := insFTS.ExecContext(ctx, i, d.Title, d.Summary, d.Body, d.Notes, d.Evidence, d.RootCauses); err != nil {
				return fmt.Errorf("index %s: %w", d.ID, err)
			}
		}
		return tx.Commit()
	})
	if err != nil {
		return err
	}
	for _, q := range []string{
		`INSERT INTO fts(fts) VALUES('optimize')`,
		`INSERT INTO fts(fts, rank) VALUES('automerge', 4)`,
		`INSERT INTO fts(fts, rank) VALUES('crisismerge', 16)`,
	} {
		if err := exec(q); err != nil {
			return err
		}
	}
	for _, k := range KeywordFields {
		if err := exec(fmt.Sprintf(`CREATE INDEX docs_%[1]s ON docs (%[1]s)`, k)); err != nil {
			return err
		}
	}
	for _, q := range []string{`ANALYZE`, `PRAGMA wal_checkpoint(TRUNCATE)`, `PRAGMA cache_size = -65536`} {
		if err := exec(q); err != nil {
			return err
		}
	}
	return nil
}

// Search runs q: one statement for the top hits with their snippets, one
// for the total and the facet counts.
//
// fts is always the outer loop of a join with docs (CROSS JOIN fixes the
// order): the other way round, FTS5 would run the full-text query again
// for every docs row, and bm25 re-reads each term's whole doclist (for its
// IDF) every time it does.
//
// Hits: bm25 in the select list with ORDER BY and LIMIT, which SQLite runs
// with a top-Size sorter, ranking only the matches that pass the filters.
// (FTS5's own ORDER BY rank mode ranks every match before any filter and
// measured about 1.5 times slower even without filters.) The snippets
// come from a correlated subquery over the Size rows kept, since a
// snippet() in the ranked select list would be computed for every match
// before sorting.
//
// Counts: a single GROUP BY over every facet at once (one pass over the
// matches however many facets there are); each facet's counts are the sums
// over the groups. Without facets or filters, the count never reads docs.
func (f *FTS5) Search(ctx context.Context, q Query) (Result, error) {
	q, filters, err := normalized(q)
	if err != nil {
		return Result{}, err
	}
	res := Result{Facets: emptyFacets(q.Facets), IDs: []string{}}
	var where []string
	var args []any
	if len(q.Terms) > 0 {
		where = append(where, `fts MATCH ?1`)
		args = append(args, fts5Match(q.Terms))
	}
	for _, k := range filters {
		if v := q.Filters[k]; v == "" {
			where = append(where, `d.`+k+` IS NULL`)
		} else {
			args = append(args, v)
			where = append(where, fmt.Sprintf(`d.%s = ?%d`, k, len(args)))
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = ` WHERE ` + strings.Join(where, ` AND `)
	}
	// from is what the matches are, joined with docs if need be.
	var from, joined string
	switch {
	case len(q.Terms) == 0:
		from, joined = `docs AS d`, `docs AS d`
	case len(filters) == 0:
		from, joined = `fts`, `fts CROSS JOIN docs AS d ON d.n = fts.rowid`
	default:
		from, joined = `fts CROSS JOIN docs AS d ON d.n = fts.rowid`, `fts CROSS JOIN docs AS d ON d.n = fts.rowid`
	}

	// Hits.
	hitArgs := append(args[:len(args):len(args)], q.Size)
	limit := fmt.Sprintf(`?%d`, len(hitArgs))
	var hits string
	if len(q.Terms) > 0 {
		hits = `WITH top AS (SELECT fts.rowid AS n, ` + fts5BM25 + ` AS r FROM ` + from + cond + ` ORDER BY r, n LIMIT ` + limit + `)
SELECT d.id, (SELECT ` + fts5Snippet + ` FROM fts WHERE fts MATCH ?1 AND fts.rowid = top.n)
FROM top CROSS JOIN docs AS d ON d.n = top.n ORDER BY top.r, top.n`
	} else {
		hits = `SELECT d.id, '' FROM ` + from + cond + ` ORDER BY d.n LIMIT ` + limit
	}
	rows, err := f.query(ctx, hits, hitArgs...)
	if err != nil {
		return Result{}, err
	}
	for rows.Next() {
		var id string
		var snip sql.NullString
		if err := rows.Scan(&id, &snip); err != nil {
			rows.Close()
			return Result{}, fmt.Errorf("benchcmp: fts5: %w", err)
		}
		res.IDs = append(res.IDs, id)
		if strings.Contains(snip.String, markOpen) {
			res.Snippets++
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return Result{}, fmt.Errorf("benchcmp: fts5: %w", err)
	}

	// Total and facets.
	var count string
	if len(q.Facets) > 0 {
		cols := make([]string, len(q.Facets))
		for i, k := range q.Facets {
			cols[i] = `d.` + k
		}
		count = `SELECT count(*), ` + strings.Join(cols, `, `) + ` FROM ` + joined + cond + ` GROUP BY ` + strings.Join(cols, `, `)
	} else {
		count = `SELECT count(*) FROM ` + from + cond
	}
	rows, err = f.query(ctx, count, args...)
	if err != nil {
		return Result{}, err
	}
	vals := make([]sql.NullString, len(q.Facets))
	dest := make([]any, 1+len(q.Facets))
	var c int
	dest[0] = &c
	for i := range vals {
		dest[1+i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return Result{}, fmt.Errorf("benchcmp: fts5: %w", err)
		}
		res.Total += c
		for i, k := range q.Facets {
			if vals[i].Valid {
				res.Facets[k][vals[i].String] += c
			}
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return Result{}, fmt.Errorf("benchcmp: fts5: %w", err)
	}
	return res, nil
}

// query runs a statement prepared once per SQL text.
func (f *FTS5) query(ctx context.Context, text string, args ...any) (*sql.Rows, error) {
	var st *sql.Stmt
	if v, ok := f.stmts.Load(text); ok {
		st = v.(*sql.Stmt)
	} else {
		p, err := f.db.PrepareContext(ctx, text)
		if err != nil {
			return nil, fmt.Errorf("benchcmp: fts5: prepare %s: %w", text, err)
		}
		v, loaded := f.stmts.LoadOrStore(text, p)
		if loaded {
			p.Close()
		}
		st = v.(*sql.Stmt)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("benchcmp: fts5: %w", err)
	}
	return rows, nil
}

// resetStmts closes the cached statements (the tables they were prepared
// against are about to be replaced).
func (f *FTS5) resetStmts() {
	f.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		f.stmts.Delete(k)
		return true
	})
}

// Close closes the database. The file stays.
func (f *FTS5) Close() error {
	f.resetStmts()
	return f.db.Close()
}

// fts5Match is the FTS5 query for the AND of terms: each term a quoted
// string (so that no word is read as an operator or column name), which
// FTS5 ANDs when they follow each other.
func fts5Match(terms []string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	return strings.Join(parts, " ")
}
