package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
	"casefile.dev/casefile/internal/webhook"
)

// TestSignatureFollowsTheDocumentedRecipe: a receiver that computes
// hex(HMAC-SHA256(secret, "<t>.<body>")) as API.md says gets the v1 value
// of X-Casefile-Signature; with another secret it does not. The other
// headers are the documented ones.
func TestSignatureFollowsTheDocumentedRecipe(t *testing.T) {
	s := newSystem(t)
	r := newReceiver(t, nil)
	sub := s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
	s.newCase(cases.Sev3)
	s.deliverAll()
	got := r.requests()
	require.Len(t, got, 1)
	h, body := got[0].header, got[0].body

	sig := h.Get("X-Casefile-Signature")
	parts := strings.Split(sig, ",")
	require.Len(t, parts, 2, sig)
	ts, ok := strings.CutPrefix(parts[0], "t=")
	require.True(t, ok, sig)
	v1, ok := strings.CutPrefix(parts[1], "v1=")
	require.True(t, ok, sig)
	assert.Equal(t, "1772442000", ts, "unix seconds of the (fake) time it was sent")
	recipe := func(secret string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + "." + string(body)))
		return hex.EncodeToString(m.Sum(nil))
	}
	assert.Equal(t, recipe(sub.Secret), v1)
	assert.NotEqual(t, recipe("s3cret-json-0123456788"), v1, "another secret gives another signature")

	assert.NoError(t, webhook.Verify(sub.Secret, sig, body, start, 5*time.Minute))
	assert.Error(t, webhook.Verify("s3cret-json-0123456788", sig, body, start, 5*time.Minute), "wrong secret")
	assert.Error(t, webhook.Verify(sub.Secret, sig, append(body, ' '), start, 5*time.Minute), "changed body")
	assert.Error(t, webhook.Verify(sub.Secret, sig, body, start.Add(time.Hour), 5*time.Minute), "replayed an hour later")

	ds := s.deliveries(sub)
	require.Len(t, ds, 1)
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	assert.Equal(t, "Casefile-Webhooks/1", h.Get("User-Agent"))
	assert.Equal(t, webhook.CaseCreated, h.Get("X-Casefile-Event"))
	assert.Equal(t, ds[0].ID, h.Get("X-Casefile-Delivery"))
	assert.Equal(t, webhook.StatusDelivered, ds[0].Status)
	require.Len(t, ds[0].History, 1)
	assert.Equal(t, 200, ds[0].History[0].StatusCode)
	assert.Equal(t, `{"ok":true}`, ds[0].History[0].Response)
}

