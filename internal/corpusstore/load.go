// Package corpusstore writes the synthetic documents of internal/corpus
// into a Casefile store as the domain objects the application itself
// stores: cases (with their actor, key mapping and timeline), incidents
// (with their RCA) and published postmortems (with their incident and
// frozen revision). internal/indexsource then reads them back as search
// documents that match the corpus's. It is for benchmarks that need a
// store of realistic size: the services take hours to file 100,000
// documents one request at a time; Load takes seconds.
//
// # Mapping
//
// Document i is stored under the id ID(i) (20 hex digits, the length of
// the services' random ids, which is what their lookups by id accept);
// Index inverts it. Keys are the corpus's (CF-<year>-<i+1>,
// INC-<year>-<i+1>, postmortems INC-<year>-<i>). Text goes where
// indexsource reads it:
//
//   - case: Title, Summary; Body → Findings; Notes → one to four timeline
//     notes (split at sentence ends); Evidence → one evidence entry's
//     description (with its "evidence added" timeline event). Status,
//     Severity, PolicyAreas, Team, Vendor, Assignee, Tags, ActorID and
//     SourceKind are copied; the source channel is drawn from the
//     kind's; the actor is filed (actors collection) with its first case.
//     Restricted is the corpus's, or true for a child_safety case
//     (the domain forces it). The SLA clocks are stopped as the status
//     implies (TriagedAt from investigating on, ResolvedAt from actioned
//     on), late exactly when the corpus marks the case Breached (such a
//     case's UpdatedAt moves to its resolution when the corpus's is
//     earlier). Decided cases get a verdict fitting their status.
//   - incident: Title; Summary → Impact.Text; Body → Detection (its first
//     fifth of sentences) and RCA.ProblemStatement (the rest); RootCauses →
//     one root cause per corpus subcategory (the text split at sentence
//     ends between them). CreatedAt → StartedAt, which indexsource reads as
//     the document's creation.
//   - postmortem: an incident of its own (same id and key, resolved,
//     started days before the postmortem was published, with no text of
//     its own but its title), a published revision 1 and the postmortem.
//     Summary → Content.Summary; Body → the sections Impact, Detection,
//     Response, WhatWentWell, WhatWentWrong, WhereWeGotLucky and Lessons,
//     split at sentence ends. CreatedAt → PublishedAt. The incident is
//     what the domain requires of a postmortem; indexsource hands it out
//     too, so the store has one incident document per postmortem more
//     than the corpus.
//
// Every value the corpus uses is valid in the domain (its policy areas
// are cases.DefaultPolicyAreas of the default taxonomy, its severities,
// statuses and root-cause subcategories the domain's), so no value is
// remapped; only Restricted is raised, as above. What the corpus does not
// model is left out: no enforcements (an actioned case has none applied,
// which the workflow would require), QA decisions, action items, audit
// events or timeline status changes (so QA catch-up finds no decisions
// in loaded cases). Assignees and authors are names no user directory
// holds.
package corpusstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/corpus"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/rca"
)

// idPrefix starts every id Load writes (hex, like the services' ids).
const idPrefix = "cf5eed"

// ID is the store id of corpus document i: of its case, incident or
// postmortem (a postmortem's incident has the same id).
func ID(i int) string { return fmt.Sprintf("%s%014x", idPrefix, i) }

// Index is the inverse of ID (-1 if id is not one).
func Index(id string) int {
	if len(id) != 20 || !strings.HasPrefix(id, idPrefix) {
		return -1
	}
	n, err := strconv.ParseInt(id[len(idPrefix):], 16, 64)
	if err != nil || n < 0 || ID(int(n)) != id {
		return -1
	}
	return int(n)
}

// Collections and counters, as package cases and rca name them.
const (
	casesColl        = "cases"
	caseKeysColl     = "case_keys"
	timelineColl     = "case_timeline"
	actorsColl       = "actors"
	incidentsColl    = "incidents"
	incidentKeysColl = "incident_keys"
	postmortemsColl  = "postmortems"
	revisionsColl    = "postmortem_revisions"
	countersColl     = "counters"
	// feedCounter stamps every domain write (store.DB.NextSparse "feed").
	feedCounter = "feed"
)

// ChunkSize is how many corpus documents Load writes per round of
// InsertMany calls.
const ChunkSize = 500

// Writers is how many chunks Load inserts at a time.
const Writers = 2

