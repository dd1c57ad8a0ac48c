package auth

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

func TestCreateUserStoresUserAndAuditsIt(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	admin := env.addUser(t, "ada", RoleAdmin, "", "")

	u, err := env.svc.CreateUser(ctx, &admin, NewUser{Username: "vic", DisplayName: "Vic", Role: RoleVendorAgent, Vendor: "acme", Password: testPassword}, meta)
	require.NoError(t, err)
	assert.Equal(t, int64(1), u.Version)
	assert.Equal(t, t0, u.CreatedAt)
	assert.True(t, strings.HasPrefix(u.PasswordHash, "$argon2id$"), "password stored as an argon2id hash")
	assert.NotContains(t, u.PasswordHash, testPassword)

	got, err := env.svc.GetUser(ctx, &admin, "vic", meta)
	require.NoError(t, err)
	assert.Equal(t, "Vic", got.DisplayName)
	assert.Equal(t, RoleVendorAgent, got.Role)
	assert.Equal(t, "acme", got.Vendor)

	evs := env.events(t, AuditFilter{Action: "user.create", EntityID: "vic"})
	require.Len(t, evs, 1)
	assert.Equal(t, "ada", evs[0].User)
	assert.Equal(t, RoleAdmin, evs[0].Role)
	assert.Equal(t, OutcomeSuccess, evs[0].Outcome)
	assert.Equal(t, "vendor_agent", evs[0].Detail["role"])
}

func TestCreateUserValidationNamesFields(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()

	valid := func() NewUser {
		return NewUser{Username: "ivy", Role: RoleInvestigator, Team: "t1", Password: testPassword}
	}
	tests := []struct {
		name   string
		change func(*NewUser)
		fields []string
	}{
		{"bad_username_uppercase", func(n *NewUser) { n.Username = "Ivy" }, []string{"username"}},
		{"bad_username_too_short", func(n *NewUser) { n.Username = "i" }, []string{"username"}},
		{"bad_username_leading_dot", func(n *NewUser) { n.Username = ".ivy" }, []string{"username"}},
		{"bad_role", func(n *NewUser) { n.Role = "boss" }, []string{"role"}},
		{"empty_role", func(n *NewUser) { n.Role = "" }, []string{"role"}},
		{"bad_team", func(n *NewUser) { n.Team = "Team One" }, []string{"team"}},
		{"vendor_agent_without_vendor", func(n *NewUser) { n.Role = RoleVendorAgent }, []string{"vendor"}},
		{"vendor_on_non_vendor_role", func(n *NewUser) { n.Vendor = "acme" }, []string{"vendor"}},
		{"short_password", func(n *NewUser) { n.Password = strings.Repeat("x", MinPasswordLen-1) }, []string{"password"}},
		{"too_long_password", func(n *NewUser) { n.Password = strings.Repeat("x", MaxPasswordLen+1) }, []string{"password"}},
		{"display_name_too_long", func(n *NewUser) { n.DisplayName = strings.Repeat("é", 121) }, []string{"display_name"}},
		{"every_problem_at_once", func(n *NewUser) {
			n.Username, n.Role, n.Vendor, n.Password = "!", "boss", "acme", "short"
		}, []string{"username", "role", "password"}},
		{"vendor_agent_and_short_password", func(n *NewUser) {
			n.Role, n.Password = RoleVendorAgent, "short"
		}, []string{"vendor", "password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			tt.change(&in)
			_, err := env.svc.CreateUser(ctx, &System, in, meta)
			assert.ElementsMatch(t, tt.fields, errstest.Fields(t, err))
		})
	}

	users, _, total, err := env.svc.ListUsers(ctx, &System, 10, "", meta)
	require.NoError(t, err)
	assert.Empty(t, users, "no invalid user was stored")
	assert.Zero(t, total)

	// The base input is itself valid, so each case failed for its change.
	_, err = env.svc.CreateUser(ctx, &System, valid(), meta)
	assert.NoError(t, err)
}

