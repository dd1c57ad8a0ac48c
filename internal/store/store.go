// Package store opens Casefile's MongoDB database and hides the one
// difference between the embedded server and a real MongoDB deployment: how
// writes are made safe under concurrency.
//
// Every collection Casefile writes holds documents with a string _id and an
// int64 version. Domain stores read by _id with FindByID and write through
// Insert, ReplaceVersioned, Update, Delete and NextSeq, which serialise in
// embedded mode and stay lock-free against real MongoDB, where the version
// check is a server-side filter.
package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/groupcommit"
)

// DefaultOpTimeout bounds each single database operation.
const DefaultOpTimeout = 10 * time.Second

// DB is one Casefile database.
type DB struct {
	client    *mongo.Client
	db        *mongo.Database
	embedded  *Embedded // nil against real MongoDB
	opTimeout time.Duration
	ownClient bool
	seqs      *groupcommit.Keyed[struct{}, int64]    // NextSeq's batches, per counter
	inserts   *groupcommit.Keyed[bson.Raw, struct{}] // Insert's batches, per collection
}

// newDB is a handle on database name through client.
func newDB(client *mongo.Client, name string, emb *Embedded, opTimeout time.Duration, ownClient bool) *DB {
	d := &DB{client: client, db: client.Database(name), embedded: emb, opTimeout: opTimeout, ownClient: ownClient}
	d.seqs = groupcommit.NewKeyed(0, d.reserveSeqs)
	d.inserts = groupcommit.NewKeyed(maxInsertBatch, d.insertUnordered)
	return d
}

// Open connects to uri and selects database name. When emb is the server uri
// points at, writes are serialised and _id lookups get their SQLite index.
func Open(ctx context.Context, uri, name string, emb *Embedded, with ...Option) (*DB, error) {
	if name == "" {
		return nil, errors.New("store: empty database name")
	}
	opts := options.Client().ApplyURI(uri).SetAppName("casefile")
	if emb != nil {
		// One socket, one process: a small pool avoids SQLite lock churn.
		opts.SetMaxPoolSize(16)
	}
	for _, o := range with {
		o(opts)
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx, readpref.Primary()); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("store: ping %s: %w", redact(uri), err)
	}
	return newDB(client, name, emb, DefaultOpTimeout, true), nil
}

// Sibling returns a handle on another database of the same server, sharing
// the connection pool. Tests use it to give every test its own database.
func (d *DB) Sibling(name string) *DB {
	return newDB(d.client, name, d.embedded, d.opTimeout, false)
}

// Close disconnects the client if this DB owns it.
func (d *DB) Close(ctx context.Context) error {
	if !d.ownClient {
		return nil
	}
	return d.client.Disconnect(ctx)
}

// Embedded reports whether this DB runs on the in-process server.
func (d *DB) Embedded() bool { return d.embedded != nil }

// Name is the database name.
func (d *DB) Name() string { return d.db.Name() }

// Ping checks the server answers.
func (d *DB) Ping(ctx context.Context) error {
	ctx, cancel := d.opCtx(ctx)
	defer cancel()
	return d.client.Ping(ctx, readpref.Primary())
}

// Drop removes the whole database. Tests only.
func (d *DB) Drop(ctx context.Context) error {
	unlock := d.lock()
	err := d.db.Drop(ctx)
	unlock()
	// After the write lock, not under it: NextSparse takes the sparse
	// counters' lock first and the write lock inside it. A block reserved
	// in between comes from the new counter and is merely skipped.
	if d.embedded != nil {
		d.embedded.sparse.forget(d.db.Name())
	}
	return err
}

// Collection gives direct access for reads that are not by _id (scans on
// the embedded store: use sparingly and never for writes).
func (d *DB) Collection(name string) *mongo.Collection { return d.db.Collection(name) }

