package cases

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

func TestCreate(t *testing.T) {
	h := newHarness(t)

	t.Run("files_a_new_case_with_defaults", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.ivy, func(n *NewCase) { n.Team = "" })
		assert.Equal(t, StatusNew, c.Status)
		assert.Equal(t, "fraud", c.Team, "an in-house case defaults to the filer's team")
		assert.Equal(t, int64(1), c.Version)
		assert.Equal(t, "ivy", c.CreatedBy)
		assert.Equal(t, t0, c.CreatedAt)
		assert.Len(t, c.ID, 20)
		assert.False(t, c.Restricted)
		require.NotNil(t, c.SLA)

		got := h.get(h.ivy, c.Key)
		assert.Equal(t, c.ID, got.ID)
		require.Len(t, got.Timeline, 1)
		assert.Equal(t, TimelineEntry{N: 0, At: t0, Author: "ivy", Kind: EventCreated, Text: "case filed"}, got.Timeline[0])
		byID := h.get(h.ivy, c.ID)
		assert.Equal(t, c.Key, byID.Key, "a case reads by id as by key")

		ev := h.events("case.create")
		require.Len(t, ev, 1)
		assert.Equal(t, c.Key, ev[0].Entity.ID)
		assert.Equal(t, auth.OutcomeSuccess, ev[0].Outcome)
	})

	t.Run("vendor_case_keeps_no_team", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, func(n *NewCase) { n.Team, n.Vendor = "", "acme" })
		assert.Equal(t, "acme", c.Vendor)
		assert.Empty(t, c.Team)
	})

	t.Run("child_safety_case_is_always_restricted", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, func(n *NewCase) { n.PolicyAreas = []string{"spam", "child_safety"}; n.Restricted = false })
		assert.True(t, c.Restricted)
		assert.True(t, h.raw(c.ID).Restricted)
	})

	for _, u := range []*auth.User{h.vic, h.leo} {
		t.Run(string(u.Role)+"_may_not_file_cases", func(t *testing.T) {
			h := h.with(t)
			before := h.count("cases")
			_, _, err := h.svc.Create(h.ctx, u, newCaseInput(), "", Meta{})
			errstest.Require(t, err, errs.Forbidden)
			assert.Equal(t, before, h.count("cases"))
			denied := 0
			for _, e := range h.events("case.create") {
				if e.User == u.Username && e.Outcome == auth.OutcomeDenied {
					denied++
				}
			}
			assert.Equal(t, 1, denied, "the refusal is audited")
		})
	}
}

func TestCreateKeysAreSequentialPerYear(t *testing.T) {
	h := newHarness(t)
	for i := 1; i <= 3; i++ {
		c := h.create(h.lena, nil)
		assert.Equal(t, fmt.Sprintf("CF-2026-%d", i), c.Key)
		assert.True(t, IsKey(c.Key))
	}
	h.clock.Advance(365 * day) // 2027
	assert.Equal(t, "CF-2027-1", h.create(h.lena, nil).Key, "numbering restarts each year")
}