// TestRetriesWithBackoffThenSucceeds: a receiver that fails three times
// gets the delivery again after each backoff step (30 s, 1 m, 2 m at full
// jitter; half of that at none), and it is delivered on the fourth try.
// Time is a fake clock: nothing waits.
func TestRetriesWithBackoffThenSucceeds(t *testing.T) {
	tests := []struct {
		name  string
		rand  func(int64) int64
		steps []time.Duration
	}{
		{"full_jitter", maxJitter, []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute}},
		{"no_jitter", func(int64) int64 { return 0 }, []time.Duration{15 * time.Second, 30 * time.Second, time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSystem(t, webhook.Options{AllowInsecure: true, Rand: tt.rand})
			r := newReceiver(t, func(n int) int {
				if n <= 3 {
					return http.StatusInternalServerError
				}
				return http.StatusNoContent
			})
			sub := s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
			s.newCase(cases.Sev3)
			s.deliverAll()
			id := s.deliveries(sub)[0].ID
			for i, step := range tt.steps {
				d := s.delivery(id)
				require.Equal(t, webhook.StatusPending, d.Status)
				require.Equal(t, i+1, d.Attempts)
				require.NotNil(t, d.NextAttemptAt)
				assert.Equal(t, step, d.NextAttemptAt.Sub(s.clock.Now()), "wait after attempt %d", i+1)
				assert.Equal(t, "HTTP 500", d.LastError)

				s.clock.Advance(step - time.Millisecond)
				n, err := s.Webhooks.RunDue(s.ctx)
				require.NoError(t, err)
				require.Zero(t, n, "not due yet")
				s.clock.Advance(time.Millisecond)
				n, err = s.Webhooks.RunDue(s.ctx)
				require.NoError(t, err)
				require.Equal(t, 1, n)
			}
			d := s.delivery(id)
			assert.Equal(t, webhook.StatusDelivered, d.Status)
			assert.Equal(t, 4, d.Attempts)
			assert.Nil(t, d.NextAttemptAt)
			var codes []int
			for _, a := range d.History {
				codes = append(codes, a.StatusCode)
			}
			assert.Equal(t, []int{500, 500, 500, 204}, codes)
			assert.Len(t, r.requests(), 4)
			body := string(r.requests()[0].body)
			for _, g := range r.requests() {
				assert.Equal(t, body, string(g.body), "every attempt sends the same body")
				assert.Equal(t, id, g.header.Get("X-Casefile-Delivery"))
			}
			assert.Equal(t, 1.0, s.metric("casefile_webhook_deliveries_total", map[string]string{"event": webhook.CaseCreated, "outcome": "delivered"}))
			assert.Equal(t, 3.0, s.metric("casefile_webhook_attempts_total", map[string]string{"result": "5xx"}))
			assert.Equal(t, 1.0, s.metric("casefile_webhook_attempts_total", map[string]string{"result": "2xx"}))
			assert.Zero(t, s.metric("casefile_webhook_queue_depth", nil))
		})
	}
}

// TestGivesUpAfterADay: a receiver that never answers 2xx is retried with
// steps growing to an hour, the last try exactly 24 h after the first;
// then the delivery fails and the failure counter counts it.
func TestGivesUpAfterADay(t *testing.T) {
	s := newSystem(t)
	r := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	sub := s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
	s.newCase(cases.Sev3)
	s.deliverAll()
	id := s.deliveries(sub)[0].ID
	for range 100 {
		d := s.delivery(id)
		if d.Status != webhook.StatusPending {
			break
		}
		s.clock.Set(*d.NextAttemptAt)
		_, err := s.Webhooks.RunDue(s.ctx)
		require.NoError(t, err)
	}
	d := s.delivery(id)
	require.Equal(t, webhook.StatusFailed, d.Status)
	// 30 s, 1 m, … 32 m, then 22 hourly steps, then the rest of the day.
	assert.Equal(t, 31, d.Attempts)
	require.Len(t, d.History, 31)
	first, last := d.History[0].At, d.History[30].At
	assert.Equal(t, 24*time.Hour, last.Sub(first))
	for i := 1; i < len(d.History); i++ {
		assert.LessOrEqual(t, d.History[i].At.Sub(d.History[i-1].At), time.Hour, "step %d", i)
	}
	assert.Nil(t, d.NextAttemptAt)
	require.NotNil(t, d.FailedAt)
	assert.Equal(t, 503, d.LastStatusCode)
	assert.Len(t, r.requests(), 31)
	assert.Equal(t, 1.0, s.metric("casefile_webhook_delivery_failures_total", map[string]string{"event": webhook.CaseCreated}))
	assert.Equal(t, 1.0, s.metric("casefile_webhook_deliveries_total", map[string]string{"event": webhook.CaseCreated, "outcome": "failed"}))

	s.clock.Advance(48 * time.Hour)
	n, err := s.Webhooks.RunDue(s.ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "a failed delivery is not tried again")
}