func TestCreateUserDuplicateUsernameIsConflict(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.addUser(t, "ivy", RoleInvestigator, "t1", "")

	_, err := env.svc.CreateUser(ctx, &System, NewUser{Username: "ivy", Role: RoleLead, Password: "another password 123"}, meta)
	e := errstest.As(t, err)
	assert.Equal(t, errs.Conflict, e.Code)
	require.Len(t, e.Fields, 1)
	assert.Equal(t, "username", e.Fields[0].Field)

	got, err := env.svc.GetUser(ctx, &System, "ivy", meta)
	require.NoError(t, err)
	assert.Equal(t, RoleInvestigator, got.Role, "the existing user is untouched")
}

func TestNonAdminsCannotManageUsers(t *testing.T) {
	for _, role := range []Role{RoleLead, RoleInvestigator, RoleVendorAgent, RoleLeadership} {
		t.Run(string(role)+"_is_forbidden_and_audited", func(t *testing.T) {
			env := newTestEnv(t)
			ctx := context.Background()
			vendor := ""
			if role == RoleVendorAgent {
				vendor = "acme"
			}
			by := env.addUser(t, "actor", role, "t1", vendor)
			target := env.addUser(t, "target", RoleInvestigator, "t1", "")

			calls := []struct {
				action string
				entity Entity
				call   func() error
			}{
				{"user.create", Entity{Type: "user", ID: "newbie"}, func() error {
					_, err := env.svc.CreateUser(ctx, &by, NewUser{Username: "newbie", Role: RoleAdmin, Password: testPassword}, meta)
					return err
				}},
				{"user.update", Entity{Type: "user", ID: "target"}, func() error {
					_, err := env.svc.UpdateUser(ctx, &by, "target", target.Version, UserPatch{Role: ptr(RoleAdmin)}, meta)
					return err
				}},
				{"user.update", Entity{Type: "user", ID: "actor"}, func() error {
					_, err := env.svc.UpdateUser(ctx, &by, "actor", by.Version, UserPatch{Role: ptr(RoleAdmin)}, meta)
					return err
				}},
				{"user.list", Entity{Type: "user"}, func() error {
					_, _, _, err := env.svc.ListUsers(ctx, &by, 10, "", meta)
					return err
				}},
				{"user.read", Entity{Type: "user", ID: "target"}, func() error {
					_, err := env.svc.GetUser(ctx, &by, "target", meta)
					return err
				}},
			}
			for _, c := range calls {
				err := c.call()
				assert.Equal(t, errs.Forbidden, errs.CodeOf(err), "%s %s", c.action, c.entity.ID)

				evs := env.events(t, AuditFilter{User: "actor", Action: c.action, EntityType: c.entity.Type, EntityID: c.entity.ID})
				if assert.NotEmpty(t, evs, "denied %s %s is audited", c.action, c.entity.ID) {
					last := evs[len(evs)-1]
					assert.Equal(t, OutcomeDenied, last.Outcome)
					assert.Equal(t, role, last.Role)
					assert.Equal(t, meta.IP, last.IP)
				}
			}

			// Nothing changed.
			_, err := env.svc.GetUser(ctx, &System, "newbie", meta)
			assert.Equal(t, errs.NotFound, errs.CodeOf(err))
			for _, name := range []string{"target", "actor"} {
				u, err := env.svc.GetUser(ctx, &System, name, meta)
				require.NoError(t, err)
				assert.Equal(t, int64(1), u.Version, name)
				assert.NotEqual(t, RoleAdmin, u.Role, name)
			}

			// Reading oneself is allowed.
			self, err := env.svc.GetUser(ctx, &by, "actor", meta)
			require.NoError(t, err)
			assert.Equal(t, role, self.Role)
		})
	}
}

func TestUpdateUserWithStaleVersionChangesNothing(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	u := env.addUser(t, "ivy", RoleInvestigator, "t1", "")

	updated, err := env.svc.UpdateUser(ctx, &System, "ivy", u.Version, UserPatch{DisplayName: ptr("Ivy One")}, meta)
	require.NoError(t, err)
	require.Equal(t, u.Version+1, updated.Version)

	// A second writer still holding version 1.
	_, err = env.svc.UpdateUser(ctx, &System, "ivy", u.Version, UserPatch{DisplayName: ptr("Ivy Two"), Role: ptr(RoleLead)}, meta)
	assert.Equal(t, errs.PreconditionFailed, errs.CodeOf(err))

	got, err := env.svc.GetUser(ctx, &System, "ivy", meta)
	require.NoError(t, err)
	assert.Equal(t, "Ivy One", got.DisplayName)
	assert.Equal(t, RoleInvestigator, got.Role)
	assert.Equal(t, updated.Version, got.Version)

	evs := env.events(t, AuditFilter{Action: "user.update", EntityID: "ivy"})
	assert.Len(t, evs, 1, "only the successful update is audited")
}

