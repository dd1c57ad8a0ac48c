package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/groupcommit"
	"casefile.dev/casefile/internal/store"
)

const auditCollection = "audit"

// Outcomes of an audited request.
const (
	OutcomeSuccess   = "success"
	OutcomeFailure   = "failure"
	OutcomeDenied    = "denied"
	OutcomeThrottled = "throttled"
)

// Entity names the object an audit event is about.
type Entity struct {
	Type string `bson:"type" json:"type"`
	ID   string `bson:"id" json:"id"`
}

// AuditEvent is one entry of the audit log. Events form a hash chain: each
// event's Hash covers its own fields and PrevHash, the Hash of the event
// before it, so editing, deleting or reordering any event breaks the chain
// from that point on.
type AuditEvent struct {
	Seq       int64             `bson:"seq" json:"seq"`
	At        time.Time         `bson:"at" json:"at"`
	User      string            `bson:"user" json:"user"`
	Role      Role              `bson:"role" json:"role"`
	Action    string            `bson:"action" json:"action"`
	Entity    Entity            `bson:"entity" json:"entity"`
	IP        string            `bson:"ip" json:"ip"`
	RequestID string            `bson:"request_id" json:"request_id"`
	Outcome   string            `bson:"outcome" json:"outcome"`
	Detail    map[string]string `bson:"detail,omitempty" json:"detail,omitempty"`
	PrevHash  string            `bson:"prev_hash" json:"prev_hash"`
	Hash      string            `bson:"hash" json:"hash"`
}

// auditDoc is how an event is stored: its _id is the zero-padded seq, a
// string so that lookups by _id are pushed down on the embedded store.
type auditDoc struct {
	ID         string `bson:"_id"`
	AuditEvent `bson:",inline"`
}

func auditID(seq int64) string { return fmt.Sprintf("%019d", seq) }

// canonical is the byte string an event's hash covers: JSON of a struct
// with a fixed field order (map keys are sorted by encoding/json), times in
// UTC at the millisecond precision MongoDB stores.
func (e *AuditEvent) canonical() []byte {
	c := struct {
		Seq       int64             `json:"seq"`
		At        string            `json:"at"`
		User      string            `json:"user"`
		Role      Role              `json:"role"`
		Action    string            `json:"action"`
		Entity    Entity            `json:"entity"`
		IP        string            `json:"ip"`
		RequestID string            `json:"request_id"`
		Outcome   string            `json:"outcome"`
		Detail    map[string]string `json:"detail"`
		PrevHash  string            `json:"prev_hash"`
	}{e.Seq, e.At.UTC().Format("2006-01-02T15:04:05.000Z"), e.User, e.Role, e.Action, e.Entity, e.IP, e.RequestID, e.Outcome, e.Detail, e.PrevHash}
	if len(c.Detail) == 0 {
		c.Detail = nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // strings and ints only: cannot fail
	}
	return b
}

func (e *AuditEvent) computeHash() string {
	sum := sha256.Sum256(e.canonical())
	return hex.EncodeToString(sum[:])
}

// Audit is the append-only, hash-chained audit log.
//
// Appends are group-committed (internal/groupcommit): every event queued
// while an insert is in flight goes into the next insert, up to
// maxAppendBatch. Each event needs its predecessor's hash, so appends within
// a process are serial; with one insert per event, filing cases from 32
// clients left about half of the requests in flight waiting for this log
// (goroutine profiles under load), at one store round trip per event.
type Audit struct {
	db      *store.DB
	now     func() time.Time
	appends *groupcommit.Group[AuditEvent, struct{}]

	// Owned by the commit in progress (appendBatch): one at a time.
	loaded bool
	head   struct {
		seq  int64
		hash string
	}
	// recorded is told of every appended event (OnRecord).
	recorded func(AuditEvent)
}

// maxAppendBatch bounds one group commit: a batch is one insert command,
// and one SQLite transaction on the embedded store.
const maxAppendBatch = 256

