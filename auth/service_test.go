package auth

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/internal/errs"
	"casefile.dev/casefile/internal/errs/errstest"
)

var meta = Meta{IP: "192.0.2.10", RequestID: "req-1"}

func TestLoginReturnsTokensAndAuthenticateReturnsPrincipal(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.addUser(t, "ivy", RoleInvestigator, "t1", "")

	tok, err := env.svc.Login(ctx, "ivy", testPassword, meta)
	require.NoError(t, err)
	assert.NotEmpty(t, tok.AccessToken)
	assert.NotEmpty(t, tok.RefreshToken)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, int(AccessTokenTTL.Seconds()), tok.ExpiresIn)

	p, err := env.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, "ivy", p.User.Username)
	assert.Equal(t, RoleInvestigator, p.User.Role)
	assert.Equal(t, "t1", p.User.Team)
	assert.NotEmpty(t, p.SessionID)

	evs := env.events(t, AuditFilter{Action: "auth.login"})
	require.Len(t, evs, 1)
	assert.Equal(t, OutcomeSuccess, evs[0].Outcome)
	assert.Equal(t, "ivy", evs[0].User)
	assert.Equal(t, RoleInvestigator, evs[0].Role)
	assert.Equal(t, meta.IP, evs[0].IP)
	assert.Equal(t, meta.RequestID, evs[0].RequestID)
	assert.Equal(t, p.SessionID, evs[0].Detail["session"])
}

func TestAuthenticateRejectsGarbageAndExpiredAccessToken(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.addUser(t, "ivy", RoleInvestigator, "t1", "")
	tok, err := env.svc.Login(ctx, "ivy", testPassword, meta)
	require.NoError(t, err)

	_, err = env.svc.Authenticate(ctx, "not-a-token")
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err))

	env.clock.Advance(AccessTokenTTL + clockLeeway + time.Second)
	_, err = env.svc.Authenticate(ctx, tok.AccessToken)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "access token expired")

	// The session lives on: the refresh token gives a working access token.
	fresh, err := env.svc.Refresh(ctx, tok.RefreshToken, meta)
	require.NoError(t, err)
	_, err = env.svc.Authenticate(ctx, fresh.AccessToken)
	assert.NoError(t, err)
}

func TestLoginFailuresLookTheSame(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.addUser(t, "ivy", RoleInvestigator, "t1", "")

	// One IP per attempt and distinct usernames keep throttling out of it.
	_, wrongPw := env.svc.Login(ctx, "ivy", "wrong password here", Meta{IP: "192.0.2.1"})
	_, unknown := env.svc.Login(ctx, "nobody", testPassword, Meta{IP: "192.0.2.2"})
	_, tooLong := env.svc.Login(ctx, "ivy", strings.Repeat("x", MaxPasswordLen+1), Meta{IP: "192.0.2.3"})

	w := errstest.As(t, wrongPw)
	assert.Equal(t, errs.Unauthenticated, w.Code)
	for name, err := range map[string]error{"unknown_user": unknown, "too_long_password": tooLong} {
		e := errstest.As(t, err)
		assert.Equal(t, w.Code, e.Code, name)
		assert.Equal(t, w.Message, e.Message, name)
		assert.Equal(t, w.Error(), e.Error(), name)
	}

	evs := env.events(t, AuditFilter{Action: "auth.login"})
	require.Len(t, evs, 3)
	for _, ev := range evs {
		assert.Equal(t, OutcomeFailure, ev.Outcome, "event for %s", ev.User)
	}
	assert.Equal(t, []string{"ivy", "nobody", "ivy"}, []string{evs[0].User, evs[1].User, evs[2].User})
}