func TestUpdateUserValidatesThePatchedUser(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	u := env.addUser(t, "ivy", RoleInvestigator, "t1", "")

	tests := []struct {
		name   string
		patch  UserPatch
		fields []string
	}{
		{"bad_role", UserPatch{Role: ptr(Role("boss"))}, []string{"role"}},
		{"vendor_agent_without_vendor", UserPatch{Role: ptr(RoleVendorAgent)}, []string{"vendor"}},
		{"vendor_on_investigator", UserPatch{Vendor: ptr("acme")}, []string{"vendor"}},
		{"short_password", UserPatch{Password: ptr("short")}, []string{"password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.svc.UpdateUser(ctx, &System, "ivy", u.Version, tt.patch, meta)
			assert.ElementsMatch(t, tt.fields, errstest.Fields(t, err))
		})
	}
	got, err := env.svc.GetUser(ctx, &System, "ivy", meta)
	require.NoError(t, err)
	assert.Equal(t, u.Version, got.Version, "no invalid patch was stored")
}

func TestAdminCannotDisableOrDemoteThemselves(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	admin := env.addUser(t, "ada", RoleAdmin, "", "")

	tests := []struct {
		name  string
		patch UserPatch
	}{
		{"disable_self", UserPatch{Disabled: ptr(true)}},
		{"demote_self_to_lead", UserPatch{Role: ptr(RoleLead)}},
		{"demote_self_to_leadership", UserPatch{Role: ptr(RoleLeadership)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.svc.UpdateUser(ctx, &admin, "ada", admin.Version, tt.patch, meta)
			assert.Contains(t, errstest.Fields(t, err), "role")

			got, err := env.svc.GetUser(ctx, &admin, "ada", meta)
			require.NoError(t, err)
			assert.Equal(t, RoleAdmin, got.Role)
			assert.False(t, got.Disabled)
			assert.Equal(t, admin.Version, got.Version)
		})
	}

	t.Run("may_change_own_display_name", func(t *testing.T) {
		got, err := env.svc.UpdateUser(ctx, &admin, "ada", admin.Version, UserPatch{DisplayName: ptr("Ada L."), Role: ptr(RoleAdmin), Disabled: ptr(false)}, meta)
		require.NoError(t, err)
		assert.Equal(t, "Ada L.", got.DisplayName)
	})

	t.Run("another_admin_may_disable_them", func(t *testing.T) {
		other := env.addUser(t, "bob", RoleAdmin, "", "")
		cur, err := env.svc.GetUser(ctx, &other, "ada", meta)
		require.NoError(t, err)
		got, err := env.svc.UpdateUser(ctx, &other, "ada", cur.Version, UserPatch{Disabled: ptr(true)}, meta)
		require.NoError(t, err)
		assert.True(t, got.Disabled)
	})
}

func TestPasswordResetReplacesTheOldPassword(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	u := env.addUser(t, "ivy", RoleInvestigator, "t1", "")
	const newPassword = "a brand new passphrase"

	_, err := env.svc.UpdateUser(ctx, &System, "ivy", u.Version, UserPatch{Password: ptr(newPassword)}, meta)
	require.NoError(t, err)

	_, err = env.svc.Login(ctx, "ivy", testPassword, meta)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "old password")
	_, err = env.svc.Login(ctx, "ivy", newPassword, meta)
	assert.NoError(t, err, "new password")

	evs := env.events(t, AuditFilter{Action: "user.update", EntityID: "ivy"})
	require.Len(t, evs, 1)
	assert.Equal(t, "reset", evs[0].Detail["password"])
	assert.NotContains(t, evs[0].Detail["password"], newPassword)
}