// TestNoDuplicatesFromReplaysOrTwoInstances: a dispatcher that reads
// events another already enqueued (a replay), and two instances that find
// the same deliveries due at once, make one delivery and one request per
// event and subscriber.
func TestNoDuplicatesFromReplaysOrTwoInstances(t *testing.T) {
	s := newSystem(t)
	r := newReceiver(t, nil)
	sub := s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.CaseCreated, webhook.CaseTransitioned)
	other := s.another(webhook.Options{AllowInsecure: true, Rand: maxJitter})
	_, err := other.Tail(s.ctx) // positions the other instance before the events
	require.NoError(t, err)

	c := s.newCase(cases.Sev3)
	s.transition(c, cases.StatusTriage)
	n, err := s.Webhooks.Tail(s.ctx)
	require.NoError(t, err)
	require.Positive(t, n)
	n, err = other.Tail(s.ctx) // reads the same events again
	require.NoError(t, err)
	require.Positive(t, n)
	assert.Len(t, s.deliveries(sub), 2, "two events, one delivery each")
	assert.Equal(t, 2.0, s.metric("casefile_webhook_enqueued_total", map[string]string{"event": webhook.CaseCreated})+
		s.metric("casefile_webhook_enqueued_total", map[string]string{"event": webhook.CaseTransitioned}))

	// Both instances have both deliveries due: both try at once.
	var wg sync.WaitGroup
	for _, w := range []*webhook.Service{s.Webhooks, other} {
		wg.Go(func() {
			_, err := w.RunDue(s.ctx)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Len(t, r.requests(), 2, "each delivery sent once")
	for _, d := range s.deliveries(sub) {
		assert.Equal(t, webhook.StatusDelivered, d.Status)
		assert.Equal(t, 1, d.Attempts)
	}
}

// TestCheckpointSurvivesARestart: events written while no dispatcher ran
// are delivered by the next one, which starts from the stored checkpoint
// (a first start on a fresh store would start at the present instead).
func TestCheckpointSurvivesARestart(t *testing.T) {
	s := newSystem(t)
	r := newReceiver(t, nil)
	s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
	first := s.newCase(cases.Sev3)
	s.deliverAll()
	before, err := s.Webhooks.Checkpoint(s.ctx)
	require.NoError(t, err)

	// "Down": this instance reads nothing more.
	second := s.newCase(cases.Sev2)
	restarted := s.another(webhook.Options{AllowInsecure: true, Rand: maxJitter})
	_, err = restarted.Tail(s.ctx)
	require.NoError(t, err)
	_, err = restarted.RunDue(s.ctx)
	require.NoError(t, err)

	evs := r.events(t)
	require.Len(t, evs, 2)
	assert.Equal(t, []string{first.Key, second.Key}, []string{evs[0].Entity.Key, evs[1].Entity.Key})
	after, err := restarted.Checkpoint(s.ctx)
	require.NoError(t, err)
	assert.Greater(t, after, before)
}

// TestPendingDeliveriesSurviveARestart: a delivery waiting for its retry
// is found by a restarted sender (the one load of its schedule).
func TestPendingDeliveriesSurviveARestart(t *testing.T) {
	s := newSystem(t)
	r := newReceiver(t, func(n int) int {
		if n == 1 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	sub := s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
	s.newCase(cases.Sev3)
	s.deliverAll()
	s.clock.Advance(time.Minute)
	restarted := s.another(webhook.Options{AllowInsecure: true, Rand: maxJitter})
	n, err := restarted.RunDue(s.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	d := s.deliveries(sub)[0]
	assert.Equal(t, webhook.StatusDelivered, d.Status)
	assert.Equal(t, 2, d.Attempts)
}

// TestDeletedWebhookGetsNothing: deleting a webhook fails its pending
// deliveries without sending them; it is gone from the list, its id is
// not found, and both changes are audited.
func TestDeletedWebhookGetsNothing(t *testing.T) {
	s := newSystem(t)
	r := newReceiver(t, nil)
	sub := s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
	s.newCase(cases.Sev3)
	_, err := s.Webhooks.Tail(s.ctx)
	require.NoError(t, err)
	ds := s.deliveries(sub)
	require.Len(t, ds, 1)

	require.NoError(t, s.Webhooks.Delete(s.ctx, s.admin, sub.ID, auth.Meta{RequestID: "del-1"}))
	_, err = s.Webhooks.RunDue(s.ctx)
	require.NoError(t, err)
	assert.Empty(t, r.requests())
	d := s.delivery(ds[0].ID)
	assert.Equal(t, webhook.StatusFailed, d.Status)
	assert.Equal(t, "the webhook was deleted", d.LastError)

	list, total, err := s.Webhooks.List(s.ctx, s.admin, 50, 0)
	require.NoError(t, err)
	assert.Empty(t, list)
	assert.Zero(t, total)
	errstest.Require(t, s.Webhooks.Delete(s.ctx, s.admin, sub.ID, auth.Meta{}), errs.NotFound)
	_, _, _, err = s.Webhooks.Deliveries(s.ctx, s.admin, sub.ID, 10, "")
	errstest.Require(t, err, errs.NotFound)

	s.newCase(cases.Sev3)
	s.deliverAll()
	assert.Empty(t, r.requests(), "no deliveries after deletion")

	events, _, _, err := s.Audit.List(s.ctx, auth.AuditFilter{EntityType: "webhook", EntityID: sub.ID}, 10, "")
	require.NoError(t, err)
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
		assert.NotContains(t, e.Detail, "secret")
		for _, v := range e.Detail {
			assert.NotContains(t, v, sub.Secret)
		}
	}
	assert.Equal(t, []string{"webhook.delete", "webhook.create"}, actions)
}

// TestDeliveriesListNewestFirstInPages: a webhook's deliveries page
// newest first with a cursor, and the total counts them all.
func TestDeliveriesListNewestFirstInPages(t *testing.T) {
	s := newSystem(t)
	r := newReceiver(t, nil)
	sub := s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
	var keys []string
	for range 3 {
		keys = append(keys, s.newCase(cases.Sev3).Key)
		s.clock.Advance(time.Second)
	}
	s.deliverAll()

	page, next, total, err := s.Webhooks.Deliveries(s.ctx, s.admin, sub.ID, 2, "")
	require.NoError(t, err)
	assert.EqualValues(t, 3, total)
	require.Len(t, page, 2)
	require.NotEmpty(t, next)
	rest, next2, _, err := s.Webhooks.Deliveries(s.ctx, s.admin, sub.ID, 2, next)
	require.NoError(t, err)
	require.Len(t, rest, 1)
	assert.Empty(t, next2)
	var got []string
	for _, d := range append(page, rest...) {
		got = append(got, d.EventID)
		assert.Equal(t, webhook.StatusDelivered, d.Status)
	}
	evByKey := map[string]string{}
	for _, ev := range r.events(t) {
		evByKey[ev.Entity.Key] = ev.ID
	}
	assert.Equal(t, []string{evByKey[keys[2]], evByKey[keys[1]], evByKey[keys[0]]}, got, "newest first")

	_, _, _, err = s.Webhooks.Deliveries(s.ctx, s.admin, sub.ID, 2, "not-a-cursor")
	errstest.Require(t, err, errs.Invalid)
}

// TestRunDeliversOnWritesAndStops: the running service is woken by the
// audit log's append (no poll: its interval is an hour) and delivers; it
// returns once its context ends.
func TestRunDeliversOnWritesAndStops(t *testing.T) {
	s := newSystem(t, webhook.Options{AllowInsecure: true, Rand: maxJitter, PollInterval: time.Hour, SLAInterval: time.Hour})
	r := newReceiver(t, nil)
	s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
	ctx, cancel := context.WithCancel(s.ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s.Webhooks.Run(ctx)
	}()
	c := s.newCase(cases.Sev3)
	require.Eventually(t, func() bool { return len(r.requests()) == 1 }, 20*time.Second, 10*time.Millisecond)
	cancel()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	evs := r.events(t)
	require.Len(t, evs, 1)
	assert.Equal(t, c.Key, evs[0].Entity.Key)
}