// OnRecord registers fn to be called after every appended event, in seq
// order, inside the append (no other append runs meanwhile): fn must
// return at once (e.g. a non-blocking channel send) and must not call
// Record. Register it before the log is used. The webhook dispatcher uses
// it to take each event as it is appended (in seq order, for this
// process's appends) instead of reading it back.
func (a *Audit) OnRecord(fn func(AuditEvent)) { a.recorded = fn }

// Event reads the event with sequence number seq: a lookup by _id, which
// the embedded store pushes down. A seq not yet written is NotFound.
func (a *Audit) Event(ctx context.Context, seq int64) (AuditEvent, error) {
	var d auditDoc
	if err := a.db.FindByID(ctx, auditCollection, auditID(seq), &d); err != nil {
		return AuditEvent{}, err
	}
	return d.AuditEvent, nil
}

// NewAudit returns the audit log stored in db.
func NewAudit(db *store.DB, now func() time.Time) *Audit {
	a := &Audit{db: db, now: now}
	a.appends = groupcommit.New(maxAppendBatch, a.appendBatch)
	return a
}

// Init creates the collection.
func (a *Audit) Init(ctx context.Context) error {
	return a.db.EnsureCollection(ctx, auditCollection)
}

// Record appends e, filling Seq, At, PrevHash and Hash, and returns once
// it is stored (or failed to be).
//
// The append is the insert of _id = seq: two writers (even in two processes
// on one MongoDB) that compute the same seq cannot both win, and the loser
// moves its head forward by reading the events it missed, then retries.
func (a *Audit) Record(ctx context.Context, e AuditEvent) error {
	_, err := a.appends.Do(ctx, e)
	return err
}

// appendBatch stores batch in order at the head of the log, in one insert
// unless another writer gets in between.
func (a *Audit) appendBatch(ctx context.Context, batch []AuditEvent) []groupcommit.Result[struct{}] {
	results := make([]groupcommit.Result[struct{}], len(batch))
	stored := 0
	fail := func(err error) []groupcommit.Result[struct{}] {
		for i := stored; i < len(batch); i++ {
			results[i].Err = err
		}
		return results
	}
	if !a.loaded {
		if err := a.loadHead(ctx); err != nil {
			return fail(err)
		}
	}
	at := a.now().UTC().Truncate(time.Millisecond)
	docs := make([]any, len(batch))
	for range 1000 {
		rest := batch[stored:]
		seq, prev := a.head.seq, a.head.hash
		for i := range rest {
			e := &rest[i]
			e.At = at
			e.Seq = seq + 1 + int64(i)
			e.PrevHash = prev
			e.Hash = e.computeHash()
			prev = e.Hash
			docs[i] = auditDoc{ID: auditID(e.Seq), AuditEvent: *e}
		}
		n, err := a.db.InsertMany(ctx, auditCollection, docs[:len(rest)])
		for _, e := range rest[:n] {
			a.head.seq, a.head.hash = e.Seq, e.Hash
			if a.recorded != nil {
				a.recorded(e)
			}
		}
		stored += n
		switch {
		case err == nil:
			return results
		case !errs.Is(err, errs.Conflict):
			return fail(fmt.Errorf("audit: %w", err))
		}
		if err := a.advanceHead(ctx); err != nil {
			return fail(err)
		}
	}
	return fail(fmt.Errorf("audit: could not append after many retries"))
}

// loadHead finds the last event: one sorted scan, at the first append only.
func (a *Audit) loadHead(ctx context.Context) error {
	var last AuditEvent
	err := a.db.Collection(auditCollection).FindOne(ctx, bson.D{},
		options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}})).Decode(&last)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("audit: load head: %w", err)
	}
	a.head.seq, a.head.hash = last.Seq, last.Hash
	a.loaded = true
	return nil
}

// advanceHead reads forward by _id past events appended by someone else.
func (a *Audit) advanceHead(ctx context.Context) error {
	for {
		var next AuditEvent
		err := a.db.FindByID(ctx, auditCollection, auditID(a.head.seq+1), &next)
		if errs.Is(err, errs.NotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("audit: advance head: %w", err)
		}
		a.head.seq, a.head.hash = next.Seq, next.Hash
	}
}

