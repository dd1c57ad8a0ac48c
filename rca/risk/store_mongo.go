package risk

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"casefile.dev/casefile/internal/store"
)

// Store is what the risk service needs from its database.
type Store interface {
	Init(ctx context.Context) error
	// NextRiskNumber is n of the next key RISK-<year>-<n>.
	NextRiskNumber(ctx context.Context, year int) (int64, error)
	// NextSeq stamps writes for the search index feed.
	NextSeq(ctx context.Context) (int64, error)
	InsertRisk(ctx context.Context, r *Risk) error
	Risk(ctx context.Context, id string) (Risk, error)
	ReplaceRisk(ctx context.Context, r *Risk, expected int64) error
	// FindRisks lists risks matching f, newest first, without their case
	// links, and counts all that match.
	FindRisks(ctx context.Context, f Filter, limit, offset int) ([]Risk, int, error)
}

// Filter selects risks; an empty list matches everything.
type Filter struct {
	Statuses    []Status
	PolicyAreas []string
	Owners      []string
	// CaseID, when set, keeps risks that link this case.
	CaseID string
}

const risksColl = "risks"

// MongoStore is the MongoDB implementation of Store.
type MongoStore struct {
	db *store.DB
}

var _ Store = (*MongoStore)(nil)

// NewMongoStore returns the store in db.
func NewMongoStore(db *store.DB) *MongoStore { return &MongoStore{db: db} }

func (s *MongoStore) Init(ctx context.Context) error {
	bySeq := mongo.IndexModel{Keys: bson.D{{Key: "seq", Value: 1}}} // read by the search index feed
	return s.db.EnsureCollection(ctx, risksColl, bySeq)
}

// RisksSince returns risks written with seq > after, in seq order, for the
// search index feed.
func (s *MongoStore) RisksSince(ctx context.Context, after int64, limit int) ([]Risk, error) {
	var out []Risk
	err := s.db.Since(ctx, risksColl, after, limit, &out)
	return out, err
}

// EachRisk calls fn with every risk, in no particular order.
func (s *MongoStore) EachRisk(ctx context.Context, fn func(*Risk) error) error {
	return store.Each(ctx, s.db, risksColl, fn)
}

func (s *MongoStore) NextRiskNumber(ctx context.Context, year int) (int64, error) {
	return s.db.NextSeq(ctx, fmt.Sprintf("risk_key_%d", year))
}

// NextSeq draws from the counter cases and incidents share, so the feed
// sees one order of every write.
func (s *MongoStore) NextSeq(ctx context.Context) (int64, error) { return s.db.NextSparse(ctx, "feed") }

func (s *MongoStore) InsertRisk(ctx context.Context, r *Risk) error {
	return s.db.Insert(ctx, risksColl, r)
}

func (s *MongoStore) Risk(ctx context.Context, id string) (Risk, error) {
	var r Risk
	err := s.db.FindByID(ctx, risksColl, id, &r)
	return r, err
}

func (s *MongoStore) ReplaceRisk(ctx context.Context, r *Risk, expected int64) error {
	return s.db.ReplaceVersioned(ctx, risksColl, r.ID, expected, r)
}

// FindRisks is a query, not an index read: fine while the register holds
// hundreds of risks (on the embedded store it scans the collection).
func (s *MongoStore) FindRisks(ctx context.Context, f Filter, limit, offset int) ([]Risk, int, error) {
	q := bson.D{}
	in := func(field string, vs []string) {
		if len(vs) > 0 {
			q = append(q, bson.E{Key: field, Value: bson.D{{Key: "$in", Value: vs}}})
		}
	}
	statuses := make([]string, len(f.Statuses))
	for i, st := range f.Statuses {
		statuses[i] = string(st)
	}
	in("status", statuses)
	in("policy_areas", f.PolicyAreas)
	in("owner", f.Owners)
	if f.CaseID != "" {
		q = append(q, bson.E{Key: "links.case_id", Value: f.CaseID})
	}

	ctx, cancel := context.WithTimeout(ctx, store.DefaultOpTimeout)
	defer cancel()
	c := s.db.Collection(risksColl)
	total, err := c.CountDocuments(ctx, q)
	if err != nil {
		return nil, 0, fmt.Errorf("risk: count risks: %w", err)
	}
	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).
		SetSkip(int64(offset)).SetLimit(int64(limit)).SetProjection(bson.D{{Key: "links", Value: 0}})
	cur, err := c.Find(ctx, q, opts)
	if err != nil {
		return nil, 0, fmt.Errorf("risk: find risks: %w", err)
	}
	var out []Risk
	if err := cur.All(ctx, &out); err != nil {
		return nil, 0, fmt.Errorf("risk: find risks: %w", err)
	}
	return out, int(total), nil
}
