package webhook

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"casefile.dev/casefile/auth"
)

// TestHandOverIsBounded: the events Notify keeps for the tail are capped,
// oldest dropped first, and taking one forgets those before it.
func TestHandOverIsBounded(t *testing.T) {
	s := &Service{wakeTail: make(chan struct{}, 1)}
	last := int64(handedCap + 10)
	for seq := int64(1); seq <= last; seq++ {
		s.Notify(auth.AuditEvent{Seq: seq, Action: "user.login"})
	}
	assert.Len(t, s.handed, handedCap)
	assert.Equal(t, last, s.knownHead())

	_, ok := s.take(10)
	assert.False(t, ok, "dropped: the tail reads it from the store")
	e, ok := s.take(11)
	assert.True(t, ok)
	assert.EqualValues(t, 11, e.Seq)
	_, ok = s.take(11)
	assert.False(t, ok, "taken once")

	e, ok = s.take(20)
	assert.True(t, ok)
	assert.EqualValues(t, 20, e.Seq)
	_, ok = s.take(15)
	assert.False(t, ok, "passed over by a later take")
	assert.Len(t, s.handed, int(last-20))
}