func TestDisabledUserCannotLogIn(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	u := env.addUser(t, "ivy", RoleInvestigator, "t1", "")
	_, err := env.svc.UpdateUser(ctx, &System, "ivy", u.Version, UserPatch{Disabled: ptr(true)}, Meta{})
	require.NoError(t, err)

	_, err = env.svc.Login(ctx, "ivy", testPassword, meta)
	e := errstest.As(t, err)
	assert.Equal(t, errLogin.Code, e.Code)
	assert.Equal(t, errLogin.Message, e.Message, "a disabled account is not revealed")

	evs := env.events(t, AuditFilter{Action: "auth.login"})
	require.Len(t, evs, 1)
	assert.Equal(t, OutcomeFailure, evs[0].Outcome)
	assert.Equal(t, "disabled", evs[0].Detail["reason"])
}

func TestDisablingUserStopsTheirTokensAtOnce(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	u := env.addUser(t, "ivy", RoleInvestigator, "t1", "")
	tok, err := env.svc.Login(ctx, "ivy", testPassword, meta)
	require.NoError(t, err)
	_, err = env.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)

	_, err = env.svc.UpdateUser(ctx, &System, "ivy", u.Version, UserPatch{Disabled: ptr(true)}, Meta{})
	require.NoError(t, err)

	_, err = env.svc.Authenticate(ctx, tok.AccessToken)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "access token of a disabled user")
	_, err = env.svc.Refresh(ctx, tok.RefreshToken, meta)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "refresh token of a disabled user")
}

func TestReenablingUserDoesNotReviveOldSessions(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	u := env.addUser(t, "ivy", RoleInvestigator, "t1", "")
	tok, err := env.svc.Login(ctx, "ivy", testPassword, meta)
	require.NoError(t, err)

	env.clock.Advance(time.Second)
	u, err = env.svc.UpdateUser(ctx, &System, "ivy", u.Version, UserPatch{Disabled: ptr(true)}, Meta{})
	require.NoError(t, err)
	env.clock.Advance(time.Second)
	_, err = env.svc.UpdateUser(ctx, &System, "ivy", u.Version, UserPatch{Disabled: ptr(false)}, Meta{})
	require.NoError(t, err)

	_, err = env.svc.Authenticate(ctx, tok.AccessToken)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "an access token from before the disable stays void")
	_, err = env.svc.Refresh(ctx, tok.RefreshToken, meta)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "a refresh token from before the disable stays void")

	env.clock.Advance(time.Second)
	fresh, err := env.svc.Login(ctx, "ivy", testPassword, meta)
	require.NoError(t, err)
	_, err = env.svc.Authenticate(ctx, fresh.AccessToken)
	assert.NoError(t, err, "a new session after re-enabling works")
}

func TestPasswordResetVoidsExistingSessions(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	u := env.addUser(t, "ivy", RoleInvestigator, "t1", "")
	tok, err := env.svc.Login(ctx, "ivy", testPassword, meta)
	require.NoError(t, err)
	env.clock.Advance(time.Second)
	_, err = env.svc.UpdateUser(ctx, &System, "ivy", u.Version, UserPatch{Password: ptr("a brand new passphrase")}, Meta{})
	require.NoError(t, err)
	_, err = env.svc.Authenticate(ctx, tok.AccessToken)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err))
}

func TestRoleChangeTakesEffectOnNextRequest(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	u := env.addUser(t, "ivy", RoleInvestigator, "t1", "")
	tok, err := env.svc.Login(ctx, "ivy", testPassword, meta)
	require.NoError(t, err)

	_, err = env.svc.UpdateUser(ctx, &System, "ivy", u.Version, UserPatch{Role: ptr(RoleLead)}, Meta{})
	require.NoError(t, err)
	p, err := env.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, RoleLead, p.User.Role, "the role is read from the store, not the token")
}