// EnsureCollection creates the collection and indexes if they do not exist.
// Call it at start-up for every collection the process uses.
func (d *DB) EnsureCollection(ctx context.Context, name string, indexes ...mongo.IndexModel) error {
	unlock := d.lock()
	defer unlock()
	ctx, cancel := d.opCtx(ctx)
	defer cancel()

	err := d.db.CreateCollection(ctx, name)
	var ce mongo.CommandError
	if err != nil && !(errors.As(err, &ce) && ce.Name == "NamespaceExists") && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("store: create collection %s: %w", name, err)
	}
	if len(indexes) > 0 {
		if _, err := d.db.Collection(name).Indexes().CreateMany(ctx, indexes); err != nil {
			return fmt.Errorf("store: indexes on %s: %w", name, err)
		}
	}
	if d.embedded != nil {
		if err := d.embedded.ensureIDIndex(ctx, d.db.Name(), name); err != nil {
			return fmt.Errorf("store: _id index on %s: %w", name, err)
		}
	}
	return nil
}

// FindByID decodes the document with _id id into out.
func (d *DB) FindByID(ctx context.Context, coll, id string, out any) error {
	ctx, cancel := d.opCtx(ctx)
	defer cancel()
	err := d.db.Collection(coll).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(out)
	return translate(err, coll)
}

// Insert adds a new document. A duplicate _id or unique key is a Conflict.
//
// Concurrent inserts into one collection share a command
// (internal/groupcommit): those that queue while an insert is in flight go
// in the next, unordered, and each gets its own document's outcome. A
// lone insert goes at once. On the embedded store every insert command is
// a write transaction, and SQLite runs one at a time: filing a case
// inserts into three collections, and one transaction per document kept
// requests waiting for each other's.
//
// Races need no lock: FerretDB backs _id (and every unique index) with a
// UNIQUE SQLite index, so of two racing inserts of one _id exactly one
// lands (TestConcurrentInsertsOfOneID). But on the embedded store an insert
// command takes the write lock anyway (see insertUnordered).
func (d *DB) Insert(ctx context.Context, coll string, doc any) error {
	// Encoded here, in the caller's goroutine, not in the batch's.
	raw, err := bson.Marshal(doc)
	if err != nil {
		return fmt.Errorf("store: %s: %w", coll, err)
	}
	_, err = d.inserts.Do(ctx, coll, raw)
	return err
}

// maxInsertBatch bounds one of Insert's commands.
const maxInsertBatch = 256

// insertUnordered inserts docs in one unordered command and returns each
// one's outcome: a document that fails (a duplicate) fails alone.
//
// On the embedded store it holds the write lock, so that SQLite's writers
// queue here rather than in SQLite's busy handler, which sleeps 1, 2, 5,
// 10 ms and more between tries however soon the lock is free. Once inserts
// were group-committed, a few commands were in flight at a time and one or
// two of them were asleep there (goroutine profiles under load). With the
// lock, filing over HTTP (32 clients at 300/s on a copy of a 100,000-case
// store, alternating runs) went from 259–279 to 281–292 cases/s. Before
// group commit the same lock cost about 25%: it serialised FerretDB's
// per-command work for every document, where now it does once per batch.
func (d *DB) insertUnordered(ctx context.Context, coll string, docs []bson.Raw) []groupcommit.Result[struct{}] {
	results := make([]groupcommit.Result[struct{}], len(docs))
	unlock := d.lock()
	defer unlock()
	ctx, cancel := d.opCtx(ctx)
	defer cancel()
	all := make([]any, len(docs))
	for i, doc := range docs {
		all[i] = doc
	}
	_, err := d.db.Collection(coll).InsertMany(ctx, all, options.InsertMany().SetOrdered(false))
	if err == nil {
		return results
	}
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && len(bwe.WriteErrors) > 0 && bwe.WriteConcernError == nil {
		for _, we := range bwe.WriteErrors {
			if we.Index >= 0 && we.Index < len(results) {
				results[we.Index].Err = translate(we.WriteError, coll)
			}
		}
		return results
	}
	for i := range results {
		results[i].Err = translate(err, coll)
	}
	return results
}

// InsertMany adds docs in order, in one command, and returns how many of
// them were written: all of them, or those before the first that failed.
// A duplicate _id or unique key is a Conflict, as for Insert.
//
// On the embedded store FerretDB writes the whole batch in one SQLite
// transaction; when that fails (a duplicate), it writes the documents one
// by one and stops at the first failure, so the written ones are still a
// prefix of docs. Like Insert, it holds the embedded write lock.
func (d *DB) InsertMany(ctx context.Context, coll string, docs []any) (int, error) {
	unlock := d.lock()
	defer unlock()
	ctx, cancel := d.opCtx(ctx)
	defer cancel()
	_, err := d.db.Collection(coll).InsertMany(ctx, docs)
	if err == nil {
		return len(docs), nil
	}
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && len(bwe.WriteErrors) > 0 {
		// Ordered: the server stopped at the first error it reports.
		return bwe.WriteErrors[0].Index, translate(err, coll)
	}
	// Not a write error (the connection, a timeout): what was written is
	// unknown; the caller treats none as known.
	return 0, translate(err, coll)
}

