package store

import (
	"context"
	"strings"
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