// AuditFilter selects events for List. Empty fields match everything.
type AuditFilter struct {
	User       string
	EntityType string
	EntityID   string
	Action     string
	From, To   time.Time
}

// List returns events matching f, newest first, and a cursor for the next
// page ("" at the end). cursor is opaque to clients.
func (a *Audit) List(ctx context.Context, f AuditFilter, limit int, cursor string) ([]AuditEvent, string, int64, error) {
	var filter store.Filter
	filter.Eq("user", f.User)
	filter.Eq("entity.type", f.EntityType)
	filter.Eq("entity.id", f.EntityID)
	filter.Eq("action", f.Action)
	filter.Range("at", f.From, f.To)
	coll := a.db.Collection(auditCollection)
	total, err := coll.CountDocuments(ctx, filter.D())
	if err != nil {
		return nil, "", 0, fmt.Errorf("audit: count: %w", err)
	}
	if cursor != "" {
		before, err := decodeSeqCursor(cursor)
		if err != nil {
			return nil, "", 0, err
		}
		filter = append(filter, bson.E{Key: "seq", Value: bson.D{{Key: "$lt", Value: before}}})
	}
	cur, err := coll.Find(ctx, filter.D(), options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetLimit(int64(limit)+1))
	if err != nil {
		return nil, "", 0, fmt.Errorf("audit: list: %w", err)
	}
	var items []AuditEvent
	if err := cur.All(ctx, &items); err != nil {
		return nil, "", 0, fmt.Errorf("audit: list: %w", err)
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = encodeSeqCursor(items[len(items)-1].Seq)
	}
	if items == nil {
		items = []AuditEvent{}
	}
	return items, next, total, nil
}

// VerifyResult reports on the whole chain.
type VerifyResult struct {
	OK          bool   `json:"ok"`
	Checked     int64  `json:"checked"`
	FirstBadSeq *int64 `json:"first_bad_seq"`
	Reason      string `json:"reason,omitempty"`
}

// Verify walks the chain from seq 1 and reports the first event that is
// missing, out of place, edited, or does not link to its predecessor.
//
// A chain cut off at its end (the newest events removed) still verifies: no
// later event is left to notice. Exporting the head hash elsewhere (e.g. the
// logs, where Record's caller puts it) is what detects that.
func (a *Audit) Verify(ctx context.Context) (VerifyResult, error) {
	cur, err := a.db.Collection(auditCollection).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
	if err != nil {
		return VerifyResult{}, fmt.Errorf("audit: verify: %w", err)
	}
	defer cur.Close(ctx)

	res := VerifyResult{OK: true}
	bad := func(seq int64, reason string) {
		res.OK, res.FirstBadSeq, res.Reason = false, &seq, reason
	}
	want, prevHash := int64(1), ""
	for cur.Next(ctx) {
		var d auditDoc
		if err := cur.Decode(&d); err != nil {
			bad(want, "undecodable event")
			break
		}
		e := d.AuditEvent
		switch {
		case e.Seq != want || d.ID != auditID(e.Seq):
			bad(want, fmt.Sprintf("expected event %d, found %d", want, e.Seq))
		case e.PrevHash != prevHash:
			bad(e.Seq, "does not link to the previous event")
		case e.computeHash() != e.Hash:
			bad(e.Seq, "content does not match its hash")
		}
		if !res.OK {
			break
		}
		res.Checked++
		want, prevHash = e.Seq+1, e.Hash
	}
	if err := cur.Err(); err != nil {
		return VerifyResult{}, fmt.Errorf("audit: verify: %w", err)
	}
	return res, nil
}

func encodeSeqCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("s:" + strconv.FormatInt(seq, 10)))
}

func decodeSeqCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && len(b) > 2 && string(b[:2]) == "s:" {
		if n, err := strconv.ParseInt(string(b[2:]), 10, 64); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, &errs.Error{Code: errs.Invalid, Message: "invalid cursor", Fields: []errs.FieldError{{Field: "cursor", Message: "is not a cursor this server issued"}}}
}
