package web_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"casefile.dev/casefile/auth"
)

func loginAs(t *testing.T, h *harness, username, pw string, header map[string]string) response {
	t.Helper()
	return h.do(t, req{method: http.MethodPost, path: "/api/v1/auth/login", header: header,
		body: map[string]string{"username": username, "password": pw}})
}

// requireRetryAfter checks a 429 and returns its Retry-After in seconds.
func requireRetryAfter(t *testing.T, res response) int {
	t.Helper()
	requireProblem(t, res, http.StatusTooManyRequests, "rate-limited")
	v := res.Header.Get("Retry-After")
	secs, err := strconv.Atoi(v)
	require.NoError(t, err, "Retry-After %q is whole seconds", v)
	require.GreaterOrEqual(t, secs, 1)
	return secs
}

func TestWrongPasswordsLockTheUsername(t *testing.T) {
	h := newHarness(t)
	for i := range auth.MaxUserFailures {
		res := loginAs(t, h, leadName, "not the password at all", nil)
		requireProblem(t, res, http.StatusUnauthorized, "unauthenticated")
		assert.Empty(t, res.Header.Get("Retry-After"), "attempt %d", i+1)
	}

	res := loginAs(t, h, leadName, "not the password at all", nil)
	secs := requireRetryAfter(t, res)
	assert.LessOrEqual(t, secs, int(auth.UserFailWindow.Seconds()))

	// While locked, even the right password is refused: a guesser learns
	// nothing from the answer.
	requireRetryAfter(t, loginAs(t, h, leadName, password, nil))

	// The lock is per username: others sign in.
	assert.Equal(t, http.StatusOK, loginAs(t, h, investigatorName, password, nil).StatusCode)

	// Retry-After is honest: once it has passed, the user signs in.
	h.clock.Advance(time.Duration(secs) * time.Second)
	ok := loginAs(t, h, leadName, password, nil)
	require.Equal(t, http.StatusOK, ok.StatusCode, "body: %s", ok.body)

	admin := h.login(t, adminName)
	page := h.auditEvents(t, admin, url.Values{"user": {leadName}, "action": {"auth.login"}})
	outcomes := map[string]int{}
	for _, e := range page.Items {
		outcomes[e.Outcome]++
		if e.Outcome == auth.OutcomeThrottled {
			assert.Equal(t, map[string]string{"by": "username"}, e.Detail)
		}
	}
	assert.Equal(t, map[string]int{auth.OutcomeFailure: auth.MaxUserFailures, auth.OutcomeThrottled: 2, auth.OutcomeSuccess: 1}, outcomes)
}

// TestSpoofedForwardingHeadersDoNotDodgeTheAddressLimit: with no trusted
// proxy, a client that invents a new X-Forwarded-For and X-Real-IP for
// every attempt, and a new username so the per-username lock never starts,
// is still one address and is throttled after MaxAddrAttempts.
func TestSpoofedForwardingHeadersDoNotDodgeTheAddressLimit(t *testing.T) {
	h := newHarness(t)
	admin := h.login(t, adminName) // the first attempt of this address

	attempt := func(i int) response {
		return loginAs(t, h, fmt.Sprintf("guess-%d", i), "not the password at all", map[string]string{
			"X-Forwarded-For": fmt.Sprintf("203.0.113.%d, 198.51.100.%d", i, i),
			"X-Real-IP":       fmt.Sprintf("192.0.2.%d", i),
			"Forwarded":       fmt.Sprintf("for=192.0.2.%d", i),
		})
	}
	for i := 1; i < auth.MaxAddrAttempts; i++ {
		res := attempt(i)
		requireProblem(t, res, http.StatusUnauthorized, "unauthenticated")
	}
	res := attempt(auth.MaxAddrAttempts)
	secs := requireRetryAfter(t, res)
	assert.LessOrEqual(t, secs, int(auth.AddrWindow.Seconds()))

	// The right password does not help either: the address is blocked.
	requireRetryAfter(t, loginAs(t, h, leadName, password, nil))

	page := h.auditEvents(t, admin, url.Values{"action": {"auth.login"}, "limit": {"200"}})
	require.EqualValues(t, auth.MaxAddrAttempts+2, page.Total)
	throttled := 0
	for _, e := range page.Items {
		assert.Equal(t, "0.0.0.0", e.IP, "the audit log records the peer, not a spoofed header")
		if e.Outcome == auth.OutcomeThrottled {
			throttled++
			assert.Equal(t, map[string]string{"by": "address"}, e.Detail)
		}
	}
	assert.Equal(t, 2, throttled)

	// The window passes and the address may try again.
	h.clock.Advance(time.Duration(secs) * time.Second)
	assert.Equal(t, http.StatusOK, loginAs(t, h, leadName, password, nil).StatusCode)
}

// TestTrustedProxyForwardsTheClientAddress: behind a trusted proxy the
// client address is the rightmost untrusted X-Forwarded-For hop, and the
// address limit counts it, not the proxy.
func TestTrustedProxyForwardsTheClientAddress(t *testing.T) {
	// app.Test's peer is 0.0.0.0; trust it as the proxy.
	h := newHarness(t, harnessOptions{trustedProxies: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")}})
	admin := h.login(t, adminName)

	res := loginAs(t, h, leadName, password, map[string]string{"X-Forwarded-For": "192.0.2.66, 198.51.100.7"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	res = loginAs(t, h, leadName, password, map[string]string{"X-Forwarded-For": "198.51.100.8", "X-Real-IP": "192.0.2.1"})
	require.Equal(t, http.StatusOK, res.StatusCode)

	page := h.auditEvents(t, admin, url.Values{"user": {leadName}, "action": {"auth.login"}})
	require.Len(t, page.Items, 2)
	assert.Equal(t, "198.51.100.8", page.Items[0].IP, "X-Real-IP is not believed")
	assert.Equal(t, "198.51.100.7", page.Items[1].IP, "the hop the proxy saw, not the one the client wrote")

	// One forwarded client exhausts its own allowance...
	for i := range auth.MaxAddrAttempts {
		res := loginAs(t, h, fmt.Sprintf("guess-%d", i), "not the password at all", map[string]string{"X-Forwarded-For": "203.0.113.9"})
		requireProblem(t, res, http.StatusUnauthorized, "unauthenticated")
	}
	requireRetryAfter(t, loginAs(t, h, "guess-last", "not the password at all", map[string]string{"X-Forwarded-For": "203.0.113.9"}))
	// ...while another client behind the same proxy still signs in.
	ok := loginAs(t, h, leadName, password, map[string]string{"X-Forwarded-For": "203.0.113.10"})
	assert.Equal(t, http.StatusOK, ok.StatusCode, "body: %s", ok.body)
}
