package store

import (
	"context"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// SinceQueryPlan is SQLite's plan for the embedded store's seq query on
// coll.
func SinceQueryPlan(ctx context.Context, d *DB, coll string) (string, error) {
	db, err := d.embedded.sqlDB(d.db.Name())
	if err != nil {
		return "", err
	}
	table, err := d.embedded.seqTable(ctx, db, d.db.Name(), coll)
	if err != nil {
		return "", err
	}
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+seqQuery(table), 0, 10)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "; "), rows.Err()
}

// InsertBatch runs one of Insert's shared commands on docs, as a batch of
// concurrent Inserts would, and returns each document's outcome.
func InsertBatch(ctx context.Context, d *DB, coll string, docs ...any) ([]error, error) {
	raws := make([]bson.Raw, len(docs))
	for i, doc := range docs {
		raw, err := bson.Marshal(doc)
		if err != nil {
			return nil, err
		}
		raws[i] = raw
	}
	var out []error
	for _, r := range d.insertUnordered(ctx, coll, raws) {
		out = append(out, r.Err)
	}
	return out, nil
}
