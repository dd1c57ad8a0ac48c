// Package demo seeds a data dir with a realistic, living dataset for
// `casefile demo`: users of every role, cases across policy areas, teams,
// vendors and severities spread over weeks with their evidence, notes,
// transitions and enforcements, incidents with RCAs and action items,
// postmortems taken through review and published, and risks linking
// cases. Everything is made through the domain services, as users would
// make it, with the services' clock moved through the past so that SLA
// clocks, strike windows and QA sampling see a real history.
//
// Output is deterministic for a Config (seed, sizes and end time): the
// same calls in the same order with the same data. Passwords are not part
// of it: the caller chooses them.
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/store"
)

// Config sizes the dataset.
type Config struct {
	Seed        int64
	Cases       int
	Incidents   int
	Postmortems int // published; a few more stay in draft and review
	Risks       int
	Days        int // how far back the history reaches
	// End is the time of the newest record (the present, when serving).
	End time.Time
}

// DefaultConfig is the dataset `casefile demo` seeds, ending at end.
func DefaultConfig(end time.Time) Config {
	return Config{Seed: 1, Cases: 500, Incidents: 60, Postmortems: 20, Risks: 6, Days: 90, End: end}
}

// Validate checks the sizes.
func (c Config) Validate() error {
	var f errs.Fields
	if c.Cases < 1 || c.Cases > 100_000 {
		f.Add("cases", "must be from 1 to 100000")
	}
	if c.Incidents < 0 || c.Incidents > 10_000 {
		f.Add("incidents", "must be from 0 to 10000")
	}
	if c.Postmortems < 0 || c.Postmortems > c.Incidents {
		f.Add("postmortems", "must be from 0 to the number of incidents")
	}
	if c.Risks < 0 || c.Risks > 1000 {
		f.Add("risks", "must be from 0 to 1000")
	}
	if c.Days < 7 || c.Days > 730 {
		f.Add("days", "must be from 7 to 730")
	}
	if c.End.IsZero() {
		f.Add("end", "is required")
	}
	return f.Err()
}

// Member is one user of the demo.
type Member struct {
	Username    string
	DisplayName string
	Role        auth.Role
	Team        string
	Vendor      string
}

// Cast is every demo user: every role, investigators on two teams, vendor
// agents of two vendors.
var Cast = []Member{
	{"admin", "Ada Okafor", auth.RoleAdmin, "", ""},
	{"lena", "Lena Fischer", auth.RoleLead, "fraud", ""},
	{"luke", "Luke Mensah", auth.RoleLead, "safety", ""},
	{"ivy", "Ivy Chen", auth.RoleInvestigator, "fraud", ""},
	{"ian", "Ian Park", auth.RoleInvestigator, "fraud", ""},
	{"sam", "Sam Rivera", auth.RoleInvestigator, "safety", ""},
	{"sara", "Sara Haddad", auth.RoleInvestigator, "safety", ""},
	{"vera", "Vera Santos", auth.RoleVendorAgent, "", "acme_bpo"},
	{"victor", "Victor Reyes", auth.RoleVendorAgent, "", "acme_bpo"},
	{"wes", "Wes Tan", auth.RoleVendorAgent, "", "northstar"},
	{"wendy", "Wendy Lim", auth.RoleVendorAgent, "", "northstar"},
	{"lou", "Lou Bernard", auth.RoleLeadership, "", ""},
}

// markerColl holds the demo marker: the record that a data dir was
// seeded by casefile demo, and whether seeding finished.
const (
	markerColl = "demo"
	markerID   = "demo"
)

// Marker is the demo marker document.
type Marker struct {
	ID         string     `bson:"_id"`
	Seed       int64      `bson:"seed"`
	Cases      int        `bson:"cases"`
	StartedAt  time.Time  `bson:"started_at"`
	FinishedAt *time.Time `bson:"finished_at,omitempty"`
	Version    int64      `bson:"version"`
}

// State is what a data dir holds, as far as the demo is concerned.
type State int

const (
	// Empty: nothing of anyone's; the demo may seed.
	Empty State = iota
	// Seeded: the demo seeded it and finished.
	Seeded
	// Unfinished: a demo seeding started and did not finish.
	Unfinished
	// Foreign: it holds data the demo did not make.
	Foreign
)

// domainColls are the collections whose documents mean someone used the
// store: a fresh one has none (start-up writes settings and counters).
var domainColls = []string{"users", "cases", "incidents", "risks"}

// Check reports the state of db and, when seeded, its marker.
func Check(ctx context.Context, db *store.DB) (State, Marker, error) {
	if err := db.EnsureCollection(ctx, markerColl); err != nil {
		return 0, Marker{}, err
	}
	var m Marker
	err := db.FindByID(ctx, markerColl, markerID, &m)
	switch {
	case err == nil && m.FinishedAt != nil:
		return Seeded, m, nil
	case err == nil:
		return Unfinished, m, nil
	case !errs.Is(err, errs.NotFound):
		return 0, Marker{}, err
	}
	for _, c := range domainColls {
		n, err := db.Collection(c).CountDocuments(ctx, bson.D{})
		if err != nil {
			return 0, Marker{}, fmt.Errorf("demo: counting %s: %w", c, err)
		}
		if n > 0 {
			return Foreign, Marker{}, nil
		}
	}
	return Empty, Marker{}, nil
}

// ErrNotEmpty is Begin's answer for a store that is not empty.
var ErrNotEmpty = errors.New("demo: the store is not empty")

// Begin writes the marker, unfinished, before the first record: a store
// with a marker is the demo's, and an unfinished one says seeding broke
// off. It refuses a store that is not Empty.
func Begin(ctx context.Context, db *store.DB, cfg Config, now time.Time) error {
	st, _, err := Check(ctx, db)
	if err != nil {
		return err
	}
	if st != Empty {
		return ErrNotEmpty
	}
	return db.Insert(ctx, markerColl, Marker{ID: markerID, Seed: cfg.Seed, Cases: cfg.Cases, StartedAt: now.UTC(), Version: 1})
}

// Finish marks seeding done.
func Finish(ctx context.Context, db *store.DB, now time.Time) error {
	_, err := db.Update(ctx, markerColl, markerID, bson.D{{Key: "$set", Value: bson.D{{Key: "finished_at", Value: now.UTC()}}}})
	return err
}
