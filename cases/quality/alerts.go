package quality

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/store"
	"casefile.dev/casefile/rca"
)

// Alert is a quality.alert: a group's agreement rate for decisions made
// in one week fell by at least Rules.AlertDrop from the week before.
type Alert struct {
	// ID is "<scope>:<group>:<week>": one alert per group and week, however
	// many reviews confirm the drop.
	ID              string    `bson:"_id" json:"id"`
	Scope           string    `bson:"scope" json:"scope"` // vendor, team or agent
	Group           string    `bson:"group" json:"group"`
	Week            time.Time `bson:"week" json:"week"`
	Previous        float64   `bson:"previous" json:"previous_rate"`
	Current         float64   `bson:"current" json:"current_rate"`
	PreviousReviews int       `bson:"previous_reviews" json:"previous_reviews"`
	CurrentReviews  int       `bson:"current_reviews" json:"current_reviews"`
	RaisedAt        time.Time `bson:"raised_at" json:"raised_at"`
	// Incident is the RCA seeded from the alert, once there is one.
	Incident string `bson:"incident,omitempty" json:"incident,omitempty"`
}

// weekStart is the Monday (UTC) of t's week.
func weekStart(t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
}

// checkDrop compares, for the vendor, team and decider of a freshly
// reviewed item, the agreement rate of the decisions of its week with the
// week before, and raises an alert on a drop.
func (s *Service) checkDrop(ctx context.Context, it *Item) error {
	rules, _, err := s.store.Rules(ctx)
	if err != nil {
		return err
	}
	week := weekStart(it.DecidedAt)
	for _, g := range []struct{ scope, field, value string }{
		{"vendor", "vendor", it.Vendor}, {"team", "team", it.Team}, {"agent", "decider", it.Decider},
	} {
		if g.value == "" {
			continue
		}
		var f store.Filter
		f.Eq(g.field, g.value)
		f.Range("decided_at", week.AddDate(0, 0, -7), week.AddDate(0, 0, 7))
		f = append(f, bson.E{Key: "review", Value: bson.D{{Key: "$exists", Value: true}}})
		items, _, err := s.store.FindItems(ctx, f, 100_000, 0)
		if err != nil {
			return err
		}
		var agree, total [2]int // [previous week, this week]
		for _, x := range items {
			i := 0
			if !x.DecidedAt.Before(week) {
				i = 1
			}
			total[i]++
			if x.Review.Verdict == Agree {
				agree[i]++
			}
		}
		if total[0] < rules.AlertMinReviews || total[1] < rules.AlertMinReviews {
			continue
		}
		prev, cur := float64(agree[0])/float64(total[0]), float64(agree[1])/float64(total[1])
		if prev-cur < rules.AlertDrop-1e-9 {
			continue
		}
		a := Alert{ID: fmt.Sprintf("%s:%s:%s", g.scope, g.value, week.Format("2006-01-02")), Scope: g.scope, Group: g.value, Week: week,
			Previous: prev, Current: cur, PreviousReviews: total[0], CurrentReviews: total[1], RaisedAt: s.clock()}
		err = s.store.db.Insert(ctx, alertsColl, a)
		if errs.Is(err, errs.Conflict) {
			continue // raised already
		}
		if err != nil {
			return err
		}
		if s.alerted != nil {
			s.alerted(ctx, a)
		}
	}
	return nil
}

// Alerts lists quality alerts, newest first (readers of reports; a
// vendor agent sees their own vendor's).
func (s *Service) Alerts(ctx context.Context, u *auth.User) ([]Alert, error) {
	f := store.Filter{}
	if !auth.Can(u, auth.ReadReports, auth.Resource{}) {
		if u.Role != auth.RoleVendorAgent || u.Vendor == "" {
			return nil, errs.E(errs.Forbidden, "your role may not read quality alerts")
		}
		f = store.Filter{{Key: "scope", Value: "vendor"}, {Key: "group", Value: u.Vendor}}
	}
	cur, err := s.store.db.Collection(alertsColl).Find(ctx, f.D(), options.Find().SetSort(bson.D{{Key: "raised_at", Value: -1}}).SetLimit(1000))
	if err != nil {
		return nil, err
	}
	out := []Alert{}
	return out, cur.All(ctx, &out)
}

