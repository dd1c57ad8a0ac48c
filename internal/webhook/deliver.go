package webhook

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"casefile.dev/casefile/internal/errs"
)

// Status of a delivery.
type Status string

const (
	StatusPending   Status = "pending"
	StatusDelivered Status = "delivered"
	StatusFailed    Status = "failed"
)

// Delivery is one event for one subscription, with its attempts.
type Delivery struct {
	ID        string `bson:"_id" json:"id"`
	WebhookID string `bson:"webhook_id" json:"webhook_id"`
	Event     string `bson:"event" json:"event"`
	EventID   string `bson:"event_id" json:"event_id"`
	Status    Status `bson:"status" json:"status"`
	Attempts  int    `bson:"attempts" json:"attempts"`
	// NextAttemptAt is set while the delivery is pending.
	NextAttemptAt  *time.Time `bson:"next_attempt_at,omitempty" json:"next_attempt_at,omitempty"`
	LastStatusCode int        `bson:"last_status_code,omitempty" json:"last_status_code,omitempty"`
	LastError      string     `bson:"last_error,omitempty" json:"last_error,omitempty"`
	CreatedAt      time.Time  `bson:"created_at" json:"created_at"`
	FirstAttemptAt *time.Time `bson:"first_attempt_at,omitempty" json:"first_attempt_at,omitempty"`
	DeliveredAt    *time.Time `bson:"delivered_at,omitempty" json:"delivered_at,omitempty"`
	FailedAt       *time.Time `bson:"failed_at,omitempty" json:"failed_at,omitempty"`
	// History is the attempts, oldest first (the last maxHistory).
	History []Attempt `bson:"history" json:"history"`
	// Body is exactly what is sent, so that every attempt sends the same.
	Body string `bson:"body" json:"-"`
	// A sender holds a lease while it attempts (see claim).
	LeaseUntil *time.Time `bson:"lease_until,omitempty" json:"-"`
	LeaseOwner string     `bson:"lease_owner,omitempty" json:"-"`
	Version    int64      `bson:"version" json:"-"`
}

// Attempt is one try at a delivery.
type Attempt struct {
	At         time.Time `bson:"at" json:"at"`
	StatusCode int       `bson:"status_code,omitempty" json:"status_code,omitempty"`
	Error      string    `bson:"error,omitempty" json:"error,omitempty"`
	DurationMS int64     `bson:"duration_ms" json:"duration_ms"`
	// Response is the start of the receiver's answer.
	Response string `bson:"response,omitempty" json:"response,omitempty"`
}

func (a Attempt) ok() bool { return a.StatusCode >= 200 && a.StatusCode < 300 }

// schedule is the in-memory timetable of pending deliveries: a min-heap of
// due times with a map of each delivery's current one (older heap entries
// are skipped when they surface). Deliveries being attempted are held
// apart so that no two attempts of one delivery run here at once.
type schedule struct {
	mu       sync.Mutex
	due      map[string]time.Time
	inflight map[string]bool
	h        dueHeap
	depth    prometheus.Gauge
}

type dueItem struct {
	at time.Time
	id string
}

type dueHeap []dueItem

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueItem)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newSchedule(depth prometheus.Gauge) *schedule {
	return &schedule{due: map[string]time.Time{}, inflight: map[string]bool{}, depth: depth}
}

// put (re)schedules id at at.
func (q *schedule) put(id string, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.due[id] = at
	heap.Push(&q.h, dueItem{at, id})
	q.gauge()
}

// remove forgets id.
func (q *schedule) remove(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.due, id)
	q.gauge()
}

// take returns one delivery due at now and marks it in flight.
func (q *schedule) take(now time.Time) (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var busy []dueItem
	defer func() {
		for _, it := range busy {
			heap.Push(&q.h, it)
		}
	}()
	for q.h.Len() > 0 {
		top := q.h[0]
		if at, ok := q.due[top.id]; !ok || !at.Equal(top.at) {
			heap.Pop(&q.h) // superseded
			continue
		}
		if top.at.After(now) {
			return "", false
		}
		heap.Pop(&q.h)
		if q.inflight[top.id] {
			// Rescheduled while being attempted: after that attempt.
			busy = append(busy, top)
			continue
		}
		delete(q.due, top.id)
		q.inflight[top.id] = true
		return top.id, true
	}
	return "", false
}

// done ends id's attempt (which has rescheduled it if it must).
func (q *schedule) done(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inflight, id)
	q.gauge()
}

func (q *schedule) gauge() {
	n := len(q.due)
	for id := range q.inflight {
		if _, ok := q.due[id]; !ok {
			n++
		}
	}
	q.depth.Set(float64(n))
}

// loadQueue fills the schedule with the pending deliveries, once per
// process: on the embedded store, the one scan of the deliveries
// collection. From then on enqueue and attempts keep the schedule.
func (s *Service) loadQueue(ctx context.Context) error {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	if s.queueLoaded {
		return nil
	}
	if err := s.loadPending(ctx); err != nil {
		return err
	}
	s.queueLoaded = true
	return nil
}