func TestRefreshRotatesAndReuseRevokesTheWholeSession(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.addUser(t, "ivy", RoleInvestigator, "t1", "")
	first, err := env.svc.Login(ctx, "ivy", testPassword, meta)
	require.NoError(t, err)
	env.clock.Advance(time.Minute)

	// A → B.
	second, err := env.svc.Refresh(ctx, first.RefreshToken, meta)
	require.NoError(t, err)
	assert.NotEqual(t, first.RefreshToken, second.RefreshToken)
	assert.NotEqual(t, first.AccessToken, second.AccessToken)
	p, err := env.svc.Authenticate(ctx, second.AccessToken)
	require.NoError(t, err, "the new access token works")
	_, err = env.svc.Authenticate(ctx, first.AccessToken)
	require.NoError(t, err, "before reuse, the session's earlier access token still works")

	// A again: reuse.
	_, err = env.svc.Refresh(ctx, first.RefreshToken, meta)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err))

	// The whole family is revoked.
	_, err = env.svc.Refresh(ctx, second.RefreshToken, meta)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "B no longer works")
	_, err = env.svc.Authenticate(ctx, second.AccessToken)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "access token from B no longer works")
	_, err = env.svc.Authenticate(ctx, first.AccessToken)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "access token from A no longer works")

	evs := env.events(t, AuditFilter{Action: "auth.refresh"})
	require.Len(t, evs, 2, "one successful refresh, one reuse")
	assert.Equal(t, OutcomeSuccess, evs[0].Outcome)
	assert.Equal(t, OutcomeDenied, evs[1].Outcome)
	assert.Equal(t, "ivy", evs[1].User)
	assert.Equal(t, Entity{Type: "session", ID: p.SessionID}, evs[1].Entity)
	assert.Contains(t, evs[1].Detail["reason"], "reused")
}

func TestConcurrentUseOfOneRefreshTokenIsReuse(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.addUser(t, "ivy", RoleInvestigator, "t1", "")
	tok, err := env.svc.Login(ctx, "ivy", testPassword, meta)
	require.NoError(t, err)

	var wg sync.WaitGroup
	results := make([]Tokens, 2)
	failures := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { results[i], failures[i] = env.svc.Refresh(ctx, tok.RefreshToken, meta) })
	}
	wg.Wait()

	var won []Tokens
	for i := range 2 {
		if failures[i] == nil {
			won = append(won, results[i])
		} else {
			assert.Equal(t, errs.Unauthenticated, errs.CodeOf(failures[i]))
		}
	}
	require.Len(t, won, 1, "exactly one of two racing refreshes gets tokens")
	_, err = env.svc.Authenticate(ctx, won[0].AccessToken)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "the race revoked the session")
	_, err = env.svc.Refresh(ctx, won[0].RefreshToken, meta)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err))
}

func TestRefreshRejectsUnknownAndExpiredTokens(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.addUser(t, "ivy", RoleInvestigator, "t1", "")
	tok, err := env.svc.Login(ctx, "ivy", testPassword, meta)
	require.NoError(t, err)

	for name, raw := range map[string]string{"empty": "", "unknown": randomToken(), "too_long": strings.Repeat("a", 129)} {
		_, err := env.svc.Refresh(ctx, raw, meta)
		assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), name)
	}

	env.clock.Advance(RefreshTokenTTL)
	_, err = env.svc.Refresh(ctx, tok.RefreshToken, meta)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "expired refresh token")
}

func TestLogoutRevokesTheSession(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.addUser(t, "ivy", RoleInvestigator, "t1", "")
	tok, err := env.svc.Login(ctx, "ivy", testPassword, meta)
	require.NoError(t, err)
	other, err := env.svc.Login(ctx, "ivy", testPassword, meta)
	require.NoError(t, err)
	p, err := env.svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)

	require.NoError(t, env.svc.Logout(ctx, p, meta))

	_, err = env.svc.Authenticate(ctx, tok.AccessToken)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "access token after logout")
	_, err = env.svc.Refresh(ctx, tok.RefreshToken, meta)
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "refresh token after logout")

	_, err = env.svc.Authenticate(ctx, other.AccessToken)
	assert.NoError(t, err, "another session of the same user is untouched")

	evs := env.events(t, AuditFilter{Action: "auth.logout"})
	require.Len(t, evs, 1)
	assert.Equal(t, Entity{Type: "session", ID: p.SessionID}, evs[0].Entity)
}

