package quality

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/store"
)

const (
	itemsColl  = "qa_items"
	rulesColl  = "qa_rules"
	alertsColl = "qa_alerts"
	setsColl   = "qa_calibration_sets"
	stateColl  = "qa_state"
	rulesID    = "rules"
)

// Store is the quality collections in MongoDB.
type Store struct{ db *store.DB }

// NewStore returns the store in db.
func NewStore(db *store.DB) *Store { return &Store{db: db} }

// Init creates the collections.
func (s *Store) Init(ctx context.Context) error {
	bySeq := mongo.IndexModel{Keys: bson.D{{Key: "seq", Value: 1}}}
	if err := s.db.EnsureCollection(ctx, itemsColl, bySeq); err != nil {
		return err
	}
	for _, c := range []string{rulesColl, alertsColl, setsColl, stateColl} {
		if err := s.db.EnsureCollection(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) nextSeq(ctx context.Context) (int64, error) { return s.db.NextSparse(ctx, "feed") }

// Rules reads the rules; ok is false when none were ever stored.
func (s *Store) Rules(ctx context.Context) (r Rules, ok bool, err error) {
	err = s.db.FindByID(ctx, rulesColl, rulesID, &r)
	if errs.Is(err, errs.NotFound) {
		return Rules{}, false, nil
	}
	return r, err == nil, err
}

// InsertRules stores the first rules (Conflict if another process won).
func (s *Store) InsertRules(ctx context.Context, r Rules) error {
	return s.db.Insert(ctx, rulesColl, rulesDoc{ID: rulesID, Rules: r})
}

// ReplaceRules stores r (at version expected+1).
func (s *Store) ReplaceRules(ctx context.Context, r Rules, expected int64) error {
	return s.db.ReplaceVersioned(ctx, rulesColl, rulesID, expected, rulesDoc{ID: rulesID, Rules: r})
}

// checkpoint reads the seq stored under id; ok is false when there is none.
func (s *Store) checkpoint(ctx context.Context, id string) (seq int64, ok bool, err error) {
	var doc checkpointDoc
	err = s.db.FindByID(ctx, stateColl, id, &doc)
	if errs.Is(err, errs.NotFound) {
		return 0, false, nil
	}
	return doc.Seq, err == nil, err
}

// setCheckpoint stores seq under id.
func (s *Store) setCheckpoint(ctx context.Context, id string, seq int64) error {
	return s.db.Put(ctx, stateColl, id, checkpointDoc{ID: id, Seq: seq})
}

type checkpointDoc struct {
	ID  string `bson:"_id"`
	Seq int64  `bson:"seq"`
}

type rulesDoc struct {
	ID    string `bson:"_id"`
	Rules `bson:",inline"`
}

// Item reads one item.
func (s *Store) Item(ctx context.Context, id string) (Item, error) {
	var it Item
	err := s.db.FindByID(ctx, itemsColl, id, &it)
	if errs.Is(err, errs.NotFound) {
		return Item{}, errs.E(errs.NotFound, "decision not found")
	}
	return it, err
}

// InsertItem stores a new item; an item of the same decision is a
// Conflict (a decision is recorded once).
func (s *Store) InsertItem(ctx context.Context, it *Item) error {
	return s.db.Insert(ctx, itemsColl, it)
}

// ReplaceItem stores it at version expected+1.
func (s *Store) ReplaceItem(ctx context.Context, it *Item, expected int64) error {
	return s.db.ReplaceVersioned(ctx, itemsColl, it.ID, expected, it)
}

// ItemsSince is the feed's read of items written after seq after.
func (s *Store) ItemsSince(ctx context.Context, after int64, limit int) ([]Item, error) {
	var out []Item
	return out, s.db.Since(ctx, itemsColl, after, limit, &out)
}

// EachItem calls fn with every decision item, in no particular order.
func (s *Store) EachItem(ctx context.Context, fn func(*Item) error) error {
	return store.Each(ctx, s.db, itemsColl, fn)
}

// FindItems lists items matching f, newest decision first.
func (s *Store) FindItems(ctx context.Context, f store.Filter, limit, offset int) ([]Item, int64, error) {
	c := s.db.Collection(itemsColl)
	total, err := c.CountDocuments(ctx, f.D())
	if err != nil {
		return nil, 0, err
	}
	cur, err := c.Find(ctx, f.D(), options.Find().SetSort(bson.D{{Key: "decided_at", Value: -1}, {Key: "_id", Value: 1}}).
		SetLimit(int64(limit)).SetSkip(int64(offset)))
	if err != nil {
		return nil, 0, err
	}
	out := []Item{}
	return out, total, cur.All(ctx, &out)
}