// loadPending schedules every pending delivery at its stored time. Against
// MongoDB the status index serves it, and the poll repeats it: a delivery
// that only another instance knew of (its quality alert, its retry) is
// taken over when that instance dies.
func (s *Service) loadPending(ctx context.Context) error {
	cur, err := s.db.Collection(deliveriesColl).Find(ctx, bson.D{{Key: "status", Value: StatusPending}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "next_attempt_at", Value: 1}}))
	if err != nil {
		return fmt.Errorf("webhooks: pending deliveries: %w", err)
	}
	var pending []struct {
		ID            string    `bson:"_id"`
		NextAttemptAt time.Time `bson:"next_attempt_at"`
	}
	if err := cur.All(ctx, &pending); err != nil {
		return fmt.Errorf("webhooks: pending deliveries: %w", err)
	}
	for _, p := range pending {
		s.queue.put(p.ID, p.NextAttemptAt)
	}
	return nil
}

// RunDue attempts every delivery due now, waits for the attempts, and
// repeats until none is due; it returns how many attempts it made. Run
// does the same continuously; tests drive time with a fake clock and call
// this.
func (s *Service) RunDue(ctx context.Context) (int, error) {
	if err := s.loadQueue(ctx); err != nil {
		return 0, err
	}
	total := 0
	for {
		n := s.dispatch(ctx)
		s.inflight.Wait()
		total += n
		if n == 0 {
			return total, nil
		}
	}
}

// dispatch starts an attempt for each due delivery while workers are free.
func (s *Service) dispatch(ctx context.Context) int {
	n := 0
	for {
		select {
		case s.slots <- struct{}{}:
		default:
			return n
		}
		id, ok := s.queue.take(s.clock())
		if !ok {
			<-s.slots
			return n
		}
		n++
		s.inflight.Add(1)
		go func() {
			defer s.inflight.Done()
			defer wake(s.wakeSend) // a worker is free
			defer func() { <-s.slots }()
			defer s.queue.done(id)
			s.attempt(ctx, id)
		}()
	}
}

// attempt makes one attempt at delivery id if it is still due, and writes
// down the result.
func (s *Service) attempt(ctx context.Context, id string) {
	now := s.clock()
	var d Delivery
	if err := s.db.FindByID(ctx, deliveriesColl, id, &d); err != nil {
		if !errs.Is(err, errs.NotFound) {
			s.log.Warn("reading a webhook delivery failed; will retry", "delivery", id, "err", err)
			s.queue.put(id, now.Add(firstRetry))
		}
		return
	}
	if s.reschedule(&d, now) {
		return
	}
	sub, ok, err := s.subscription(ctx, d.WebhookID)
	if err != nil {
		s.log.Warn("reading a webhook failed; will retry", "webhook", d.WebhookID, "err", err)
		s.queue.put(id, now.Add(firstRetry))
		return
	}
	if !ok {
		s.finish(ctx, &d, Attempt{At: now, Error: "the webhook was deleted"}, true)
		return
	}
	if !s.claim(ctx, &d, now) {
		return
	}
	s.finish(ctx, &d, s.send(ctx, sub, &d, now), false)
}

// reschedule puts d back in the schedule if it is not to be attempted now
// (done, not yet due, or leased by another sender) and reports whether it
// did so or dropped it.
func (s *Service) reschedule(d *Delivery, now time.Time) bool {
	switch {
	case d.Status != StatusPending:
		s.queue.remove(d.ID)
	case d.NextAttemptAt != nil && d.NextAttemptAt.After(now):
		s.queue.put(d.ID, *d.NextAttemptAt)
	case d.LeaseUntil != nil && d.LeaseUntil.After(now):
		s.queue.put(d.ID, *d.LeaseUntil)
	default:
		return false
	}
	return true
}

// claim leases d to this instance with a versioned write: of several
// instances that find d due, one wins and sends; the others re-read it.
func (s *Service) claim(ctx context.Context, d *Delivery, now time.Time) bool {
	until := now.Add(lease)
	expected := d.Version
	d.LeaseUntil, d.LeaseOwner, d.Version = &until, s.instance, expected+1
	err := s.db.ReplaceVersioned(ctx, deliveriesColl, d.ID, expected, d)
	if err == nil {
		return true
	}
	if !errs.Is(err, errs.PreconditionFailed) {
		s.log.Warn("claiming a webhook delivery failed; will retry", "delivery", d.ID, "err", err)
		s.queue.put(d.ID, now.Add(firstRetry))
		return false
	}
	// Someone else changed it: look again soon.
	s.queue.put(d.ID, now)
	return false
}