func TestLoginThrottledAfterMaxUserFailures(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.addUser(t, "ivy", RoleInvestigator, "t1", "")

	for i := range MaxUserFailures {
		_, err := env.svc.Login(ctx, "ivy", "wrong password here", meta)
		require.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "failure %d", i+1)
		env.clock.Advance(time.Second)
	}

	_, err := env.svc.Login(ctx, "ivy", testPassword, meta)
	e := errstest.As(t, err)
	assert.Equal(t, errs.RateLimited, e.Code, "even the right password is refused while locked")
	assert.Greater(t, e.RetryAfter, time.Duration(0))
	assert.LessOrEqual(t, e.RetryAfter, UserFailWindow)

	_, err = env.svc.Login(ctx, "someone-else", testPassword, Meta{IP: "192.0.2.99"})
	assert.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "other usernames are not locked")

	env.clock.Advance(UserFailWindow)
	_, err = env.svc.Login(ctx, "ivy", testPassword, meta)
	require.NoError(t, err, "the lock lifts once the failures leave the window")

	throttled := env.events(t, AuditFilter{Action: "auth.login", User: "ivy"})
	var outcomes []string
	for _, ev := range throttled {
		outcomes = append(outcomes, ev.Outcome)
	}
	assert.Equal(t, []string{OutcomeFailure, OutcomeFailure, OutcomeFailure, OutcomeFailure, OutcomeFailure, OutcomeThrottled, OutcomeSuccess}, outcomes)
	for _, ev := range throttled {
		if ev.Outcome == OutcomeThrottled {
			assert.Equal(t, "username", ev.Detail["by"])
		}
	}
}

func TestSuccessfulLoginClearsUserFailures(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.addUser(t, "ivy", RoleInvestigator, "t1", "")

	for range MaxUserFailures - 1 {
		_, err := env.svc.Login(ctx, "ivy", "wrong password here", meta)
		require.Error(t, err)
	}
	_, err := env.svc.Login(ctx, "ivy", testPassword, meta)
	require.NoError(t, err)
	for range MaxUserFailures - 1 {
		_, err := env.svc.Login(ctx, "ivy", "wrong password here", meta)
		require.Equal(t, errs.Unauthenticated, errs.CodeOf(err))
	}
	_, err = env.svc.Login(ctx, "ivy", testPassword, meta)
	assert.NoError(t, err, "failures before a success do not count")
}

func TestLoginThrottledPerAddress(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.addUser(t, "ivy", RoleInvestigator, "t1", "")
	busy, quiet := Meta{IP: "198.51.100.1"}, Meta{IP: "198.51.100.2"}

	// Distinct unknown usernames, so no username reaches its own limit.
	for i := range MaxAddrAttempts {
		_, err := env.svc.Login(ctx, fmt.Sprintf("guess-%d", i), "wrong password here", busy)
		require.Equal(t, errs.Unauthenticated, errs.CodeOf(err), "attempt %d", i+1)
	}

	_, err := env.svc.Login(ctx, "ivy", testPassword, busy)
	e := errstest.As(t, err)
	assert.Equal(t, errs.RateLimited, e.Code, "another username from the same address")
	assert.Greater(t, e.RetryAfter, time.Duration(0))

	_, err = env.svc.Login(ctx, "ivy", testPassword, quiet)
	assert.NoError(t, err, "another address is unaffected")

	env.clock.Advance(AddrWindow)
	_, err = env.svc.Login(ctx, "ivy", testPassword, busy)
	assert.NoError(t, err, "the address limit lifts after the window")

	var evs []AuditEvent
	for _, ev := range env.events(t, AuditFilter{Action: "auth.login"}) {
		if ev.Outcome == OutcomeThrottled {
			evs = append(evs, ev)
		}
	}
	require.Len(t, evs, 1)
	assert.Equal(t, "ivy", evs[0].User)
	assert.Equal(t, busy.IP, evs[0].IP)
	assert.Equal(t, "address", evs[0].Detail["by"])
}

func ptr[T any](v T) *T { return &v }