// Put writes doc as the document with _id id, replacing any that exists.
// Use it for documents that are written whole and never edited in place.
func (d *DB) Put(ctx context.Context, coll, id string, doc any) error {
	unlock := d.lock()
	defer unlock()
	ctx, cancel := d.opCtx(ctx)
	defer cancel()
	_, err := d.db.Collection(coll).ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, doc, options.Replace().SetUpsert(true))
	return translate(err, coll)
}

// ReplaceVersioned replaces the document with _id id if its stored version is
// still expected. doc must carry version expected+1. A missing document is
// NotFound; a changed one is PreconditionFailed and nothing is written.
func (d *DB) ReplaceVersioned(ctx context.Context, coll, id string, expected int64, doc any) error {
	ctx, cancel := d.opCtx(ctx)
	defer cancel()
	c := d.db.Collection(coll)

	if d.embedded != nil {
		d.embedded.writeMu.Lock()
		defer d.embedded.writeMu.Unlock()
		var cur struct {
			Version int64 `bson:"version"`
		}
		if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&cur); err != nil {
			return translate(err, coll)
		}
		if cur.Version != expected {
			return staleError(coll, cur.Version)
		}
		res, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, doc)
		if err != nil {
			return translate(err, coll)
		}
		if res.MatchedCount == 0 {
			return errs.E(errs.NotFound, "%s not found", singular(coll))
		}
		return nil
	}

	res, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: expected}}, doc)
	if err != nil {
		return translate(err, coll)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	var cur struct {
		Version int64 `bson:"version"`
	}
	if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&cur); err != nil {
		return translate(err, coll)
	}
	return staleError(coll, cur.Version)
}

// Update applies an unconditional update to the document with _id id and
// reports whether it matched. Use it only for writes that cannot be lost by
// interleaving (e.g. setting a flag), never for read-modify-write.
func (d *DB) Update(ctx context.Context, coll, id string, update bson.D) (bool, error) {
	unlock := d.lock()
	defer unlock()
	ctx, cancel := d.opCtx(ctx)
	defer cancel()
	res, err := d.db.Collection(coll).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, update)
	if err != nil {
		return false, translate(err, coll)
	}
	return res.MatchedCount == 1, nil
}

// Push appends value to the array field of the document with _id id,
// creating the document if it does not exist. Appends from many writers
// all land (each is one atomic update), in no guaranteed order.
func (d *DB) Push(ctx context.Context, coll, id, field string, value any) error {
	unlock := d.lock()
	defer unlock()
	ctx, cancel := d.opCtx(ctx)
	defer cancel()
	_, err := d.db.Collection(coll).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$push", Value: bson.D{{Key: field, Value: value}}}},
		options.UpdateOne().SetUpsert(true))
	return translate(err, coll)
}

