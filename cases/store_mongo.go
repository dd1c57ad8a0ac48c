package cases

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/store"
)

// Store is what the case service needs from its database.
type Store interface {
	Init(ctx context.Context) error
	// NextCaseNumber is n of the next key CF-<year>-<n>.
	NextCaseNumber(ctx context.Context, year int) (int64, error)
	// NextSeq stamps writes for the search index feed.
	NextSeq(ctx context.Context) (int64, error)
	InsertCase(ctx context.Context, c *Case) error
	Case(ctx context.Context, id string) (Case, error)
	CaseIDByKey(ctx context.Context, key string) (string, error)
	ReplaceCase(ctx context.Context, c *Case, expected int64) error
	// CasesSince returns cases written with seq > after, in seq order.
	CasesSince(ctx context.Context, after int64, limit int) ([]Case, error)
	AppendTimeline(ctx context.Context, caseID string, e TimelineEntry) error
	// Timeline returns entries with from <= N < to, in order.
	Timeline(ctx context.Context, caseID string, from, to int) ([]TimelineEntry, error)
	CasesOfActor(ctx context.Context, actorID string) ([]Case, error)
	Actor(ctx context.Context, id string) (Actor, error)
	InsertActor(ctx context.Context, a *Actor) error
	ReplaceActor(ctx context.Context, a *Actor, expected int64) error
	Idempotent(ctx context.Context, key string) (IdempotencyRecord, error)
	PutIdempotent(ctx context.Context, r IdempotencyRecord) error
	Taxonomy(ctx context.Context) (Taxonomy, int64, error)
	PutTaxonomy(ctx context.Context, t Taxonomy, expected int64) error
}

// IdempotencyRecord remembers the case a keyed create made.
type IdempotencyRecord struct {
	Key         string    `bson:"_id"`
	RequestHash string    `bson:"request_hash"`
	CaseID      string    `bson:"case_id"`
	CreatedAt   time.Time `bson:"created_at"`
}

const (
	casesColl       = "cases"
	caseKeysColl    = "case_keys"
	timelineColl    = "case_timeline"
	actorsColl      = "actors"
	idempotencyColl = "idempotency"
	settingsColl    = "settings"
	taxonomyID      = "case_taxonomy"
	// timelineBucket is how many timeline entries one bucket document holds.
	timelineBucket = 100
)

// MongoStore is the MongoDB implementation of Store.
type MongoStore struct {
	db   *store.DB
	tax  taxonomyCache
	keys keyCache
}

// keyCache remembers which case a key names. Every read or edit of a case
// by its key (what people type and what the UI's links carry) resolved it
// with a store lookup before reading the case: one of a read's three store
// commands. A key is written once, with its case, and never changed or
// removed, so a remembered answer stays true for every instance on one
// MongoDB. Only replacing the database under a running instance could
// make one stale, and neither way of restoring does that: the embedded
// store restores into an empty data directory before a start, and after a
// `mongorestore` each instance is stopped to rebuild its index (README,
// "Backups"), which empties its cache. A key not found is not remembered:
// it may be created later, here or by another instance.
type keyCache struct {
	mu sync.Mutex
	m  map[string]string // key → case id
}

// maxCachedKeys bounds the cache (about 10 MB); it is emptied when full.
const maxCachedKeys = 100_000

func (k *keyCache) get(key string) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	id, ok := k.m[key]
	return id, ok
}

func (k *keyCache) put(key, id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m) >= maxCachedKeys {
		k.m = make(map[string]string)
	}
	k.m[key] = id
}

// taxonomyCache keeps the stored taxonomy document: every case write
// validates against it and every read presents SLA clocks with it, so a
// store read for each would be three extra queries per created case. On
// the embedded store this process is the only writer and PutTaxonomy
// drops the cache, so it is exact; on MongoDB another instance may change
// the taxonomy, which this one then sees within taxonomyTTL.
type taxonomyCache struct {
	mu  sync.Mutex
	raw bson.Raw // the document; nil when none is stored
	at  time.Time
	ok  bool
}

const taxonomyTTL = 2 * time.Second