// send makes the HTTP request of one attempt.
func (s *Service) send(ctx context.Context, sub Subscription, d *Delivery, at time.Time) Attempt {
	a := Attempt{At: at}
	if msg := s.policy.check(sub.URL); msg != "" {
		a.Error = "the URL is no longer allowed: it " + msg
		return a
	}
	ctx, cancel := context.WithTimeout(ctx, AttemptTimeout)
	defer cancel()
	body := []byte(d.Body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(body))
	if err != nil {
		a.Error = "cannot make a request to the URL"
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(EventHeader, d.Event)
	req.Header.Set(DeliveryHeader, d.ID)
	req.Header.Set(SignatureHeader, Sign(sub.Secret, s.now(), body))
	start := time.Now()
	res, err := s.client.Do(req)
	if err != nil {
		a.DurationMS = time.Since(start).Milliseconds()
		a.Error = describe(err)
		return a
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes))
	a.DurationMS = time.Since(start).Milliseconds()
	a.StatusCode, a.Response = res.StatusCode, snippet(got)
	switch {
	case a.ok():
	case res.StatusCode >= 300 && res.StatusCode < 400:
		a.Error = fmt.Sprintf("HTTP %d: redirects are not followed", res.StatusCode)
	default:
		a.Error = fmt.Sprintf("HTTP %d", res.StatusCode)
	}
	return a
}

// finish records attempt a on d and decides what comes next: delivered
// on a 2xx; failed when final, or when the retry window is over; else
// another attempt after the backoff.
func (s *Service) finish(ctx context.Context, d *Delivery, a Attempt, final bool) {
	ctx = context.WithoutCancel(ctx) // an attempt made is written down, shutdown or not
	now := s.clock()
	d.Attempts++
	d.History = append(d.History, a)
	if len(d.History) > maxHistory {
		d.History = d.History[len(d.History)-maxHistory:]
	}
	if d.FirstAttemptAt == nil {
		d.FirstAttemptAt = &a.At
	}
	d.LastStatusCode, d.LastError = a.StatusCode, a.Error
	d.LeaseUntil, d.LeaseOwner, d.NextAttemptAt = nil, "", nil
	deadline := d.FirstAttemptAt.Add(RetryWindow)
	switch {
	case a.ok():
		d.Status, d.DeliveredAt = StatusDelivered, &now
	case final || !now.Before(deadline):
		d.Status, d.FailedAt = StatusFailed, &now
	default:
		next := now.Add(s.backoff(d.Attempts))
		if next.After(deadline) {
			next = deadline // one last try at the end of the window
		}
		d.NextAttemptAt = &next
	}
	expected := d.Version
	d.Version = expected + 1
	if err := s.db.ReplaceVersioned(ctx, deliveriesColl, d.ID, expected, d); err != nil {
		// Lost the lease (the attempt outlived it) or the store failed:
		// the delivery stays as the store has it and is read again.
		s.log.Warn("recording a webhook attempt failed", "delivery", d.ID, "err", err)
		s.queue.put(d.ID, now.Add(firstRetry))
		return
	}
	s.metrics.attempts.WithLabelValues(resultClass(a)).Inc()
	switch d.Status {
	case StatusDelivered:
		s.metrics.deliveries.WithLabelValues(d.Event, string(StatusDelivered)).Inc()
		s.queue.remove(d.ID)
	case StatusFailed:
		s.metrics.deliveries.WithLabelValues(d.Event, string(StatusFailed)).Inc()
		s.metrics.failures.WithLabelValues(d.Event).Inc()
		s.queue.remove(d.ID)
		s.log.Warn("webhook delivery failed for good", "delivery", d.ID, "webhook", d.WebhookID, "event", d.Event, "attempts", d.Attempts, "last_error", d.LastError)
	default:
		s.queue.put(d.ID, *d.NextAttemptAt)
	}
}

// backoff is the wait after the n-th failed attempt: between half and all
// of min(30 s·2^(n-1), 1 h) ("equal jitter": retries of many deliveries
// that failed together spread out instead of arriving together again).
func (s *Service) backoff(n int) time.Duration {
	d := maxRetry
	if n <= 12 { // 30 s·2^11 is past the cap already
		d = min(firstRetry<<(n-1), maxRetry)
	}
	half := d / 2
	return half + time.Duration(s.rand(int64(half)+1))
}

func resultClass(a Attempt) string {
	if a.StatusCode == 0 {
		return "error"
	}
	return fmt.Sprintf("%dxx", a.StatusCode/100)
}

// describe is an attempt's error for the delivery log: without the URL,
// whose path may be a credential.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "Client.Timeout") {
		msg = fmt.Sprintf("no answer within %s", AttemptTimeout)
	}
	return truncate(msg, 300)
}

// snippet is the start of an answer, as printable text.
func snippet(b []byte) string {
	s := strings.ToValidUTF8(string(b[:min(len(b), snippetBytes)]), "�")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return -1
		}
		return r
	}, s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