func TestCreateConcurrentKeysHaveNoGaps(t *testing.T) {
	h := newHarness(t)
	const workers, each = 8, 3
	actor := nextActorID() // all racing on one actor too
	var (
		mu   sync.Mutex
		keys []string
		fail []error
		wg   sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				in := newCaseInput()
				in.Actor.ActorID = actor
				in.Title = fmt.Sprintf("worker %d case %d", w, i)
				c, _, err := h.svc.Create(h.ctx, h.ivy, in, "", Meta{})
				mu.Lock()
				if err != nil {
					fail = append(fail, err)
				} else {
					keys = append(keys, c.Key)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Empty(t, fail)
	var nums []int
	for _, k := range keys {
		var n int
		_, err := fmt.Sscanf(strings.TrimPrefix(k, "CF-2026-"), "%d", &n)
		require.NoError(t, err, k)
		nums = append(nums, n)
	}
	sort.Ints(nums)
	want := make([]int, workers*each)
	for i := range want {
		want[i] = i + 1
	}
	assert.Equal(t, want, nums)
	assert.Equal(t, int64(workers*each), h.count("cases"))
	assert.Equal(t, int64(1), h.count("actors"), "one actor however many cases raced to create it")
}

func TestCreateValidation(t *testing.T) {
	h := newHarness(t)
	long := strings.Repeat("x", 301)
	tests := []struct {
		name   string
		edit   func(*NewCase)
		fields []string
	}{
		{"unknown_policy_area", func(n *NewCase) { n.PolicyAreas = []string{"gambling"} }, []string{"policy_areas[0]"}},
		{"no_policy_area", func(n *NewCase) { n.PolicyAreas = nil }, []string{"policy_areas"}},
		{"bad_severity", func(n *NewCase) { n.Severity = "sev5" }, []string{"severity"}},
		{"missing_actor_id", func(n *NewCase) { n.Actor = ActorRef{Handle: "@x"} }, []string{"actor.actor_id"}},
		{"malformed_actor_id", func(n *NewCase) { n.Actor.ActorID = "has space" }, []string{"actor.actor_id"}},
		{"bad_actor_kind", func(n *NewCase) { n.Actor.Kind = "bot" }, []string{"actor.kind"}},
		{"bad_actor_region", func(n *NewCase) { n.Actor.Region = "usa" }, []string{"actor.region"}},
		{"reactive_channel_for_proactive_source", func(n *NewCase) { n.SourceChannel = "user_report" }, []string{"source_channel"}},
		{"unknown_source_kind", func(n *NewCase) { n.SourceKind = "psychic" }, []string{"source_kind"}},
		{"title_missing", func(n *NewCase) { n.Title = "" }, []string{"title"}},
		{"title_blank", func(n *NewCase) { n.Title = "  \t" }, []string{"title"}},
		{"title_too_long", func(n *NewCase) { n.Title = long }, []string{"title"}},
		{"title_with_nul", func(n *NewCase) { n.Title = "a\x00b" }, []string{"title"}},
		{"bad_team", func(n *NewCase) { n.Team = "Fraud Team" }, []string{"team"}},
		{"bad_tag", func(n *NewCase) { n.Tags = []string{"ok", "Not OK"} }, []string{"tags[1]"}},
		{"bad_related_actor", func(n *NewCase) { n.RelatedActors = []string{""} }, []string{"related_actors[0]"}},
		{"several_fields_at_once", func(n *NewCase) { n.Title, n.Severity = "", "" }, []string{"title", "severity"}},
		{"unknown_assignee", func(n *NewCase) { n.Assignee = "nobody" }, []string{"assignee"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			in := newCaseInput()
			tt.edit(&in)
			_, _, err := h.svc.Create(h.ctx, h.lena, in, "", Meta{})
			assert.ElementsMatch(t, tt.fields, errstest.Fields(t, err))
		})
	}
	t.Run("disabled_assignee", func(t *testing.T) {
		h := h.with(t)
		u := h.addUser("gone", auth.RoleInvestigator, "fraud", "")
		_, err := h.auth.UpdateUser(h.ctx, &auth.System, u.Username, u.Version, auth.UserPatch{Disabled: ptr(true)}, auth.Meta{})
		require.NoError(t, err)
		in := newCaseInput()
		in.Assignee = "gone"
		_, _, err = h.svc.Create(h.ctx, h.lena, in, "", Meta{})
		assert.Equal(t, []string{"assignee"}, errstest.Fields(t, err))
	})
	t.Run("refused_creates_store_nothing", func(t *testing.T) {
		h := h.with(t)
		assert.Zero(t, h.count("cases"))
		assert.Zero(t, h.count("actors"))
		assert.Equal(t, "CF-2026-1", h.create(h.lena, nil).Key, "no case number was used up")
	})
	t.Run("known_assignee_is_kept", func(t *testing.T) {
		h := h.with(t)
		c := h.create(h.lena, func(n *NewCase) { n.Assignee = "ivy" })
		assert.Equal(t, "ivy", c.Assignee)
	})
}

func TestCreateIdempotent(t *testing.T) {
	h := newHarness(t)
	in := newCaseInput()
	first, created, err := h.svc.Create(h.ctx, h.ivy, in, "key-1", Meta{})
	require.NoError(t, err)
	require.True(t, created)

	t.Run("same_key_same_input_returns_the_first_case", func(t *testing.T) {
		h := h.with(t)
		h.clock.Advance(time.Minute)
		again, created, err := h.svc.Create(h.ctx, h.ivy, in, "key-1", Meta{})
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, first.ID, again.ID)
		assert.Equal(t, first.Key, again.Key)
		assert.Equal(t, first.CreatedAt, again.CreatedAt)
		assert.Equal(t, int64(1), h.count("cases"))
	})
	t.Run("same_key_different_input_is_a_conflict", func(t *testing.T) {
		h := h.with(t)
		other := in
		other.Title = "something else"
		_, _, err := h.svc.Create(h.ctx, h.ivy, other, "key-1", Meta{})
		errstest.Require(t, err, errs.Conflict)
		assert.Equal(t, int64(1), h.count("cases"))
	})
	t.Run("another_user_with_the_same_key_is_independent", func(t *testing.T) {
		h := h.with(t)
		c, created, err := h.svc.Create(h.ctx, h.lena, in, "key-1", Meta{})
		require.NoError(t, err)
		assert.True(t, created)
		assert.NotEqual(t, first.ID, c.ID)
		assert.Equal(t, "CF-2026-2", c.Key)
	})
	t.Run("a_new_key_creates_a_new_case", func(t *testing.T) {
		h := h.with(t)
		c, created, err := h.svc.Create(h.ctx, h.ivy, in, "key-2", Meta{})
		require.NoError(t, err)
		assert.True(t, created)
		assert.Equal(t, "CF-2026-3", c.Key)
	})
	t.Run("overlong_key_is_invalid", func(t *testing.T) {
		h := h.with(t)
		_, _, err := h.svc.Create(h.ctx, h.ivy, in, strings.Repeat("k", 201), Meta{})
		assert.Equal(t, []string{"Idempotency-Key"}, errstest.Fields(t, err))
	})
}

func TestCreateUpsertsActor(t *testing.T) {
	h := newHarness(t)
	id := nextActorID()
	h.create(h.ivy, func(n *NewCase) { n.Actor = ActorRef{ActorID: id} })
	a, err := h.store.Actor(h.ctx, id)
	require.NoError(t, err)
	assert.Empty(t, a.Handle)
	assert.Equal(t, t0, a.FirstSeen)
	assert.Equal(t, int64(1), a.Version)

	h.clock.Advance(time.Hour)
	h.create(h.ivy, func(n *NewCase) {
		n.Actor = ActorRef{ActorID: id, Handle: "@giftcards", DisplayName: "Gift Cards", Kind: "merchant", Region: "US"}
	})
	a, err = h.store.Actor(h.ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "@giftcards", a.Handle, "the second case fills the missing handle")
	assert.Equal(t, "Gift Cards", a.DisplayName)
	assert.Equal(t, ActorKind("merchant"), a.Kind)
	assert.Equal(t, "US", a.Region)
	assert.Equal(t, t0, a.FirstSeen, "first_seen stays")
	assert.Equal(t, int64(2), a.Version)

	h.create(h.ivy, func(n *NewCase) { n.Actor = ActorRef{ActorID: id} })
	a, err = h.store.Actor(h.ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "@giftcards", a.Handle, "a case without a handle does not erase it")
	assert.Equal(t, int64(2), a.Version, "nothing to change, nothing written")
	assert.Equal(t, int64(1), h.count("actors"))

	p, err := h.svc.ActorProfile(h.ctx, h.ivy, id, Meta{})
	require.NoError(t, err)
	assert.Equal(t, 3, p.CaseCount)
}