var _ Store = (*MongoStore)(nil)

// NewMongoStore returns the store in db.
func NewMongoStore(db *store.DB) *MongoStore { return &MongoStore{db: db} }

func (s *MongoStore) Init(ctx context.Context) error {
	for _, c := range []string{caseKeysColl, timelineColl, actorsColl, idempotencyColl, settingsColl} {
		if err := s.db.EnsureCollection(ctx, c); err != nil {
			return err
		}
	}
	// The search index feed reads cases by seq.
	return s.db.EnsureCollection(ctx, casesColl, mongo.IndexModel{Keys: bson.D{{Key: "seq", Value: 1}}})
}

// CasesSince returns cases written with seq > after, in seq order.
func (s *MongoStore) CasesSince(ctx context.Context, after int64, limit int) ([]Case, error) {
	var out []Case
	err := s.db.Since(ctx, casesColl, after, limit, &out)
	return out, err
}

// EachCase calls fn with every case, in no particular order (a rebuild of
// the search index reads them all once).
func (s *MongoStore) EachCase(ctx context.Context, fn func(*Case) error) error {
	return store.Each(ctx, s.db, casesColl, fn)
}

func (s *MongoStore) NextCaseNumber(ctx context.Context, year int) (int64, error) {
	return s.db.NextSeq(ctx, fmt.Sprintf("case_key_%d", year))
}

func (s *MongoStore) NextSeq(ctx context.Context) (int64, error) {
	return s.db.NextSparse(ctx, "feed")
}

type keyDoc struct {
	Key    string `bson:"_id"`
	CaseID string `bson:"case_id"`
}

func (s *MongoStore) InsertCase(ctx context.Context, c *Case) error {
	if err := s.db.Insert(ctx, casesColl, c); err != nil {
		return err
	}
	if err := s.db.Insert(ctx, caseKeysColl, keyDoc{Key: c.Key, CaseID: c.ID}); err != nil {
		return err
	}
	s.keys.put(c.Key, c.ID)
	return nil
}

func (s *MongoStore) Case(ctx context.Context, id string) (Case, error) {
	var c Case
	err := s.db.FindByID(ctx, casesColl, id, &c)
	return c, err
}

func (s *MongoStore) CaseIDByKey(ctx context.Context, key string) (string, error) {
	if id, ok := s.keys.get(key); ok {
		return id, nil
	}
	var k keyDoc
	if err := s.db.FindByID(ctx, caseKeysColl, key, &k); err != nil {
		return "", err
	}
	s.keys.put(key, k.CaseID)
	return k.CaseID, nil
}

func (s *MongoStore) ReplaceCase(ctx context.Context, c *Case, expected int64) error {
	return s.db.ReplaceVersioned(ctx, casesColl, c.ID, expected, c)
}

func bucketID(caseID string, n int) string { return fmt.Sprintf("%s/%d", caseID, n/timelineBucket) }

func (s *MongoStore) AppendTimeline(ctx context.Context, caseID string, e TimelineEntry) error {
	id := bucketID(caseID, e.N)
	if e.N%timelineBucket == 0 {
		// The first entry of a bucket (every new case's) usually creates
		// it: a plain insert, which on the embedded store needs no write
		// lock, unlike an upserting $push. If a later entry got there
		// first, the bucket exists and the entry is pushed as any other.
		err := s.db.Insert(ctx, timelineColl, bson.D{{Key: "_id", Value: id}, {Key: "entries", Value: bson.A{e}}})
		if !errs.Is(err, errs.Conflict) {
			return err
		}
	}
	return s.db.Push(ctx, timelineColl, id, "entries", e)
}

func (s *MongoStore) Timeline(ctx context.Context, caseID string, from, to int) ([]TimelineEntry, error) {
	out := []TimelineEntry{}
	if from >= to {
		return out, nil
	}
	for b := from / timelineBucket; b <= (to-1)/timelineBucket; b++ {
		var doc struct {
			Entries []TimelineEntry `bson:"entries"`
		}
		err := s.db.FindByID(ctx, timelineColl, bucketID(caseID, b*timelineBucket), &doc)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range doc.Entries {
			if e.N >= from && e.N < to {
				out = append(out, e)
			}
		}
	}
	// Concurrent appends may land in either order within a bucket.
	sort.Slice(out, func(i, j int) bool { return out[i].N < out[j].N })
	return out, nil
}

