package webhook

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases/quality"
	"casefile.dev/casefile/internal/errs"
)

const (
	tailStateID = "audit_tail"
	slaStateID  = "sla"
	// saveEvery events a long tail pass saves its checkpoint.
	saveEvery = 200
	// handedCap bounds the events Notify hands over that the tail has not
	// yet taken. Past it the oldest are dropped, and the tail reads them
	// from the store instead: a slow dispatcher costs reads, not memory.
	handedCap = 4096
	// saveAfter is how long a woken pass may leave the checkpoint behind.
	// Saving costs two store commands, and woken passes run after nearly
	// every write, so saving on each one was a third of the commands
	// behind filing a case (measured). A crash replays the events of at
	// most this long a stretch, which enqueueing absorbs: it is
	// idempotent. (The polling pass always saves.)
	saveAfter = time.Second
)

// tailState is the dispatcher's checkpoint: the last audit seq whose
// deliveries are all enqueued. Every instance may advance it, never back.
type tailState struct {
	ID      string `bson:"_id"`
	Seq     int64  `bson:"seq"`
	Version int64  `bson:"version"`
}

// Notify is told of every event this process appends to the audit log
// (auth.Audit.OnRecord), in seq order. It keeps the event for the tail,
// which then need not read it back, and wakes the dispatcher when the
// event may be a webhook event. It never blocks.
func (s *Service) Notify(e auth.AuditEvent) {
	s.handedMu.Lock()
	if len(s.handed) == handedCap {
		s.handed = s.handed[1:] // not a copy: this runs inside the audit log's append
	}
	s.handed = append(s.handed, e)
	s.known = max(s.known, e.Seq)
	s.handedMu.Unlock()
	if _, ok := auditEvents[e.Action]; ok && e.Outcome == auth.OutcomeSuccess {
		wake(s.wakeTail)
	}
}

// take returns the handed-over event seq, if Notify kept it, and forgets
// it and every event before it (the tail has passed them).
func (s *Service) take(seq int64) (auth.AuditEvent, bool) {
	s.handedMu.Lock()
	defer s.handedMu.Unlock()
	i, found := slices.BinarySearchFunc(s.handed, seq, func(e auth.AuditEvent, seq int64) int { return cmp.Compare(e.Seq, seq) })
	if !found {
		s.handed = s.handed[i:]
		return auth.AuditEvent{}, false
	}
	e := s.handed[i]
	s.handed = s.handed[i+1:]
	return e, true
}

// knownHead is the last seq this process appended.
func (s *Service) knownHead() int64 {
	s.handedMu.Lock()
	defer s.handedMu.Unlock()
	return s.known
}

// Tail reads the audit log from the checkpoint to its end, enqueues the
// deliveries of every event a subscription asked for, and saves the
// checkpoint. It returns how many audit events it read. An error stops the
// pass at the event that failed, which the next pass reads again.
func (s *Service) Tail(ctx context.Context) (int, error) {
	return s.tail(ctx, false)
}

// tail is a pass of the dispatcher. A woken pass (woken true) goes only as
// far as this process's own appends, which Notify handed over: it reads
// the store only for seqs another instance wrote in between, and leaves
// the events past them to the polling pass, which reads to the end. A
// woken pass saves the checkpoint at most every saveAfter.
func (s *Service) tail(ctx context.Context, woken bool) (int, error) {
	s.tailMu.Lock()
	defer s.tailMu.Unlock()
	if s.next == 0 {
		var st tailState
		if err := s.db.FindByID(ctx, stateColl, tailStateID, &st); err != nil {
			return 0, fmt.Errorf("webhooks: checkpoint: %w", err)
		}
		s.next, s.saved = st.Seq+1, st.Seq+1
	}
	read := 0
	save := func() error { return s.saveProgress(ctx) }
	for {
		e, ok := s.take(s.next)
		if !ok && woken && s.next > s.knownHead() {
			break
		}
		var err error
		if !ok {
			e, err = s.audit.Event(ctx, s.next)
		}
		if errs.Is(err, errs.NotFound) {
			skip, gerr := s.gap(ctx)
			if gerr != nil {
				return read, gerr
			}
			if skip {
				s.next++
				continue
			}
			break
		}
		if err != nil {
			return read, fmt.Errorf("webhooks: audit event %d: %w", s.next, err)
		}
		if err := s.handleAudit(ctx, e); err != nil {
			_ = save()
			return read, err
		}
		s.next++
		read++
		if read%saveEvery == 0 {
			if err := save(); err != nil {
				return read, err
			}
		}
	}
	if woken && time.Since(s.savedAt) < saveAfter {
		return read, nil
	}
	return read, save()
}

// saveTail saves the checkpoint if passes moved past it.
func (s *Service) saveTail(ctx context.Context) error {
	s.tailMu.Lock()
	defer s.tailMu.Unlock()
	return s.saveProgress(ctx)
}

// saveProgress saves the checkpoint as far as the tail got; tailMu is held.
func (s *Service) saveProgress(ctx context.Context) error {
	if s.next == s.saved {
		return nil
	}
	if err := s.saveCheckpoint(ctx, s.next-1); err != nil {
		return err
	}
	s.saved, s.savedAt = s.next, time.Now()
	return nil
}