// RCAs is the part of the RCA service that seeding needs.
type RCAs interface {
	CreateIncident(ctx context.Context, u *auth.User, in rca.NewIncident, m auth.Meta) (rca.Incident, error)
	PutRCA(ctx context.Context, u *auth.User, idOrKey string, ifMatch int64, r rca.RCA, m auth.Meta) (rca.Incident, error)
}

// SeedRCA turns an alert into an RCA (an incident of kind issue) whose
// problem statement carries the evidence: both weeks' rates and counts and
// up to five disagreed decisions of the week. Seeding twice returns the
// first incident. If the incident is created but recording it on the
// alert fails, a retry creates a second one; the first stays findable by
// its detection text.
func (s *Service) SeedRCA(ctx context.Context, u *auth.User, r RCAs, id string, m auth.Meta) (string, error) {
	if !auth.Can(u, auth.ReviewQuality, auth.Resource{}) || !auth.Can(u, auth.CreateIncident, auth.Resource{}) {
		return "", errs.E(errs.Forbidden, "your role may not open an RCA from a quality alert")
	}
	var a Alert
	if err := s.store.db.FindByID(ctx, alertsColl, id, &a); err != nil {
		if errs.Is(err, errs.NotFound) {
			return "", errs.E(errs.NotFound, "quality alert not found")
		}
		return "", err
	}
	if a.Incident != "" {
		return a.Incident, nil
	}
	field := map[string]string{"vendor": "vendor", "team": "team", "agent": "decider"}[a.Scope]
	var f store.Filter
	f.Eq(field, a.Group)
	f.Range("decided_at", a.Week, a.Week.AddDate(0, 0, 7))
	f = append(f, bson.E{Key: "review.verdict", Value: Disagree})
	bad, _, err := s.store.FindItems(ctx, f, 5, 0)
	if err != nil {
		return "", err
	}
	var samples []string
	for _, it := range bad {
		samples = append(samples, fmt.Sprintf("%s (%s, %s)", it.CaseKey, it.Review.ErrorType, it.Review.Severity))
	}
	title := fmt.Sprintf("Quality drop: %s %s, week of %s", a.Scope, a.Group, a.Week.Format("2006-01-02"))
	in, err := r.CreateIncident(ctx, u, rca.NewIncident{Kind: rca.KindIssue, Title: title, Severity: "sev3", Status: rca.Investigating,
		StartedAt: a.Week, Detection: "quality alert " + a.ID,
		Impact: rca.Impact{Text: fmt.Sprintf("QA agreement fell from %.0f%% (%d reviews) to %.0f%% (%d reviews).",
			100*a.Previous, a.PreviousReviews, 100*a.Current, a.CurrentReviews)}}, m)
	if err != nil {
		return "", err
	}
	statement := fmt.Sprintf("Agreement with QA for %s %s fell from %.0f%% to %.0f%% in the week of %s.",
		a.Scope, a.Group, 100*a.Previous, 100*a.Current, a.Week.Format("2006-01-02"))
	if len(samples) > 0 {
		statement += " Disagreed decisions: " + strings.Join(samples, "; ") + "."
	}
	if _, err := r.PutRCA(ctx, u, in.Key, 0, rca.RCA{ProblemStatement: statement}, m); err != nil {
		return "", err
	}
	if _, err := s.store.db.Update(ctx, alertsColl, a.ID, bson.D{{Key: "$set", Value: bson.D{{Key: "incident", Value: in.Key}}}}); err != nil {
		return "", err
	}
	return in.Key, nil
}
