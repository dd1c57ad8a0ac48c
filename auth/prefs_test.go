package auth

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

func TestSetPreferences(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	admin := env.addUser(t, "ada", RoleAdmin, "", "")
	ivy := env.addUser(t, "ivy", RoleInvestigator, "fraud", "")
	assert.False(t, ivy.Preferences.RevealMedia, "media is veiled by default")

	got, err := env.svc.SetPreferences(ctx, &ivy, Preferences{RevealMedia: true}, meta)
	require.NoError(t, err)
	assert.True(t, got.Preferences.RevealMedia)
	assert.Equal(t, ivy.Version+1, got.Version)

	t.Run("stored_and_read_back", func(t *testing.T) {
		stored, err := env.svc.Lookup(ctx, "ivy")
		require.NoError(t, err)
		assert.True(t, stored.Preferences.RevealMedia)
		assert.NotEmpty(t, stored.PasswordHash, "the rest of the user is kept")
		assert.Equal(t, "fraud", stored.Team)
	})

	t.Run("audited", func(t *testing.T) {
		evs := env.events(t, AuditFilter{Action: "user.preferences", EntityID: "ivy"})
		require.Len(t, evs, 1)
		assert.Equal(t, "ivy", evs[0].User)
		assert.Equal(t, OutcomeSuccess, evs[0].Outcome)
		assert.Equal(t, "true", evs[0].Detail["reveal_media"])
	})

	t.Run("an_admin_edit_from_an_older_read_is_refused", func(t *testing.T) {
		name := "Ivy I."
		_, err := env.svc.UpdateUser(ctx, &admin, "ivy", ivy.Version, UserPatch{DisplayName: &name}, meta)
		errstest.Require(t, err, errs.PreconditionFailed)
		stored, err := env.svc.Lookup(ctx, "ivy")
		require.NoError(t, err)
		assert.True(t, stored.Preferences.RevealMedia)
	})

	t.Run("an_admin_edit_keeps_them", func(t *testing.T) {
		name := "Ivy I."
		_, err := env.svc.UpdateUser(ctx, &admin, "ivy", got.Version, UserPatch{DisplayName: &name}, meta)
		require.NoError(t, err)
		stored, err := env.svc.Lookup(ctx, "ivy")
		require.NoError(t, err)
		assert.True(t, stored.Preferences.RevealMedia)
		assert.Equal(t, "Ivy I.", stored.DisplayName)
	})

	t.Run("turned_off_again", func(t *testing.T) {
		got, err := env.svc.SetPreferences(ctx, &ivy, Preferences{}, meta)
		require.NoError(t, err)
		assert.False(t, got.Preferences.RevealMedia)
		stored, err := env.svc.Lookup(ctx, "ivy")
		require.NoError(t, err)
		assert.False(t, stored.Preferences.RevealMedia)
	})

	t.Run("a_disabled_user_may_not", func(t *testing.T) {
		dis := true
		cur, err := env.svc.Lookup(ctx, "ivy")
		require.NoError(t, err)
		_, err = env.svc.UpdateUser(ctx, &admin, "ivy", cur.Version, UserPatch{Disabled: &dis}, meta)
		require.NoError(t, err)
		_, err = env.svc.SetPreferences(ctx, &cur, Preferences{RevealMedia: true}, meta)
		errstest.Require(t, err, errs.Unauthenticated)
	})
}