// CasesOfActor returns every case filed on actorID. On the embedded store
// this scans the cases collection (only _id lookups are pushed down); it
// serves actor profiles, which are read one at a time.
func (s *MongoStore) CasesOfActor(ctx context.Context, actorID string) ([]Case, error) {
	cur, err := s.db.Collection(casesColl).Find(ctx, bson.D{{Key: "actor.actor_id", Value: actorID}})
	if err != nil {
		return nil, fmt.Errorf("cases: of actor: %w", err)
	}
	var out []Case
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("cases: of actor: %w", err)
	}
	return out, nil
}

func (s *MongoStore) Actor(ctx context.Context, id string) (Actor, error) {
	var a Actor
	err := s.db.FindByID(ctx, actorsColl, id, &a)
	return a, err
}

func (s *MongoStore) InsertActor(ctx context.Context, a *Actor) error {
	return s.db.Insert(ctx, actorsColl, a)
}

func (s *MongoStore) ReplaceActor(ctx context.Context, a *Actor, expected int64) error {
	return s.db.ReplaceVersioned(ctx, actorsColl, a.ActorID, expected, a)
}

func (s *MongoStore) Idempotent(ctx context.Context, key string) (IdempotencyRecord, error) {
	var r IdempotencyRecord
	err := s.db.FindByID(ctx, idempotencyColl, key, &r)
	return r, err
}

func (s *MongoStore) PutIdempotent(ctx context.Context, r IdempotencyRecord) error {
	return s.db.Insert(ctx, idempotencyColl, r)
}

type taxonomyDoc struct {
	ID       string   `bson:"_id"`
	Taxonomy Taxonomy `bson:"taxonomy"`
	Version  int64    `bson:"version"`
}

// Taxonomy returns the stored taxonomy, or the default at version 0.
func (s *MongoStore) Taxonomy(ctx context.Context) (Taxonomy, int64, error) {
	raw, err := s.taxonomyDoc(ctx)
	if err != nil {
		return Taxonomy{}, 0, err
	}
	if raw == nil {
		return DefaultTaxonomy(), 0, nil
	}
	// Decoded afresh each time: callers get a taxonomy of their own.
	var d taxonomyDoc
	if err := bson.Unmarshal(raw, &d); err != nil {
		return Taxonomy{}, 0, err
	}
	return d.Taxonomy, d.Version, nil
}

// taxonomyDoc is the stored taxonomy document (nil if none), cached.
func (s *MongoStore) taxonomyDoc(ctx context.Context) (bson.Raw, error) {
	c := &s.tax
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && (s.db.Embedded() || time.Since(c.at) < taxonomyTTL) {
		return c.raw, nil
	}
	var raw bson.Raw
	err := s.db.FindByID(ctx, settingsColl, taxonomyID, &raw)
	if errs.Is(err, errs.NotFound) {
		raw, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.raw, c.at, c.ok = raw, time.Now(), true
	return raw, nil
}

func (s *MongoStore) forgetTaxonomy() {
	s.tax.mu.Lock()
	s.tax.ok = false
	s.tax.mu.Unlock()
}

// PutTaxonomy stores t if the stored one is still at expected (0: none yet).
func (s *MongoStore) PutTaxonomy(ctx context.Context, t Taxonomy, expected int64) error {
	// Dropped whatever the outcome: a failed write may still have landed.
	defer s.forgetTaxonomy()
	d := taxonomyDoc{ID: taxonomyID, Taxonomy: t, Version: expected + 1}
	if expected == 0 {
		err := s.db.Insert(ctx, settingsColl, d)
		if errs.Is(err, errs.Conflict) {
			return errs.E(errs.PreconditionFailed, "the taxonomy was changed by someone else; reload and retry")
		}
		return err
	}
	return s.db.ReplaceVersioned(ctx, settingsColl, taxonomyID, expected, d)
}