// gap decides about a missing seq with a later one present. The audit log
// has no gaps by construction (an append takes seq n+1 only after reading
// n), so this is a deleted event; it is skipped, with a warning, only when
// seen on two passes, lest a racing append be mistaken for one.
func (s *Service) gap(ctx context.Context) (bool, error) {
	_, err := s.audit.Event(ctx, s.next+1)
	if errs.Is(err, errs.NotFound) {
		s.gapSeen = 0
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if s.gapSeen != s.next {
		s.gapSeen = s.next
		return false, nil
	}
	s.log.Warn("the audit log has a gap; webhook events of the missing event are lost", "seq", s.next)
	return true, nil
}

func (s *Service) handleAudit(ctx context.Context, e auth.AuditEvent) error {
	name, ok := auditEvents[e.Action]
	if !ok || e.Outcome != auth.OutcomeSuccess {
		return nil
	}
	subs, err := s.matching(ctx, name, e.At)
	if err != nil || len(subs) == 0 {
		return err
	}
	ev, err := s.fromAudit(ctx, name, e)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, ev, subs)
}

// saveCheckpoint moves the checkpoint forward to seq (never back: another
// instance may be ahead).
func (s *Service) saveCheckpoint(ctx context.Context, seq int64) error {
	for range 10 {
		var st tailState
		if err := s.db.FindByID(ctx, stateColl, tailStateID, &st); err != nil {
			return err
		}
		if st.Seq >= seq {
			return nil
		}
		expected := st.Version
		st.Seq, st.Version = seq, expected+1
		err := s.db.ReplaceVersioned(ctx, stateColl, tailStateID, expected, st)
		if !errs.Is(err, errs.PreconditionFailed) {
			return err
		}
	}
	return fmt.Errorf("webhooks: checkpoint: too much contention")
}

// Checkpoint is the last audit seq the dispatchers have handled.
func (s *Service) Checkpoint(ctx context.Context) (int64, error) {
	var st tailState
	err := s.db.FindByID(ctx, stateColl, tailStateID, &st)
	return st.Seq, err
}

// auditHead finds the last audit seq without a scan: the seqs are
// contiguous from 1, so probing doubling seqs and then bisecting takes
// about 2·log2(n) lookups by _id.
func (s *Service) auditHead(ctx context.Context) (int64, error) {
	exists := func(seq int64) (bool, error) {
		_, err := s.audit.Event(ctx, seq)
		if errs.Is(err, errs.NotFound) {
			return false, nil
		}
		return err == nil, err
	}
	ok, err := exists(1)
	if err != nil || !ok {
		return 0, err
	}
	lo, hi := int64(1), int64(2)
	for {
		ok, err := exists(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := exists(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// QualityAlert enqueues a quality.alert (quality.Service.OnAlert). Alerts
// are not audited, so this hook is their only way here: if the process
// dies after the quality service stored the alert and before this returns,
// the alert's deliveries are never made (the alert itself is kept, and
// the quality service does not raise it again).
func (s *Service) QualityAlert(ctx context.Context, a quality.Alert) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	ev := fromAlert(a)
	subs, err := s.matching(ctx, QualityAlert, ev.OccurredAt)
	if err == nil && len(subs) > 0 {
		err = s.enqueue(ctx, ev, subs)
	}
	if err != nil {
		s.log.Error("enqueueing a quality.alert webhook failed; it is lost", "alert", ev.Entity.ID, "err", err)
	}
}

// deliveryID is the _id of the delivery of event eventID to subscription
// subID: the same wherever and however often it is computed.
func deliveryID(subID, eventID string) string {
	sum := sha256.Sum256([]byte(subID + "\x00" + eventID))
	return "dl_" + hex.EncodeToString(sum[:16])
}

// enqueue stores one delivery of ev per subscription, once: a delivery
// that already exists (a replay, another instance) is left as it is.
func (s *Service) enqueue(ctx context.Context, ev Event, subs []Subscription) error {
	now := s.clock()
	for _, sub := range subs {
		body, err := render(sub.Format, ev)
		if err != nil {
			return err
		}
		d := Delivery{ID: deliveryID(sub.ID, ev.ID), WebhookID: sub.ID, Event: ev.Name, EventID: ev.ID, Status: StatusPending,
			NextAttemptAt: &now, CreatedAt: now, Body: string(body), History: []Attempt{}, Version: 1}
		err = s.db.Insert(ctx, deliveriesColl, d)
		switch {
		case errs.Is(err, errs.Conflict):
			// Enqueued before. Scheduling it costs one read, which drops
			// it if it is done, and lets this instance take over retries
			// of another that died.
		case err != nil:
			return err
		default:
			s.metrics.enqueued.WithLabelValues(ev.Name).Inc()
			if err := s.appendLog(ctx, sub.ID, d.ID); err != nil {
				// The delivery happens all the same; it is missing from
				// its webhook's list.
				s.log.Warn("adding a delivery to its webhook's log failed", "delivery", d.ID, "err", err)
			}
		}
		s.queue.put(d.ID, now)
	}
	wake(s.wakeSend)
	return nil
}