func TestListUsersPaginatesByUsername(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	for _, n := range []string{"dan", "ada", "cat", "bob", "eve"} {
		env.addUser(t, n, RoleInvestigator, "t1", "")
	}
	var names []string
	after := ""
	for range 3 {
		page, next, total, err := env.svc.ListUsers(ctx, &System, 2, after, meta)
		require.NoError(t, err)
		assert.Equal(t, int64(5), total)
		for _, u := range page {
			names = append(names, u.Username)
		}
		after = next
		if next == "" {
			break
		}
	}
	assert.Equal(t, []string{"ada", "bob", "cat", "dan", "eve"}, names)
	assert.Empty(t, after)
}

func TestEnsureAdmin(t *testing.T) {
	ctx := context.Background()

	t.Run("creates_admin_with_given_password_once", func(t *testing.T) {
		env := newTestEnv(t)
		pw, created, err := env.svc.EnsureAdmin(ctx, "the given admin password")
		require.NoError(t, err)
		assert.True(t, created)
		assert.Equal(t, "the given admin password", pw)

		u, err := env.svc.GetUser(ctx, &System, "admin", meta)
		require.NoError(t, err)
		assert.Equal(t, RoleAdmin, u.Role)
		_, err = env.svc.Login(ctx, "admin", "the given admin password", meta)
		assert.NoError(t, err)

		pw, created, err = env.svc.EnsureAdmin(ctx, "a different password!")
		require.NoError(t, err)
		assert.False(t, created)
		assert.Empty(t, pw)
		_, err = env.svc.Login(ctx, "admin", "the given admin password", meta)
		assert.NoError(t, err, "the second call did not change the password")
		_, err = env.svc.Login(ctx, "admin", "a different password!", meta)
		assert.Error(t, err)
	})

	t.Run("generates_a_password_when_none_given", func(t *testing.T) {
		env := newTestEnv(t)
		pw, created, err := env.svc.EnsureAdmin(ctx, "")
		require.NoError(t, err)
		assert.True(t, created)
		assert.GreaterOrEqual(t, len(pw), MinPasswordLen)
		_, err = env.svc.Login(ctx, "admin", pw, meta)
		assert.NoError(t, err)
	})

	t.Run("is_a_no_op_when_an_enabled_admin_exists", func(t *testing.T) {
		env := newTestEnv(t)
		env.addUser(t, "ada", RoleAdmin, "", "")
		pw, created, err := env.svc.EnsureAdmin(ctx, "the given admin password")
		require.NoError(t, err)
		assert.False(t, created)
		assert.Empty(t, pw)
		_, err = env.svc.GetUser(ctx, &System, "admin", meta)
		assert.Equal(t, errs.NotFound, errs.CodeOf(err))
	})

	t.Run("creates_admin_when_only_other_roles_exist", func(t *testing.T) {
		env := newTestEnv(t)
		env.addUser(t, "ivy", RoleInvestigator, "t1", "")
		env.addUser(t, "lee", RoleLead, "t1", "")
		pw, created, err := env.svc.EnsureAdmin(ctx, "the given admin password")
		require.NoError(t, err)
		assert.True(t, created)
		_, err = env.svc.Login(ctx, "admin", pw, meta)
		assert.NoError(t, err)
	})

	t.Run("creates_admin_when_every_admin_is_disabled", func(t *testing.T) {
		env := newTestEnv(t)
		ada := env.addUser(t, "ada", RoleAdmin, "", "")
		_, err := env.svc.UpdateUser(ctx, &System, "ada", ada.Version, UserPatch{Disabled: ptr(true)}, meta)
		require.NoError(t, err)
		_, created, err := env.svc.EnsureAdmin(ctx, "the given admin password")
		require.NoError(t, err)
		assert.True(t, created)
	})

	t.Run("fails_when_no_enabled_admin_and_admin_username_is_taken", func(t *testing.T) {
		env := newTestEnv(t)
		env.addUser(t, "admin", RoleInvestigator, "t1", "")
		_, created, err := env.svc.EnsureAdmin(ctx, "the given admin password")
		assert.Error(t, err)
		assert.False(t, created)
		u, err := env.svc.GetUser(ctx, &System, "admin", meta)
		require.NoError(t, err)
		assert.Equal(t, RoleInvestigator, u.Role, "the existing user is not touched")
	})

	t.Run("rejects_a_given_password_that_is_too_short", func(t *testing.T) {
		env := newTestEnv(t)
		_, created, err := env.svc.EnsureAdmin(ctx, "short")
		assert.Error(t, err)
		assert.False(t, created)
	})
}
