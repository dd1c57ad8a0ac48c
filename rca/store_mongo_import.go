package rca

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"casefile.dev/casefile/internal/errs"
)

// importsColl is the import ledger: one ImportRecord per imported
// postmortem, by the incident id the import reference derives.
const importsColl = "imports"

// ImportStore is what ImportPostmortem needs beyond Store: the ledger,
// and inserts that do one document each, so that a re-run can tell which
// of an interrupted import's documents exist.
type ImportStore interface {
	ImportRecord(ctx context.Context, id string) (ImportRecord, error)
	// InsertImportRecord is a Conflict when a record with the id exists.
	InsertImportRecord(ctx context.Context, r *ImportRecord) error
	CompleteImport(ctx context.Context, id string, at time.Time) error
	// InsertIncidentDoc stores the incident only (InsertIncident also
	// stores its key); a Conflict when the id exists.
	InsertIncidentDoc(ctx context.Context, in *Incident) error
	// InsertIncidentKey maps key to incidentID; a Conflict when the key
	// is mapped already.
	InsertIncidentKey(ctx context.Context, key, incidentID string) error
	// InsertRevision stores a published revision unless one with its
	// number exists (a Conflict).
	InsertRevision(ctx context.Context, r *Revision) error
}

var _ ImportStore = (*MongoStore)(nil)

func (s *MongoStore) ImportRecord(ctx context.Context, id string) (ImportRecord, error) {
	var r ImportRecord
	err := s.db.FindByID(ctx, importsColl, id, &r)
	return r, err
}

func (s *MongoStore) InsertImportRecord(ctx context.Context, r *ImportRecord) error {
	return s.db.Insert(ctx, importsColl, r)
}

// CompleteImport sets a flag that only ever goes from unset to set, so an
// unconditional update cannot lose anything.
func (s *MongoStore) CompleteImport(ctx context.Context, id string, at time.Time) error {
	ok, err := s.db.Update(ctx, importsColl, id, bson.D{{Key: "$set", Value: bson.D{{Key: "completed_at", Value: at}}}})
	if err == nil && !ok {
		return errs.E(errs.NotFound, "import record not found")
	}
	return err
}

func (s *MongoStore) InsertIncidentDoc(ctx context.Context, in *Incident) error {
	return s.db.Insert(ctx, incidentsColl, in)
}

func (s *MongoStore) InsertIncidentKey(ctx context.Context, key, incidentID string) error {
	return s.db.Insert(ctx, incidentKeyColl, incidentKey{Key: key, IncidentID: incidentID})
}

func (s *MongoStore) InsertRevision(ctx context.Context, r *Revision) error {
	r.ID = revisionID(r.Postmortem, r.Revision)
	return s.db.Insert(ctx, revisionsColl, r)
}
