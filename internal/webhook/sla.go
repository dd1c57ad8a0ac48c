package webhook

import (
	"context"
	"fmt"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/search"
)

// slaOverlap re-reads this much before the last check, so that a case the
// search index learnt of late (the index trails the store a little) is not
// missed; markers keep the re-read from firing twice.
const slaOverlap = 10 * time.Minute

const slaPage = 200

// slaState is the SLA checker's checkpoint: breaches due up to Until have
// been handled.
type slaState struct {
	ID      string    `bson:"_id"`
	Until   time.Time `bson:"until"`
	Version int64     `bson:"version"`
}

// slaMarker records that a case's clock breach fired; its _id is the
// event id, so each (case, clock, due time) fires once.
type slaMarker struct {
	ID      string    `bson:"_id"`
	CaseID  string    `bson:"case_id"`
	Clock   string    `bson:"clock"`
	Due     time.Time `bson:"due"`
	FiredAt time.Time `bson:"fired_at"`
}

// CheckSLA fires sla.breached for every case whose running SLA clock fell
// due since the last check, and returns how many fired.
//
// Candidates come from the search index, never a scan of the cases: its
// "breached" cases sorted by due time, newest first. Those with a due time
// still ahead are breached by a stopped clock (triaged late, its resolve
// clock running) and are passed over; paging stops at the first due time
// before the window. Each candidate is then read from the store by _id and
// its SLA recomputed, so a stale index entry cannot fire a false breach.
//
// A breach fires once per case, clock and due time (a marker document with
// a deterministic _id): a severity change that moves the due time is a
// new target. Known limit: a change that moves the due time to before the
// window (e.g. escalating an old case) is not reported.
func (s *Service) CheckSLA(ctx context.Context) (int, error) {
	s.slaMu.Lock()
	defer s.slaMu.Unlock()
	now := s.clock()
	var st slaState
	if err := s.db.FindByID(ctx, stateColl, slaStateID, &st); err != nil {
		return 0, fmt.Errorf("webhooks: SLA checkpoint: %w", err)
	}
	subs, err := s.matching(ctx, SLABreached, now)
	if err != nil {
		return 0, err
	}
	fired := 0
	if len(subs) > 0 {
		if fired, err = s.breaches(ctx, st.Until.Add(-slaOverlap), now); err != nil {
			return fired, err
		}
	}
	return fired, s.saveSLA(ctx, now)
}

func (s *Service) breaches(ctx context.Context, from, now time.Time) (int, error) {
	tax, _, err := s.taxonomy.Taxonomy(ctx)
	if err != nil {
		return 0, err
	}
	fired := 0
	for offset := 0; offset <= search.MaxFrom; offset += slaPage {
		res, err := s.search.Search(ctx, &auth.System, search.Request{Types: []string{search.TypeCase}, SLAState: "breached",
			Now: now, Sort: "-due", From: offset, Size: slaPage})
		if err != nil {
			return fired, err
		}
		for _, h := range res.Hits {
			// Cases with no running clock have no due time. Bleve (v2.6.1)
			// sorts a missing sort field last in descending order too, so
			// the first of them ends the due times (measured by
			// TestSLACheckLooksPastCasesWithoutARunningClock).
			due, ok := hitTime(h.Fields["due"])
			if !ok || !due.After(from) {
				return fired, nil // no running clock, or due before the window: the rest are older
			}
			if due.After(now) {
				continue // breached by a stopped clock; the running one is not due
			}
			ok, err := s.breach(ctx, h.ID, tax, now)
			if err != nil {
				return fired, err
			}
			if ok {
				fired++
			}
		}
		if len(res.Hits) < slaPage {
			break
		}
	}
	return fired, nil
}

// breach fires the breach of case id's running clock if it is due and has
// not fired.
func (s *Service) breach(ctx context.Context, id string, tax cases.Taxonomy, now time.Time) (bool, error) {
	c, err := s.cases.Case(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	m := c.Marks(tax)
	if m.Due.IsZero() || now.Before(m.Due) {
		return false, nil
	}
	clock := "resolve"
	if c.TriagedAt == nil {
		clock = "triage"
	}
	due := m.Due.UTC()
	eventID := fmt.Sprintf("sla-%s-%s-%d", c.ID, clock, due.Unix())
	var mk slaMarker
	err = s.db.FindByID(ctx, markersColl, eventID, &mk)
	if err == nil {
		return false, nil
	}
	if !errs.Is(err, errs.NotFound) {
		return false, err
	}
	ev := Event{ID: eventID, Name: SLABreached, OccurredAt: due, Entity: Entity{Type: "case", ID: c.ID, Key: c.Key, URL: s.link("cases", c.Key)}}
	caseData(&ev.Data, &c)
	ev.Data.Clock, ev.Data.DueAt = clock, &due
	subs, err := s.matching(ctx, SLABreached, due)
	if err != nil {
		return false, err
	}
	// Enqueue first, then mark: a crash between enqueues again, which the
	// deliveries' ids make harmless; the other order could lose the event.
	if err := s.enqueue(ctx, ev, subs); err != nil {
		return false, err
	}
	err = s.db.Insert(ctx, markersColl, slaMarker{ID: eventID, CaseID: c.ID, Clock: clock, Due: due, FiredAt: now})
	if err != nil && !errs.Is(err, errs.Conflict) {
		return false, err
	}
	return true, nil
}

func (s *Service) saveSLA(ctx context.Context, until time.Time) error {
	for range 10 {
		var st slaState
		if err := s.db.FindByID(ctx, stateColl, slaStateID, &st); err != nil {
			return err
		}
		if !until.After(st.Until) {
			return nil
		}
		expected := st.Version
		st.Until, st.Version = until, expected+1
		err := s.db.ReplaceVersioned(ctx, stateColl, slaStateID, expected, st)
		if !errs.Is(err, errs.PreconditionFailed) {
			return err
		}
	}
	return fmt.Errorf("webhooks: SLA checkpoint: too much contention")
}

// hitTime reads a date field of a search hit.
func hitTime(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}
