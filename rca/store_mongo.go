package rca

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"casefile.dev/casefile/internal/store"
)

// Store is what the RCA service needs from its database.
type Store interface {
	Init(ctx context.Context) error
	NextIncidentNumber(ctx context.Context, year int) (int64, error)
	NextSeq(ctx context.Context) (int64, error)
	InsertIncident(ctx context.Context, in *Incident) error
	Incident(ctx context.Context, id string) (Incident, error)
	IncidentIDByKey(ctx context.Context, key string) (string, error)
	ReplaceIncident(ctx context.Context, in *Incident, expected int64) error
	// FindIncidents scans incidents (started in [from, to) when set).
	FindIncidents(ctx context.Context, from, to time.Time) ([]Incident, error)
	// EachIncident calls fn with every incident, in no particular order.
	EachIncident(ctx context.Context, fn func(*Incident) error) error
	Postmortem(ctx context.Context, id string) (Postmortem, error)
	InsertPostmortem(ctx context.Context, p *Postmortem) error
	ReplacePostmortem(ctx context.Context, p *Postmortem, expected int64) error
	PutRevision(ctx context.Context, r *Revision) error
	Revision(ctx context.Context, id string, rev int) (Revision, error)
	ImportStore
}

const (
	incidentsColl   = "incidents"
	incidentKeyColl = "incident_keys"
	postmortemsColl = "postmortems"
	revisionsColl   = "postmortem_revisions"
)

// MongoStore is the MongoDB implementation of Store.
type MongoStore struct {
	db *store.DB
}

var _ Store = (*MongoStore)(nil)

// NewMongoStore returns the store in db.
func NewMongoStore(db *store.DB) *MongoStore { return &MongoStore{db: db} }

func (s *MongoStore) Init(ctx context.Context) error {
	bySeq := mongo.IndexModel{Keys: bson.D{{Key: "seq", Value: 1}}} // read by the search index feed
	for _, c := range []string{incidentKeyColl, revisionsColl, importsColl} {
		if err := s.db.EnsureCollection(ctx, c); err != nil {
			return err
		}
	}
	for _, c := range []string{incidentsColl, postmortemsColl} {
		if err := s.db.EnsureCollection(ctx, c, bySeq); err != nil {
			return err
		}
	}
	return nil
}

// IncidentsSince returns incidents written with seq > after, in seq order.
func (s *MongoStore) IncidentsSince(ctx context.Context, after int64, limit int) ([]Incident, error) {
	var out []Incident
	err := s.db.Since(ctx, incidentsColl, after, limit, &out)
	return out, err
}

// EachIncident calls fn with every incident, in no particular order.
func (s *MongoStore) EachIncident(ctx context.Context, fn func(*Incident) error) error {
	return store.Each(ctx, s.db, incidentsColl, fn)
}

// EachPostmortem calls fn with every postmortem, in no particular order.
func (s *MongoStore) EachPostmortem(ctx context.Context, fn func(*Postmortem) error) error {
	return store.Each(ctx, s.db, postmortemsColl, fn)
}

// PostmortemsSince returns postmortems written with seq > after, in seq order.
func (s *MongoStore) PostmortemsSince(ctx context.Context, after int64, limit int) ([]Postmortem, error) {
	var out []Postmortem
	err := s.db.Since(ctx, postmortemsColl, after, limit, &out)
	return out, err
}

func (s *MongoStore) NextIncidentNumber(ctx context.Context, year int) (int64, error) {
	return s.db.NextSeq(ctx, fmt.Sprintf("incident_key_%d", year))
}

func (s *MongoStore) NextSeq(ctx context.Context) (int64, error) { return s.db.NextSparse(ctx, "feed") }

type incidentKey struct {
	Key        string `bson:"_id"`
	IncidentID string `bson:"incident_id"`
}

func (s *MongoStore) InsertIncident(ctx context.Context, in *Incident) error {
	if err := s.db.Insert(ctx, incidentsColl, in); err != nil {
		return err
	}
	return s.db.Insert(ctx, incidentKeyColl, incidentKey{Key: in.Key, IncidentID: in.ID})
}

func (s *MongoStore) Incident(ctx context.Context, id string) (Incident, error) {
	var in Incident
	err := s.db.FindByID(ctx, incidentsColl, id, &in)
	return in, err
}

func (s *MongoStore) IncidentIDByKey(ctx context.Context, key string) (string, error) {
	var k incidentKey
	if err := s.db.FindByID(ctx, incidentKeyColl, key, &k); err != nil {
		return "", err
	}
	return k.IncidentID, nil
}

func (s *MongoStore) ReplaceIncident(ctx context.Context, in *Incident, expected int64) error {
	return s.db.ReplaceVersioned(ctx, incidentsColl, in.ID, expected, in)
}

func (s *MongoStore) FindIncidents(ctx context.Context, from, to time.Time) ([]Incident, error) {
	var f store.Filter
	f.Range("started_at", from, to)
	cur, err := s.db.Collection(incidentsColl).Find(ctx, f.D())
	if err != nil {
		return nil, fmt.Errorf("rca: find incidents: %w", err)
	}
	var out []Incident
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("rca: find incidents: %w", err)
	}
	return out, nil
}

func (s *MongoStore) Postmortem(ctx context.Context, id string) (Postmortem, error) {
	var p Postmortem
	err := s.db.FindByID(ctx, postmortemsColl, id, &p)
	return p, err
}

func (s *MongoStore) InsertPostmortem(ctx context.Context, p *Postmortem) error {
	return s.db.Insert(ctx, postmortemsColl, p)
}

func (s *MongoStore) ReplacePostmortem(ctx context.Context, p *Postmortem, expected int64) error {
	return s.db.ReplaceVersioned(ctx, postmortemsColl, p.ID, expected, p)
}

func revisionID(id string, rev int) string { return fmt.Sprintf("%s/%d", id, rev) }

// PutRevision stores a published revision, replacing one of the same
// number: a publish that lost a race with an edit may have written it, and
// the content now being published is what readers must get.
func (s *MongoStore) PutRevision(ctx context.Context, r *Revision) error {
	r.ID = revisionID(r.Postmortem, r.Revision)
	return s.db.Put(ctx, revisionsColl, r.ID, r)
}

func (s *MongoStore) Revision(ctx context.Context, id string, rev int) (Revision, error) {
	var r Revision
	err := s.db.FindByID(ctx, revisionsColl, revisionID(id, rev), &r)
	return r, err
}