// Load writes documents 0..n-1 of gen into db as the domain objects the
// application itself stores (cases with their key and timeline, incidents with
// their RCA, published postmortems), stamped with increasing seqs, in bulk.
// It is for benchmarks: a store holding n realistic documents in seconds rather
// than hours through the services. progress (may be nil) is called now and then with the count written.
//
// Seqs come from the "feed" counter the services stamp their writes with,
// reserved with one $inc per chunk of ChunkSize documents and handed out
// in document order (an actor filed with a case takes the seq before
// it); the case_key_<year> and incident_key_<year> counters are raised
// ($max) to the highest key number written. Both happen before the
// chunk's documents are inserted, as the services take numbers before
// they insert, so the application continues after the loaded data even
// when a load fails half way. The documents must not exist yet (a
// duplicate id or key fails the load); actors that exist are kept.
//
// It is an offline loader: Writers chunks are inserted at a time, so a
// reader during the load may see a chunk before the one ahead of it; and
// on the embedded store its counter updates cannot take the store's
// write lock, so nothing else may write to db while Load runs. progress
// is called from the inserting goroutines, one call at a time.
func Load(ctx context.Context, db *store.DB, gen *corpus.Gen, n int, progress func(int)) error {
	if n <= 0 {
		return nil
	}
	// The collections and indexes the services create at start-up (on the
	// embedded store, also the _id index that lookups need).
	if err := cases.NewMongoStore(db).Init(ctx); err != nil {
		return fmt.Errorf("corpusstore: %w", err)
	}
	if err := rca.NewMongoStore(db).Init(ctx); err != nil {
		return fmt.Errorf("corpusstore: %w", err)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// This goroutine generates chunks and reserves their seqs and key
	// numbers, in order; writers insert them. Inserts of one chunk overlap
	// with the next one's (encoding, FerretDB's conversion) and with the
	// generation, which is what makes the load fast on few cores.
	chunks := make(chan *chunk, Writers)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		written int
	)
	for range Writers {
		wg.Go(func() {
			for c := range chunks {
				if ctx.Err() != nil {
					continue // drain
				}
				if err := c.insert(ctx, db); err != nil {
					cancel(fmt.Errorf("corpusstore: documents %d-%d: %w", c.from, c.to-1, err))
					continue
				}
				mu.Lock()
				written += c.to - c.from
				if progress != nil {
					progress(written)
				}
				mu.Unlock()
			}
		})
	}
	b := newBuilder(gen)
	for from := 0; from < n && ctx.Err() == nil; from += ChunkSize {
		c := b.build(from, min(n, from+ChunkSize))
		if err := c.reserve(ctx, db); err != nil {
			cancel(fmt.Errorf("corpusstore: documents %d-%d: %w", c.from, c.to-1, err))
			break
		}
		select {
		case chunks <- c:
		case <-ctx.Done():
		}
	}
	close(chunks)
	wg.Wait()
	return context.Cause(ctx)
}

// reserve takes the chunk's seqs and key numbers, as the services take
// them before they insert.
func (c *chunk) reserve(ctx context.Context, db *store.DB) error {
	base, err := reserve(ctx, db, feedCounter, int64(c.seqs))
	if err != nil {
		return err
	}
	c.stamp(base)
	for _, k := range c.keyMax {
		if err := raise(ctx, db, k.counter, k.n); err != nil {
			return err
		}
	}
	return nil
}

// insert stores the chunk: the documents each main document refers to
// first, then the main documents.
func (c *chunk) insert(ctx context.Context, db *store.DB) error {
	if err := insertActors(ctx, db, c.actors); err != nil {
		return err
	}
	for _, w := range []struct {
		coll string
		docs []any
	}{
		{caseKeysColl, c.caseKeys},
		{timelineColl, c.timelines},
		{incidentKeysColl, c.incidentKeys},
		{revisionsColl, c.revisions},
		{casesColl, anys(c.cases)},
		{incidentsColl, anys(c.incidents)},
		{postmortemsColl, anys(c.postmortems)},
	} {
		if len(w.docs) == 0 {
			continue
		}
		if _, err := db.Collection(w.coll).InsertMany(ctx, w.docs); err != nil {
			return fmt.Errorf("insert into %s: %w", w.coll, err)
		}
	}
	return nil
}

// reserve adds k to counter name and returns its value before: the caller
// owns base+1 … base+k.
func reserve(ctx context.Context, db *store.DB, name string, k int64) (int64, error) {
	var out struct {
		N int64 `bson:"n"`
	}
	err := db.Collection(countersColl).FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: name}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: k}}}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After),
	).Decode(&out)
	if err != nil {
		return 0, fmt.Errorf("reserve %d of counter %s: %w", k, name, err)
	}
	return out.N - k, nil
}

// raise sets counter name to n unless it is higher already.
func raise(ctx context.Context, db *store.DB, name string, n int64) error {
	_, err := db.Collection(countersColl).UpdateOne(ctx,
		bson.D{{Key: "_id", Value: name}},
		bson.D{{Key: "$max", Value: bson.D{{Key: "n", Value: n}}}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("raise counter %s to %d: %w", name, n, err)
	}
	return nil
}

// insertActors inserts the actors, keeping any that exists (filed on by
// the application, or by an earlier load).
func insertActors(ctx context.Context, db *store.DB, actors []*cases.Actor) error {
	if len(actors) == 0 {
		return nil
	}
	_, err := db.Collection(actorsColl).InsertMany(ctx, anys(actors), options.InsertMany().SetOrdered(false))
	var bw mongo.BulkWriteException
	if errors.As(err, &bw) && bw.WriteConcernError == nil && len(bw.WriteErrors) > 0 {
		for _, we := range bw.WriteErrors {
			if !we.HasErrorCode(11000) { // duplicate key
				return fmt.Errorf("insert into %s: %w", actorsColl, err)
			}
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("insert into %s: %w", actorsColl, err)
	}
	return nil
}

func anys[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
