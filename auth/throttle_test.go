package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLimiter(t *testing.T) {
	const window = time.Minute

	t.Run("blocks_once_max_events_are_in_the_window", func(t *testing.T) {
		l := newLimiter(3, window)
		for i := range 3 {
			blocked, _ := l.blocked("k", t0)
			assert.False(t, blocked, "before event %d", i+1)
			l.add("k", t0.Add(time.Duration(i)*time.Second))
		}
		blocked, wait := l.blocked("k", t0.Add(10*time.Second))
		assert.True(t, blocked)
		// The oldest event (at t0) leaves the window at t0+1m.
		assert.Equal(t, 50*time.Second, wait)
	})

	t.Run("unblocks_when_the_oldest_event_leaves_the_window", func(t *testing.T) {
		l := newLimiter(2, window)
		l.add("k", t0)
		l.add("k", t0.Add(20*time.Second))

		blocked, wait := l.blocked("k", t0.Add(window-time.Nanosecond))
		assert.True(t, blocked, "just inside the window")
		assert.Equal(t, time.Nanosecond, wait)

		blocked, _ = l.blocked("k", t0.Add(window))
		assert.False(t, blocked, "an event exactly one window old no longer counts")

		// The second event still counts: one more makes two again.
		l.add("k", t0.Add(window))
		blocked, wait = l.blocked("k", t0.Add(window+time.Second))
		assert.True(t, blocked)
		assert.Equal(t, 19*time.Second, wait, "until the event at t0+20s leaves")
	})

	t.Run("keys_are_independent", func(t *testing.T) {
		l := newLimiter(1, window)
		l.add("a", t0)
		blocked, _ := l.blocked("a", t0)
		assert.True(t, blocked)
		blocked, _ = l.blocked("b", t0)
		assert.False(t, blocked)
	})

	t.Run("reset_forgets_a_key", func(t *testing.T) {
		l := newLimiter(1, window)
		l.add("a", t0)
		l.add("b", t0)
		l.reset("a")
		blocked, _ := l.blocked("a", t0)
		assert.False(t, blocked)
		blocked, _ = l.blocked("b", t0)
		assert.True(t, blocked, "reset of one key leaves the others")
	})

	t.Run("old_events_are_pruned_from_memory", func(t *testing.T) {
		l := newLimiter(5, window)
		l.add("a", t0)
		l.add("a", t0.Add(30*time.Second))
		l.blocked("a", t0.Add(window+time.Second))
		assert.Len(t, l.hits["a"], 1)
		l.blocked("a", t0.Add(2*window))
		assert.NotContains(t, l.hits, "a", "a key with no events in the window is dropped")
	})

	t.Run("a_spray_of_keys_is_swept_when_the_table_is_full", func(t *testing.T) {
		l := newLimiter(5, window)
		for i := range maxTrackedKeys {
			l.add(fmt.Sprint("spray-", i), t0)
		}
		assert.Len(t, l.hits, maxTrackedKeys)
		l.add("fresh", t0.Add(window))
		assert.Len(t, l.hits, 1, "expired keys are swept before a new one is tracked")
		assert.Contains(t, l.hits, "fresh")
	})
}
