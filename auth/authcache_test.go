package auth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrincipalCache(t *testing.T) {
	p := Principal{User: User{Username: "ivy"}, SessionID: "s1"}

	t.Run("a_cached_answer_is_for_its_subject_only", func(t *testing.T) {
		c := newPrincipalCache(time.Minute)
		_, gen := c.get("s1", "ivy")
		c.put(gen, "ivy", p)
		got, _ := c.get("s1", "ivy")
		require.NotNil(t, got)
		assert.Equal(t, p, *got)
		got, _ = c.get("s1", "mallory")
		assert.Nil(t, got, "a token of another subject naming the session is not answered from the cache")
	})

	t.Run("an_answer_read_before_a_write_is_not_kept", func(t *testing.T) {
		c := newPrincipalCache(time.Minute)
		_, gen := c.get("s1", "ivy") // a request starts reading the store
		c.invalidate()               // meanwhile the user is disabled
		c.put(gen, "ivy", p)         // the request's (stale) answer arrives
		got, _ := c.get("s1", "ivy")
		assert.Nil(t, got)
	})

	t.Run("a_write_empties_it", func(t *testing.T) {
		c := newPrincipalCache(time.Minute)
		_, gen := c.get("s1", "ivy")
		c.put(gen, "ivy", p)
		c.invalidate()
		got, _ := c.get("s1", "ivy")
		assert.Nil(t, got)
	})

	t.Run("entries_expire", func(t *testing.T) {
		c := newPrincipalCache(time.Nanosecond)
		_, gen := c.get("s1", "ivy")
		c.put(gen, "ivy", p)
		time.Sleep(time.Millisecond)
		got, _ := c.get("s1", "ivy")
		assert.Nil(t, got)
	})
}