// Since decodes into out (a pointer to a slice) the documents of coll with
// seq > after, in seq order, at most limit. Against MongoDB the seq index
// serves it; on the embedded store the ids come from an SQLite index on
// seq (see seqReader) and the documents by _id. A document written again
// between the two reads comes back in its newer version (still seq >
// after), and one deleted between them is left out.
func (d *DB) Since(ctx context.Context, coll string, after int64, limit int, out any) error {
	ctx, cancel := d.opCtx(ctx)
	defer cancel()
	if d.embedded != nil {
		return d.sinceEmbedded(ctx, coll, after, limit, out)
	}
	cur, err := d.db.Collection(coll).Find(ctx, bson.D{{Key: "seq", Value: bson.D{{Key: "$gt", Value: after}}}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return fmt.Errorf("store: %s since %d: %w", coll, after, err)
	}
	return cur.All(ctx, out)
}

// sinceReaders is how many documents sinceEmbedded reads at once.
const sinceReaders = 4

func (d *DB) sinceEmbedded(ctx context.Context, coll string, after int64, limit int, out any) error {
	ids, err := d.embedded.idsSince(ctx, d.db.Name(), coll, after, limit)
	if err != nil {
		return fmt.Errorf("store: %s since %d: %w", coll, after, err)
	}
	slice := reflect.ValueOf(out).Elem()
	elems := make([]reflect.Value, len(ids))
	found := make([]bool, len(ids))
	errsOut := make([]error, sinceReaders)
	var wg sync.WaitGroup
	for w := range sinceReaders {
		wg.Go(func() {
			for i := w; i < len(ids); i += sinceReaders {
				elems[i] = reflect.New(slice.Type().Elem())
				err := d.FindByID(ctx, coll, ids[i], elems[i].Interface())
				if errs.Is(err, errs.NotFound) {
					continue // deleted since the ids were read
				}
				if err != nil {
					errsOut[w] = err
					return
				}
				found[i] = true
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errsOut...); err != nil {
		return fmt.Errorf("store: %s since %d: %w", coll, after, err)
	}
	slice.SetLen(0)
	for i := range ids {
		if found[i] {
			slice.Set(reflect.Append(slice, elems[i].Elem()))
		}
	}
	return nil
}

// Each decodes every document of coll into a T and calls fn with it, in
// no particular order, in one pass. It is how a whole collection is read:
// paging by seq with Since would scan the collection once per page on the
// embedded store.
func Each[T any](ctx context.Context, d *DB, coll string, fn func(*T) error) error {
	cur, err := d.db.Collection(coll).Find(ctx, bson.D{}, options.Find().SetBatchSize(500))
	if err != nil {
		return fmt.Errorf("store: reading %s: %w", coll, err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var v T
		if err := cur.Decode(&v); err != nil {
			return fmt.Errorf("store: reading %s: %w", coll, err)
		}
		if err := fn(&v); err != nil {
			return err
		}
	}
	return cur.Err()
}

// Filter builds a server-side query filter from typed values; client input
// only ever becomes a value, never a key or an operator.
type Filter bson.D

// D is the filter as the driver takes it ({} when empty).
func (f Filter) D() bson.D {
	if f == nil {
		return bson.D{}
	}
	return bson.D(f)
}

// Eq matches key == value, unless value is empty.
func (f *Filter) Eq(key, value string) {
	if value != "" {
		*f = append(*f, bson.E{Key: key, Value: value})
	}
}

// Range matches from <= key < to; a zero bound is open.
func (f *Filter) Range(key string, from, to time.Time) {
	r := bson.D{}
	if !from.IsZero() {
		r = append(r, bson.E{Key: "$gte", Value: from})
	}
	if !to.IsZero() {
		r = append(r, bson.E{Key: "$lt", Value: to})
	}
	if len(r) > 0 {
		*f = append(*f, bson.E{Key: key, Value: r})
	}
}

// lock takes the embedded write lock, if any, and returns its release.
func (d *DB) lock() func() {
	if d.embedded == nil {
		return func() {}
	}
	d.embedded.writeMu.Lock()
	return d.embedded.writeMu.Unlock
}

func (d *DB) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.opTimeout)
}

func staleError(coll string, current int64) error {
	return &errs.Error{Code: errs.PreconditionFailed, Message: fmt.Sprintf("the %s was changed by someone else (now at version %d); reload and retry", singular(coll), current)}
}

// translate maps driver errors onto the error model.
func translate(err error, coll string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return errs.E(errs.NotFound, "%s not found", singular(coll))
	case mongo.IsDuplicateKeyError(err):
		return errs.Wrap(errs.Conflict, err, fmt.Sprintf("a %s with the same key already exists", singular(coll)))
	default:
		return fmt.Errorf("store: %s: %w", coll, err)
	}
}

func singular(coll string) string {
	return strings.TrimSuffix(coll, "s")
}

// redact hides credentials in a connection string for error messages.
func redact(uri string) string {
	if i := strings.Index(uri, "@"); i >= 0 {
		if j := strings.Index(uri, "://"); j >= 0 && j < i {
			return uri[:j+3] + "***" + uri[i:]
		}
	}
	return uri
}
