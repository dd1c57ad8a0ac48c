package webhook_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/cases"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/storetest"
	"casefile.dev/casefile/internal/webhook"
)

// TestWokenPassesReadNoAuditEvents: the events this process appends reach
// the dispatcher from the append itself (Notify), so the passes their
// writes wake read none of them back from the store.
func TestWokenPassesReadNoAuditEvents(t *testing.T) {
	var sent storetest.Commands
	s := newSystemOn(t, storetest.NewWith(t, sent.Option()))
	r := newReceiver(t, nil)
	sub := s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
	_, err := s.Webhooks.Tail(s.ctx)
	require.NoError(t, err)

	cmds := sent.During(func() {
		for range 3 {
			s.newCase(cases.Sev3)
			_, err := s.Webhooks.WokenTail(s.ctx)
			require.NoError(t, err)
		}
	})
	assert.NotContains(t, cmds, "find audit")
	assert.Len(t, s.deliveries(sub), 3, "every case.created was enqueued")
}

// TestWokenPassGoesAsFarAsItsOwnAppends: a woken pass reads from the store
// the events other instances appended before this one's, and leaves those
// after it to the polling pass.
func TestWokenPassGoesAsFarAsItsOwnAppends(t *testing.T) {
	s := newSystem(t)
	r := newReceiver(t, nil)
	s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
	// other stands for an instance that appended only b's event: a's and
	// c's came from elsewhere. (Every append in this process is handed to
	// s.Webhooks; other is told of b's by hand.)
	other := s.another(webhook.Options{AllowInsecure: true, PublicURL: publicURL, Rand: maxJitter})
	_, err := other.Tail(s.ctx)
	require.NoError(t, err)
	from, err := other.Checkpoint(s.ctx)
	require.NoError(t, err)
	a, b, c := s.newCase(cases.Sev3), s.newCase(cases.Sev3), s.newCase(cases.Sev3)
	other.Notify(s.createdEvent(from, b.Key))

	keys := func() []string {
		_, err := other.RunDue(s.ctx)
		require.NoError(t, err)
		var out []string
		for _, ev := range r.events(t) {
			out = append(out, ev.Entity.Key)
		}
		return out
	}
	_, err = other.WokenTail(s.ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{a.Key, b.Key}, keys())

	_, err = other.Tail(s.ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{a.Key, b.Key, c.Key}, keys(), "the polling pass reads to the end")
}

// createdEvent finds the case.create audit event of the case key after
// seq from.
func (s *system) createdEvent(from int64, key string) auth.AuditEvent {
	s.t.Helper()
	for seq := from + 1; ; seq++ {
		e, err := s.Audit.Event(s.ctx, seq)
		require.NoError(s.t, err, "no case.create event for %s", key)
		if e.Action == "case.create" && e.Entity.ID == key {
			return e
		}
	}
}

// TestStopSavesTheCheckpoint: woken passes save the checkpoint at most
// once a second, so stopping saves what they left, and a restart does not
// read those events again.
func TestStopSavesTheCheckpoint(t *testing.T) {
	s := newSystem(t, webhook.Options{AllowInsecure: true, Rand: maxJitter, PollInterval: time.Hour, SLAInterval: time.Hour})
	r := newReceiver(t, nil)
	s.subscribe(r.srv.URL, webhook.FormatJSON, webhook.CaseCreated)
	ctx, cancel := context.WithCancel(s.ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s.Webhooks.Run(ctx)
	}()
	for range 3 {
		s.newCase(cases.Sev3)
	}
	require.Eventually(t, func() bool { return len(r.requests()) == 3 }, 20*time.Second, 10*time.Millisecond)
	cancel()
	<-stopped

	cp, err := s.Webhooks.Checkpoint(s.ctx)
	require.NoError(t, err)
	_, err = s.Audit.Event(s.ctx, cp)
	require.NoError(t, err)
	_, err = s.Audit.Event(s.ctx, cp+1)
	assert.True(t, errs.Is(err, errs.NotFound), "the checkpoint is the last event, %d: %v", cp, err)
}
